"""The comparison mart: Noord vs NL and vs Zuid, oriented index, closure since baseline, 2047 trajectory."""

from __future__ import annotations

BASELINE_YEAR = 2018
PARITY_YEAR = 2047

GAPS_SQL = f"""
CREATE OR REPLACE TABLE marts.gaps AS
WITH v AS (
    SELECT indicator_id, year,
           max(value) FILTER (WHERE area_code = 'HEERLEN-NOORD' AND status = 'ok') AS noord,
           max(value) FILTER (WHERE area_code = 'HEERLEN-ZUID' AND status = 'ok') AS zuid,
           max(value) FILTER (WHERE area_code = 'GM0917' AND status = 'ok') AS heerlen,
           max(value) FILTER (WHERE area_code = 'NL00' AND status = 'ok') AS nederland
    FROM marts.indicator_values GROUP BY indicator_id, year),
g AS (
    -- Levels of counts (population, pupils) are not comparable between areas: no gaps for them.
    SELECT v.*, i.direction, i.method NOT IN ('sum', 'school_sum') AS comparable,
           -- +1: a positive gap (Noord above NL) is worse; -1: it is better; NULL: no normative direction
           CASE i.direction WHEN 'lower_is_better' THEN 1 WHEN 'higher_is_better' THEN -1 END AS sign,
           CASE WHEN comparable THEN round(noord - nederland, 4) END AS gap_noord_nl,
           CASE WHEN comparable THEN round(noord - zuid, 4) END AS gap_noord_zuid,
           CASE WHEN comparable THEN round(heerlen - nederland, 4) END AS gap_heerlen_nl
    FROM v JOIN marts.indicators i USING (indicator_id)),
base AS (
    SELECT DISTINCT ON (indicator_id) indicator_id, year AS baseline_year, gap_noord_nl AS baseline_gap
    FROM g WHERE year >= {BASELINE_YEAR} AND gap_noord_nl IS NOT NULL ORDER BY indicator_id, year),
t AS (
    SELECT g.*, base.baseline_year, base.baseline_gap,
           CASE WHEN g.year >= base.baseline_year
                THEN base.baseline_gap * greatest({PARITY_YEAR} - g.year, 0) / ({PARITY_YEAR} - base.baseline_year)
           END AS trajectory_target
    FROM g LEFT JOIN base USING (indicator_id))
SELECT indicator_id, year, noord, zuid, heerlen, nederland,
       gap_noord_nl, gap_noord_zuid, gap_heerlen_nl,
       round(CASE WHEN comparable THEN noord / nullif(nederland, 0) END, 4) AS ratio_noord_nl,
       round(CASE WHEN comparable THEN noord / nullif(zuid, 0) END, 4) AS ratio_noord_zuid,
       round(CASE WHEN NOT comparable THEN NULL WHEN sign IS NULL THEN 100 * noord / nullif(nederland, 0)
                  ELSE 100 + sign * 100 * (noord - nederland) / nullif(nederland, 0) END, 1) AS index_noord_nl,
       baseline_year,
       round(CASE WHEN year >= baseline_year AND baseline_gap <> 0 THEN 1 - gap_noord_nl / baseline_gap END, 3)
           AS closure_since_baseline,
       round(trajectory_target, 3) AS trajectory_target,
       CASE WHEN sign IS NOT NULL AND gap_noord_nl IS NOT NULL AND trajectory_target IS NOT NULL
            THEN sign * gap_noord_nl <= greatest(sign * trajectory_target, 0) END AS on_track
FROM t ORDER BY indicator_id, year
"""
