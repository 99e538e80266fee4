"""What the routekaart report shows, read from the published marts: the values per indicator and area, the
gap rows, the verdicts (marts.gap_verdicts), the interventions, and the build's sources and checks. The report
judges nothing itself: the verdicts are the mart's. render.py turns this into HTML."""

import math
from dataclasses import dataclass, field

import duckdb

from .. import catalog
from ..transform import gaps
from ..transform.areas import CBS_DEFINITION, compared

# The report is the routekaart of the default focus area (a warehouse of another one gets none, render.py).
FOCUS = catalog.load_focus_area()
NOORD, ZUID, HEERLEN, NEDERLAND = compared(FOCUS)

AREAS = (NOORD, ZUID, HEERLEN, NEDERLAND)
COUNT_METHODS = catalog.COUNT_METHODS  # levels of counts are not comparable between areas (see transform/gaps.py)
TARGETS = tuple(gaps.TARGET_COLUMNS)
VERDICTS = gaps.VERDICTS
SHOWN = ("ok", "low_coverage")  # statuses that carry a value


# ---------------------------------------------------------------- reading the warehouse

@dataclass
class Warehouse:
    """Everything the page shows, read once from the published marts."""

    build: dict
    indicators: list[dict]
    values: dict[str, dict[str, dict[int, dict]]]  # indicator -> area -> year -> row
    gaps: dict[str, list[dict]]  # indicator -> marts.gaps rows by year
    verdicts: dict[str, dict[str, dict]]  # indicator -> target -> marts.gap_verdicts row
    wijken: dict[str, tuple[str, str]]  # wijk code -> (name, programme area) under the build's definition
    definitions: dict[str, dict[str, str]]  # every definition -> wijk code -> programme area
    breaks: dict[str, list[tuple[int, str]]]
    sources: list[dict]
    checks: list[dict]
    rejected: list[dict]
    programmes: list[dict] = field(default_factory=list)
    # National builds only: indicator -> Heerlen-Noord's latest rank among Dutch wijken (marts.national_rank)
    ranks: dict[str, dict] = field(default_factory=dict)

    @property
    def definition(self) -> str:
        return self.build.get("area_definition") or "spoorlijn"

    def has_values(self, iid: str) -> bool:
        return any(r["status"] in SHOWN for rows in self.values.get(iid, {}).values() for r in rows.values())

    def data_until(self) -> int | None:
        """The latest year with a Heerlen-Noord value of a normative indicator: how far the figures reach."""
        years = [y for i in self.indicators if normative(i)
                 for y, r in self.values.get(i["indicator_id"], {}).get(NOORD, {}).items() if r["status"] == "ok"]
        return max(years) if years else None


def normative(ind: dict) -> bool:
    return ind["direction"] in catalog.NORMATIVE and ind["method"] not in COUNT_METHODS


def interval(row: dict | None) -> tuple[float, float] | None:
    """The source's interval around a model estimate (RIVM), when the value carries one."""
    if row and row.get("uncertainty") == "interval" and row.get("value_lower") is not None:
        return row["value_lower"], row["value_upper"]
    return None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def load(con: duckdb.DuckDBPyConnection) -> Warehouse:
    build = (_rows(con, "SELECT * FROM marts.build_info") or [{}])[0]
    definition = build.get("area_definition") or "spoorlijn"
    # The focus area's wijken, under each definition (a national warehouse also has every other wijk: not here).
    areas = _rows(con, "SELECT area_code, area_name, parent_code, definition FROM marts.areas "
                       "WHERE level = 'wijk' AND definition <> ?", [CBS_DEFINITION])
    definitions: dict[str, dict[str, str]] = {}
    for a in areas:
        definitions.setdefault(a["definition"], {})[a["area_code"]] = a["parent_code"]
    wijken = {a["area_code"]: (a["area_name"], a["parent_code"]) for a in areas if a["definition"] == definition}
    values: dict[str, dict[str, dict[int, dict]]] = {}
    programme_wijken = sorted({code for members in definitions.values() for code in members} - {None})
    for r in _rows(con, "SELECT indicator_id, area_code, year, value, coverage, status, symbol, value_lower, "
                        "value_upper, uncertainty, reference_period, source_table FROM marts.indicator_values "
                        "WHERE area_code IN (?, ?, ?, ?) OR list_contains(?, area_code) "
                        "ORDER BY indicator_id, area_code, year", [*AREAS, programme_wijken]):
        values.setdefault(r["indicator_id"], {}).setdefault(r["area_code"], {})[r["year"]] = {
            k: _clean(v) for k, v in r.items()}
    gaps: dict[str, list[dict]] = {}
    for r in _rows(con, "SELECT * FROM marts.gaps ORDER BY indicator_id, year"):
        gaps.setdefault(r["indicator_id"], []).append({k: _clean(v) for k, v in r.items()})
    verdicts: dict[str, dict[str, dict]] = {}
    for r in _rows(con, "SELECT * FROM marts.gap_verdicts ORDER BY indicator_id, target"):
        verdicts.setdefault(r["indicator_id"], {})[r["target"]] = {k: _clean(v) for k, v in r.items()}
    breaks: dict[str, list[tuple[int, str]]] = {}
    for r in _rows(con, "SELECT indicator_id, year, note FROM marts.series_breaks ORDER BY indicator_id, year"):
        breaks.setdefault(r["indicator_id"], []).append((r["year"], r["note"]))
    ranks = {r["indicator_id"]: {k: _clean(v) for k, v in r.items()} for r in _rows(
        con, "SELECT * FROM marts.national_rank WHERE area_code = ? QUALIFY row_number() OVER "
             "(PARTITION BY indicator_id ORDER BY year DESC) = 1", [NOORD])}
    return Warehouse(
        build=build,
        indicators=_rows(con, "SELECT * FROM marts.indicators ORDER BY indicator_id"),
        values=values, gaps=gaps, verdicts=verdicts, wijken=wijken, definitions=definitions, breaks=breaks,
        sources=_rows(con, "SELECT * FROM marts.sources ORDER BY publisher NULLS LAST, source_id, source_file"),
        checks=_rows(con, "SELECT asset, check_name, severity, passed, observed FROM marts.check_results "
                          "ORDER BY passed, severity, asset, check_name"),
        rejected=_rows(con, "SELECT * FROM marts.rejected_rows LIMIT 50"),
        programmes=_rows(con, "SELECT * FROM marts.programmes ORDER BY marker_year, theme"),
        ranks=ranks,
    )


# ---------------------------------------------------------------- headlines

@dataclass
class Tally:
    """Verdicts of one theme (or all) for one target."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    compared: set[tuple[int, int]] = field(default_factory=set)  # (baseline, latest) years of the measured ones

    @property
    def normative(self) -> int:
        return sum(self.counts.values())

    def years_text(self) -> str:
        return "; ".join(f"{b} → {lt}" for b, lt in sorted(self.compared)) or "–"


def tally(wh: Warehouse, indicators: list[dict], target: str) -> Tally:
    t = Tally()
    for ind in indicators:
        v = wh.verdicts.get(ind["indicator_id"], {}).get(target)
        if v is None:
            continue
        t.counts[v["verdict"]] += 1
        if v["latest_year"] is not None and v["verdict"] != "not yet measurable":
            t.compared.add((v["baseline_year"], v["latest_year"]))
    return t
