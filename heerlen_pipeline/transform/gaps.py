"""The comparison marts: is Heerlen-Noord's gap to Nederland and to Heerlen-Zuid closing, fast enough for 2047,
and is the change larger than the noise in the sources?

`marts.gaps` (indicator x year) holds the levels of the four areas and the gaps, all from unrounded values.
For normative indicators (a direction; not context, not counts) it adds per target (Nederland, Zuid):

- the oriented index: lower-is-better 100 * Noord / NL, higher-is-better 100 * NL / Noord, so above 100 is always
  worse for Noord and a factor 2 is 200 either way;
- the baseline: the latest year up to 2018 in which Noord and the target both have a value, else the earliest later
  one; closure 1 - gap / baseline gap; the straight trajectory from the baseline gap to 0 in 2047; and on_track
  (the gap at or inside that trajectory), only for years after the baseline.

`marts.gap_verdicts` (indicator x target) compares the latest year with the baseline. `noise` is the half-width of
the uncertainty of that change, from the bounds every value carries (indicators.py): rounding bounds add up (they
are hard limits), the source's 95% intervals of independent estimates add in quadrature. A change within the
noise is 'no clear change'; where a bound is unknown (a model estimate whose interval is not in the build), or no
year after the baseline has both values, the verdict is 'not yet measurable'.
"""

from __future__ import annotations

from .. import catalog
from ..store.tables import sql_list
from .areas import compared

BASELINE_YEAR = 2018
PARITY_YEAR = 2047
# target -> (its gap column, the suffix of its baseline, trajectory and on_track columns)
TARGET_COLUMNS = {"nederland": ("gap_noord_nl", ""), "zuid": ("gap_noord_zuid", "_zuid")}
VERDICTS = ("closing", "widening", "no clear change", "not yet measurable")
COUNTS, NORMATIVE = sql_list(catalog.COUNT_METHODS), sql_list(catalog.NORMATIVE)  # no gaps for counts


def _per_target(gap: str, base: str, base_gap: str, closure: str, suffix: str) -> str:
    """closure, trajectory and on_track of one target, from its gap column and baseline (year, gap). On the
    baseline year the gap is on its path by construction, so on_track starts the year after."""
    path = f"{base_gap} * greatest({PARITY_YEAR} - year, 0) / ({PARITY_YEAR} - {base})"
    return f"""CASE WHEN year >= {base} AND {base_gap} <> 0 THEN 1 - {gap} / {base_gap} END AS {closure},
       CASE WHEN year >= {base} THEN {path} END AS trajectory_target{suffix},
       CASE WHEN year > {base} AND {gap} IS NOT NULL THEN sign * {gap} <= greatest(sign * {path}, 0)
       END AS on_track{suffix}"""


def targets(focus: catalog.FocusArea) -> dict[str, tuple[str, str, str]]:
    """target -> (gap column, the target's area code, column suffix): Nederland and the rest of the gemeente."""
    areas = {"nederland": focus.nation.code, "zuid": focus.rest.code}
    return {t: (gap, areas[t], suffix) for t, (gap, suffix) in TARGET_COLUMNS.items()}


def gaps_sql(focus: catalog.FocusArea) -> str:
    """marts.gaps: the focus area against Nederland and the rest of its gemeente, per indicator and year."""
    NOORD, ZUID, HEERLEN, NEDERLAND = compared(focus)  # noqa: N806 - the four areas, by role
    return f"""
CREATE OR REPLACE TABLE marts.gaps AS
WITH v AS (  -- only 'ok' values: a low-coverage or withheld value is no level to compare
    SELECT indicator_id, year,
           max(value) FILTER (WHERE area_code = '{NOORD}' AND status = 'ok') AS noord,
           max(value) FILTER (WHERE area_code = '{ZUID}' AND status = 'ok') AS zuid,
           max(value) FILTER (WHERE area_code = '{HEERLEN}' AND status = 'ok') AS heerlen,
           max(value) FILTER (WHERE area_code = '{NEDERLAND}' AND status = 'ok') AS nederland
    FROM marts.indicator_values GROUP BY indicator_id, year),
g AS (
    -- Levels of counts (population, pupils) are not comparable between areas: no gaps for them.
    SELECT v.*, i.method NOT IN {COUNTS} AS comparable,
           -- +1: a positive gap (Noord above the target) is worse; -1: it is better; NULL: no normative direction
           CASE WHEN comparable THEN CASE i.direction WHEN 'lower_is_better' THEN 1 WHEN 'higher_is_better' THEN -1 END
           END AS sign,
           CASE WHEN comparable THEN noord - nederland END AS gap_noord_nl,
           CASE WHEN comparable THEN noord - zuid END AS gap_noord_zuid,
           CASE WHEN comparable THEN heerlen - nederland END AS gap_heerlen_nl
    FROM v JOIN marts.indicators i USING (indicator_id)),
pairs AS (
    SELECT indicator_id, 'nederland' AS target, year FROM g WHERE sign IS NOT NULL AND gap_noord_nl IS NOT NULL
    UNION ALL
    SELECT indicator_id, 'zuid', year FROM g WHERE sign IS NOT NULL AND gap_noord_zuid IS NOT NULL),
base AS (  -- the latest year up to {BASELINE_YEAR} with both values; only if there is none, the earliest later one
    SELECT indicator_id, target,
           coalesce(max(year) FILTER (WHERE year <= {BASELINE_YEAR}), min(year)) AS baseline_year
    FROM pairs GROUP BY indicator_id, target),
t AS (
    SELECT g.*, bn.baseline_year, gn.gap_noord_nl AS baseline_gap,
           bz.baseline_year AS baseline_year_zuid, gz.gap_noord_zuid AS baseline_gap_zuid
    FROM g
    LEFT JOIN base bn ON bn.indicator_id = g.indicator_id AND bn.target = 'nederland'
    LEFT JOIN g gn ON gn.indicator_id = g.indicator_id AND gn.year = bn.baseline_year
    LEFT JOIN base bz ON bz.indicator_id = g.indicator_id AND bz.target = 'zuid'
    LEFT JOIN g gz ON gz.indicator_id = g.indicator_id AND gz.year = bz.baseline_year)
SELECT indicator_id, year, noord, zuid, heerlen, nederland,
       gap_noord_nl, gap_noord_zuid, gap_heerlen_nl,
       CASE WHEN comparable THEN noord / nullif(nederland, 0) END AS ratio_noord_nl,
       CASE WHEN comparable THEN noord / nullif(zuid, 0) END AS ratio_noord_zuid,
       CASE sign WHEN 1 THEN 100 * noord / nullif(nederland, 0) WHEN -1 THEN 100 * nederland / nullif(noord, 0)
       END AS index_noord_nl,
       baseline_year,
       {_per_target("gap_noord_nl", "baseline_year", "baseline_gap", "closure_since_baseline", "")},
       baseline_year_zuid,
       {_per_target("gap_noord_zuid", "baseline_year_zuid", "baseline_gap_zuid", "closure_noord_zuid", "_zuid")}
FROM t ORDER BY indicator_id, year
"""


def _target_rows(focus: catalog.FocusArea) -> str:
    parts = []
    for target, (gap, area, suffix) in targets(focus).items():
        closure = "closure_since_baseline" if not suffix else "closure_noord_zuid"
        parts.append(f"""SELECT indicator_id, '{target}' AS target, '{area}' AS target_area, year, {gap} AS gap,
           baseline_year{suffix} AS baseline_year, {closure} AS closure, trajectory_target{suffix} AS trajectory_target,
           on_track{suffix} AS on_track FROM marts.gaps""")
    return "\n    UNION ALL\n    ".join(parts)


def verdicts_sql(focus: catalog.FocusArea) -> str:
    """marts.gap_verdicts: per normative indicator and target, the change of the gap against the noise."""
    NOORD, ZUID, _gemeente, NEDERLAND = compared(focus)  # noqa: N806
    return f"""
CREATE OR REPLACE TABLE marts.gap_verdicts AS
WITH ind AS (
    SELECT indicator_id, CASE direction WHEN 'lower_is_better' THEN 1 ELSE -1 END AS sign FROM marts.indicators
    WHERE direction IN {NORMATIVE} AND method NOT IN {COUNTS}),
pts AS (
    {_target_rows(focus)}),
pair AS (  -- baseline and latest year per indicator and target
    SELECT i.indicator_id, t.target, t.target_area, i.sign,
           any_value(p.baseline_year) AS baseline_year,
           max(p.year) FILTER (WHERE p.year > p.baseline_year AND p.gap IS NOT NULL) AS latest_year
    FROM ind i
    CROSS JOIN (VALUES {", ".join(f"('{t}', '{a}')" for t, (_g, a, _s) in targets(focus).items())}) t(target, target_area)
    LEFT JOIN pts p ON p.indicator_id = i.indicator_id AND p.target = t.target
    GROUP BY ALL),
bounds AS (  -- each compared value's half-width and where it comes from
    SELECT indicator_id, area_code, year, uncertainty, greatest(value - value_lower, value_upper - value) AS half
    FROM marts.indicator_values
    WHERE area_code IN ('{NOORD}', '{ZUID}', '{NEDERLAND}') AND status = 'ok'),
noise AS (
    SELECT p.indicator_id, p.target,
           bool_or(b.uncertainty = 'unknown' OR b.half IS NULL) OR count(b.indicator_id) < 4 AS unknown,
           coalesce(sum(b.half) FILTER (WHERE b.uncertainty = 'rounding'), 0)
             + sqrt(coalesce(sum(b.half * b.half) FILTER (WHERE b.uncertainty = 'interval'), 0)) AS noise,
           coalesce(string_agg(DISTINCT b.uncertainty, ' + ' ORDER BY b.uncertainty)
                    FILTER (WHERE b.uncertainty <> 'exact'), 'exact') AS kinds
    FROM pair p
    JOIN bounds b ON b.indicator_id = p.indicator_id AND b.area_code IN ('{NOORD}', p.target_area)
                 AND b.year IN (p.baseline_year, p.latest_year)
    WHERE p.latest_year IS NOT NULL
    GROUP BY p.indicator_id, p.target),
breaks AS (
    SELECT p.indicator_id, p.target, min(s.year) AS break_year FROM pair p
    JOIN marts.series_breaks s ON s.indicator_id = p.indicator_id AND s.year > p.baseline_year AND s.year <= p.latest_year
    GROUP BY ALL),
v AS (
    SELECT p.*, b.gap AS baseline_gap, l.gap AS latest_gap, l.closure, l.trajectory_target, l.on_track,
           l.gap - b.gap AS change, CASE WHEN NOT n.unknown THEN n.noise END AS noise, n.kinds, br.break_year
    FROM pair p
    LEFT JOIN pts b ON b.indicator_id = p.indicator_id AND b.target = p.target AND b.year = p.baseline_year
    LEFT JOIN pts l ON l.indicator_id = p.indicator_id AND l.target = p.target AND l.year = p.latest_year
    LEFT JOIN noise n ON n.indicator_id = p.indicator_id AND n.target = p.target
    LEFT JOIN breaks br ON br.indicator_id = p.indicator_id AND br.target = p.target)
SELECT indicator_id, target, baseline_year, baseline_gap, latest_year, latest_gap, closure, trajectory_target,
       on_track, change, noise,
       CASE WHEN latest_year IS NULL OR break_year IS NOT NULL OR noise IS NULL THEN 'not yet measurable'
            WHEN abs(change) <= noise THEN 'no clear change'
            WHEN sign * change < 0 THEN 'closing' ELSE 'widening' END AS verdict,
       CASE WHEN latest_year IS NOT NULL THEN kinds END AS noise_basis,
       CASE WHEN baseline_year IS NULL THEN 'Noord and the target never both have a value'
            WHEN latest_year IS NULL THEN 'no year after the baseline in which Noord and the target both have a value'
            WHEN break_year IS NOT NULL THEN 'the source changed its definition in ' || break_year
                 || ': the years compared are not comparable'
            WHEN noise IS NULL THEN 'the uncertainty of a value compared is unknown (a model estimate without its interval '
                 || 'in this build)'
            WHEN abs(change) <= noise THEN 'the change is within the noise of the sources'
            WHEN sign * change < 0 THEN 'the gap moved in Noord''s favour by more than the noise'
            ELSE 'the gap moved against Noord by more than the noise' END AS reason
FROM v ORDER BY indicator_id, target
"""
