"""Indicator values in DuckDB SQL, generated from the definitions in assets/indicators/.

Every indicator is computed for the CBS areas that publish its inputs (buurt, wijk, gemeente, NL) and
for both programme areas under every area definition. Programme-area values are built from published
inputs of their wijken only - summed counts (ratio, sum) or a weighted mean of published values with a
published weight - never by subtracting one published figure from another.

Values keep full precision: rounding to an indicator's `decimals` happens only where numbers are shown.
Each value carries its uncertainty as bounds (`value_lower`, `value_upper`) and says where they come from
(`uncertainty`): the source's interval around a model estimate (RIVM Marges), or the rounding of the
published cells it is computed from (a KWB wijk count rounded to 5 lies within 2.5 of the true count).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import duckdb

from .. import catalog
from ..catalog import Indicator, MeasureRef
from ..store.tables import all_cores, column_defs, side_by_side, sql_literal, transaction

MIN_BASE = 100  # derived values with a denominator under 100 (people, households) are suppressed
MIN_COVERAGE = 0.9  # a programme-area value resting on less of its people is published as 'low_coverage'
POPULATION = "inhabitants"  # the measure coverage is counted in (assets/measures.csv)
VALUE_TYPES = {"definition": "VARCHAR", "indicator_id": "VARCHAR", "area_code": "VARCHAR", "year": "BIGINT",
               "value": "DOUBLE", "numerator": "DOUBLE", "denominator": "DOUBLE", "coverage": "DOUBLE",
               "status": "VARCHAR", "symbol": "VARCHAR", "value_lower": "DOUBLE", "value_upper": "DOUBLE",
               "uncertainty": "VARCHAR", "reference_period": "VARCHAR", "source_table": "VARCHAR"}
VALUE_COLUMNS = list(VALUE_TYPES)
WORK = "_theme_work"  # build_indicator_values' in-memory database: what one theme's statements share
PEOPLE = f"{WORK}._people"  # a member wijk's published population per year, built once per theme
_SAFE = re.compile(r"^[a-z0-9_]+$")


class IndicatorInputError(ValueError):
    pass


@dataclass(frozen=True)
class Facts:
    """What assets/ says about the inputs: rounding base per measure, model-estimate sources, periods."""

    rounding: dict[str, float]
    estimates: frozenset[str]
    sources: dict[str, catalog.Source]

    @classmethod
    def load(cls) -> Facts:
        sources = catalog.load_sources()
        return cls({m.name: m.rounding for m in catalog.load_measures() if m.rounding},
                   frozenset(s.id for s in sources.values() if s.model_estimate), sources)

    def period(self, ref: MeasureRef) -> str | None:
        """The reference-period template of a measure (sources.yaml), or None when it is the table's year."""
        for sid, source in sorted(self.sources.items()):
            if ref.source in (None, sid):
                for rule in source.reference_periods:
                    if ref.measure in rule.measures:
                        return rule.period
        return None


def _lit(name: str) -> str:
    if not _SAFE.match(name):
        raise ValueError(f"unsafe identifier {name!r}")
    return f"'{name}'"


def _sum(expr: str, where: str | None = None) -> str:
    """An exact sum: every input is a fixed-point number (6 decimals, more than any source publishes) before
    it is added, so the result does not depend on the order DuckDB's threads add rows in. A float sum does
    (1215004.4000000015 in one run, 1215004.400000001 in the next), and two runs on the same inputs must
    publish the same numbers."""
    return f"CAST({_fixed_sum(expr, where)} AS DOUBLE)"


def _fixed_sum(expr: str, where: str | None = None) -> str:
    """_sum before its cast back to DOUBLE: a fixed-point total that can itself be summed again, exactly."""
    return f"sum(CAST({expr} AS DECIMAL(38, 6)))" + (f" FILTER (WHERE {where})" if where else "")


def _tables(*exprs: str) -> str:
    """Distinct, sorted list of source tables behind a value, as 'A + B'. Of two lists in that form already (a
    measure sum's `tables`), the usual case is cheap: the same list on both sides, or one table and nothing. Split,
    sorted and joined again, row by row, it was a fifth of a ratio's statement over the national areas."""
    joined = "concat_ws(' + ', " + ", ".join(exprs) + ")"
    merged = f"array_to_string(list_sort(list_distinct(string_split({joined}, ' + '))), ' + ')"
    if len(exprs) != 2:
        return merged
    a, b = exprs
    return f"CASE WHEN {a} = {b} OR ({b} IS NULL AND NOT contains({a}, ' + ')) THEN {a} ELSE {merged} END"


def _half(refs: tuple[MeasureRef, ...], facts: Facts) -> str:
    """Per staged row: half the rounding base of its measure when the cell is a multiple of that base (a cell
    that is not, such as a gemeente's exact population, was evidently not rounded), else 0."""
    cases = [f"WHEN {_lit(r.measure)} THEN CASE WHEN abs(value / {b} - round(value / {b})) < 1e-6 THEN {b / 2} "
             "ELSE 0 END" for r in refs if (b := facts.rounding.get(r.measure))]
    return f"CASE measure {' '.join(cases)} ELSE 0 END" if cases else "0"


def measure_sql(refs: tuple[MeasureRef, ...], facts: Facts) -> str:
    """One row per (area, year): the sum of the referenced measures, 'ok' only when all are published, the
    rounding half-widths summed (`half`), the legend symbol of a cell that is not published, whether a model
    estimate is among them, and `tables` = string_agg(DISTINCT table_id, ' + ' ORDER BY table_id). That
    ordered aggregate is computed only for the (area, year) groups with more than one table: DuckDB sorts every
    group apart, which for DUO's 254,000 one-row school groups cost about a second and 200 MB; a single table
    is min = max."""
    where = " OR ".join(
        f"(measure = {_lit(r.measure)}" + (f" AND source_id = {_lit(r.source)})" if r.source else ")") for r in refs
    )
    estimate = (f"bool_or(source_id IN ({', '.join(_lit(s) for s in sorted(facts.estimates))}))"
                if facts.estimates else "false")
    n = len(refs)
    return f"""WITH m_ids AS (  -- the source tables as numbers in their text order: min and max of a number hold no text
    SELECT table_id, row_number() OVER (ORDER BY table_id) AS t
    FROM (SELECT DISTINCT table_id FROM staging.observations WHERE {where} AND table_id IS NOT NULL)),
m_agg AS (
    SELECT area_code, year,
           CASE WHEN count(*) FILTER (WHERE status = 'ok') = {n} THEN {_sum("value")} END AS value,
           CASE WHEN count(*) FILTER (WHERE status = 'ok') = {n} THEN 'ok'
                WHEN bool_or(status = 'suppressed') THEN 'suppressed'
                WHEN bool_or(status = 'not_applicable') THEN 'not_applicable' ELSE 'missing' END AS status,
           min(symbol) FILTER (WHERE status <> 'ok') AS symbol,
           sum({_half(refs, facts)}) AS half, {estimate} AS estimate,
           min(i.t) AS first_table, max(i.t) AS last_table
    FROM staging.observations LEFT JOIN m_ids i USING (table_id) WHERE {where}
    GROUP BY area_code, year),
m_tables AS (
    SELECT o.area_code, o.year, string_agg(DISTINCT o.table_id, ' + ' ORDER BY o.table_id) AS tables
    FROM staging.observations o
    SEMI JOIN (SELECT area_code, year FROM m_agg WHERE first_table <> last_table) m
        ON o.area_code IS NOT DISTINCT FROM m.area_code AND o.year IS NOT DISTINCT FROM m.year
    WHERE {where}
    GROUP BY o.area_code, o.year)
SELECT a.area_code, a.year, a.value, a.status, a.symbol, a.half, a.estimate,
       CASE WHEN a.first_table = a.last_table THEN f.table_id ELSE t.tables END AS tables
FROM m_agg a LEFT JOIN m_tables t
    ON a.area_code IS NOT DISTINCT FROM t.area_code AND a.year IS NOT DISTINCT FROM t.year
LEFT JOIN m_ids f ON f.t = a.first_table"""


def input_refs(ind: Indicator) -> list[tuple[MeasureRef, ...]]:
    """The measure sums an indicator's SQL reads (each one `measure_sql`)."""
    if ind.method in ("ratio", "school_ratio"):
        return [ind.numerator, ind.denominator]
    if ind.method == "weighted_mean":
        return [(ind.measure,), ind.weight]
    return [(ind.measure,)]


Inputs = dict[tuple[MeasureRef, ...], str]  # measure sums already computed, by the table that holds them


def _measure_cte(name: str, refs: tuple[MeasureRef, ...], facts: Facts, inputs: Inputs | None) -> str:
    """The CTE `name`: the measure sum of `refs` from the table that already holds it, or computed here."""
    held = (inputs or {}).get(refs)
    return f"{name} AS (SELECT * FROM {held or f'({measure_sql(refs, facts)})'})"


def _interval_cte(ref: MeasureRef) -> str:
    """The source's interval bounds around a model estimate (RIVM Marges), one row per area and year."""
    pinned = f" AND source_id = {_lit(ref.source)}" if ref.source else ""
    return f"""iv AS (
    SELECT area_code, year, max(value) FILTER (WHERE side = 'lower') AS lo, max(value) FILTER (WHERE side = 'upper') AS hi
    FROM staging.intervals WHERE measure = {_lit(ref.measure)} AND status = 'ok'{pinned} GROUP BY area_code, year)"""


def _period(ref: MeasureRef | None, facts: Facts) -> str:
    template = facts.period(ref) if ref else None
    if template is None:
        return "NULL::VARCHAR"
    return (f"replace(replace({sql_literal(template)}, '{{year}}', CAST(year AS VARCHAR)), '{{previous}}', "
            "CAST(year - 1 AS VARCHAR))")


def _uncertainty(bounded: str) -> str:
    """The `uncertainty` label of a row with columns estimate, lo, hi and half-widths (`bounded` > 0)."""
    return (f"CASE WHEN estimate THEN (CASE WHEN lo IS NOT NULL AND hi IS NOT NULL THEN 'interval' ELSE 'unknown' END) "
            f"WHEN {bounded} THEN 'rounding' ELSE 'exact' END")


def indicator_sql(ind: Indicator, facts: Facts | None = None, inputs: Inputs | None = None) -> str:
    """The values of one indicator; `inputs` are measure sums build_indicator_values computed once for a theme."""
    facts = facts or Facts.load()
    if ind.method in ("school_ratio", "school_sum"):
        return _school_sql(ind, facts, inputs)
    scale, iid = ind.scale, f"'{ind.id}'"
    no_interval = "NULL::DOUBLE AS lo, NULL::DOUBLE AS hi"
    if ind.method == "ratio":
        ctes = [_measure_cte("num", ind.numerator, facts, inputs), _measure_cte("den", ind.denominator, facts, inputs)]
        base = f"""base AS (
    SELECT n.area_code, n.year,
           n.value AS num, d.value AS den,
           CASE WHEN n.status = 'ok' AND d.status = 'ok' THEN 'ok'
                WHEN 'suppressed' IN (n.status, d.status) THEN 'suppressed'
                WHEN 'not_applicable' IN (n.status, d.status) THEN 'not_applicable' ELSE 'missing' END AS inputs,
           coalesce(n.symbol, d.symbol) AS symbol, n.half AS num_half, coalesce(d.half, 0) AS den_half,
           n.estimate OR coalesce(d.estimate, false) AS estimate, {no_interval},
           {_tables("n.tables", "d.tables")} AS tables
    FROM num n LEFT JOIN den d ON n.area_code = d.area_code AND n.year = d.year)"""
        period = _period(ind.numerator[0], facts)
        base_value = f"CASE WHEN den > 0 THEN num / den * {scale} END"
        # Interval arithmetic on the rounded counts: the smallest numerator over the largest denominator, and back.
        base_lower = f"greatest(num - num_half, 0) / (den + den_half) * {scale}"
        base_upper = f"CASE WHEN den - den_half > 0 THEN (num + num_half) / (den - den_half) * {scale} END"
        prog_num, prog_den = _sum("num"), _sum("den")
        prog_value = f"{_sum('num')} / nullif({_sum('den')}, 0) * {scale}"
        prog_lower = f"greatest(num - num_half, 0) / nullif(den + den_half, 0) * {scale}"
        prog_upper = f"CASE WHEN den - den_half > 0 THEN (num + num_half) / (den - den_half) * {scale} END"
        small_base = f"den < {MIN_BASE}"
        prog_small = f"{_sum('den')} < {MIN_BASE}"
    elif ind.method == "weighted_mean":
        ctes = [_measure_cte("val", (ind.measure,), facts, inputs), _measure_cte("wt", ind.weight, facts, inputs),
                _interval_cte(ind.measure)]
        base = f"""base AS (
    SELECT v.area_code, v.year, v.value AS num, w.value AS den, v.status AS inputs, w.status AS weight_status,
           v.symbol, v.half AS num_half, coalesce(w.half, 0) AS den_half, v.estimate, i.lo, i.hi,
           {_tables("v.tables", "w.tables")} AS tables
    FROM val v LEFT JOIN wt w ON v.area_code = w.area_code AND v.year = w.year
    LEFT JOIN iv i ON v.area_code = i.area_code AND v.year = i.year)"""
        period = _period(ind.measure, facts)
        base_value = "num"
        base_lower, base_upper = "CASE WHEN estimate THEN lo ELSE num - num_half END", \
            "CASE WHEN estimate THEN hi ELSE num + num_half END"
        prog_num, prog_den = "NULL", _sum("den")
        prog_value = f"{_sum('num * den')} / nullif({_sum('den')}, 0)"
        # A weighted mean moves by at most the largest value half-width when the values move, and by
        # sum(|v_i - mean| * weight half-width) / (smallest total weight) when the weights do (spread, below).
        prog_lower = ("CASE WHEN estimate THEN lo_mean - spread / nullif(den - den_half, 0) "
                      "ELSE value - max_half - spread / nullif(den - den_half, 0) END")
        prog_upper = ("CASE WHEN estimate THEN hi_mean + spread / nullif(den - den_half, 0) "
                      "ELSE value + max_half + spread / nullif(den - den_half, 0) END")
        small_base = "false"  # published values: CBS applied its own disclosure rules
        prog_small = f"{_sum('den')} < {MIN_BASE}"
    else:  # sum
        ctes = [_measure_cte("val", (ind.measure,), facts, inputs)]
        base = f"""base AS (
    SELECT area_code, year, value AS num, NULL::DOUBLE AS den, status AS inputs, symbol, half AS num_half,
           0 AS den_half, estimate, {no_interval}, tables FROM val)"""
        period = _period(ind.measure, facts)
        base_value = "num"
        base_lower, base_upper = "num - num_half", "num + num_half"
        prog_num, prog_den = _sum("num"), "NULL"
        prog_value = f"CASE WHEN count(num) = max(n_members) THEN {_sum('num')} END"
        prog_lower, prog_upper = "value - num_half", "value + num_half"
        small_base = "false"
        prog_small = "false"
    # Programme members: only wijken whose inputs (and weight) were published count.
    member_ok = "b.inputs = 'ok'" + (" AND b.weight_status = 'ok'" if ind.method == "weighted_mean" else "")
    return f"""
WITH {", ".join(ctes)},
{base},
cbs_v AS (
    SELECT b.*, CASE WHEN b.inputs = 'ok' AND NOT coalesce({small_base}, false) THEN {base_value} END AS value
    FROM base b JOIN (SELECT DISTINCT area_code FROM staging.areas) a USING (area_code)),
cbs AS (
    SELECT NULL AS definition, {iid} AS indicator_id, area_code, year, value,
           {"num" if ind.method != "weighted_mean" else "NULL"} AS numerator,
           den AS denominator,
           CASE WHEN inputs = 'ok' THEN 1.0 ELSE 0.0 END AS coverage,
           CASE WHEN inputs = 'ok' AND coalesce({small_base}, false) THEN 'suppressed'
                WHEN inputs = 'ok' THEN 'ok' ELSE inputs END AS status,
           CASE WHEN inputs <> 'ok' THEN symbol END AS symbol,
           CASE WHEN value IS NOT NULL THEN {base_lower} END AS value_lower,
           CASE WHEN value IS NOT NULL THEN {base_upper} END AS value_upper,
           CASE WHEN value IS NOT NULL THEN {_uncertainty("num_half + den_half > 0")} END AS uncertainty,
           {period} AS reference_period,
           tables AS source_table
    FROM cbs_v),
members AS (
    SELECT m.*, count(*) OVER (PARTITION BY m.definition, m.area_code) AS n_members FROM staging.area_members m),
people AS (SELECT * FROM {PEOPLE}),  -- coverage is counted in people: a small wijk without a value matters less
prog_in AS (
    SELECT m.definition, m.area_code, m.n_members, y.year, coalesce({member_ok}, false) AS usable,
           CASE WHEN {member_ok} THEN b.num END AS num, CASE WHEN {member_ok} THEN b.den END AS den,
           b.num_half, b.den_half, b.estimate, b.lo, b.hi, b.inputs, b.tables, p.people
    FROM members m CROSS JOIN (SELECT DISTINCT year FROM base) y
    LEFT JOIN base b ON b.area_code = m.wijk_code AND b.year = y.year
    LEFT JOIN people p ON p.area_code = m.wijk_code AND p.year = y.year),
prog_agg AS (
    SELECT definition, area_code, year, {prog_num} AS num, {prog_den} AS den,
           -- in people when every member wijk's population is published that year, else in wijken
           CASE WHEN count(people) = max(n_members) AND sum(people) > 0
                THEN coalesce(sum(people) FILTER (WHERE usable), 0) / sum(people)
                ELSE count(*) FILTER (WHERE usable) / max(n_members) END AS coverage,
           {prog_value} AS value,
           coalesce({prog_small}, false) AS small,
           coalesce(bool_or(NOT usable AND inputs = 'suppressed'), false) AS any_suppressed,
           coalesce(bool_or(NOT usable AND inputs = 'not_applicable'), false) AS any_not_applicable,
           coalesce(sum(num_half) FILTER (WHERE usable), 0) AS num_half,
           coalesce(sum(den_half) FILTER (WHERE usable), 0) AS den_half,
           coalesce(max(num_half) FILTER (WHERE usable), 0) AS max_half,
           coalesce(bool_or(estimate) FILTER (WHERE usable), false) AS estimate,
           CASE WHEN count(lo) FILTER (WHERE usable) = count(*) FILTER (WHERE usable)
                THEN sum(lo * den) FILTER (WHERE usable) / nullif(sum(den) FILTER (WHERE usable), 0) END AS lo_mean,
           CASE WHEN count(hi) FILTER (WHERE usable) = count(*) FILTER (WHERE usable)
                THEN sum(hi * den) FILTER (WHERE usable) / nullif(sum(den) FILTER (WHERE usable), 0) END AS hi_mean,
           {_tables("string_agg(DISTINCT tables, ' + ') FILTER (WHERE usable)")} AS tables
    FROM prog_in GROUP BY definition, area_code, year),
prog AS (
    SELECT a.*, a.lo_mean AS lo, a.hi_mean AS hi,
           coalesce((SELECT sum(abs(i.num - a.value) * i.den_half) FROM prog_in i
                     WHERE i.usable AND i.definition = a.definition AND i.area_code = a.area_code
                       AND i.year = a.year), 0) AS spread
    FROM prog_agg a)
SELECT * FROM cbs
UNION ALL
SELECT definition, {iid}, area_code, year,
       CASE WHEN NOT small THEN value END,
       num, den, coverage,
       CASE WHEN value IS NOT NULL AND NOT small AND coverage < {MIN_COVERAGE} THEN 'low_coverage'
            WHEN value IS NOT NULL AND NOT small THEN 'ok'
            WHEN small OR any_suppressed THEN 'suppressed'
            WHEN any_not_applicable THEN 'not_applicable' ELSE 'missing' END,
       NULL,
       CASE WHEN value IS NOT NULL AND NOT small THEN {prog_lower} END,
       CASE WHEN value IS NOT NULL AND NOT small THEN {prog_upper} END,
       CASE WHEN value IS NOT NULL AND NOT small THEN {_uncertainty("num_half + den_half > 0")} END,
       {period},
       tables
FROM prog
WHERE (SELECT count(*) FROM base WHERE area_code IN (SELECT wijk_code FROM staging.area_members)) > 0
"""


def _school_sql(ind: Indicator, facts: Facts, inputs: Inputs | None) -> str:
    """Values from school-level inputs for every area the schools are placed in: NL, the gemeente (DUO's
    register) and, when the school's address was geocoded (live DUO), its wijk and programme area. School
    counts are exact (DUO withholds a count under 5 instead of rounding it); coverage is the share of schools.

    The schools are first summed per placement (gemeente, wijk) and year, exactly (fixed-point sums, counts, the
    distinct source tables), and only those few rows are spread over the areas: spreading 254,000 school-years
    over NL, gemeente, wijk and programme areas first held four copies of them in memory."""
    scale, iid = ind.scale, f"'{ind.id}'"
    if ind.method == "school_ratio":
        ctes = [_measure_cte("num", ind.numerator, facts, inputs), _measure_cte("den", ind.denominator, facts, inputs)]
        school = f"""school AS (
    SELECT n.area_code, n.year, n.value AS num, d.value AS den,
           n.status = 'ok' AND d.status = 'ok' AS usable, {_tables("n.tables", "d.tables")} AS tables
    FROM num n JOIN den d ON n.area_code = d.area_code AND n.year = d.year)"""
        num, den = "CAST(sum(num) AS DOUBLE)", "CAST(sum(den) AS DOUBLE)"
        value = f"{num} / nullif({den}, 0) * {scale}"
        period = _period(ind.numerator[0], facts)
    else:
        ctes = [_measure_cte("val", (ind.measure,), facts, inputs)]
        school = """school AS (
    SELECT area_code, year, value AS num, NULL::DOUBLE AS den, status = 'ok' AS usable, tables FROM val)"""
        num, den = "CAST(sum(num) AS DOUBLE)", "NULL"
        value = num
        period = _period(ind.measure, facts)
    return f"""
WITH {", ".join(ctes)},
{school},
placed AS (
    SELECT g.gemeente_code, g.wijk_code, s.year,
           {_fixed_sum("s.num", "s.usable")} AS num, {_fixed_sum("s.den", "s.usable")} AS den,
           count(*) FILTER (WHERE s.usable) AS n_usable, count(*) AS n_schools,
           string_agg(DISTINCT s.tables, ' + ') AS tables
    FROM school s LEFT JOIN staging.schools g USING (area_code)
    GROUP BY g.gemeente_code, g.wijk_code, s.year),
scoped AS (
    SELECT NULL AS definition, (SELECT area_code FROM staging.areas WHERE level = 'land') AS target, * FROM placed
    UNION ALL
    SELECT NULL, gemeente_code, * FROM placed WHERE gemeente_code IN (SELECT area_code FROM staging.areas)
    UNION ALL
    SELECT NULL, wijk_code, * FROM placed WHERE wijk_code IN (SELECT area_code FROM staging.areas)
    UNION ALL
    SELECT m.definition, m.area_code, p.* FROM placed p JOIN staging.area_members m ON p.wijk_code = m.wijk_code),
agg AS (
    SELECT definition, target AS area_code, year, {num} AS num, {den} AS den, {value} AS value,
           sum(n_usable) / sum(n_schools) AS coverage,
           {_tables("string_agg(DISTINCT tables, ' + ')")} AS tables
    FROM scoped GROUP BY definition, target, year),
shown AS (
    SELECT *, CASE WHEN den IS NULL OR den >= {MIN_BASE} THEN value END AS shown_value FROM agg)
SELECT definition, {iid} AS indicator_id, area_code, year, shown_value AS value, num AS numerator, den AS denominator,
       coverage,
       CASE WHEN value IS NULL THEN 'missing' WHEN den < {MIN_BASE} THEN 'suppressed'
            WHEN definition IS NOT NULL AND coverage < {MIN_COVERAGE} THEN 'low_coverage' ELSE 'ok' END AS status,
       NULL AS symbol, shown_value AS value_lower, shown_value AS value_upper,
       CASE WHEN shown_value IS NOT NULL THEN 'exact' END AS uncertainty,
       {period} AS reference_period,
       tables AS source_table
FROM shown
"""


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


def build_indicator_values(con: duckdb.DuckDBPyConnection, indicators: list[Indicator], table: str) -> int:
    """(Re)create `table` with the values of `indicators` for all areas and definitions, in one transaction.

    One statement per indicator: a theme's indicators in one UNION ALL held all their intermediate results at
    once (1.5 GB for werken's ten over the national areas, against 0.4 GB one at a time). A measure sum that
    several of them read (a shared denominator), and the member wijken's population, are computed once first.
    Both steps run side by side on every core (store.tables.side_by_side) into an in-memory database `WORK`; each
    statement on one thread, so the values are those it gives alone. The theme's table is then written from there,
    sorted as published."""
    shared = shared_measures(con)
    for ind in indicators:
        check_inputs(con, ind, shared)
    facts = Facts.load()
    uses = Counter(refs for ind in indicators for refs in dict.fromkeys(input_refs(ind)))
    inputs = {refs: f"{WORK}._input_{k}" for k, refs in enumerate(r for r, n in uses.items() if n > 1)}
    values = [f"{WORK}._values_{k}" for k in range(len(indicators))]
    con.execute(f"DETACH DATABASE IF EXISTS {WORK}")  # by a step interrupted before its DETACH, in this process
    con.execute(f"ATTACH ':memory:' AS {WORK}")
    try:
        side_by_side(con, [
            f"CREATE TABLE {PEOPLE} AS SELECT area_code, year, any_value(value) AS people FROM staging.observations "
            f"WHERE measure = {_lit(POPULATION)} AND status = 'ok' "
            "AND area_code IN (SELECT wijk_code FROM staging.area_members) GROUP BY area_code, year",
            *(f"CREATE TABLE {name} AS {measure_sql(refs, facts)}" for refs, name in inputs.items())])
        side_by_side(con, [f"CREATE TABLE {name} AS {indicator_sql(ind, facts, inputs)}"
                           for name, ind in zip(values, indicators, strict=True)])
        # In published order (indicator_id, area_code, year; a programme area once per definition): the marts read
        # the theme tables in the order they are stored, and publish writes them without sorting again. One sorted
        # INSERT, not one per indicator: each of those ended in a part-filled row group, and DuckDB's next checkpoint
        # merged them by rewriting the table (werken's 1.58 million national values: 1.8 s more, 30 MB more file).
        with transaction(con), all_cores(con):  # copies and sorts on unique keys: the same order on any threads
            con.execute(f"CREATE OR REPLACE TABLE {table} ({column_defs(VALUE_TYPES)})")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM ("
                        + " UNION ALL BY NAME ".join(f"SELECT * FROM {name}" for name in values)
                        + ") ORDER BY indicator_id, area_code, year, definition")
    finally:
        con.execute(f"DETACH DATABASE {WORK}")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
