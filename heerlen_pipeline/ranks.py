"""Where Heerlen stands among all of the Netherlands (national scope): Heerlen-Noord and Heerlen-Zuid
ranked among every Dutch wijk, and the gemeente among every gemeente, per indicator and year.

`percentile_rank` is direction-aware: the share of peers (in %) with a worse value, ties counted half, so
100 is the best place and 50 the middle. For context indicators (no direction) it is the share below.
A rank needs a national peer group: a Heerlen-only run has too few wijken and leaves the table empty.
"""

from __future__ import annotations

MIN_PEERS = 1000  # of about 3,200 to 3,400 wijken (and 342 gemeenten, hence the lower bar below)
MIN_GEMEENTEN = 200

NATIONAL_RANK_SQL = f"""
CREATE OR REPLACE TABLE marts.national_rank AS
WITH peers AS (
    SELECT DISTINCT area_code, level FROM marts.areas WHERE level IN ('wijk', 'gemeente')),
peer_values AS (
    SELECT v.indicator_id, v.year, p.level, v.value
    FROM marts.indicator_values v JOIN peers p USING (area_code)
    WHERE v.status = 'ok'),
targets AS (
    SELECT v.indicator_id, v.year, v.area_code, v.value,
           CASE WHEN v.area_code = 'GM0917' THEN 'gemeente' ELSE 'wijk' END AS level
    FROM marts.indicator_values v
    WHERE v.area_code IN ('HEERLEN-NOORD', 'HEERLEN-ZUID', 'GM0917') AND v.status = 'ok'),
ranked AS (
    SELECT t.indicator_id, t.year, t.area_code, t.level AS compared_with, t.value, i.direction,
           count(*) AS peers,
           count(*) FILTER (WHERE p.value < t.value) AS below,
           count(*) FILTER (WHERE p.value = t.value) AS ties,
           count(*) FILTER (WHERE p.value > t.value) AS above,
           quantile_cont(p.value, 0.1) AS peer_p10,
           median(p.value) AS peer_median,
           quantile_cont(p.value, 0.9) AS peer_p90
    FROM targets t
    JOIN peer_values p ON p.indicator_id = t.indicator_id AND p.year = t.year AND p.level = t.level
    JOIN marts.indicators i ON i.indicator_id = t.indicator_id
    WHERE i.method NOT IN ('sum', 'school_sum')  -- counts depend on the area's size: no ranking
    GROUP BY ALL)
SELECT indicator_id, year, area_code, compared_with, value, peers,
       CASE WHEN direction = 'lower_is_better' THEN above ELSE below END AS peers_worse,
       CASE WHEN direction = 'lower_is_better' THEN below ELSE above END AS peers_better,
       round(100.0 * ((CASE WHEN direction = 'lower_is_better' THEN above ELSE below END) + ties / 2) / peers, 1)
           AS percentile_rank,
       peer_p10, peer_median, peer_p90
FROM ranked
WHERE peers >= CASE compared_with WHEN 'wijk' THEN {MIN_PEERS} ELSE {MIN_GEMEENTEN} END
ORDER BY indicator_id, year, area_code
"""
