"""Indicator values in DuckDB SQL, generated from the definitions in assets/indicators/.

Every indicator is computed for the CBS areas that publish its inputs (buurt, wijk, gemeente, NL) and
for both programme areas under every area definition. Programme-area values are built from published
inputs of their wijken only - summed counts (ratio, sum) or a weighted mean of published values with a
published weight - never by subtracting one published figure from another. `coverage` is the share of
member wijken whose inputs were published.
"""

from __future__ import annotations

import re

import duckdb

from .catalog import Indicator, MeasureRef

MIN_BASE = 100  # derived values with a denominator under 100 (people, households) are suppressed
VALUE_COLUMNS = ["definition", "indicator_id", "area_code", "year", "value", "numerator", "denominator",
                 "coverage", "status", "source_table"]
_SAFE = re.compile(r"^[a-z0-9_]+$")


class IndicatorInputError(ValueError):
    pass


def _lit(name: str) -> str:
    if not _SAFE.match(name):
        raise ValueError(f"unsafe identifier {name!r}")
    return f"'{name}'"


def _sum(expr: str, where: str | None = None) -> str:
    """An exact sum: every input is a fixed-point number (6 decimals, more than any source publishes) before
    it is added, so the result does not depend on the order DuckDB's threads add rows in. A float sum does
    (1215004.4000000015 in one run, 1215004.400000001 in the next), and two runs on the same inputs must
    publish the same numbers."""
    agg = f"sum(CAST({expr} AS DECIMAL(38, 6)))" + (f" FILTER (WHERE {where})" if where else "")
    return f"CAST({agg} AS DOUBLE)"


def _tables(*exprs: str) -> str:
    """Distinct, sorted list of source tables behind a value, as 'A + B'."""
    joined = "concat_ws(' + ', " + ", ".join(exprs) + ")"
    return f"array_to_string(list_sort(list_distinct(string_split({joined}, ' + '))), ' + ')"


def _measure_cte(name: str, refs: tuple[MeasureRef, ...]) -> str:
    """One row per (area, year): the sum of the referenced measures, 'ok' only when all are published, and
    `tables` = string_agg(DISTINCT table_id, ' + ' ORDER BY table_id). That ordered aggregate is computed only
    for the (area, year) groups with more than one table: DuckDB sorts every group apart, which for DUO's
    254,000 one-row school groups cost about a second and 200 MB; a single table is min = max."""
    where = " OR ".join(
        f"(measure = {_lit(r.measure)}" + (f" AND source_id = {_lit(r.source)})" if r.source else ")") for r in refs
    )
    n = len(refs)
    return f"""{name}_agg AS (
    SELECT area_code, year,
           CASE WHEN count(*) FILTER (WHERE status = 'ok') = {n} THEN {_sum("value")} END AS value,
           CASE WHEN count(*) FILTER (WHERE status = 'ok') = {n} THEN 'ok'
                WHEN bool_or(status = 'suppressed') THEN 'suppressed' ELSE 'missing' END AS status,
           min(table_id) AS first_table, max(table_id) AS last_table
    FROM staging.observations WHERE {where}
    GROUP BY area_code, year),
{name}_tables AS (
    SELECT o.area_code, o.year, string_agg(DISTINCT o.table_id, ' + ' ORDER BY o.table_id) AS tables
    FROM staging.observations o
    SEMI JOIN (SELECT area_code, year FROM {name}_agg WHERE first_table <> last_table) m
        ON o.area_code IS NOT DISTINCT FROM m.area_code AND o.year IS NOT DISTINCT FROM m.year
    WHERE {where}
    GROUP BY o.area_code, o.year),
{name} AS (
    SELECT a.area_code, a.year, a.value, a.status,
           CASE WHEN a.first_table = a.last_table THEN a.first_table ELSE t.tables END AS tables
    FROM {name}_agg a LEFT JOIN {name}_tables t
        ON a.area_code IS NOT DISTINCT FROM t.area_code AND a.year IS NOT DISTINCT FROM t.year)"""


def check_inputs(con: duckdb.DuckDBPyConnection, ind: Indicator, shared: set[str] | None = None) -> None:
    """Fail when one measure comes from two sources for the same area and year (pin it as source.measure).

    `shared` (optional) are the measures that more than one source delivers at all (`shared_measures`): only
    those can fail, so the others are not queried."""
    for ref in ind.measure_refs():
        if shared is not None and (ref.source or ref.measure not in shared):
            continue  # one source for this measure (or pinned to one): no area and year can have two
        cond = f"measure = {_lit(ref.measure)}" + (f" AND source_id = {_lit(ref.source)}" if ref.source else "")
        rows = con.execute(
            f"""SELECT area_code, year, string_agg(DISTINCT source_id, ', ') FROM staging.observations
                WHERE {cond} GROUP BY area_code, year HAVING count(DISTINCT source_id) > 1 LIMIT 1"""
        ).fetchall()  # fetchall: DuckDB 2 keeps a half-read result open and refuses the next statement
        if rows:
            row = rows[0]
            raise IndicatorInputError(
                f"indicator {ind.id}: measure {ref.measure!r} for {row[0]} {row[1]} comes from several sources "
                f"({row[2]}); name one as source.measure in assets/indicators/{ind.theme}.yaml"
            )


def shared_measures(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Measures delivered by more than one source (one scan, instead of one per measure and indicator)."""
    return {m for (m,) in con.execute("SELECT measure FROM staging.observations GROUP BY measure "
                                      "HAVING count(DISTINCT source_id) > 1").fetchall()}


def indicator_sql(ind: Indicator) -> str:
    if ind.method in ("school_ratio", "school_sum"):
        return _school_sql(ind)
    scale, dec, iid = ind.scale, ind.decimals, f"'{ind.id}'"
    if ind.method == "ratio":
        ctes = [_measure_cte("num", ind.numerator), _measure_cte("den", ind.denominator)]
        base = f"""base AS (
    SELECT n.area_code, n.year,
           n.value AS num, d.value AS den,
           CASE WHEN n.status = 'ok' AND d.status = 'ok' THEN 'ok'
                WHEN 'suppressed' IN (n.status, d.status) THEN 'suppressed' ELSE 'missing' END AS inputs,
           {_tables("n.tables", "d.tables")} AS tables
    FROM num n LEFT JOIN den d ON n.area_code = d.area_code AND n.year = d.year)"""
        base_value = f"CASE WHEN den > 0 THEN round(num / den * {scale}, {dec}) END"
        prog_num, prog_den = _sum("num"), _sum("den")
        prog_value = f"round({_sum('num')} / nullif({_sum('den')}, 0) * {scale}, {dec})"
        small_base = f"den < {MIN_BASE}"
        prog_small = f"{_sum('den')} < {MIN_BASE}"
    elif ind.method == "weighted_mean":
        ctes = [_measure_cte("val", (ind.measure,)), _measure_cte("wt", ind.weight)]
        base = f"""base AS (
    SELECT v.area_code, v.year, v.value AS num, w.value AS den, v.status AS inputs,
           w.status AS weight_status, {_tables("v.tables", "w.tables")} AS tables
    FROM val v LEFT JOIN wt w ON v.area_code = w.area_code AND v.year = w.year)"""
        base_value = f"round(num, {dec})"
        prog_num, prog_den = "NULL", _sum("den")
        prog_value = f"round({_sum('num * den')} / nullif({_sum('den')}, 0), {dec})"
        small_base = "false"  # published values: CBS applied its own disclosure rules
        prog_small = f"{_sum('den')} < {MIN_BASE}"
    else:  # sum
        ctes = [_measure_cte("val", (ind.measure,))]
        base = """base AS (
    SELECT area_code, year, value AS num, NULL::DOUBLE AS den, status AS inputs, tables FROM val)"""
        base_value = f"round(num, {dec})"
        prog_num, prog_den = _sum("num"), "NULL"
        prog_value = f"CASE WHEN count(num) = max(n_members) THEN round({_sum('num')}, {dec}) END"
        small_base = "false"
        prog_small = "false"
    # Programme members: only wijken whose inputs (and weight) were published count.
    member_ok = "b.inputs = 'ok'" + (" AND b.weight_status = 'ok'" if ind.method == "weighted_mean" else "")
    return f"""
WITH {", ".join(ctes)},
{base},
cbs AS (
    SELECT NULL AS definition, {iid} AS indicator_id, b.area_code, b.year,
           CASE WHEN b.inputs = 'ok' AND NOT coalesce({small_base}, false) THEN {base_value} END AS value,
           {"b.num" if ind.method != "weighted_mean" else "NULL"} AS numerator,
           b.den AS denominator,
           CASE WHEN b.inputs = 'ok' THEN 1.0 ELSE 0.0 END AS coverage,
           CASE WHEN b.inputs = 'ok' AND coalesce({small_base}, false) THEN 'suppressed'
                WHEN b.inputs = 'ok' THEN 'ok' ELSE b.inputs END AS status,
           b.tables AS source_table
    FROM base b JOIN (SELECT DISTINCT area_code FROM staging.areas) a USING (area_code)),
members AS (
    SELECT m.*, count(*) OVER (PARTITION BY m.definition, m.area_code) AS n_members FROM staging.area_members m),
prog_in AS (
    SELECT m.definition, m.area_code, m.n_members, y.year, coalesce({member_ok}, false) AS usable,
           CASE WHEN {member_ok} THEN b.num END AS num, CASE WHEN {member_ok} THEN b.den END AS den,
           b.inputs, b.tables
    FROM members m CROSS JOIN (SELECT DISTINCT year FROM base) y
    LEFT JOIN base b ON b.area_code = m.wijk_code AND b.year = y.year),
prog AS (
    SELECT definition, area_code, year, {prog_num} AS num, {prog_den} AS den,
           count(*) FILTER (WHERE usable) / max(n_members) AS coverage, {prog_value} AS value,
           coalesce({prog_small}, false) AS small,
           coalesce(bool_or(NOT usable AND inputs = 'suppressed'), false) AS any_suppressed,
           {_tables("string_agg(DISTINCT tables, ' + ') FILTER (WHERE usable)")} AS tables
    FROM prog_in GROUP BY definition, area_code, year)
SELECT * FROM cbs
UNION ALL
SELECT definition, {iid}, area_code, year,
       CASE WHEN NOT small THEN value END,
       num, den, round(coverage, 3),
       CASE WHEN value IS NOT NULL AND NOT small THEN 'ok'
            WHEN small OR any_suppressed THEN 'suppressed' ELSE 'missing' END,
       tables
FROM prog
WHERE (SELECT count(*) FROM base WHERE area_code IN (SELECT wijk_code FROM staging.area_members)) > 0
"""


def _school_sql(ind: Indicator) -> str:
    """Values from school-level inputs for every area the schools are placed in: NL, the gemeente (DUO's
    register) and, when the school's address was geocoded (live DUO), its wijk and programme area."""
    scale, dec, iid = ind.scale, ind.decimals, f"'{ind.id}'"
    if ind.method == "school_ratio":
        ctes = [_measure_cte("num", ind.numerator), _measure_cte("den", ind.denominator)]
        school = f"""school AS (
    SELECT n.area_code, n.year, n.value AS num, d.value AS den,
           n.status = 'ok' AND d.status = 'ok' AS usable, {_tables("n.tables", "d.tables")} AS tables
    FROM num n JOIN den d ON n.area_code = d.area_code AND n.year = d.year)"""
        num, den = _sum("num", "usable"), _sum("den", "usable")
        value = f"round({num} / nullif({den}, 0) * {scale}, {dec})"
    else:
        ctes = [_measure_cte("val", (ind.measure,))]
        school = """school AS (
    SELECT area_code, year, value AS num, NULL::DOUBLE AS den, status = 'ok' AS usable, tables FROM val)"""
        num, den = _sum("num", "usable"), "NULL"
        value = f"round({num}, {dec})"
    return f"""
WITH {", ".join(ctes)},
{school},
placed AS (
    SELECT s.*, g.gemeente_code, g.wijk_code FROM school s LEFT JOIN staging.schools g USING (area_code)),
scoped AS (
    SELECT NULL AS definition, 'NL00' AS target, * FROM placed
    UNION ALL
    SELECT NULL, gemeente_code, * FROM placed WHERE gemeente_code IN (SELECT area_code FROM staging.areas)
    UNION ALL
    SELECT NULL, wijk_code, * FROM placed WHERE wijk_code IN (SELECT area_code FROM staging.areas)
    UNION ALL
    SELECT m.definition, m.area_code, p.* FROM placed p JOIN staging.area_members m ON p.wijk_code = m.wijk_code),
agg AS (
    SELECT definition, target AS area_code, year, {num} AS num, {den} AS den, {value} AS value,
           count(*) FILTER (WHERE usable) / count(*) AS coverage,
           {_tables("string_agg(DISTINCT tables, ' + ')")} AS tables
    FROM scoped GROUP BY definition, target, year)
SELECT definition, {iid} AS indicator_id, area_code, year,
       CASE WHEN den IS NULL OR den >= {MIN_BASE} THEN value END AS value, num AS numerator, den AS denominator,
       round(coverage, 3) AS coverage,
       CASE WHEN value IS NULL THEN 'missing' WHEN den < {MIN_BASE} THEN 'suppressed' ELSE 'ok' END AS status,
       tables AS source_table
FROM agg
"""


def build_indicator_values(con: duckdb.DuckDBPyConnection, indicators: list[Indicator], table: str) -> int:
    """(Re)create `table` with the values of `indicators` for all areas and definitions."""
    shared = shared_measures(con)
    for ind in indicators:
        check_inputs(con, ind, shared)
    selects = [indicator_sql(ind) for ind in indicators]
    body = "\nUNION ALL\n".join(f"SELECT * FROM ({s})" for s in selects)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {body}")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
