"""The routekaart report: one self-contained HTML page from the published warehouse (`heerlen report`).

It reads only the published marts (read-only) and shows only their values: a headline per theme, per indicator
a trend chart, the gap with its straight path to parity in 2047, the latest values, every year in a table, the
wijken ranked, and a data section (sources, area definition, build, checks). No scripts, fonts or images
from elsewhere: charts are inline SVG (report_svg), styles are inline, so the file opens offline anywhere.
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

from .gaps import BASELINE_YEAR, PARITY_YEAR
from .report_data import AREAS, COUNT_METHODS, Assessment, Warehouse, assess, load, tally
from .report_svg import (
    COLOURS,
    HEERLEN,
    NEDERLAND,
    NOORD,
    ZUID,
    Bar,
    Series,
    bar_chart,
    empty_chart,
    gap_chart,
    line_chart,
    nl_number,
)

AREA_NAMES = {NOORD: "Heerlen-Noord", ZUID: "Heerlen-Zuid", HEERLEN: "Heerlen", NEDERLAND: "Nederland"}
AREA_NAMES_EN = {NOORD: "Heerlen North", ZUID: "Heerlen South", HEERLEN: "Heerlen (municipality)", NEDERLAND: "Netherlands"}
THEMES = {  # the five routekaart themes, then the demographic context
    "leren": ("Leren", "Learning"), "werken": ("Werken en inkomen", "Work and income"),
    "gezondheid": ("Gezondheid", "Health"), "wonen": ("Wonen", "Housing"), "veiligheid": ("Veiligheid", "Safety"),
    "demografie": ("Demografie", "Demographics"),
}
DIRECTIONS = {"higher_is_better": ("Hoger is beter", "higher is better"),
              "lower_is_better": ("Lager is beter", "lower is better"),
              "context": ("Context: geen goed of slecht", "context, no normative direction")}
STATUS_TEXT = {"suppressed": "onderdrukt", "missing": "ontbreekt"}
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


def verdict_text(ind: dict, a: Assessment) -> str:
    f, gu = _fmt(ind), gap_unit(ind["unit"])
    if a.kind == "none":
        return a.reason
    b = a.baseline
    base = (f"In het basisjaar {b['year']} scoorde Heerlen-Noord {f(b['noord'])} tegen {f(b['nederland'])} "
            f"voor Nederland: een kloof van {_with_unit(f(b['gap_noord_nl'], True), gu)}.")
    if a.kind == "baseline_only":
        return base + " Er is nog geen latere meting met een landelijk cijfer, dus nog geen trend."
    lt = a.latest
    moved = (f"van {_with_unit(f(b['gap_noord_nl'], True), gu)} in {b['year']} naar "
             f"{_with_unit(f(lt['gap_noord_nl'], True), gu)} in {lt['year']}")
    share = nl_number(abs(lt["closure_since_baseline"] or 0) * 100, 0)
    if not a.normative:
        return f"Contextindicator: geen doel. Het verschil met Nederland ging {moved}."
    text = {
        "closing": f"De kloof met Nederland is kleiner geworden: {moved} ({share}% gedicht).",
        "widening": f"De kloof met Nederland is groter geworden: {moved} ({share}% groter).",
        "unchanged": f"De kloof met Nederland is gelijk gebleven: {moved}.",
        "parity": f"Heerlen-Noord scoort gelijk aan of beter dan Nederland: kloof {moved}.",
    }[a.kind]
    target = lt.get("trajectory_target")
    if a.on_track:
        text += (f" Daarmee ligt Noord op koers voor gelijkheid in {PARITY_YEAR} "
                 f"(pad: {_with_unit(f(target, True), gu)} in {lt['year']}).")
    elif lt.get("on_track") is False:
        text += (f" Daarmee ligt Noord niet op koers voor {PARITY_YEAR}: volgens het pad zou de kloof in {lt['year']} "
                 f"hoogstens {_with_unit(f(target, True), gu)} zijn.")
    return text


# ---------------------------------------------------------------- one indicator

def _is_estimate(ind: dict) -> bool:
    return "RIVM" in (ind.get("source") or "")


def _source_tables(vals: dict[str, dict[int, dict]]) -> list[str]:
    tables = {t.strip() for rows in vals.values() for r in rows.values() for t in (r["source_table"] or "").split("+")}
    return sorted(t for t in tables if t)


def _cell(row: dict | None, f, interval: tuple[float, float] | None = None) -> str:
    if row is None:
        return '<span class="na" title="geen cijfer in de bron voor dit jaar">–</span>'
    if row["status"] != "ok":
        return f'<span class="na">{STATUS_TEXT.get(row["status"], escape(row["status"]))}</span>'
    text = f(row["value"])
    if interval:
        text += f' <span class="ci">({f(interval[0])}–{f(interval[1])})</span>'
    return text


def _chart_areas(ind: dict, vals: dict[str, dict[int, dict]]) -> list[str]:
    # Nederland's count (17 million inhabitants) would flatten Heerlen's lines: counts are charted without it.
    areas = [a for a in AREAS if any(r["status"] == "ok" for r in vals.get(a, {}).values())]
    return [a for a in areas if not (ind["method"] in COUNT_METHODS and a == NEDERLAND)]


def _trend_chart(ind: dict, wh: Warehouse, years: list[int]) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    chart_id, name = f"c-{iid}-trend", ind["name_nl"]
    title = f"{name}: Heerlen-Noord, Heerlen-Zuid, Heerlen en Nederland per jaar"
    areas = _chart_areas(ind, vals)
    if not areas:
        return empty_chart(chart_id, title, f"Geen cijfers voor {name} in deze build.", "Geen gegevens in deze build")
    series = [Series(a, AREA_NAMES[a], {y: (r["value"] if r["status"] == "ok" else None) for y, r in vals[a].items()},
                     {y: iv for y in vals[a] if (iv := wh.intervals.get((iid, a, y)))}) for a in areas]
    parts = []
    for s in series:
        shown = sorted(y for y, v in s.values.items() if v is not None)
        gaps = [f"{y} ({STATUS_TEXT.get(r['status'], r['status'])})" for y, r in sorted(vals[s.key].items())
                if r["status"] != "ok"]
        parts.append(f"{s.label}: " + "; ".join(f"{y}: {f(s.values[y])}" for y in shown)
                     + (f"; geen waarde in {', '.join(gaps)}" if gaps else ""))
    est = " Modelschattingen van het RIVM." if _is_estimate(ind) else ""
    desc = f"Lijngrafiek ({ind['unit']}), {years[0]}–{years[-1]}.{est} " + ". ".join(parts) + "."
    return line_chart(chart_id, title, desc, years, series, f, ind["unit"], [y for y, _n in wh.breaks.get(iid, [])])


def _gap_chart(ind: dict, rows: list[dict], a: Assessment) -> str:
    if a.baseline is None:
        return ""
    f, iid, gu = _fmt(ind), ind["indicator_id"], gap_unit(ind["unit"])
    first = min([r["year"] for r in rows if r["gap_noord_nl"] is not None] + [a.baseline["year"]])
    gaps = {r["year"]: r["gap_noord_nl"] for r in rows if r["year"] >= first}
    worse = "boven" if ind["direction"] == "lower_is_better" else "onder"
    side = (f" Boven nul ligt Noord hoger dan Nederland; {worse} nul scoort Noord slechter." if a.normative
            else " Contextindicator: het pad is ter vergelijking, geen doel.")
    desc = (f"Kloof Heerlen-Noord min Nederland ({gu}) per jaar met een stippellijn van de kloof in het basisjaar "
            f"{a.baseline['year']} ({f(a.baseline['gap_noord_nl'], True)}) naar nul in {PARITY_YEAR}. "
            + "; ".join(f"{y}: {f(v, True)}" for y, v in gaps.items() if v is not None) + "." + side)
    return gap_chart(f"c-{iid}-gap", f"{ind['name_nl']}: kloof Noord − Nederland en het pad naar {PARITY_YEAR}", desc,
                     gaps, (a.baseline["year"], a.baseline["gap_noord_nl"]), PARITY_YEAR, lambda v: f(v, True), gu)


def _latest_table(ind: dict, wh: Warehouse, rows: list[dict], a: Assessment) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    out = [f'<table class="latest" data-indicator="{iid}"><caption>Laatste cijfers{_en("Latest figures")}</caption>',
           f"<thead><tr>{_th('Gebied', 'Area')}{_th('Jaar', 'Year')}{_th('Waarde', 'Value')}</tr></thead><tbody>"]
    for area in AREAS:
        ok = [(y, r) for y, r in sorted(vals.get(area, {}).items()) if r["status"] == "ok"]
        cls = ' class="noord"' if area == NOORD else ""
        if ok:
            y, r = ok[-1]
            cell = _cell(r, f, wh.intervals.get((iid, area, y)))
            out.append(f'<tr{cls}><th scope="row">{AREA_NAMES[area]}{_en(AREA_NAMES_EN[area])}</th><td>{y}</td>'
                       f'<td class="num" data-area="{area}" data-year="{y}">{cell}</td></tr>')
        else:
            out.append(f'<tr{cls}><th scope="row">{AREA_NAMES[area]}{_en(AREA_NAMES_EN[area])}</th><td>–</td>'
                       '<td class="num"><span class="na">geen cijfer</span></td></tr>')
    out.append("</tbody></table>")
    with_gap = [r for r in rows if r["gap_noord_nl"] is not None]
    zuid_gap = [r for r in rows if r["gap_noord_zuid"] is not None]
    if not with_gap and not zuid_gap:
        return "\n".join(out)
    gu = gap_unit(ind["unit"])
    out.append(f'<table class="latest gap" data-indicator="{iid}"><caption>Kloof ({escape(gu)}){_en("Gap")}</caption>'
               f"<thead><tr>{_th('', '')}{_th('Jaar', 'Year')}{_th('Waarde', 'Value')}</tr></thead><tbody>")

    def line(nl: str, en: str, year, text: str, key: str) -> None:
        out.append(f'<tr data-row="{key}"><th scope="row">{escape(nl)}{_en(en)}</th><td>{year}</td>'
                   f'<td class="num">{text}</td></tr>')

    if with_gap:
        g = with_gap[-1]
        line("Noord − Nederland", "Noord − NL", g["year"], f(g["gap_noord_nl"], True), "gap_noord_nl")
        if g["index_noord_nl"] is not None:
            line("Index Noord (NL = 100)", "Index, above 100 is worse" if a.normative else "Index Noord",
                 g["year"], nl_number(g["index_noord_nl"], 1), "index_noord_nl")
    if zuid_gap:
        g = zuid_gap[-1]
        line("Noord − Zuid", "Noord − Zuid", g["year"], f(g["gap_noord_zuid"], True), "gap_noord_zuid")
    if a.baseline:
        b = a.baseline
        line("Kloof in basisjaar", "Baseline gap", b["year"], f(b["gap_noord_nl"], True), "baseline_gap")
    if a.latest:
        lt = a.latest
        line(f"Pad naar {PARITY_YEAR}", f"{PARITY_YEAR} path", lt["year"], f(lt["trajectory_target"], True), "trajectory")
        if a.normative:
            line("Op koers", "On track", lt["year"], {True: "ja", False: "nee"}.get(lt["on_track"], "n.v.t."), "on_track")
    out.append("</tbody></table>")
    return "\n".join(out)


def _years_table(ind: dict, wh: Warehouse, rows: list[dict], years: list[int]) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    by_year = {r["year"]: r for r in rows}
    gap_cols = ind["method"] not in COUNT_METHODS and any(r["gap_noord_nl"] is not None for r in rows)
    head = "".join(_th(AREA_NAMES[a], AREA_NAMES_EN[a], cls="noord" if a == NOORD else "") for a in AREAS)
    if gap_cols:
        head += _th("Kloof Noord − NL", "Gap Noord − NL") + _th(f"Pad naar {PARITY_YEAR}", f"{PARITY_YEAR} path")
    out = [f'<table class="years" data-indicator="{iid}"><caption>{escape(ind["name_nl"])} per jaar '
           f'({escape(ind["unit"])}){_en(ind["name_en"])}</caption>',
           f"<thead><tr>{_th('Jaar', 'Year')}{head}</tr></thead><tbody>"]
    for y in years:
        cells = "".join(f'<td class="num" data-area="{a}" data-year="{y}">'
                        f'{_cell(vals.get(a, {}).get(y), f, wh.intervals.get((iid, a, y)))}</td>' for a in AREAS)
        if gap_cols:
            g = by_year.get(y, {})
            cells += (f'<td class="num" data-col="gap_noord_nl" data-year="{y}">{f(g.get("gap_noord_nl"), True)}</td>'
                      f'<td class="num" data-col="trajectory_target" data-year="{y}">{f(g.get("trajectory_target"), True)}</td>')
        out.append(f'<tr><th scope="row">{y}</th>{cells}</tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _wijk_view(ind: dict, wh: Warehouse) -> str:
    iid, vals, f = ind["indicator_id"], wh.values.get(ind["indicator_id"], {}), _fmt(ind)
    wijk_rows = {code: rows for code, rows in vals.items() if code in wh.wijken}
    years = sorted({y for rows in wijk_rows.values() for y, r in rows.items() if r["status"] == "ok"})
    if not years:
        return ('<div class="wijken"><h4>Wijken van Heerlen</h4><p class="note">Geen wijkcijfers voor deze indicator '
                "in deze build.</p></div>")
    year = years[-1]
    in_year = {code: rows[year] for code, rows in wijk_rows.items() if year in rows}
    bars = sorted((Bar(code, wh.wijken[code][0], wh.wijken[code][1], r["value"], wh.intervals.get((iid, code, year)))
                   for code, r in in_year.items() if r["status"] == "ok" and wh.wijken[code][1] in (NOORD, ZUID)),
                  key=lambda b: (-b.value, b.label))
    refs = [] if ind["method"] in COUNT_METHODS else [
        (a, f"{AREA_NAMES[a]} {f(r['value'])}", r["value"]) for a in (HEERLEN, NEDERLAND)
        if (r := vals.get(a, {}).get(year)) and r["status"] == "ok"]
    withheld = sorted((wh.wijken[c][0], STATUS_TEXT.get(r["status"], r["status"])) for c, r in in_year.items()
                      if r["status"] != "ok")
    order = {"higher_is_better": " Hoger is beter.", "lower_is_better": " Lager is beter."}.get(ind["direction"], "")
    title = f"{ind['name_nl']} per wijk, {year}: gerangschikt, Noord en Zuid apart gekleurd"
    desc = (f"Staafdiagram, {year}, van hoog naar laag.{order} "
            + "; ".join(f"{i}. {b.label} ({AREA_NAMES[b.group]}): {f(b.value)}" for i, b in enumerate(bars, 1))
            + (". " + "; ".join(f"{label}: {f(v)}" for _k, label, v in refs) if refs else "") + ".")
    chart = bar_chart(f"c-{iid}-wijken", title, desc, bars, [(k, AREA_NAMES[k], v) for k, _l, v in refs],
                      f, ind["unit"], {NOORD: "Heerlen-Noord", ZUID: "Heerlen-Zuid"})
    note = ""
    if withheld:
        note = ("<p class=\"note\">Zonder waarde (geen staaf, geen nul): "
                + ", ".join(f"{escape(n)} ({s})" for n, s in withheld) + ".</p>")
    rows = "".join(
        f'<tr class="{"noord" if b.group == NOORD else "zuid"}"><td>{i}</td><th scope="row">{escape(b.label)}</th>'
        f'<td>{b.key}</td><td>{AREA_NAMES[b.group]}</td><td class="num" data-area="{b.key}" data-year="{year}">'
        f'{_cell(in_year[b.key], f, b.interval)}</td></tr>' for i, b in enumerate(bars, 1))
    table = (f'<details><summary>Wijken als tabel{_en("Neighbourhoods as a table")}</summary>'
             f'<table class="wijken" data-indicator="{iid}"><caption>{escape(ind["name_nl"])} per wijk, {year} '
             f'({escape(ind["unit"])})</caption><thead><tr>{_th("Rang", "Rank")}{_th("Wijk", "Neighbourhood")}'
             f'{_th("Code", "Code")}{_th("Programmagebied", "Programme area")}{_th("Waarde", "Value")}</tr></thead>'
             f"<tbody>{rows}</tbody></table></details>")
    later = f" (het laatste jaar met wijkcijfers; eerder: {_years_text(years[:-1])})" if len(years) > 1 else ""
    return (f'<div class="wijken"><h4>Wijken van Heerlen, {year}{later}</h4>{chart}'
            f'<p class="note">Gerangschikt van hoog naar laag.{order} N = wijk in Heerlen-Noord, Z = wijk in '
            f"Heerlen-Zuid (indeling {escape(wh.definition)}).</p>{note}{table}</div>")


def _notes(ind: dict, wh: Warehouse, a: Assessment) -> list[str]:
    iid, vals = ind["indicator_id"], wh.values.get(ind["indicator_id"], {})
    notes = []
    if _is_estimate(ind):
        iv = ("Tussen haakjes en als streepjes: het interval dat het RIVM bij de schatting publiceert."
              if any(k[0] == iid for k in wh.intervals) else
              "Het RIVM-interval rond de schatting zit niet in deze build; de onzekerheid is dus niet weergegeven.")
        notes.append("<strong>Schatting.</strong> Modelschattingen van het RIVM (Gezondheidsmonitor), geen tellingen. "
                     "Noord en Zuid zijn gewogen gemiddelden van de wijkschattingen. " + iv)
    missing = [f"{AREA_NAMES[area]} {y} ({STATUS_TEXT.get(r['status'], r['status'])})"
               for area in AREAS for y, r in sorted(vals.get(area, {}).items()) if r["status"] != "ok"]
    if missing:
        notes.append("Geen waarde (de lijn is daar onderbroken, nooit nul): " + ", ".join(missing) + ".")
    partial = [f"{AREA_NAMES[area]} {y}: {nl_number(r['coverage'] * 100, 0)}%" for area in (NOORD, ZUID)
               for y, r in sorted(vals.get(area, {}).items())
               if r["status"] == "ok" and r["coverage"] is not None and r["coverage"] < 1]
    if partial:
        notes.append("Niet alle wijken gepubliceerd (dekking): " + ", ".join(partial) + ".")
    for y, note in wh.breaks.get(iid, []):
        notes.append(f"<strong>Trendbreuk vanaf {y}:</strong> {escape(note)}")
    if a.baseline and a.normative:
        side = "boven" if ind["direction"] == "lower_is_better" else "onder"
        notes.append(f"In de kloofgrafiek betekent een kloof {side} nul dat Noord slechter scoort dan Nederland; "
                     f"de stippellijn is de rechte weg naar gelijkheid in {PARITY_YEAR}.")
    elif a.baseline:
        notes.append(f"Contextindicator: de stippellijn naar {PARITY_YEAR} in de kloofgrafiek is ter vergelijking, geen doel.")
    if ind["method"] in COUNT_METHODS and NEDERLAND in vals:
        notes.append("Nederland staat alleen in de tabel: een landelijk aantal past niet op dezelfde schaal.")
    if rank := wh.ranks.get(iid):  # a national build: where Noord stands among every Dutch wijk
        place = "beter dan" if ind["direction"] != "context" else "hoger dan"
        notes.append(f"<strong>Landelijk:</strong> in {rank['year']} scoorde Heerlen-Noord ({_fmt(ind)(rank['value'])}) "
                     f"{place} {nl_number(rank['percentile_rank'], 1)}% van alle {nl_number(rank['peers'])} Nederlandse "
                     f"wijken (mediaan {_fmt(ind)(rank['peer_median'])}).")
    return notes


def indicator_section(ind: dict, wh: Warehouse, a: Assessment) -> str:
    iid = ind["indicator_id"]
    vals, rows = wh.values.get(iid, {}), wh.gaps.get(iid, [])
    years = sorted({y for area in AREAS for y in vals.get(area, {})} | {r["year"] for r in rows})
    direction_nl, direction_en = DIRECTIONS.get(ind["direction"], (ind["direction"], ind["direction"]))
    badges = [f'<span class="badge dir">{escape(direction_nl)}</span>']
    if _is_estimate(ind):
        badges.append('<span class="badge est">Schatting (RIVM-model)</span>')
    if ind.get("youth_focus"):
        badges.append('<span class="badge youth">Jeugd</span>')
    badges.append(f'<span class="badge code">{escape(iid)}</span>')
    charts = _trend_chart(ind, wh, years) if years else empty_chart(
        f"c-{iid}-trend", f"{ind['name_nl']}: geen gegevens", f"Geen cijfers voor {ind['name_nl']} in deze build.",
        "Geen gegevens in deze build")
    charts += _gap_chart(ind, rows, a)
    tables = f'<div class="tables">{_latest_table(ind, wh, rows, a)}</div>'
    all_years = (f'<details><summary>Alle jaren als tabel{_en("All years as a table")}</summary>'
                 f'<div class="scroll">{_years_table(ind, wh, rows, years)}</div>'
                 '<p class="note">– = geen cijfer voor dit jaar in de bron.</p></details>') if years else ""
    notes = "".join(f'<p class="note">{n}</p>' for n in _notes(ind, wh, a))
    tables_used = _source_tables(vals)
    source = escape(ind.get("source") or "")
    if tables_used:
        source += f" — tabel{'len' if len(tables_used) > 1 else ''} {escape(', '.join(tables_used))}"
    return f"""
<article class="indicator kind-{a.kind}" id="{iid}" data-indicator="{iid}">
<header>
<h3>{escape(ind['name_nl'])}{_en(ind['name_en'])}</h3>
<p class="badges">{''.join(badges)}</p>
<p class="verdict">{escape(verdict_text(ind, a))}</p>
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


def theme_card(theme: str, pairs: list[tuple[dict, Assessment]]) -> str:
    nl, en = THEMES.get(theme, (theme.capitalize(), theme))
    t = tally(pairs)
    if t.normative:
        figures = [str(n) for n in (t.closing, t.on_track, t.wrong_way)]
        detail = [f"Met een richting (beter/slechter): {t.normative}",
                  f"Alleen het basisjaar gemeten, nog geen trend: {t.baseline_only}" if t.baseline_only else "",
                  f"Geen kloof met Nederland sinds het basisjaar: {t.no_gap}" if t.no_gap else "",
                  f"Contextindicatoren (tellen niet mee): {len(t.context)}" if t.context else ""]
    else:
        figures = ["n.v.t."] * 3
        c = t.context
        detail = ["Alleen contextindicatoren: geen goed of slecht, dus geen koers",
                  f"Verschil met Nederland kleiner: {c.count('smaller')}, groter: {c.count('larger')}",
                  f"Nog geen trend: {c.count('baseline_only')}, geen vergelijking: {c.count('none')}"]
    labels = (("Kloof kleiner sinds basisjaar", "closing the gap"), (f"Op koers voor {PARITY_YEAR}", "on track"),
              ("Verkeerde kant op", "moving the wrong way"))
    na = ' class="na"'
    cells = "".join(f'<div class="figure"><dt>{nl_}{_en(en_)}</dt><dd{"" if v.isdigit() else na}>{v}</dd></div>'
                    for (nl_, en_), v in zip(labels, figures, strict=True))
    attrs = (f'data-theme="{theme}" data-closing="{t.closing}" data-on-track="{t.on_track}" '
             f'data-wrong-way="{t.wrong_way}" data-baseline-only="{t.baseline_only}"')
    items = "".join(f"<li>{escape(d)}</li>" for d in detail if d)
    return (f'<section class="card" {attrs} aria-labelledby="card-{theme}"><h3 id="card-{theme}">'
            f'<a href="#thema-{theme}">{escape(nl)}</a>{_en(en)}</h3>'
            f'<p class="count">{_plural(t.indicators, "indicator", "indicatoren")}</p>'
            f'<dl class="figures">{cells}</dl><ul class="detail">{items}</ul></section>')


def summary_text(pairs: list[tuple[dict, Assessment]]) -> str:
    t = tally(pairs)
    measured = t.normative - t.baseline_only - t.no_gap
    text = (f"Dit rapport volgt {_plural(t.indicators, 'indicator', 'indicatoren')}, waarvan {t.normative} met een "
            "richting (hoger of lager is beter). ")
    if measured:
        text += (f"Voor {measured} daarvan is er een meting ná het basisjaar met een landelijk cijfer: bij {t.closing} "
                 f"is de kloof met Nederland kleiner geworden, {t.on_track} {'ligt' if t.on_track == 1 else 'liggen'} op "
                 f"koers voor gelijkheid in {PARITY_YEAR} en {t.wrong_way} {'gaat' if t.wrong_way == 1 else 'gaan'} de "
                 "verkeerde kant op.")
    else:
        text += ("Voor geen daarvan is er al een meting ná het basisjaar met een landelijk cijfer: of de kloof kleiner "
                 "wordt, is met deze gegevens nog niet te zeggen.")
    based = [(i, a) for i, a in pairs if a.normative and a.baseline]
    if based:
        behind = sum((1 if i["direction"] == "lower_is_better" else -1) * a.baseline["gap_noord_nl"] > 0 for i, a in based)
        text += (f" In het basisjaar scoorde Heerlen-Noord op {behind} van de {len(based)} indicatoren met een basisjaar "
                 "slechter dan Nederland.")
    if t.baseline_only:
        text += f" Bij {t.baseline_only} is alleen het basisjaar gemeten: de uitgangspositie is bekend, de trend nog niet."
    if t.no_gap:
        text += f" Bij {t.no_gap} ontbreekt een kloof met Nederland sinds het basisjaar (per indicator staat waarom)."
    return text


KIND_LABELS = {"closing": "kloof kleiner", "widening": "verkeerde kant op", "unchanged": "kloof gelijk",
               "parity": "gelijk aan of beter dan NL", "baseline_only": "alleen basisjaar gemeten", "none": "geen vergelijking",
               "smaller": "verschil kleiner (context)", "larger": "verschil groter (context)"}


def overview_table(pairs: list[tuple[dict, Assessment]]) -> str:
    """All indicators in one table: where Noord started and where it is now."""
    body = []
    for ind, a in pairs:
        f, b, lt = _fmt(ind), a.baseline, a.latest
        track = "" if not (a.normative and lt) else (" · op koers" if a.on_track else " · niet op koers")
        label = ("verschil gelijk (context)" if a.kind == "unchanged" and not a.normative
                 else KIND_LABELS.get(a.kind, a.kind))
        body.append(
            f'<tr class="kind-{a.kind}" data-indicator="{escape(ind["indicator_id"])}">'
            f'<td>{escape(THEMES.get(ind["theme"], (ind["theme"],))[0])}</td>'
            f'<td><a href="#{escape(ind["indicator_id"])}">{escape(ind["name_nl"])}</a>{_en(ind["name_en"])}</td>'
            f'<td>{escape(DIRECTIONS.get(ind["direction"], (ind["direction"],))[0])}</td>'
            f'<td>{b["year"] if b else "–"}</td><td class="num">{f(b["gap_noord_nl"], True) if b else "–"}</td>'
            f'<td>{lt["year"] if lt else "–"}</td><td class="num">{f(lt["gap_noord_nl"], True) if lt else "–"}</td>'
            f"<td>{escape(label + track)}</td></tr>")
    return (f'<details open><summary>Alle indicatoren in één tabel{_en("All indicators")}</summary><div class="scroll">'
            f'<table class="overview"><caption>Kloof Noord − Nederland in het basisjaar en nu (in de eenheid van de '
            f'indicator){_en("Gap Noord − NL at the baseline and now")}</caption><thead><tr>{_th("Thema", "Theme")}'
            f'{_th("Indicator", "Indicator")}{_th("Richting", "Direction")}{_th("Basisjaar", "Baseline year")}'
            f'{_th("Kloof toen", "Gap then")}{_th("Laatste jaar", "Latest year")}{_th("Kloof nu", "Gap now")}'
            f'{_th("Oordeel", "Assessment")}</tr></thead><tbody>{"".join(body)}</tbody></table></div></details>')


# ---------------------------------------------------------------- the data section

def _sources_table(wh: Warehouse) -> str:
    # A file listed twice (once under an older source id without a title) is shown once, with its title.
    titled = {s["source_file"] for s in wh.sources if s.get("title")}
    rows = [s for s in wh.sources if s.get("title") or s["source_file"] not in titled]
    body = "".join(
        f"<tr><td>{escape(s.get('publisher') or s['source_id'])}</td><td>{escape(s.get('title') or '')}</td>"
        f"<td>{escape(str(s.get('table_id') or ''))}</td><td>{s['year'] if s.get('year') is not None else '–'}</td>"
        f"<td><code>{escape(s.get('source_file') or '')}</code></td><td class=\"num\">{nl_number(s.get('rows'), 0)}</td>"
        f"<td>{escape(s.get('licence') or '')}</td><td>{escape(str(s.get('fetched_at') or '')[:10])}</td>"
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
            f"<p><strong>Heerlen-Noord</strong> ({sum(p == NOORD for _n, p in wh.wijken.values())} wijken): {names(NOORD)}.</p>"
            f"<p><strong>Heerlen-Zuid</strong> ({sum(p == ZUID for _n, p in wh.wijken.values())} wijken): {names(ZUID)}.</p>"
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

    def table(rows: list[dict], cls: str) -> str:
        body = "".join(f'<tr class="{"failed" if not c["passed"] else "passed"} {c["severity"]}">'
                       f"<td>{escape(c['asset'])}</td><td><code>{escape(c['check_name'])}</code></td>"
                       f"<td>{escape(c['severity'].upper())}</td><td>{'geslaagd' if c['passed'] else 'NIET geslaagd'}</td>"
                       f"<td>{escape(str(c.get('observed') or ''))}</td></tr>" for c in rows)
        return (f'<div class="scroll"><table class="{cls}"><thead><tr>{_th("Asset", "Asset")}{_th("Controle", "Check")}'
                f'{_th("Ernst", "Severity")}{_th("Uitkomst", "Outcome")}{_th("Gevonden", "Observed")}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>")

    out = summary + (table(failed, "checks failed-checks") if failed else "")
    if wh.checks:
        out += f"<details><summary>Alle controles ({len(wh.checks)})</summary>{table(wh.checks, 'checks')}</details>"
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
    intervals = (f"Het warehouse bevat intervalgrenzen bij de RIVM-schattingen ({escape(', '.join(wh.interval_titles))})."
                 if wh.intervals else "<code>marts.estimate_intervals</code> is leeg in deze build: bij de "
                 "RIVM-schattingen staat geen interval (dat komt alleen mee met de live RIVM-tabel).")
    return f"""
<section id="gegevens" class="data">
<h2>Over de gegevens <span class="en" lang="en">About the data</span></h2>
<h3>Build</h3>
<dl class="build">
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
<p>{escape(b.get('attribution') or '')}. Bij elke indicator staat de bron en de tabel(len) waarop de cijfers rusten.
De basisjaar-regel: {BASELINE_YEAR}, of het eerste latere jaar met een cijfer voor zowel Noord als Nederland.</p>
{_sources_table(wh)}
{_coverage_table(wh)}
<p>{intervals}</p>
{f'<p>Trendbreuken (niet over heen vergelijken):</p><ul>{breaks}</ul>' if breaks else ''}
<h3>Controles <span class="en" lang="en">Data checks</span></h3>
{_checks(wh)}
</section>"""


# ---------------------------------------------------------------- the page

CSS = """
:root{--noord:#D55E00;--zuid:#0072B2;--heerlen:#009E73;--nl:#000;--muted:#595959;--line:#d9d9d9;--bg:#fff;--soft:#f5f5f2}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;color:#1a1a1a;
background:var(--bg);line-height:1.5;font-size:16px}
main,header.page,footer{max-width:1180px;margin:0 auto;padding:0 16px}
header.page{padding-top:24px}
h1{font-size:1.9rem;margin:.2em 0}
h2{font-size:1.5rem;border-bottom:3px solid var(--noord);padding-bottom:4px;margin-top:2.2em}
h3{font-size:1.15rem;margin:.4em 0}
h4{font-size:1rem;margin:1em 0 .3em}
.en{display:block;font-weight:normal;font-size:.8em;color:var(--muted)}
h3 .en,h2 .en{display:inline;margin-left:.5em}
.lead{font-size:1.1rem;max-width:62em}
nav.toc{background:var(--soft);padding:8px 12px;border-radius:6px;display:flex;flex-wrap:wrap;gap:4px 16px}
nav.toc a{white-space:nowrap}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(250px,1fr));gap:12px}
.card{border:1px solid var(--line);border-top:4px solid var(--noord);border-radius:6px;padding:10px 12px}
.card .count{margin:0;color:var(--muted)}
.figures{display:grid;grid-template-columns:repeat(3,1fr);gap:6px;margin:8px 0}
.figure{background:var(--soft);border-radius:4px;padding:6px;text-align:center;display:flex;flex-direction:column;
justify-content:space-between}
.figure dt{font-size:.8rem;line-height:1.2}
.figure dd{margin:0;font-size:1.6rem;font-weight:700}
.figure dd.na{font-size:1rem;color:var(--muted);padding:.35rem 0}
.detail{font-size:.85rem;margin:0;padding-left:1.1em}
.legend-key span.key{display:inline-block;width:26px;height:0;border-top:3px solid;vertical-align:middle;margin-right:6px}
.legend-key li{margin:2px 0}
article.indicator{border-top:1px solid var(--line);padding:12px 0 20px}
.badges{margin:.2em 0}
.badge{display:inline-block;font-size:.8rem;border:1px solid var(--muted);border-radius:10px;padding:0 8px;margin-right:4px}
.badge.est{border-color:#7a4a00;background:#fff3d6}
.badge.code{border-style:dashed;color:var(--muted)}
.verdict{font-weight:600;max-width:62em}
.kind-widening .verdict{color:#8a2b00}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:16px;align-items:start}
svg.chart{width:100%;height:auto;display:block;max-width:640px}
svg.chart text{font-family:inherit}
.tables{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
table{border-collapse:collapse;font-size:.9rem;margin:8px 0}
caption{text-align:left;font-weight:600;padding-bottom:4px}
caption .en{display:inline;margin-left:.4em}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #999;font-size:.85rem}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.noord th,th.noord{color:#9c3f00}
.na{color:var(--muted);font-style:italic}
.ci{color:var(--muted);font-size:.85em}
.scroll{overflow-x:auto;max-width:100%}
table.sources code{word-break:break-all}
table.coverage td:first-child{white-space:nowrap}
.note{font-size:.9rem;color:#333;max-width:62em}
details{margin:6px 0}
summary{cursor:pointer;color:#0b4f80}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;font-size:.9rem}
dl.meta dt{font-weight:600}
dl.meta dt .en{display:inline;margin-left:.3em}
dl.meta dd{margin:0}
dl.build{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
dl.build dd{margin:0}
p.ok{color:#0b5e3a;font-weight:600}
p.warn,tr.failed{color:#8a2b00;font-weight:600}
footer{color:var(--muted);font-size:.85rem;padding:24px 16px 40px}
a{color:#0b4f80}
@media (max-width:600px){body{font-size:15px}h1{font-size:1.5rem}.figures dd{font-size:1.3rem}
dl.meta{grid-template-columns:1fr}}
@media print{article.indicator{break-inside:avoid-page}nav.toc{display:none}}
"""


def _how_to_read() -> str:
    key = "".join(f'<li><span class="key" style="border-color:{COLOURS[a]};border-top-width:{4 if a == NOORD else 2}px">'
                  f"</span>{'<strong>' if a == NOORD else ''}{AREA_NAMES[a]}{'</strong>' if a == NOORD else ''} "
                  f"({shape})</li>" for a, shape in zip(AREAS, ("rondje", "vierkantje", "driehoekje", "ruitje"), strict=True))
    return f"""
<section id="leeswijzer">
<h2>Zo leest u dit rapport <span class="en" lang="en">How to read this report</span></h2>
<ul class="legend-key">{key}</ul>
<ul>
<li><strong>Kloof</strong>: de waarde van Heerlen-Noord min die van Nederland, in de eenheid van de indicator
(bij percentages in procentpunten).</li>
<li><strong>Basisjaar</strong>: {BASELINE_YEAR}, of het eerste latere jaar waarin zowel Noord als Nederland een cijfer
hebben. <strong>Kloof kleiner</strong>: de kloof is kleiner dan in het basisjaar.
<strong>Verkeerde kant op</strong>: de kloof is groter dan in het basisjaar.</li>
<li><strong>Op koers voor {PARITY_YEAR}</strong>: de kloof ligt op of binnen de rechte lijn (stippellijn) van de kloof
in het basisjaar naar nul in {PARITY_YEAR}. In het basisjaar zelf geldt dat per definitie; daarom telt een indicator
pas mee als er een meting na het basisjaar is.</li>
<li>Een <strong>onderbroken lijn</strong> betekent: geen waarde voor dat jaar (ontbreekt of onderdrukt door de bron,
bijvoorbeeld omdat het om te weinig mensen gaat). Zo'n jaar wordt nooit als nul getekend.</li>
<li><strong>Contextindicatoren</strong> (zoals de bevolkingsopbouw) hebben geen goed of slecht; ze tellen niet mee
in de koppen.</li>
<li>Cijfers van het <strong>RIVM</strong> (thema gezondheid) zijn <strong>modelschattingen</strong>, geen tellingen.</li>
<li>Bij elke grafiek staat een tabel met dezelfde cijfers; de wijkgrafiek toont het laatste jaar met wijkcijfers.</li>
</ul>
</section>"""


def _ordered(indicators: list[dict]) -> list[dict]:
    rank = {t: i for i, t in enumerate(THEMES)}
    return sorted(indicators, key=lambda i: (rank.get(i["theme"], len(rank)), i["theme"], i["indicator_id"]))


def render(wh: Warehouse, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    indicators = _ordered(wh.indicators)
    assessed = [(i, assess(i, wh.gaps.get(i["indicator_id"], []), wh.values.get(i["indicator_id"], {}))) for i in indicators]
    themes = list(dict.fromkeys(i["theme"] for i in indicators))
    by_theme = {t: [(i, a) for i, a in assessed if i["theme"] == t] for t in themes}
    cards = "".join(theme_card(t, by_theme[t]) for t in themes)
    toc = "".join(f'<a href="#thema-{t}">{escape(THEMES.get(t, (t,))[0])}</a>' for t in themes)
    sections = []
    for t in themes:
        nl, en = THEMES.get(t, (t.capitalize(), t))
        toc_items = "".join(f'<li><a href="#{escape(i["indicator_id"])}">{escape(i["name_nl"])}</a></li>'
                            for i, _a in by_theme[t])
        sections.append(f'<section class="theme" id="thema-{t}"><h2>{escape(nl)}{_en(en)}</h2>'
                        f'<ul class="inline-toc">{toc_items}</ul>'
                        + "".join(indicator_section(i, wh, a) for i, a in by_theme[t]) + "</section>")
    b = wh.build
    return f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="heerlen-pipeline {escape(str(b.get('code_version') or ''))}">
<title>Routekaart Heerlen-Noord: wordt de kloof kleiner?</title>
<style>{CSS}</style>
</head>
<body>
<header class="page">
<p class="en" lang="en">Routemap Heerlen-Noord: is the gap to the Netherlands closing? (in Dutch; English names in the tables)</p>
<h1>Routekaart Heerlen-Noord: wordt de kloof kleiner?</h1>
<p class="lead">Hoe staat Heerlen-Noord ervoor naast Heerlen-Zuid, heel Heerlen en Nederland, op de vijf thema's van
de routekaart? Het doel: in {PARITY_YEAR} maakt het niet meer uit of een kind in Heerlen-Noord, in Heerlen-Zuid of in
een gemiddelde Nederlandse wijk opgroeit. Stand van de gegevens: warehouse gebouwd op
{nl_datetime(b.get('built_at'))}; gebiedsindeling <strong>{escape(wh.definition)}</strong>.</p>
<nav class="toc" aria-label="Inhoud">{toc}<a href="#leeswijzer">Zo leest u dit</a><a href="#gegevens">Over de gegevens</a></nav>
</header>
<main>
<section id="koppen">
<h2>In één oogopslag <span class="en" lang="en">At a glance</span></h2>
<p class="lead">{escape(summary_text(assessed))}</p>
<div class="cards">{cards}</div>
{overview_table(assessed)}
</section>
{_how_to_read()}
{''.join(sections)}
{data_section(wh, now)}
</main>
<footer>
<p>{escape(b.get('attribution') or '')}. De cijfers komen uit het gepubliceerde warehouse
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
    html = render(wh)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return ReportResult(output, len(wh.indicators), len(html.encode()), time.perf_counter() - started)


def report_asset():
    """The Dagster asset report/index (built here so `heerlen report` does not pay for importing Dagster)."""
    import dagster as dg

    from .resources import PipelineSettings

    @dg.asset(key=["report", "index"], deps=[dg.AssetKey(["publish", "warehouse"])], group_name="marts",
              kinds={"html"}, description="The routekaart report: one self-contained HTML page next to the warehouse.")
    def report_index(context: dg.AssetExecutionContext, settings: PipelineSettings):
        result = write_report(settings.settings.warehouse)
        context.log.info(f"wrote {result.path} ({result.indicators} indicators, {result.seconds:.2f}s)")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(result.path)),
                                              "indicators": result.indicators, "bytes": result.bytes,
                                              "seconds": round(result.seconds, 3)})

    return report_index
