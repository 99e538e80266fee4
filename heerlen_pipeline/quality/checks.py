"""Data checks Great Expectations does not express well: plain SQL on the build database.

Each returns a CheckOutcome; defs/checks.py turns it into a Dagster asset check (ERROR blocks, WARN reports)
and records it in audit.check_results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from ..catalog import Indicator, Measure, Source
from ..store.tables import sql_literal
from ..transform.indicators import MIN_BASE

DEFAULT_MAX_CHANGE = 0.5  # relative change between consecutive published years that deserves a look
# The headline series: the programme areas, their gemeente and the country (from the staged areas).
HEADLINE_AREAS = """(SELECT area_code FROM staging.areas WHERE level IN ('programma', 'land')
                     UNION SELECT parent_code FROM staging.areas WHERE level = 'programma')"""


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    severity: str  # error | warn: the severity when it fails
    passed: bool
    summary: str
    sample: pd.DataFrame = field(default_factory=pd.DataFrame)


def _outcome(name: str, severity: str, bad: pd.DataFrame, ok: str, fail: str) -> CheckOutcome:
    return CheckOutcome(name, severity, bad.empty, ok if bad.empty else f"{len(bad)} {fail}", bad.head(10))


UNPLACED = 0.001  # share of a gemeente's count that may lie outside its wijken (no wijk known for them)


def counts_reconcile_with_gemeente(con: duckdb.DuckDBPyConnection, source_id: str,
                                   measures: dict[str, Measure]) -> CheckOutcome:
    """The wijken of a gemeente add up to its published row, within CBS rounding (each wijk count is
    rounded to the measure's base, so the sum may be off by up to n x base; and a gemeente total also counts
    the few people CBS cannot place in a wijk, up to UNPLACED of it: Velsen 2024 is 61 of 69,241 over its
    wijken). Only where every wijk is published: a suppressed wijk makes the sum incomplete by design. A
    missing or doubled wijk fails."""
    counts = [m for m in measures.values() if m.rounding and m.unit == "aantal"]  # counts add up; shares do not
    rounding = pd.DataFrame([(m.name, m.rounding) for m in counts], columns=["measure", "base"])
    con.register("_rounding", rounding)
    try:
        bad = con.execute(f"""
            WITH obs AS (SELECT * FROM staging.observations WHERE source_id = {sql_literal(source_id)}),
            wijken AS (  -- a wijk code carries its gemeente: WKggggxx lies in GMgggg
                SELECT DISTINCT area_code, 'GM' || substr(area_code, 3, 4) AS gemeente FROM staging.areas
                WHERE level = 'wijk'),
            wijk AS (
                SELECT a.gemeente, o.year, o.measure, sum(o.value) AS wijk_sum, count(*) AS wijken,
                       bool_and(o.status = 'ok') AS complete, any_value(o.source_file) AS source_file
                FROM obs o JOIN wijken a USING (area_code)
                GROUP BY ALL),
            expected AS (SELECT gemeente, count(*) AS n FROM wijken GROUP BY 1)
            SELECT w.gemeente AS area_code, w.year, w.measure, w.wijk_sum, g.value AS published, w.wijken,
                   e.n AS wijken_expected, r.base * e.n + {UNPLACED} * g.value AS tolerance, w.source_file
            FROM wijk w JOIN _rounding r USING (measure) JOIN expected e USING (gemeente)
            JOIN obs g ON g.area_code = w.gemeente AND g.year = w.year AND g.measure = w.measure
            WHERE g.status = 'ok' AND (w.complete OR w.wijken <> e.n)
              AND abs(w.wijk_sum - g.value) > r.base * e.n + {UNPLACED} * g.value
            ORDER BY abs(w.wijk_sum - g.value) DESC""").df()
    finally:
        con.unregister("_rounding")
    return _outcome("counts_reconcile_with_gemeente", "error", bad,
                    "wijk sums match the gemeente rows within CBS rounding",
                    "gemeente rows differ from the sum of their wijken by more than CBS rounding explains "
                    "(a missing, doubled or corrupt wijk row?)")


def required_measures_present(con: duckdb.DuckDBPyConnection, source: Source, files: tuple) -> CheckOutcome:
    """Every required measure resolved in every file or table of the source that has rows in the run's scope (its
    values may all be empty: a first release publishes some columns later, and that is recorded as 'missing'). A
    file with no row in scope (Heerlen's KWB files in another focus area's build) delivers nothing to check; a file
    whose rows are lost by mistake fails the reconciliation and completeness checks instead."""
    have = con.execute("SELECT source_file, list(DISTINCT measure) FROM staging.observations WHERE source_id = ? "
                       "GROUP BY 1", [source.id]).fetchall()
    published = {f: set(ms) for f, ms in have}
    out_of_scope = {f for (f,) in con.execute(
        "SELECT source_file FROM raw.files WHERE source_id = $1 "
        "EXCEPT SELECT source_file FROM staging.observations WHERE source_id = $1 "
        "EXCEPT SELECT source_file FROM staging.rejected WHERE source_id = $1", [source.id]).fetchall()}
    missing = [{"source_file": f.path, "table_id": f.table_id, "year": f.year, "measure": m}
               for f in files if f.path not in out_of_scope
               for m in source.file_required(f) if m not in published.get(f.path, set())]
    return _outcome("required_measures_present", "error", pd.DataFrame(missing),
                    "every required measure resolved in every file", "required measures not found in a file or table")


def keys_unique(con: duckdb.DuckDBPyConnection, name: str, rows_sql: str, keys: tuple[str, ...]) -> CheckOutcome:
    """One row per key, on every row: a duplicated area row would be counted twice in every sum."""
    columns = ", ".join(keys)
    bad = con.execute(f"SELECT {columns}, count(*) AS rows FROM ({rows_sql}) GROUP BY ALL HAVING count(*) > 1 "
                      "ORDER BY ALL").df()
    return _outcome(name, "error", bad, f"one row per {columns}", f"keys ({columns}) occur more than once")


MAX_STAGED_ROWS = 20_000_000  # ten times the national scope's staged rows: more is a runaway join or a wrong file


def rows_staged(con: duckdb.DuckDBPyConnection, source_id: str) -> CheckOutcome:
    """The source staged at least one row, and not absurdly many."""
    (n,), = con.execute("SELECT count(*) FROM staging.observations WHERE source_id = ?", [source_id]).fetchall()
    ok = 1 <= n <= MAX_STAGED_ROWS
    return CheckOutcome("rows_staged", "error", ok, f"{n} rows staged" + ("" if ok else f", outside 1 to {MAX_STAGED_ROWS}"),
                        pd.DataFrame() if ok else pd.DataFrame([{"source_id": source_id, "rows": n}]))


def no_rejected_cells(con: duckdb.DuckDBPyConnection, source_id: str) -> CheckOutcome:
    """Cells that could not be parsed are kept in rejected_rows with their reason; the rest publishes."""
    bad = con.execute("SELECT * EXCLUDE (part) FROM staging.rejected WHERE source_id = ? ORDER BY source_file, row_nr",
                      [source_id]).df()
    return _outcome("no_rejected_cells", "warn", bad, "every cell parsed",
                    "cells rejected (kept in marts.rejected_rows with their reason)")


def suppression_respected(con: duckdb.DuckDBPyConnection, table: str, indicators: list[Indicator]) -> CheckOutcome:
    """No value we derive (a ratio) is published on a base under MIN_BASE people or households. Weighted
    means of a single CBS area are CBS's own published figure, suppressed by CBS where needed."""
    ratios = [i.id for i in indicators if i.method in ("ratio", "school_ratio")]
    bad = con.execute(f"""SELECT indicator_id, definition, area_code, year, value, denominator FROM {table}
                          WHERE list_contains(?, indicator_id) AND value IS NOT NULL AND denominator < {MIN_BASE}
                          ORDER BY denominator""", [ratios]).df()
    return _outcome("suppression_respected", "error", bad, f"no value rests on a base under {MIN_BASE}",
                    f"values published on a base under {MIN_BASE}")


def values_in_plausible_range(con: duckdb.DuckDBPyConnection, table: str, indicators: list[Indicator]) -> CheckOutcome:
    ranges = pd.DataFrame([(i.id, *i.value_range) for i in indicators], columns=["indicator_id", "lo", "hi"])
    con.register("_ranges", ranges)
    try:
        bad = con.execute(f"""SELECT v.indicator_id, v.definition, v.area_code, v.year, v.value, r.lo, r.hi
                              FROM {table} v JOIN _ranges r USING (indicator_id)
                              WHERE v.value IS NOT NULL AND (v.value < r.lo OR v.value > r.hi)""").df()
    finally:
        con.unregister("_ranges")
    return _outcome("values_in_plausible_range", "error", bad, "all values in their declared range",
                    "values outside the range their definition declares")


def year_over_year_jumps(con: duckdb.DuckDBPyConnection, table: str, indicators: list[Indicator]) -> CheckOutcome:
    """Headline series (Noord, Zuid, Heerlen, NL) that move more between published years than the
    indicator's max_change allows (relative). Real change happens, so this warns, it does not block."""
    limits = pd.DataFrame([(i.id, i.max_change or DEFAULT_MAX_CHANGE) for i in indicators if i.method != "sum"],
                          columns=["indicator_id", "max_change"])
    con.register("_limits", limits)
    try:
        bad = con.execute(f"""
            WITH s AS (
                SELECT indicator_id, definition, area_code, year, value,
                       lag(value) OVER (PARTITION BY indicator_id, definition, area_code ORDER BY year) AS previous,
                       lag(year) OVER (PARTITION BY indicator_id, definition, area_code ORDER BY year) AS previous_year
                FROM {table} WHERE status = 'ok' AND area_code IN {HEADLINE_AREAS})
            SELECT s.*, round(abs(value - previous) / abs(previous), 3) AS change, l.max_change
            FROM s JOIN _limits l USING (indicator_id)
            WHERE previous IS NOT NULL AND previous <> 0 AND abs(value - previous) / abs(previous) > l.max_change
            ORDER BY change DESC""").df()
    finally:
        con.unregister("_limits")
    return _outcome("year_over_year_jumps", "warn", bad, "no headline series jumps beyond its max_change",
                    "headline values changed more than their indicator's max_change since the previous year")


def programme_wijken_complete(con: duckdb.DuckDBPyConnection, indicators: list[Indicator]) -> CheckOutcome:
    """Every wijk of each programme area has a row (published or suppressed) for each indicator input in
    every year another member wijk has one. A suppressed wijk lowers `coverage`, which is recorded; an
    absent one means a source file lost a row. Absences are found per measure, once for all the indicators'
    inputs (one scan of staging.observations), and listed per indicator that uses the measure."""
    inputs = pd.DataFrame([(pos, ind.id, m) for pos, ind in enumerate(indicators)
                           if not ind.method.startswith("school")  # placed by address: a wijk without a school is normal
                           for m in sorted({r.measure for r in ind.measure_refs()})],
                          columns=["_pos", "indicator_id", "measure"])
    con.register("_inputs", inputs)
    try:
        bad = con.execute("""
            WITH have AS (SELECT DISTINCT area_code, year, measure FROM staging.observations
                          WHERE measure IN (SELECT measure FROM _inputs)
                          AND area_code IN (SELECT wijk_code FROM staging.area_members)),  -- only wijken are looked up
                 seen AS (SELECT DISTINCT m.definition, m.area_code, h.year, h.measure
                          FROM have h JOIN staging.area_members m ON h.area_code = m.wijk_code),
                 absent AS (SELECT s.definition, s.area_code AS programme_area, m.wijk_code AS absent_wijk, s.year,
                                   s.measure
                            FROM seen s JOIN staging.area_members m ON m.definition = s.definition
                                                                   AND m.area_code = s.area_code
                            LEFT JOIN have h ON h.area_code = m.wijk_code AND h.year = s.year AND h.measure = s.measure
                            WHERE h.area_code IS NULL)
            SELECT i.indicator_id, a.definition, a.programme_area, a.absent_wijk, a.year, a.measure
            FROM absent a JOIN _inputs i USING (measure)
            ORDER BY i._pos, a.definition, a.programme_area, a.absent_wijk, a.year, a.measure""").df()
    finally:
        con.unregister("_inputs")
    return _outcome("programme_wijken_complete", "warn", bad, "every programme wijk is present for every input",
                    "programme-area inputs lack a member wijk's row")


def describe(outcome: CheckOutcome, where: str) -> str:
    """The failure text for people: what, where, and a sample of the offending rows."""
    text = f"{outcome.summary} ({where})"
    if not outcome.sample.empty:
        text += "\n" + outcome.sample.head(5).to_string(index=False, max_colwidth=60)
    return text
