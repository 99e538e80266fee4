"""Where Heerlen stands among all of the Netherlands (national scope): Heerlen-Noord and Heerlen-Zuid ranked
among every Dutch wijk outside Heerlen, and the gemeente among every other gemeente, per indicator and year.

Like is compared with like: the peers of a programme area are single wijken of other gemeenten (Heerlen's own
wijken are left out: they make up Noord and Zuid), the peers of the gemeente are the other gemeenten.

`percentile_rank` is direction-aware: the share of peers (in %) with a worse value, ties counted half, so 100 is
the best place and 50 the middle. For context indicators (no direction) it is the share below.
`residents_worse_share` weighs the same comparison by people: the share of the peers' residents living in a wijk
(or gemeente) with a worse value, with each peer's population of that year, or of the nearest year that has one
(`population_year`, at most MAX_POPULATION_GAP years away; peers without one are left out of that share, and it is
given only when at least MIN_WEIGHED of the peers have one). A rank needs a national peer group: a Heerlen-only
run leaves the table empty.
"""

from __future__ import annotations

from .. import catalog
from ..store.tables import sql_list
from .areas import compared
from .indicators import POPULATION

MIN_PEERS = 1000  # of about 3,200 to 3,400 wijken (and 342 gemeenten, hence the lower bar below)
MIN_GEMEENTEN = 200
MAX_POPULATION_GAP = 4  # years between a value and the population that weighs it (KWB 2024 for RIVM 2020)
COUNTS = sql_list(catalog.COUNT_METHODS)  # counts depend on the area's size: never ranked
MIN_WEIGHED = 0.9  # share of the peers that must have a population for the share in people to be given

def national_rank_sql(focus: catalog.FocusArea) -> str:
    """marts.national_rank: the focus area and the rest of its gemeente among the wijken outside that gemeente, the
    gemeente among the other gemeenten."""
    NOORD, ZUID, HEERLEN, _nation = compared(focus)  # noqa: N806 - the areas, by role
    own = HEERLEN[2:]  # a wijk code carries its gemeente: WKggggxx lies in GMgggg
    return f"""
CREATE OR REPLACE TABLE marts.national_rank AS
WITH peers AS (
    SELECT DISTINCT area_code, level FROM marts.areas
    WHERE (level = 'wijk' AND substr(area_code, 3, 4) <> '{own}') OR (level = 'gemeente' AND area_code <> '{HEERLEN}')),
population AS (
    SELECT area_code, year, any_value(value) AS people FROM staging.observations
    WHERE measure = '{POPULATION}' AND status = 'ok' AND area_code IN (SELECT area_code FROM peers)
    GROUP BY area_code, year),
peer_values AS (
    SELECT v.indicator_id, v.year, p.level, v.area_code, v.value
    FROM marts.indicator_values v JOIN peers p USING (area_code)
    WHERE v.status = 'ok'),
before AS (
    SELECT pv.*, pop.year AS year_before, pop.people AS people_before
    FROM peer_values pv ASOF LEFT JOIN population pop ON pv.area_code = pop.area_code AND pv.year >= pop.year),
around AS (
    SELECT b.*, pop.year AS year_after, pop.people AS people_after
    FROM before b ASOF LEFT JOIN population pop ON b.area_code = pop.area_code AND b.year <= pop.year),
nearest AS (  -- each peer value with the population of its year, or of the nearest year (the later on a tie)
    SELECT indicator_id, year, level, area_code, value,
           CASE WHEN year_after IS NOT NULL AND (year_before IS NULL OR year_after - year <= year - year_before)
                THEN people_after ELSE people_before END AS people,
           CASE WHEN year_after IS NOT NULL AND (year_before IS NULL OR year_after - year <= year - year_before)
                THEN year_after ELSE year_before END AS population_year
    FROM around),
weighted AS (
    SELECT * REPLACE (CASE WHEN abs(population_year - year) <= {MAX_POPULATION_GAP} THEN people END AS people,
                      CASE WHEN abs(population_year - year) <= {MAX_POPULATION_GAP} THEN population_year END
                          AS population_year)
    FROM nearest),
targets AS (
    SELECT v.indicator_id, v.year, v.area_code, v.value,
           CASE WHEN v.area_code = '{HEERLEN}' THEN 'gemeente' ELSE 'wijk' END AS level
    FROM marts.indicator_values v
    WHERE v.area_code IN ('{NOORD}', '{ZUID}', '{HEERLEN}') AND v.status = 'ok'),
ranked AS (
    SELECT t.indicator_id, t.year, t.area_code, t.level AS compared_with, t.value, i.direction,
           count(*) AS peers,
           count(*) FILTER (WHERE p.value < t.value) AS below,
           count(*) FILTER (WHERE p.value = t.value) AS ties,
           count(*) FILTER (WHERE p.value > t.value) AS above,
           sum(p.people) AS residents,
           sum(p.people) FILTER (WHERE p.value < t.value) AS residents_below,
           sum(p.people) FILTER (WHERE p.value = t.value) AS residents_ties,
           sum(p.people) FILTER (WHERE p.value > t.value) AS residents_above,
           count(p.people) AS peers_with_population,
           min(p.population_year) AS population_year_min, max(p.population_year) AS population_year_max,
           quantile_cont(p.value, 0.1) AS peer_p10,
           median(p.value) AS peer_median,
           quantile_cont(p.value, 0.9) AS peer_p90
    FROM targets t
    JOIN weighted p ON p.indicator_id = t.indicator_id AND p.year = t.year AND p.level = t.level
    JOIN marts.indicators i ON i.indicator_id = t.indicator_id
    WHERE i.method NOT IN {COUNTS}  -- counts depend on the area's size: no ranking
    GROUP BY ALL)
SELECT indicator_id, year, area_code, compared_with,
       CASE compared_with WHEN 'wijk' THEN 'wijken outside {HEERLEN}' ELSE 'gemeenten other than {HEERLEN}' END
           AS peer_group,
       value, peers,
       CASE WHEN direction = 'lower_is_better' THEN above ELSE below END AS peers_worse,
       CASE WHEN direction = 'lower_is_better' THEN below ELSE above END AS peers_better,
       100.0 * ((CASE WHEN direction = 'lower_is_better' THEN above ELSE below END) + ties / 2) / peers
           AS percentile_rank,
       -- in people: only when (almost) every peer has a population to weigh with
       CASE WHEN peers_with_population >= {MIN_WEIGHED} * peers THEN 100.0 * (coalesce(CASE WHEN direction = 'lower_is_better'
            THEN residents_above ELSE residents_below END, 0) + coalesce(residents_ties, 0) / 2) / residents
       END AS residents_worse_share,
       CASE WHEN peers_with_population >= {MIN_WEIGHED} * peers THEN residents END AS peer_residents,
       peers_with_population AS peers_weighed,
       CASE WHEN peers_with_population >= {MIN_WEIGHED} * peers THEN
            CASE WHEN population_year_min = population_year_max THEN population_year_min::VARCHAR
                 ELSE population_year_min || '-' || population_year_max END END AS population_year,
       peer_p10, peer_median, peer_p90
FROM ranked
WHERE peers >= CASE compared_with WHEN 'wijk' THEN {MIN_PEERS} ELSE {MIN_GEMEENTEN} END
ORDER BY indicator_id, year, area_code
"""
