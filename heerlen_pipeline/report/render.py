"""The routekaart report: one self-contained HTML page from the published warehouse (`heerlen report`).

It reads only the published marts (read-only) and shows only their values and verdicts. At the top it answers
the question the programme asks - per theme and per target (Nederland, Heerlen-Zuid), how many indicators show
a closing gap, a widening one, no clear change, or cannot be judged yet - then per indicator a one-line verdict,
a trend chart, the gaps with their straight paths to parity in 2047, the latest values, every year in a table,
the wijken ranked, the routekaart's interventions, and a data section (sources, area definition, build, checks).
No scripts, fonts or images from elsewhere: charts are inline SVG (report/svg.py), styles inline, so the file opens
offline anywhere.
"""

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from .. import catalog
from ..transform.gaps import BASELINE_YEAR, PARITY_YEAR, targets
from .data import (
    AREAS,
    COUNT_METHODS,
    FOCUS,
    SHOWN,
    TARGETS,
    VERDICTS,
    Warehouse,
    interval,
    load,
    normative,
    tally,
)
from .svg import (
    COLOURS,
    HEERLEN,
    NEDERLAND,
    NOORD,
    ZUID,
    Bar,
    GapLine,
    Marker,
    Series,
    bar_chart,
    empty_chart,
    gap_chart,
    line_chart,
    nl_number,
)

# The names of the four compared areas, from the focus area (assets/areas/focus_areas/).
AREA_NAMES = {a.code: a.name for a in (FOCUS.focus, FOCUS.rest, FOCUS.gemeente, FOCUS.nation)}
AREA_NAMES_EN = {a.code: a.name_en for a in (FOCUS.focus, FOCUS.rest, FOCUS.gemeente, FOCUS.nation)}
NOORD_NAME, ZUID_NAME, GEMEENTE_NAME = AREA_NAMES[NOORD], AREA_NAMES[ZUID], AREA_NAMES[HEERLEN]
TARGET_NAMES = {"nederland": AREA_NAMES[NEDERLAND], "zuid": ZUID_NAME}
THEMES, DIRECTIONS = catalog.THEME_NAMES, catalog.DIRECTION_NAMES  # (Dutch, English), routekaart order
VERDICT_NL = {"closing": "kloof kleiner", "widening": "kloof groter", "no clear change": "geen duidelijke verandering",
              "not yet measurable": "nog niet te meten"}
# The CBS legend, as it marks a cell without a value; status labels for values we withhold or lack.
SYMBOL_TEXT = {".": "onbekend of geheim (.)", "x": "geheim (x)", "X": "geheim (x)", "<5": "afgeschermd (<5)"}
STATUS_TEXT = {"suppressed": "afgeschermd", "not_applicable": "n.v.t.", "missing": "ontbreekt"}
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


# ---------------------------------------------------------------- formatting

def _fmt(ind: dict):
    decimals = int(ind.get("decimals") or 0)
    return lambda v, signed=False: nl_number(v, decimals, signed)


def gap_unit(unit: str) -> str:
    return "procentpunt" if unit == "%" else unit


def _with_unit(text: str, unit: str) -> str:
    return f"{text}%" if unit == "%" else f"{text} {unit}"


def _en(text: str) -> str:
    return f'<span class="en" lang="en">{escape(text)}</span>'


def _th(nl: str, en: str, scope: str = "col", cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<th scope="{scope}"{c}>{escape(nl)}{_en(en)}</th>'


def nl_datetime(ts) -> str:
    if ts is None:
        return "onbekend"
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    try:
        local, zone = ts.astimezone(ZoneInfo("Europe/Amsterdam")), "Nederlandse tijd"
    except ZoneInfoNotFoundError:
        local, zone = ts.astimezone(UTC), "UTC"
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M} ({zone})"


def _years_text(years: list[int]) -> str:
    return ", ".join(map(str, years)) if len(years) < 4 or years != list(range(years[0], years[-1] + 1)) \
        else f"{years[0]}–{years[-1]}"


def status_text(row: dict) -> str:
    """Why a cell has no value, in the words of the CBS legend where the source used one."""
    if row["status"] == "suppressed":
        return SYMBOL_TEXT.get(row.get("symbol") or "", STATUS_TEXT["suppressed"])
    return STATUS_TEXT.get(row["status"], row["status"])


def _estimate(ind: dict) -> bool:
    return bool(ind.get("model_estimate"))


def _noise_text(ind: dict, noise: float) -> str:
    decimals = max(int(ind.get("decimals") or 0), 1)
    return _with_unit("±" + nl_number(noise, decimals), gap_unit(ind["unit"]))


# ---------------------------------------------------------------- the verdict, in words

def verdict_text(ind: dict, v: dict | None, target: str, breaks: list[tuple[int, str]] = ()) -> str:
    """One Dutch sentence per indicator and target, from its row in marts.gap_verdicts."""
    f, gu, other = _fmt(ind), gap_unit(ind["unit"]), TARGET_NAMES[target]
    head = f"Tegenover {other}: "
    if v is None or v["baseline_year"] is None:
        return head + f"nog niet te meten; Noord en {other} hebben geen jaar waarin ze allebei een cijfer hebben."
    base = f"{_with_unit(f(v['baseline_gap'], True), gu)} in {v['baseline_year']}"
    if v["latest_year"] is None:
        return head + (f"nog niet te meten; alleen in {v['baseline_year']} hebben beide een cijfer (kloof {base}), "
                       "een latere meting ontbreekt nog.")
    moved = f"de kloof ging van {base} naar {_with_unit(f(v['latest_gap'], True), gu)} in {v['latest_year']}"
    sign = 1 if ind["direction"] == "lower_is_better" else -1
    ahead = sign * v["baseline_gap"] <= 0
    lead = f"Noord scoorde in {v['baseline_year']} al minstens even goed als {other}; " if ahead else ""
    if v["verdict"] == "not yet measurable":
        broken = [y for y, _n in breaks if v["baseline_year"] < y <= v["latest_year"]]
        if broken:
            return head + f"nog niet te meten; {moved}, maar de bron veranderde in {broken[0]} van definitie."
        what = "deze schattingen" if _estimate(ind) else "deze cijfers"
        return head + (f"nog niet te beoordelen; {moved}, maar de onzekerheid van {what} zit niet in deze build "
                       "(het RIVM-interval komt alleen mee met de live bron), dus of dat meer is dan toeval, is niet "
                       "te zeggen.")
    noise = _noise_text(ind, v["noise"])
    change = _with_unit(f(v["change"], True), gu)
    text = head + lead + {
        "closing": f"kloof kleiner; {moved} ({change}), meer dan de ruis in de bronnen ({noise}).",
        "widening": f"kloof groter; {moved} ({change}), meer dan de ruis in de bronnen ({noise}).",
        "no clear change": f"geen duidelijke verandering; {moved} ({change}), binnen de ruis in de bronnen ({noise}).",
    }[v["verdict"]]
    if v["on_track"] is True:
        text += f" Op koers voor gelijkheid in {PARITY_YEAR}."
    elif v["on_track"] is False:
        text += (f" Niet op koers voor {PARITY_YEAR}: volgens het rechte pad zou de kloof in {v['latest_year']} "
                 f"hoogstens {_with_unit(f(v['trajectory_target'], True), gu)} zijn.")
    return text


def _no_verdict_text(ind: dict) -> str:
    if ind["method"] in COUNT_METHODS:
        return "Een aantal: niveaus zijn niet tussen gebieden te vergelijken, dus geen kloof en geen oordeel."
    return "Contextindicator: geen goed of slecht, dus geen kloof om te dichten en geen oordeel."


# ---------------------------------------------------------------- one indicator

def _source_tables(vals: dict[str, dict[int, dict]]) -> list[str]:
    tables = {t.strip() for rows in vals.values() for r in rows.values() for t in (r["source_table"] or "").split("+")}
    return sorted(t for t in tables if t)


def _cell(row: dict | None, f) -> str:
    if row is None:
        return '<span class="na" title="geen cijfer in de bron voor dit jaar">–</span>'
    if row["status"] not in SHOWN:
        return f'<span class="na" data-status="{escape(row["status"])}">{escape(status_text(row))}</span>'
    text = f(row["value"])
    if iv := interval(row):
        text += f' <span class="ci">({f(iv[0])}–{f(iv[1])})</span>'
    if row["status"] == "low_coverage":
        text += (f' <span class="lc" title="gebaseerd op {nl_number(row["coverage"] * 100, 0)}% van de inwoners">'
                 "(lage dekking)</span>")
    return text


def _period(rows: list[dict | None]) -> str:
    periods = [r["reference_period"] for r in rows if r and r.get("reference_period")]
    return escape(periods[0]) if periods else ""


def _markers(wh: Warehouse, ind: dict) -> list[Marker]:
    return [Marker(p["marker_year"], f"{p['name_nl']} ({p['start_text']})") for p in wh.programmes
            if p["theme"] == ind["theme"]]


def _chart_areas(ind: dict, vals: dict[str, dict[int, dict]]) -> list[str]:
    # Nederland's count (17 million inhabitants) would flatten Heerlen's lines: counts are charted without it.
    areas = [a for a in AREAS if any(r["status"] == "ok" for r in vals.get(a, {}).values())]
    return [a for a in areas if not (ind["method"] in COUNT_METHODS and a == NEDERLAND)]


def _trend_chart(ind: dict, wh: Warehouse, years: list[int]) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    chart_id, name = f"c-{iid}-trend", ind["name_nl"]
    title = f"{name}: {NOORD_NAME}, {ZUID_NAME}, {GEMEENTE_NAME} en Nederland per jaar"
    areas = _chart_areas(ind, vals)
    if not areas:
        return empty_chart(chart_id, title, f"Geen cijfers voor {name} in deze build.", "Geen gegevens in deze build")
    series = [Series(a, AREA_NAMES[a], {y: (r["value"] if r["status"] == "ok" else None) for y, r in vals[a].items()},
                     {y: iv for y, r in vals[a].items() if r["status"] == "ok" and (iv := interval(r))}) for a in areas]
    parts = []
    for s in series:
        shown = sorted(y for y, v in s.values.items() if v is not None)
        gaps = [f"{y} ({status_text(r)})" for y, r in sorted(vals[s.key].items()) if r["status"] != "ok"]
        parts.append(f"{s.label}: " + "; ".join(f"{y}: {f(s.values[y])}" for y in shown)
                     + (f"; geen waarde in {', '.join(gaps)}" if gaps else ""))
    est = " Modelschattingen van het RIVM." if _estimate(ind) else ""
    markers = _markers(wh, ind)
    marks = "".join(f" Gemarkeerd: {m.label}." for m in markers)
    desc = f"Lijngrafiek ({ind['unit']}), {years[0]}–{years[-1]}.{est} " + ". ".join(parts) + "." + marks
    return line_chart(chart_id, title, desc, years, series, f, ind["unit"], [y for y, _n in wh.breaks.get(iid, [])],
                      markers)


def _gap_chart(ind: dict, wh: Warehouse) -> str:
    iid, rows = ind["indicator_id"], wh.gaps.get(ind["indicator_id"], [])
    verdicts = wh.verdicts.get(iid, {})
    f, gu = _fmt(ind), gap_unit(ind["unit"])
    lines = []
    for target, (column, area, _suffix) in targets(FOCUS).items():
        v = verdicts.get(target)
        if v is None or v["baseline_year"] is None:
            continue
        values = {r["year"]: r[column] for r in rows if r["year"] >= v["baseline_year"] or r[column] is not None}
        lines.append(GapLine(area, f"Noord − {TARGET_NAMES[target]}", values,
                             (v["baseline_year"], v["baseline_gap"])))
    if not lines:
        return ""
    worse = "boven" if ind["direction"] == "lower_is_better" else "onder"
    desc = (f"Kloof van {NOORD_NAME} ({gu}) per jaar, tegenover Nederland en tegenover {ZUID_NAME}, elk met een "
            f"stippellijn van de kloof in het basisjaar naar nul in {PARITY_YEAR}. "
            + " ".join(f"{ln.label}: basisjaar {ln.baseline[0]} ({f(ln.baseline[1], True)}); "
                       + "; ".join(f"{y}: {f(g, True)}" for y, g in sorted(ln.values.items()) if g is not None) + "."
                       for ln in lines)
            + f" {worse.capitalize()} nul scoort Noord slechter.")
    return gap_chart(f"c-{iid}-gap", f"{ind['name_nl']}: kloof van Noord en het pad naar {PARITY_YEAR}", desc, lines,
                     PARITY_YEAR, lambda x: f(x, True), gu, _markers(wh, ind))


def _latest_table(ind: dict, wh: Warehouse) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    out = [f'<table class="latest" data-indicator="{iid}"><caption>Laatste cijfers{_en("Latest figures")}</caption>',
           f"<thead><tr>{_th('Gebied', 'Area')}{_th('Jaar', 'Year')}{_th('Waarde', 'Value')}</tr></thead><tbody>"]
    for area in AREAS:
        ok = [(y, r) for y, r in sorted(vals.get(area, {}).items()) if r["status"] in SHOWN]
        cls = ' class="noord"' if area == NOORD else ""
        name = f'<th scope="row">{AREA_NAMES[area]}{_en(AREA_NAMES_EN[area])}</th>'
        if ok:
            y, r = ok[-1]
            period = f'<span class="period">{escape(r["reference_period"])}</span>' if r.get("reference_period") else ""
            out.append(f'<tr{cls}>{name}<td>{y}{period}</td>'
                       f'<td class="num" data-area="{area}" data-year="{y}">{_cell(r, f)}</td></tr>')
        else:
            out.append(f'<tr{cls}>{name}<td>–</td><td class="num"><span class="na">geen cijfer</span></td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _verdict_table(ind: dict, wh: Warehouse) -> str:
    """Per target: the gap in the baseline and the latest year, the change against the noise, the verdict."""
    iid, f, gu = ind["indicator_id"], _fmt(ind), gap_unit(ind["unit"])
    verdicts = wh.verdicts.get(iid, {})
    if not verdicts:
        return ""
    index = [r for r in wh.gaps.get(iid, []) if r.get("index_noord_nl") is not None]
    body = []

    def cell(key: str, text: str) -> str:
        return f'<td class="num" data-col="{key}">{text}</td>'

    for target in TARGETS:
        v = verdicts.get(target)
        if v is None:
            continue
        body.append(
            f'<tr data-target="{target}" data-verdict="{escape(v["verdict"])}"><th scope="row">Noord − '
            f'{TARGET_NAMES[target]}</th>'
            + cell("baseline", f"{v['baseline_year'] or '–'}: {f(v['baseline_gap'], True)}")
            + cell("latest", f"{v['latest_year'] or '–'}: {f(v['latest_gap'], True)}")
            + cell("change", f(v["change"], True)) + cell("noise", _noise_text(ind, v["noise"]) if v["noise"] is not None
                                                          else "onbekend" if v["latest_year"] else "–")
            + cell("path", f(v["trajectory_target"], True))
            + cell("on_track", {True: "ja", False: "nee"}.get(v["on_track"], "–"))
            + f'<td data-col="verdict">{escape(VERDICT_NL[v["verdict"]])}</td></tr>')
    caption = f"Kloof ({escape(gu)}) en oordeel{_en('Gap and verdict')}"
    out = [f'<div class="scroll"><table class="gap" data-indicator="{iid}"><caption>{caption}</caption><thead><tr>{_th("", "")}'
           f'{_th("Basisjaar: kloof", "Baseline: gap")}{_th("Laatste jaar: kloof", "Latest: gap")}'
           f'{_th("Verschil", "Change")}{_th("Ruis", "Noise")}{_th(f"Pad {PARITY_YEAR}", f"{PARITY_YEAR} path")}'
           f'{_th("Op koers", "On track")}{_th("Oordeel", "Verdict")}</tr></thead><tbody>{"".join(body)}</tbody></table></div>']
    if index:
        r = index[-1]
        out.append(f'<p class="note" data-row="index_noord_nl">Index Noord tegenover Nederland in {r["year"]}: '
                   f'<strong>{nl_number(r["index_noord_nl"], 1)}</strong> (Nederland = 100; boven 100 is Noord '
                   "slechter af).</p>")
    return "\n".join(out)


def _years_table(ind: dict, wh: Warehouse, years: list[int]) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    by_year = {r["year"]: r for r in wh.gaps.get(iid, [])}
    gap_cols = normative(ind) and any(r["gap_noord_nl"] is not None or r["gap_noord_zuid"] is not None
                                      for r in by_year.values())
    periods = any(r.get("reference_period") for rows in vals.values() for r in rows.values())
    head = "".join(_th(AREA_NAMES[a], AREA_NAMES_EN[a], cls="noord" if a == NOORD else "") for a in AREAS)
    if gap_cols:
        head += _th("Kloof Noord − NL", "Gap Noord − NL") + _th("Kloof Noord − Zuid", "Gap Noord − Zuid")
    out = [f'<table class="years" data-indicator="{iid}"><caption>{escape(ind["name_nl"])} per jaar '
           f'({escape(ind["unit"])}){_en(ind["name_en"])}</caption>',
           f"<thead><tr>{_th('Jaar', 'Year')}{_th('Periode', 'Period') if periods else ''}{head}</tr></thead><tbody>"]
    for y in years:
        rows = [vals.get(a, {}).get(y) for a in AREAS]
        cells = "".join(f'<td class="num" data-area="{a}" data-year="{y}">{_cell(r, f)}</td>'
                        for a, r in zip(AREAS, rows, strict=True))
        if gap_cols:
            g = by_year.get(y, {})
            cells += (f'<td class="num" data-col="gap_noord_nl" data-year="{y}">{f(g.get("gap_noord_nl"), True)}</td>'
                      f'<td class="num" data-col="gap_noord_zuid" data-year="{y}">{f(g.get("gap_noord_zuid"), True)}</td>')
        period = f'<td class="period" data-year="{y}">{_period(rows)}</td>' if periods else ""
        out.append(f'<tr><th scope="row">{y}</th>{period}{cells}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _wijk_view(ind: dict, wh: Warehouse) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    wijk_rows = {code: rows for code, rows in vals.items() if code in wh.wijken}
    years = sorted({y for rows in wijk_rows.values() for y, r in rows.items() if r["status"] == "ok"})
    if not years:
        return (f'<div class="wijken"><h4>Wijken van {GEMEENTE_NAME}</h4><p class="note">Geen wijkcijfers voor deze '
                "indicator in deze build.</p></div>")
    year = years[-1]
    in_year = {code: rows[year] for code, rows in wijk_rows.items() if year in rows}
    bars = sorted((Bar(code, wh.wijken[code][0], wh.wijken[code][1], r["value"], interval(r))
                   for code, r in in_year.items() if r["status"] == "ok" and wh.wijken[code][1] in (NOORD, ZUID)),
                  key=lambda b: (-b.value, b.label))
    refs = [] if ind["method"] in COUNT_METHODS else [
        (a, f"{AREA_NAMES[a]} {f(r['value'])}", r["value"]) for a in (HEERLEN, NEDERLAND)
        if (r := vals.get(a, {}).get(year)) and r["status"] == "ok"]
    withheld = sorted((wh.wijken[c][0], status_text(r)) for c, r in in_year.items() if r["status"] != "ok")
    order = {"higher_is_better": " Hoger is beter.", "lower_is_better": " Lager is beter."}.get(ind["direction"], "")
    title = f"{ind['name_nl']} per wijk, {year}: gerangschikt, Noord en Zuid apart gekleurd"
    desc = (f"Staafdiagram, {year}, van hoog naar laag.{order} "
            + "; ".join(f"{i}. {b.label} ({AREA_NAMES[b.group]}): {f(b.value)}" for i, b in enumerate(bars, 1))
            + (". " + "; ".join(f"{label}: {f(v)}" for _k, label, v in refs) if refs else "") + ".")
    chart = bar_chart(f"c-{iid}-wijken", title, desc, bars, [(k, AREA_NAMES[k], v) for k, _l, v in refs],
                      f, ind["unit"], {NOORD: NOORD_NAME, ZUID: ZUID_NAME})
    note = ""
    if withheld:
        note = ("<p class=\"note\">Zonder waarde (geen staaf, geen nul): "
                + ", ".join(f"{escape(n)} ({escape(s)})" for n, s in withheld) + ".</p>")
    rows = "".join(
        f'<tr class="{"noord" if b.group == NOORD else "zuid"}"><td>{i}</td><th scope="row">{escape(b.label)}</th>'
        f'<td>{b.key}</td><td>{AREA_NAMES[b.group]}</td><td class="num" data-area="{b.key}" data-year="{year}">'
        f'{_cell(in_year[b.key], f)}</td></tr>' for i, b in enumerate(bars, 1))
    table = (f'<details><summary>Wijken als tabel{_en("Neighbourhoods as a table")}</summary>'
             f'<table class="wijken" data-indicator="{iid}"><caption>{escape(ind["name_nl"])} per wijk, {year} '
             f'({escape(ind["unit"])})</caption><thead><tr>{_th("Rang", "Rank")}{_th("Wijk", "Neighbourhood")}'
             f'{_th("Code", "Code")}{_th("Programmagebied", "Programme area")}{_th("Waarde", "Value")}</tr></thead>'
             f"<tbody>{rows}</tbody></table></details>")
    later = f" (het laatste jaar met wijkcijfers; eerder: {_years_text(years[:-1])})" if len(years) > 1 else ""
    return (f'<div class="wijken"><h4>Wijken van {GEMEENTE_NAME}, {year}{later}</h4>{chart}'
            f'<p class="note">Gerangschikt van hoog naar laag.{order} N = wijk in {NOORD_NAME}, Z = wijk in '
            f"{ZUID_NAME} (indeling {escape(wh.definition)}).</p>{note}{table}</div>")


def _rank_note(ind: dict, rank: dict) -> str:
    """Where Noord stands among Dutch wijken outside Heerlen (national builds): by wijken and by people."""
    f, est = _fmt(ind), _estimate(ind)
    place, worse = ("beter dan", "slechter") if ind["direction"] != "context" else ("hoger dan", "lager")
    text = (f"<strong>Landelijk:</strong> in {rank['year']} scoorde {NOORD_NAME} {f(rank['value'])}"
            f"{' (schatting van het RIVM)' if est else ''}: {place} {nl_number(rank['percentile_rank'], 1)}% van de "
            f"{nl_number(rank['peers'])} Nederlandse wijken buiten de gemeente {GEMEENTE_NAME}"
            f"{' (ook schattingen)' if est else ''}"
            f"; hun mediaan is {f(rank['peer_median'])}.")
    if rank.get("residents_worse_share") is not None:
        text += (f" Naar inwoners gewogen woont {nl_number(rank['residents_worse_share'], 1)}% van de mensen in die "
                 f"wijken in een wijk die {'volgens de schattingen ' if est else ''}{worse} scoort (inwoners van "
                 f"{rank['population_year']}).")
    return text


def _notes(ind: dict, wh: Warehouse) -> list[str]:
    iid, vals = ind["indicator_id"], wh.values.get(ind["indicator_id"], {})
    notes = []
    if _estimate(ind):
        iv = ("Tussen haakjes en als streepjes: het 95%-interval dat het RIVM bij de schatting publiceert (voor Noord "
              "en Zuid het gewogen gemiddelde van de wijkgrenzen)."
              if any(interval(r) for rows in vals.values() for r in rows.values()) else
              "Het RIVM-interval rond de schatting zit niet in deze build; de onzekerheid is dus niet weergegeven en "
              "een verandering is niet te toetsen.")
        notes.append("<strong>Schatting.</strong> Modelschattingen van het RIVM (Gezondheidsmonitor), geen tellingen. "
                     "Noord en Zuid zijn gewogen gemiddelden van de wijkschattingen. " + iv)
    missing = [f"{AREA_NAMES[area]} {y} ({status_text(r)})"
               for area in AREAS for y, r in sorted(vals.get(area, {}).items()) if r["status"] not in SHOWN]
    if missing:
        notes.append("Geen waarde (de lijn is daar onderbroken, nooit nul): " + escape(", ".join(missing)) + ".")
    partial = [f"{AREA_NAMES[area]} {y}: {nl_number(r['coverage'] * 100, 0)}%" for area in (NOORD, ZUID)
               for y, r in sorted(vals.get(area, {}).items())
               if r["status"] in SHOWN and r["coverage"] is not None and r["coverage"] < 0.995]
    if partial:
        notes.append("Niet alle inwoners in wijken met een cijfer (dekking): " + ", ".join(partial)
                     + ". Onder 90% is de waarde een <em>lage dekking</em> en telt ze niet mee in het oordeel.")
    for y, note in wh.breaks.get(iid, []):
        notes.append(f"<strong>Trendbreuk vanaf {y}:</strong> {escape(note)}")
    if wh.gaps.get(iid) and normative(ind) and wh.verdicts.get(iid):
        side = "boven" if ind["direction"] == "lower_is_better" else "onder"
        notes.append(f"In de kloofgrafiek betekent een kloof {side} nul dat Noord slechter scoort; de stippellijnen zijn "
                     f"de rechte wegen naar gelijkheid in {PARITY_YEAR}.")
    if ind["method"] in COUNT_METHODS and NEDERLAND in vals:
        notes.append("Nederland staat alleen in de tabel: een landelijk aantal past niet op dezelfde schaal.")
    if rank := wh.ranks.get(iid):
        notes.append(_rank_note(ind, rank))
    return notes


def indicator_section(ind: dict, wh: Warehouse) -> str:
    iid = ind["indicator_id"]
    vals = wh.values.get(iid, {})
    years = sorted({y for area in AREAS for y in vals.get(area, {})})
    direction_nl, direction_en = DIRECTIONS.get(ind["direction"], (ind["direction"], ind["direction"]))
    badges = [f'<span class="badge dir">{escape(direction_nl)}</span>']
    if _estimate(ind):
        badges.append('<span class="badge est">Schatting (RIVM-model)</span>')
    if ind.get("youth_focus"):
        badges.append('<span class="badge youth">Jeugd</span>')
    badges.append(f'<span class="badge code">{escape(iid)}</span>')
    if normative(ind):
        verdicts = wh.verdicts.get(iid, {})
        lines = "".join(f'<p class="verdict" data-target="{t}" '
                        f'data-verdict="{escape((verdicts.get(t) or {}).get("verdict", ""))}">'
                        f"{escape(verdict_text(ind, verdicts.get(t), t, wh.breaks.get(iid, [])))}</p>" for t in TARGETS)
    else:
        lines = f'<p class="verdict none">{escape(_no_verdict_text(ind))}</p>'
    charts = _trend_chart(ind, wh, years) if years else empty_chart(
        f"c-{iid}-trend", f"{ind['name_nl']}: geen gegevens", f"Geen cijfers voor {ind['name_nl']} in deze build.",
        "Geen gegevens in deze build")
    if normative(ind):
        charts += _gap_chart(ind, wh)
    tables = f'<div class="tables">{_latest_table(ind, wh)}{_verdict_table(ind, wh) if normative(ind) else ""}</div>'
    all_years = (f'<details><summary>Alle jaren als tabel{_en("All years as a table")}</summary>'
                 f'<div class="scroll">{_years_table(ind, wh, years)}</div>'
                 '<p class="note">– = geen cijfer voor dit jaar in de bron. Periode: wat het cijfer beschrijft als dat '
                 "niet het jaar van de tabel is.</p></details>") if years else ""
    notes = "".join(f'<p class="note">{n}</p>' for n in _notes(ind, wh))
    tables_used = _source_tables(vals)
    source = escape(ind.get("source") or "")
    if tables_used:
        source += f" — tabel{'len' if len(tables_used) > 1 else ''} {escape(', '.join(tables_used))}"
    verdict_class = " ".join(f"verdict-{t}-{(wh.verdicts.get(iid, {}).get(t) or {}).get('verdict', 'none').replace(' ', '-')}"
                             for t in TARGETS)
    return f"""
<article class="indicator {verdict_class}" id="{iid}" data-indicator="{iid}">
<header>
<h3>{escape(ind['name_nl'])}{_en(ind['name_en'])}</h3>
<p class="badges">{''.join(badges)}</p>
{lines}
</header>
<div class="charts">{charts}</div>
{tables}
{all_years}
{notes}
{_wijk_view(ind, wh)}
<dl class="meta">
<dt>Definitie <span class="en" lang="en">Definition</span></dt><dd>{escape(ind.get('definition') or '')}</dd>
<dt>Eenheid <span class="en" lang="en">Unit</span></dt><dd>{escape(ind['unit'])}</dd>
<dt>Richting <span class="en" lang="en">Direction</span></dt><dd>{escape(direction_nl)} ({escape(direction_en)})</dd>
<dt>Bron <span class="en" lang="en">Source</span></dt>
<dd class="source">{source}; licentie {escape(ind.get('licence') or '')}</dd>
</dl>
</article>"""


# ---------------------------------------------------------------- headlines

def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _counts_line(t, target: str) -> str:
    c = t.counts
    items = "".join(f'<li data-verdict="{v}"><strong>{c[v]}</strong> {escape(VERDICT_NL[v])}</li>' for v in VERDICTS)
    years = f'<span class="years">{escape(t.years_text())}</span>' if t.compared else ""
    return (f'<div class="target" data-target="{target}"><h4>Tegenover {TARGET_NAMES[target]}{years}</h4>'
            f'<ul class="counts">{items}</ul></div>')


def theme_card(theme: str, wh: Warehouse, indicators: list[dict]) -> str:
    nl, en = THEMES.get(theme, (theme.capitalize(), theme))
    normative_ones = [i for i in indicators if normative(i)]
    attrs = [f'data-theme="{theme}"']
    if normative_ones:
        parts = []
        for target in TARGETS:
            t = tally(wh, normative_ones, target)
            attrs += [f'data-{target}-{v.replace(" ", "-")}="{t.counts[v]}"' for v in VERDICTS]
            parts.append(_counts_line(t, target))
        body = "".join(parts)
        context = len(indicators) - len(normative_ones)
        if context:
            body += f'<p class="detail">Plus {_plural(context, "contextindicator", "contextindicatoren")} zonder oordeel.</p>'
    else:
        body = '<p class="detail">Alleen contextindicatoren: geen goed of slecht, dus geen oordeel.</p>'
    return (f'<section class="card" {" ".join(attrs)} aria-labelledby="card-{theme}"><h3 id="card-{theme}">'
            f'<a href="#thema-{theme}">{escape(nl)}</a>{_en(en)}</h3>'
            f'<p class="count">{_plural(len(indicators), "indicator", "indicatoren")}, waarvan '
            f'{len(normative_ones)} met een richting</p>{body}</section>')


def summary_text(wh: Warehouse, indicators: list[dict]) -> str:
    normative_ones = [i for i in indicators if normative(i)]
    until = wh.data_until()
    text = (f"Cijfers tot en met {until}. " if until else "") + (
        f"Dit rapport volgt {_plural(len(indicators), 'indicator', 'indicatoren')}, waarvan {len(normative_ones)} met "
        "een richting (hoger of lager is beter). ")
    for target in TARGETS:
        t = tally(wh, normative_ones, target)
        c = t.counts
        measured = c["closing"] + c["widening"] + c["no clear change"]
        text += f"Tegenover {TARGET_NAMES[target]}: "
        if measured:
            text += (f"bij {c['closing']} is de kloof kleiner geworden en bij {c['widening']} groter, meer dan de ruis "
                     f"in de bronnen; bij {c['no clear change']} is er geen duidelijke verandering ({t.years_text()}); ")
        text += f"{c['not yet measurable']} {'is' if c['not yet measurable'] == 1 else 'zijn'} nog niet te meten. "
    return text.strip()


def headline_table(wh: Warehouse, themes: list[str], by_theme: dict[str, list[dict]]) -> str:
    """Per theme and target: how many normative indicators are closing, widening, unchanged or not measurable."""
    head = "".join(f'<th scope="colgroup" colspan="5">Tegenover {TARGET_NAMES[t]}</th>' for t in TARGETS)
    sub = "".join("".join(_th(VERDICT_NL[v], v) for v in VERDICTS) + _th("Jaren", "Years compared")
                  for _t in TARGETS)
    rows = []
    for theme in [*themes, None]:
        inds = [i for i in (by_theme[theme] if theme else [i for t in themes for i in by_theme[t]]) if normative(i)]
        if theme and not inds:
            continue
        name = escape(THEMES.get(theme, (theme,))[0]) if theme else "<strong>Alle thema's</strong>"
        cells = ""
        for target in TARGETS:
            t = tally(wh, inds, target)
            cells += "".join(f'<td class="num" data-theme="{theme or "all"}" data-target="{target}" data-verdict="{v}">'
                             f"{t.counts[v]}</td>" for v in VERDICTS)
            cells += f"<td>{escape(t.years_text())}</td>"
        rows.append(f'<tr{" class=total" if theme is None else ""}><th scope="row">{name}</th>{cells}</tr>')
    return (f'<div class="scroll"><table class="headline"><caption>Indicatoren met een richting per thema: is de kloof '
            f'kleiner geworden?{_en("Normative indicators per theme: is the gap closing?")}</caption>'
            f'<thead><tr><td></td>{head}</tr><tr>{_th("Thema", "Theme")}{sub}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def overview_table(wh: Warehouse, indicators: list[dict]) -> str:
    """All indicators in one table: where Noord started and where it is now, against both targets."""
    body = []
    for ind in indicators:
        f = _fmt(ind)
        cells = ""
        for target in TARGETS:
            v = wh.verdicts.get(ind["indicator_id"], {}).get(target)
            if v is None:
                cells += '<td>–</td><td class="num">–</td><td>' + ("context" if not normative(ind) else "–") + "</td>"
                continue
            years = f"{v['baseline_year']} → {v['latest_year']}" if v["latest_year"] else (v["baseline_year"] or "–")
            gaps = (f"{f(v['baseline_gap'], True)} → {f(v['latest_gap'], True)}" if v["latest_year"]
                    else f(v["baseline_gap"], True))
            cells += (f"<td>{years}</td><td class=\"num\">{gaps}</td>"
                      f'<td data-target="{target}" data-verdict="{escape(v["verdict"])}">{escape(VERDICT_NL[v["verdict"]])}</td>')
        body.append(
            f'<tr data-indicator="{escape(ind["indicator_id"])}"><td>{escape(THEMES.get(ind["theme"], (ind["theme"],))[0])}</td>'
            f'<td><a href="#{escape(ind["indicator_id"])}">{escape(ind["name_nl"])}</a>{_en(ind["name_en"])}</td>'
            f'<td>{escape(DIRECTIONS.get(ind["direction"], (ind["direction"],))[0])}</td>{cells}</tr>')
    head = "".join(_th("Jaren", "Years") + _th("Kloof", "Gap") + _th(f"Oordeel t.o.v. {TARGET_NAMES[t]}", f"Verdict vs {t}")
                   for t in TARGETS)
    return (f'<details><summary>Alle indicatoren in één tabel{_en("All indicators")}</summary><div class="scroll">'
            f'<table class="overview"><caption>Kloof van Noord in het basisjaar en nu (in de eenheid van de indicator)'
            f'{_en("Noord gap at the baseline and now")}</caption><thead><tr>{_th("Thema", "Theme")}'
            f'{_th("Indicator", "Indicator")}{_th("Richting", "Direction")}{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div></details>')


def live_only(wh: Warehouse, indicators: list[dict]) -> str:
    """Indicators without any value in this build, listed once instead of as empty sections."""
    if not indicators:
        return ""
    live = (wh.build.get("source_mode") or "snapshot") != "live"
    title = "Alleen met live bronnen" if live else "Zonder cijfers in deze build"
    why = ("Deze indicatoren vult alleen <code>heerlen run --live</code>: hun bron zit niet in de meegeleverde "
           "gegevens." if live else "Voor deze indicatoren leverden de bronnen in deze build geen cijfers.")
    items = "".join(f'<li data-indicator="{escape(i["indicator_id"])}">{escape(i["name_nl"])} '
                    f'({escape(i["indicator_id"])}, {escape(THEMES.get(i["theme"], (i["theme"],))[0])}) — '
                    f'{escape(i.get("source") or "")}</li>' for i in indicators)
    return (f'<section id="alleen-live" class="live-only"><h3>{title}{_en("Live sources only")}</h3>'
            f"<p>{why}</p><ul>{items}</ul></section>")


def programmes_section(wh: Warehouse) -> str:
    if not wh.programmes:
        return ""
    rows = "".join(
        f'<tr data-programme="{escape(p["programme_id"])}"><td>{escape(THEMES.get(p["theme"], (p["theme"],))[0])}</td>'
        f'<th scope="row">{escape(p["name_nl"])}{_en(p["name_en"])}</th><td>{escape(p["description"])}</td>'
        f'<td>{escape(p["areas"])}</td><td>{escape(p["start_text"])}</td></tr>' for p in wh.programmes)
    sources = sorted({p["source"] for p in wh.programmes})
    return f"""
<section id="interventies">
<h2>Wat er gebeurt: de interventies van de routekaart <span class="en" lang="en">The routekaart's interventions</span></h2>
<p>Deze interventies liepen al toen de routekaart verscheen (voorjaar 2022). In de grafieken van hun thema staan ze als
stippellijn op het jaar waarin ze uiterlijk begonnen. Of een verandering in de cijfers aan een interventie ligt, kan
dit rapport niet zeggen: het toont alleen wanneer ze begonnen naast hoe de cijfers liepen.</p>
<div class="scroll"><table class="programmes"><thead><tr>{_th("Thema", "Theme")}{_th("Interventie", "Intervention")}
{_th("Wat", "What")}{_th("Waar of voor wie", "Where or for whom")}{_th("Start", "Start")}</tr></thead>
<tbody>{rows}</tbody></table></div>
<p class="note">Bron: {escape("; ".join(sources))}.</p>
</section>"""


# ---------------------------------------------------------------- the data section

CHECKS_NL = {  # the plain checks (quality/checks.py), in words
    "counts_reconcile_with_gemeente": "De wijken tellen op tot het gemeentecijfer (binnen de afronding van het CBS)",
    "required_measures_present": "Alle benodigde variabelen staan in de bron",
    "no_rejected_cells": "Alle broncellen konden worden gelezen",
    "observation_keys_unique": "Elk gebied, jaar en elke variabele komt één keer voor",
    "indicator_keys_unique": "Elke indicator komt per gebied en jaar één keer voor",
    "rows_staged": "De bron leverde rijen (en niet onredelijk veel)",
    "suppression_respected": "Geen cijfer rust op minder dan 100 mensen of huishoudens",
    "values_in_plausible_range": "Alle waarden liggen binnen hun verwachte bereik",
    "year_over_year_jumps": "Geen onverwacht grote sprong tussen twee jaren",
    "programme_wijken_complete": "Alle wijken van Noord en Zuid zijn aanwezig",
}
EXPECTATIONS_NL = {  # Great Expectations rules (data_checks/*.json), in words; {c} is the column
    "expect_table_columns_to_match_set": "De tabel heeft precies de verwachte kolommen",
    "expect_table_row_count_to_be_between": "Het aantal rijen ligt binnen de verwachte grenzen",
    "expect_column_values_to_not_be_null": "Kolom {c} is gevuld waar dat moet",
    "expect_column_values_to_be_null": "Kolom {c} is leeg waar er geen cijfer is",
    "expect_column_values_to_be_between": "Kolom {c} ligt binnen het toegestane bereik",
    "expect_column_values_to_be_in_set": "Kolom {c} heeft alleen toegestane waarden",
    "expect_column_values_to_match_regex": "Kolom {c} heeft de juiste vorm (gebiedscodes)",
    "expect_compound_columns_to_be_unique": "Elke combinatie van sleutels komt één keer voor",
    "expect_column_pair_values_a_to_be_greater_than_b": "Waarde en onzekerheidsgrenzen liggen in de juiste volgorde",
}
ASSETS_NL = {"staging": "bron", "indicators": "thema"}


def check_text(check_name: str) -> str:
    """A data check's name in words (the technical name stays in the data section's detail table)."""
    if check_name in CHECKS_NL:
        return CHECKS_NL[check_name]
    expectation, _, column = check_name.partition("(")
    text = EXPECTATIONS_NL.get(expectation)
    return text.format(c=column.rstrip(")") or "–") if text else check_name


def _asset_text(asset: str) -> str:
    layer, _, name = asset.partition("/")
    return f"{ASSETS_NL.get(layer, layer)} {name}" if name else asset


def _fetched_text(source: dict) -> str:
    """The day the data left its publisher; "uiterlijk" when the provenance only bounds it (a commit date)."""
    day = escape(str(source.get("fetched_at") or "")[:10])
    return f"uiterlijk {day}" if (source.get("fetched_basis") or "").startswith("on or before") else day


def _sources_table(wh: Warehouse) -> str:
    # A file listed twice (once under an older source id without a title) is shown once, with its title.
    titled = {s["source_file"] for s in wh.sources if s.get("title")}
    rows = [s for s in wh.sources if s.get("title") or s["source_file"] not in titled]
    body = "".join(
        f"<tr><td>{escape(s.get('publisher') or s['source_id'])}</td><td>{escape(s.get('title') or '')}</td>"
        f"<td>{escape(str(s.get('table_id') or ''))}</td><td>{s['year'] if s.get('year') is not None else '–'}</td>"
        f"<td><code>{escape(s.get('source_file') or '')}</code></td><td class=\"num\">{nl_number(s.get('rows'), 0)}</td>"
        f"<td>{escape(s.get('licence') or '')}</td><td title=\"{escape(s.get('fetched_basis') or '')}\">"
        f"{_fetched_text(s)}</td>"
        f"<td><code>{escape((s.get('sha256') or '')[:12])}</code></td></tr>" for s in rows)
    return (f'<div class="scroll"><table class="sources"><caption>Bronbestanden van deze build{_en("Source files")}'
            f"</caption><thead><tr>{_th('Bron', 'Publisher')}{_th('Titel', 'Title')}{_th('Tabel', 'Table')}"
            f"{_th('Jaar', 'Year')}{_th('Bestand', 'File')}{_th('Rijen', 'Rows')}{_th('Licentie', 'Licence')}"
            f"{_th('Opgehaald', 'Fetched')}{_th('sha256', 'checksum')}</tr></thead><tbody>{body}</tbody></table></div>")


def _coverage_table(wh: Warehouse) -> str:
    def years(iid: str, area: str) -> str:
        ys = sorted(y for y, r in wh.values.get(iid, {}).get(area, {}).items() if r["status"] == "ok")
        return _years_text(ys) if ys else "–"

    body = "".join(
        f'<tr><td><a href="#{escape(i["indicator_id"])}">{escape(i["indicator_id"])}</a></td>'
        f"<td>{escape(i['name_nl'])}{_en(i['name_en'])}</td>"
        + "".join(f"<td>{years(i['indicator_id'], a)}</td>" for a in AREAS) + "</tr>"
        for i in _ordered(wh.indicators))
    head = "".join(_th(AREA_NAMES[a], AREA_NAMES_EN[a]) for a in AREAS)
    return (f'<div class="scroll"><table class="coverage"><caption>Jaren met een waarde, per indicator en gebied'
            f'{_en("Years with a value")}</caption><thead><tr>{_th("Code", "Code")}{_th("Indicator", "Indicator")}'
            f"{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _area_definition(wh: Warehouse) -> str:
    def names(area: str) -> str:
        return ", ".join(f"{escape(n)} ({c})" for c, (n, p) in sorted(wh.wijken.items()) if p == area)

    other = []
    for definition, parents in sorted(wh.definitions.items()):
        if definition == wh.definition:
            continue
        moved = [f"{escape(wh.wijken[c][0])} hoort daar bij {AREA_NAMES.get(p, p)}"
                 for c, p in sorted(parents.items()) if c in wh.wijken and wh.wijken[c][1] != p]
        other.append(f"Onder de indeling <strong>{escape(definition)}</strong>: "
                     + ("; ".join(moved) if moved else "dezelfde wijken") + ".")
    return (f"<p>Gebiedsindeling in dit rapport: <strong>{escape(wh.definition)}</strong>. De precieze wijkenlijst "
            "van het programma is niet gepubliceerd; beide kandidaat-indelingen staan in het warehouse "
            "(<code>marts.programme_values</code>).</p>"
            f"<p><strong>{NOORD_NAME}</strong> ({sum(p == NOORD for _n, p in wh.wijken.values())} wijken): {names(NOORD)}.</p>"
            f"<p><strong>{ZUID_NAME}</strong> ({sum(p == ZUID for _n, p in wh.wijken.values())} wijken): {names(ZUID)}.</p>"
            + "".join(f"<p>{o}</p>" for o in other))


def _checks(wh: Warehouse) -> str:
    failed = [c for c in wh.checks if not c["passed"]]
    errors = sum(c["severity"] == "error" for c in failed)
    warns = len(failed) - errors
    if not wh.checks:
        summary = "<p>Er zijn geen controleresultaten in deze build opgeslagen.</p>"
    elif not failed:
        summary = f'<p class="ok">Alle {len(wh.checks)} datacontroles van deze build zijn geslaagd.</p>'
    else:
        summary = (f'<p class="warn">{len(wh.checks) - len(failed)} van de {len(wh.checks)} datacontroles zijn '
                   f"geslaagd; {errors} fout (ERROR) en {warns} waarschuwing (WARN) niet. Een waarschuwing houdt "
                   "de publicatie niet tegen; ze staat hieronder.</p>")

    def table(rows: list[dict], cls: str, technical: bool) -> str:
        body = "".join(f'<tr class="{"failed" if not c["passed"] else "passed"} {c["severity"]}">'
                       f"<td>{escape(_asset_text(c['asset']))}</td><td>{escape(check_text(c['check_name']))}</td>"
                       + (f"<td><code>{escape(c['check_name'])}</code></td>" if technical else "")
                       + f"<td>{'fout' if c['severity'] == 'error' else 'waarschuwing'}</td>"
                       f"<td>{'geslaagd' if c['passed'] else 'NIET geslaagd'}</td>"
                       f"<td>{escape(str(c.get('observed') or ''))}</td></tr>" for c in rows)
        name = _th("Technische naam", "Check name") if technical else ""
        return (f'<div class="scroll"><table class="{cls}"><thead><tr>{_th("Gegevens", "Asset")}{_th("Controle", "Check")}'
                f'{name}{_th("Ernst", "Severity")}{_th("Uitkomst", "Outcome")}{_th("Gevonden", "Observed")}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>")

    out = summary + (table(failed, "checks failed-checks", False) if failed else "")
    if wh.checks:
        out += (f'<details><summary>Alle controles, met hun technische namen ({len(wh.checks)})'
                f'{_en("All checks, with their technical names")}</summary>{table(wh.checks, "checks", True)}</details>')
    if wh.rejected:
        out += (f"<p>{len(wh.rejected)}{'+' if len(wh.rejected) == 50 else ''} broncellen konden niet worden gelezen "
                "(<code>marts.rejected_rows</code>), bijvoorbeeld: "
                + "; ".join(f"{escape(str(r.get('source_file')))} {escape(str(r.get('field')))} "
                            f"{escape(str(r.get('raw_value')))} ({escape(str(r.get('reason')))})" for r in wh.rejected[:5])
                + ".</p>")
    else:
        out += "<p>Alle broncellen zijn gelezen: <code>marts.rejected_rows</code> is leeg.</p>"
    return out


def data_section(wh: Warehouse, built_report: datetime) -> str:
    b = wh.build
    mode = {"snapshot": "de meegeleverde bestanden (snapshot)", "live": "de live API's"}.get(
        b.get("source_mode") or "", escape(str(b.get("source_mode") or "onbekend")))
    breaks = "".join(f"<li>{escape(i)} vanaf {y}: {escape(n)}</li>" for i, bs in sorted(wh.breaks.items()) for y, n in bs)
    has_intervals = any(interval(r) for rows in wh.values.values() for area in rows.values() for r in area.values())
    intervals = ("Bij de RIVM-schattingen staat het 95%-interval dat het RIVM publiceert (<code>marts.estimate_intervals</code>)."
                 if has_intervals else "Bij de RIVM-schattingen staat in deze build geen interval (dat komt alleen mee "
                 "met de live RIVM-tabel); een verandering in die schattingen is daarom nog niet te toetsen.")
    return f"""
<section id="gegevens" class="data">
<h2>Over de gegevens <span class="en" lang="en">About the data</span></h2>
<h3>Build</h3>
<dl class="build">
<dt>Cijfers tot en met</dt><dd>{wh.data_until() or 'onbekend'}</dd>
<dt>Warehouse gebouwd</dt><dd>{nl_datetime(b.get('built_at'))}</dd>
<dt>Dit rapport gemaakt</dt><dd>{nl_datetime(built_report)}</dd>
<dt>Bronnen gelezen uit</dt><dd>{mode}</dd>
<dt>Codeversie</dt><dd><code>{escape(str(b.get('code_version') or ''))}</code></dd>
<dt>Run</dt><dd><code>{escape(str(b.get('run_id') or ''))}</code></dd>
<dt>Configuratie</dt><dd><code>{escape(str(b.get('config_fingerprint') or ''))}</code></dd>
</dl>
<h3>Gebieden <span class="en" lang="en">Areas</span></h3>
{_area_definition(wh)}
<h3>Bronnen en jaren <span class="en" lang="en">Sources and years</span></h3>
<p>{escape(b.get('attribution') or '')}. Bij elke indicator staat de bron en de tabel(len) waarop de cijfers rusten.</p>
{_sources_table(wh)}
{_coverage_table(wh)}
<p>{intervals}</p>
{f'<p>Trendbreuken (niet over heen vergelijken):</p><ul>{breaks}</ul>' if breaks else ''}
<h3>Controles <span class="en" lang="en">Data checks</span></h3>
{_checks(wh)}
</section>"""


# ---------------------------------------------------------------- the page

CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")  # inlined: the page is self-contained


def _how_to_read() -> str:
    key = "".join(f'<li><span class="key" style="border-color:{COLOURS[a]};border-top-width:{4 if a == NOORD else 2}px">'
                  f"</span>{'<strong>' if a == NOORD else ''}{AREA_NAMES[a]}{'</strong>' if a == NOORD else ''} "
                  f"({shape})</li>" for a, shape in zip(AREAS, ("rondje", "vierkantje", "driehoekje", "ruitje"), strict=True))
    return f"""
<section id="leeswijzer">
<h2>Zo leest u dit rapport <span class="en" lang="en">How to read this report</span></h2>
<ul class="legend-key">{key}</ul>
<ul>
<li><strong>Kloof</strong>: de waarde van {NOORD_NAME} min die van Nederland (of van {ZUID_NAME}), in de eenheid
van de indicator (bij percentages in procentpunten). Het routekaartdoel: geen kloof meer met Nederland én met Zuid.</li>
<li><strong>Basisjaar</strong>: per indicator en per vergelijking het laatste jaar tot en met {BASELINE_YEAR} waarin
Noord en de ander allebei een cijfer hebben; is er zo'n jaar niet, dan het eerste latere jaar.</li>
<li><strong>Oordeel</strong>: het laatste jaar vergeleken met het basisjaar. <strong>Kloof kleiner</strong> of
<strong>kloof groter</strong> als de kloof meer veranderde dan de <strong>ruis</strong> in de bronnen;
<strong>geen duidelijke verandering</strong> als het verschil binnen die ruis valt; <strong>nog niet te meten</strong>
als er na het basisjaar nog geen vergelijkbare meting is, of als de onzekerheid van de cijfers niet bekend is.</li>
<li><strong>Ruis</strong>: hoeveel de kloof kan bewegen zonder dat er iets veranderd is. Het CBS rondt aantallen per
wijk af (inwoners op 5, uitkeringen op 10); daardoor ligt elk cijfer binnen grenzen die we meenemen. Bij
RIVM-schattingen is het het 95%-interval dat het RIVM publiceert.</li>
<li><strong>Op koers voor {PARITY_YEAR}</strong>: de kloof ligt op of binnen de rechte lijn (stippellijn) van de kloof in
het basisjaar naar nul in {PARITY_YEAR}. Dat wordt pas beoordeeld in een jaar ná het basisjaar.</li>
<li><strong>Index</strong> (Nederland = 100): boven 100 is Noord slechter af, ongeacht of hoger of lager beter is; twee
keer zo slecht is 200.</li>
<li>Een <strong>onderbroken lijn</strong> betekent: geen waarde voor dat jaar. Zo'n jaar wordt nooit als nul
getekend. In de tabellen staat waarom: <em>onbekend of geheim (.)</em> en <em>geheim (x)</em> zijn de tekens van het
CBS; <em>afgeschermd</em>: door de bron of omdat het om minder dan 100 mensen gaat; <em>n.v.t.</em>: niet van
toepassing; <em>ontbreekt</em>: (nog) niet gepubliceerd.</li>
<li><strong>Lage dekking</strong>: een cijfer voor Noord of Zuid dat rust op wijken met samen minder dan 90% van de
inwoners. Het staat in de tabellen, maar telt niet mee in het oordeel.</li>
<li><strong>Periode</strong>: sommige cijfers beschrijven een andere periode dan het jaar van de tabel, bijvoorbeeld
misdrijven van het jaar ervoor; dat staat bij het cijfer.</li>
<li><strong>Contextindicatoren</strong> (zoals de bevolkingsopbouw of de WOZ-waarde) hebben geen goed of slecht; ze
krijgen geen oordeel.</li>
<li>Cijfers van het <strong>RIVM</strong> (thema gezondheid) zijn <strong>modelschattingen</strong>, geen tellingen.</li>
<li>Een <strong>stippellijn met een naam</strong> in een grafiek markeert een interventie van de routekaart.</li>
</ul>
</section>"""


def _ordered(indicators: list[dict]) -> list[dict]:
    rank = {t: i for i, t in enumerate(THEMES)}
    return sorted(indicators, key=lambda i: (rank.get(i["theme"], len(rank)), i["theme"], i["indicator_id"]))


def render(wh: Warehouse, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    ordered = _ordered(wh.indicators)
    shown = [i for i in ordered if wh.has_values(i["indicator_id"])]
    empty = [i for i in ordered if not wh.has_values(i["indicator_id"])]
    themes = list(dict.fromkeys(i["theme"] for i in ordered))
    by_theme = {t: [i for i in ordered if i["theme"] == t] for t in themes}
    cards = "".join(theme_card(t, wh, by_theme[t]) for t in themes)
    toc = "".join(f'<a href="#thema-{t}">{escape(THEMES.get(t, (t,))[0])}</a>' for t in themes)
    sections = []
    for t in themes:
        nl, en = THEMES.get(t, (t.capitalize(), t))
        inds = [i for i in by_theme[t] if i in shown]
        toc_items = "".join(f'<li><a href="#{escape(i["indicator_id"])}">{escape(i["name_nl"])}</a></li>' for i in inds)
        later = [i for i in by_theme[t] if i in empty]
        note = (f'<p class="note">Alleen met live bronnen: {escape(", ".join(i["name_nl"] for i in later))} '
                '(<a href="#alleen-live">zie boven</a>).</p>') if later else ""
        sections.append(f'<section class="theme" id="thema-{t}"><h2>{escape(nl)}{_en(en)}</h2>'
                        f'<ul class="inline-toc">{toc_items}</ul>{note}'
                        + "".join(indicator_section(i, wh) for i in inds) + "</section>")
    b = wh.build
    until = wh.data_until()
    return f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="heerlen-pipeline {escape(str(b.get('code_version') or ''))}">
<title>Routekaart {NOORD_NAME}: wordt de kloof kleiner?</title>
<style>{CSS}</style>
</head>
<body>
<header class="page">
<p class="en" lang="en">Routemap {NOORD_NAME}: is the gap closing? (in Dutch; English names in the tables)</p>
<h1>Routekaart {NOORD_NAME}: wordt de kloof kleiner?</h1>
<p class="lead">Hoe staat {NOORD_NAME} ervoor naast {ZUID_NAME}, heel {GEMEENTE_NAME} en Nederland, op de vijf thema's van
de routekaart? Het doel: in {PARITY_YEAR} maakt het niet meer uit of een kind in {NOORD_NAME}, in {ZUID_NAME} of in
een gemiddelde Nederlandse wijk opgroeit. <strong>Cijfers tot en met {until or 'onbekend'}</strong>; warehouse gebouwd op
{nl_datetime(b.get('built_at'))}; gebiedsindeling <strong>{escape(wh.definition)}</strong>.</p>
<nav class="toc" aria-label="Inhoud">{toc}<a href="#interventies">Interventies</a><a href="#leeswijzer">Zo leest u dit</a>
<a href="#gegevens">Over de gegevens</a></nav>
</header>
<main>
<section id="koppen">
<h2>Wordt de kloof kleiner? <span class="en" lang="en">Is the gap closing?</span></h2>
<p class="lead">{escape(summary_text(wh, ordered))}</p>
{headline_table(wh, themes, by_theme)}
<div class="cards">{cards}</div>
{overview_table(wh, ordered)}
{live_only(wh, empty)}
</section>
{_how_to_read()}
{''.join(sections)}
{programmes_section(wh)}
{data_section(wh, now)}
</main>
<footer>
<p>{escape(b.get('attribution') or '')}. De cijfers en oordelen komen uit het gepubliceerde warehouse
(<code>marts</code>-tabellen); dit rapport rekent niets bij, het toont ze. Gemaakt met heerlen-pipeline
{escape(str(b.get('code_version') or ''))}.</p>
</footer>
</body>
</html>
"""


# ---------------------------------------------------------------- writing

def default_output(warehouse: Path) -> Path:
    return Path(warehouse).parent / "report" / "index.html"


@dataclass
class ReportResult:
    path: Path
    indicators: int
    bytes: int
    seconds: float


class NotThisFocusArea(ValueError):
    """The warehouse compares another focus area than the one this report is written for."""


def write_report(warehouse: Path, output: Path | None = None) -> ReportResult:
    """Render the page from the published warehouse and swap it into place (a reader never sees half a file)."""
    started = time.perf_counter()
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise FileNotFoundError(f"no published warehouse at {warehouse}: run `heerlen run` first")
    output = Path(output) if output else default_output(warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        wh = load(con)
    finally:
        con.close()
    built_for = wh.build.get("focus_area") or FOCUS.id
    if built_for != FOCUS.id:  # the page is the routekaart of Heerlen-Noord: its copy, interventions and targets
        raise NotThisFocusArea(f"the report is the routekaart of {FOCUS.id}; {warehouse} was built for focus area "
                               f"{built_for}: query its marts instead (`heerlen query`)")
    html = render(wh)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return ReportResult(output, len(wh.indicators), len(html.encode()), time.perf_counter() - started)
