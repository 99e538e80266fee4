"""What the routekaart report shows, read from the published marts: the values per indicator and area, the
gap rows, and the verdict per indicator and theme. report.py turns this into HTML."""

import math
from dataclasses import dataclass, field

import duckdb

from .gaps import BASELINE_YEAR
from .report_svg import HEERLEN, NEDERLAND, NOORD, ZUID

AREAS = (NOORD, ZUID, HEERLEN, NEDERLAND)
COUNT_METHODS = {"sum", "school_sum"}  # levels of counts are not comparable between areas (see gaps.py)


# ---------------------------------------------------------------- reading the warehouse

@dataclass
class Warehouse:
    """Everything the page shows, read once from the published marts."""

    build: dict
    indicators: list[dict]
    values: dict[str, dict[str, dict[int, dict]]]  # indicator -> area -> year -> row
    gaps: dict[str, list[dict]]  # indicator -> marts.gaps rows by year
    wijken: dict[str, tuple[str, str]]  # wijk code -> (name, programme area) under the build's definition
    definitions: dict[str, dict[str, str]]  # every definition -> wijk code -> programme area
    intervals: dict[tuple[str, str, int], tuple[float, float]]  # (indicator, area, year) -> (lower, upper)
    interval_titles: list[str]
    breaks: dict[str, list[tuple[int, str]]]
    sources: list[dict]
    checks: list[dict]
    rejected: list[dict]
    # National builds only: indicator -> Heerlen-Noord's latest rank among all Dutch wijken (marts.national_rank)
    ranks: dict[str, dict] = field(default_factory=dict)

    @property
    def definition(self) -> str:
        return self.build.get("area_definition") or "spoorlijn"


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = ?",
                            [table]).fetchone()[0])


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def _interval_measures() -> dict[str, str]:
    """indicator -> the source measure whose interval bounds apply (indicators that pass one measure through)."""
    from . import catalog

    try:
        return {i.id: i.measure.measure for i in catalog.load_indicators() if i.measure is not None}
    except (catalog.CatalogError, OSError):
        return {}  # no definitions at hand: the page still builds, without intervals


def _bound_side(code: str, title: str | None) -> str | None:
    text = f"{code} {title or ''}".lower()
    if text.startswith("mog") or "ondergrens" in text or "lower" in text:
        return "lo"
    if text.startswith("mbg") or "bovengrens" in text or "upper" in text:
        return "hi"
    return None


def _intervals(con: duckdb.DuckDBPyConnection, wijken: set[str]) -> tuple[dict, list[str]]:
    if not _has(con, "estimate_intervals"):
        return {}, []
    # Empty in a bundled build (its columns are then typed NULL): cast, so both shapes read the same.
    rows = _rows(con, "SELECT CAST(area_code AS VARCHAR) AS area_code, CAST(year AS INTEGER) AS year, "
                      "CAST(measure AS VARCHAR) AS measure, CAST(bound AS VARCHAR) AS bound, "
                      "CAST(bound_title AS VARCHAR) AS bound_title, CAST(value AS DOUBLE) AS value "
                      "FROM marts.estimate_intervals WHERE value IS NOT NULL")
    if not rows:
        return {}, []
    by_measure: dict[str, list[str]] = {}
    for ind, measure in _interval_measures().items():
        by_measure.setdefault(measure, []).append(ind)
    bounds: dict[tuple[str, str, int], dict[str, float]] = {}
    titles: set[str] = set()
    for r in rows:
        side = _bound_side(r["bound"], r["bound_title"])
        if side is None or (r["area_code"] not in wijken and r["area_code"] not in (HEERLEN, NEDERLAND)):
            continue
        titles.add(r["bound_title"] or r["bound"])
        for ind in by_measure.get(r["measure"], []):
            bounds.setdefault((ind, r["area_code"], r["year"]), {})[side] = r["value"]
    return {k: (b["lo"], b["hi"]) for k, b in bounds.items() if {"lo", "hi"} <= b.keys()}, sorted(titles)


def load(con: duckdb.DuckDBPyConnection) -> Warehouse:
    build = (_rows(con, "SELECT * FROM marts.build_info") or [{}])[0]
    definition = build.get("area_definition") or "spoorlijn"
    areas = _rows(con, "SELECT area_code, area_name, parent_code, definition FROM marts.areas WHERE level = 'wijk'")
    definitions: dict[str, dict[str, str]] = {}
    for a in areas:
        definitions.setdefault(a["definition"], {})[a["area_code"]] = a["parent_code"]
    wijken = {a["area_code"]: (a["area_name"], a["parent_code"]) for a in areas if a["definition"] == definition}
    values: dict[str, dict[str, dict[int, dict]]] = {}
    programme_wijken = sorted({code for members in definitions.values() for code in members} - {None})
    for r in _rows(con, "SELECT indicator_id, area_code, year, value, coverage, status, source_table "
                        "FROM marts.indicator_values WHERE area_code IN (?, ?, ?, ?) OR list_contains(?, area_code) "
                        "ORDER BY indicator_id, area_code, year", [*AREAS, programme_wijken]):
        r["value"] = _clean(r["value"])
        values.setdefault(r["indicator_id"], {}).setdefault(r["area_code"], {})[r["year"]] = r
    gaps: dict[str, list[dict]] = {}
    for r in _rows(con, "SELECT * FROM marts.gaps ORDER BY indicator_id, year"):
        gaps.setdefault(r["indicator_id"], []).append({k: _clean(v) for k, v in r.items()})
    breaks: dict[str, list[tuple[int, str]]] = {}
    break_rows = (_rows(con, "SELECT indicator_id, year, note FROM marts.series_breaks ORDER BY indicator_id, year")
                  if _has(con, "series_breaks") else [])
    for r in break_rows:
        breaks.setdefault(r["indicator_id"], []).append((r["year"], r["note"]))
    intervals, interval_titles = _intervals(con, set(wijken))
    ranks = {r["indicator_id"]: r for r in _rows(
        con, "SELECT * FROM marts.national_rank WHERE area_code = ? QUALIFY row_number() OVER "
             "(PARTITION BY indicator_id ORDER BY year DESC) = 1", [NOORD])} if _has(con, "national_rank") else {}
    return Warehouse(
        build=build,
        indicators=_rows(con, "SELECT * FROM marts.indicators ORDER BY indicator_id"),
        values=values, gaps=gaps, wijken=wijken, definitions=definitions,
        intervals=intervals, interval_titles=interval_titles, breaks=breaks,
        sources=_rows(con, "SELECT * FROM marts.sources ORDER BY publisher NULLS LAST, source_id, source_file"),
        checks=_rows(con, "SELECT asset, check_name, severity, passed, observed FROM marts.check_results "
                          "ORDER BY passed, severity, asset, check_name"),
        rejected=_rows(con, "SELECT * FROM marts.rejected_rows LIMIT 50") if _has(con, "rejected_rows") else [],
        ranks=ranks,
    )


# ---------------------------------------------------------------- the verdict per indicator

@dataclass
class Assessment:
    """How Noord's gap to NL moved since the baseline. kind: closing | widening | unchanged | parity (normative),
    smaller | larger | unchanged (context), baseline_only, none (no gap since the baseline)."""

    kind: str
    normative: bool
    reason: str = ""
    baseline: dict | None = None
    latest: dict | None = None

    @property
    def on_track(self) -> bool:
        # In the baseline year itself the gap is on its path by construction: only a later year counts.
        return bool(self.latest and self.latest.get("on_track"))


def assess(ind: dict, rows: list[dict], values: dict[str, dict[int, dict]]) -> Assessment:
    """Classify with the mart's own closure_since_baseline and on_track (gaps.py), never recomputed."""
    normative = ind["direction"] in ("higher_is_better", "lower_is_better")
    if ind["method"] in COUNT_METHODS:
        return Assessment("none", normative, "Een aantal: niveaus zijn niet tussen gebieden te vergelijken, dus geen kloof.")
    base_year = next((r["baseline_year"] for r in rows if r.get("baseline_year") is not None), None)
    if base_year is None:
        has = {a: any(r["status"] == "ok" for r in values.get(a, {}).values()) for a in (NOORD, NEDERLAND)}
        if not any(r["status"] == "ok" for rows_ in values.values() for r in rows_.values()):
            reason = "Geen cijfers voor deze indicator in deze build."
        elif not has[NOORD] and not has[NEDERLAND]:
            reason = "Geen cijfers voor Heerlen-Noord en Nederland in deze build."
        elif not has[NOORD]:
            reason = "Geen cijfer voor Heerlen-Noord in deze build, dus geen kloof."
        elif not has[NEDERLAND]:
            reason = "Geen landelijk cijfer in deze build, dus geen kloof met Nederland."
        elif early := [r["year"] for r in rows if r["gap_noord_nl"] is not None]:
            reason = (f"Alleen een kloof vóór het basisjaar {BASELINE_YEAR} ({', '.join(map(str, early))}); "
                      "geen basisjaar, dus geen trend.")
        else:
            reason = "Noord en Nederland hebben geen jaar gemeen, dus geen kloof."
        return Assessment("none", normative, reason)
    base = next(r for r in rows if r["year"] == base_year)
    later = [r for r in rows if r["year"] > base_year and r["gap_noord_nl"] is not None]
    if not later:
        return Assessment("baseline_only", normative, baseline=base)
    latest = later[-1]
    closure = latest["closure_since_baseline"] or 0.0
    if not normative:
        kind = "smaller" if closure > 0 else "larger" if closure < 0 else "unchanged"
    else:
        sign = 1 if ind["direction"] == "lower_is_better" else -1
        if sign * base["gap_noord_nl"] <= 0:  # Noord was level with or ahead of NL at the baseline
            kind = "parity" if sign * latest["gap_noord_nl"] <= 0 else "widening"
        else:
            kind = "closing" if closure > 0 else "widening" if closure < 0 else "unchanged"
    return Assessment(kind, normative, baseline=base, latest=latest)



# ---------------------------------------------------------------- headlines

@dataclass
class Tally:
    indicators: int = 0
    normative: int = 0
    closing: int = 0
    on_track: int = 0
    wrong_way: int = 0
    baseline_only: int = 0
    no_gap: int = 0
    context: list[str] = field(default_factory=list)


def tally(pairs: list[tuple[dict, Assessment]]) -> Tally:
    t = Tally(indicators=len(pairs))
    for _ind, a in pairs:
        if not a.normative:
            t.context.append(a.kind)
            continue
        t.normative += 1
        t.closing += a.kind == "closing"
        t.wrong_way += a.kind == "widening"
        t.on_track += a.on_track
        t.baseline_only += a.kind == "baseline_only"
        t.no_gap += a.kind == "none"
    return t


