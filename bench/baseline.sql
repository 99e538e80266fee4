-- The floor of the national benchmark (issue 7): the KWB-based indicator values of the pipeline (the 22
-- indicators of assets/indicators/*.yaml whose inputs are all KWB measures), computed by one plain DuckDB script
-- from the SYNTHETIC national input (bench/synth_national.py), with no orchestration, no raw/staging layers and no
-- checks. It follows the pipeline's current method (heerlen_pipeline/transform/indicators.py, as bench/floor.sql
-- does for the bundled run), so that compare() in bench/run_bench.py finds every value equal. The first version
-- rounded values to `decimals` and coverage to 3 decimals, summed in doubles, counted programme coverage in wijken
-- and had 20 indicators; now:
--   - values keep full precision: nothing is rounded to an indicator's `decimals` (the pipeline rounds only where
--     numbers are shown); ratios are suppressed on a base under 100, weighted means and sums are published values;
--   - every input goes through DECIMAL(38, 6) as indicators._sum does: a cell, a sum of measures (age groups,
--     education levels) and the programme areas' sums (sum(value x weight) for a weighted mean). On this input
--     plain double sums happen to give the same bits; the DECIMAL path keeps the floor exact where they would not;
--   - programme-area coverage is counted in people (the published population of the usable member wijken over that
--     of all member wijken) when every member wijk's population is published that year, else in wijken; it is not
--     rounded, and a value resting on under 90 % is 'low_coverage';
--   - WRK-11 and WRK-12 (bijstand and WW per 1,000 inhabitants aged 15-65) are included.
-- An input is usable only when every measure behind it is published ('.' = withheld; an empty cell is withheld when
-- the edition publishes the measure for other areas, else not published at all). Heerlen-Noord and -Zuid as in
-- assets/areas/focus_areas/heerlen-noord.yaml under the default definition spoorlijn (Zuid: every other wijk of
-- GM0917).
--
-- Paths are relative to the synthetic snapshot directory: run it from there, e.g.
--   cd bench/.synthetic/national/snapshot && duckdb /tmp/baseline.duckdb < ../../../baseline.sql
-- (bench/run_bench.py sets file_search_path instead). Result: table baseline_indicator_values (the key and value
-- columns of marts.indicator_values: indicator_id, area_code, year, value, numerator, denominator, coverage, status).

-- 1. The files as text, one row per area and edition (the footer line "Bron: SYNTHETIC ..." has no code).
CREATE OR REPLACE TEMP TABLE kwb AS
SELECT CAST(regexp_extract(filename, '(\d{4})\.csv$', 1) AS INTEGER) AS year,
       "Regioaanduiding/Codering (code)" AS area_code,
       coalesce("Bevolking/Aantal inwoners (aantal)", '') AS inhabitants,
       coalesce("Bevolking/Leeftijdsgroepen/0 tot 15 jaar (aantal)", '') AS age_0_15,
       coalesce("Bevolking/Leeftijdsgroepen/15 tot 25 jaar (aantal)", '') AS age_15_25,
       coalesce("Bevolking/Leeftijdsgroepen/25 tot 45 jaar (aantal)", '') AS age_25_45,
       coalesce("Bevolking/Leeftijdsgroepen/45 tot 65 jaar (aantal)", '') AS age_45_65,
       coalesce("Bevolking/Particuliere huishoudens/Huishoudens totaal (aantal)", '') AS households,
       coalesce("Bevolking/Particuliere huishoudens/Huishoudens met kinderen (aantal)", '') AS households_with_children,
       coalesce("Wonen/Woningvoorraad (aantal)", '') AS dwellings,
       coalesce("Opleidingsniveau/Opleidingsniveau laag (aantal)", '') AS education_low,
       coalesce("Opleidingsniveau/Opleidingsniveau middelbaar (aantal)", '') AS education_mid,
       coalesce("Opleidingsniveau/Opleidingsniveau hoog (aantal)", '') AS education_high,
       coalesce("Inkomen/Inkomen van personen/Aantal inkomensontvangers (aantal)", '') AS income_recipients,
       coalesce("Sociale zekerheid/Personen per soort uitkering; Bijstand (aantal)", '') AS bijstand_recipients,
       coalesce("Sociale zekerheid/Personen per soort uitkering; WW (aantal)", '') AS ww_recipients,
       coalesce("Wonen/Gemiddelde woningwaarde (x 1 000 euro)", '') AS woz_mean,
       coalesce("Wonen/Woningen naar eigendom/Koopwoningen (%)", '') AS owner_occupied_pct,
       coalesce("Wonen/Woningen naar eigendom/Huurwoningen/In bezit woningcorporatie (%)", '') AS corporation_pct,
       coalesce("Arbeid/Netto arbeidsparticipatie (%)", '') AS net_labour_participation_pct,
       coalesce("Inkomen/Inkomen van personen/Gemiddeld inkomen per inwoner (x 1 000 euro)", '') AS income_per_inhabitant,
       coalesce("Inkomen/Inkomen van personen/40% personen met laagste inkomen (%)", '') AS bottom40_persons_pct,
       coalesce("Inkomen/Inkomen van huishoudens/Huishoudens met een laag inkomen (%)", '') AS low_income_households_pct,
       coalesce("Inkomen/Inkomen van huishoudens/Huish. onder of rond sociaal minimum (%)", '') AS social_minimum_households_pct,
       coalesce("Zorg/Percentage jongeren met jeugdzorg (%)", '') AS youth_care_pct,
       coalesce("Criminaliteit/Totaal diefstal uit woning, schuur e.d. (per 1 000 inwoners)", '') AS burglary_rate,
       coalesce("Criminaliteit/Vernieling, misdrijf tegen openbare orde (per 1 000 inwoners)", '') AS vandalism_rate,
       coalesce("Criminaliteit/Gewelds- en seksuele misdrijven (per 1 000 inwoners)", '') AS violence_rate
FROM read_csv('kwb/kwb_SYNTHETIC_national_*.csv', header = true, delim = ',', quote = '"', escape = '"', all_varchar = true,
              null_padding = true, filename = true)  -- null_padding: the one-cell footer line
WHERE "Regioaanduiding/Codering (code)" IS NOT NULL;

-- 2. Typed cells, one row per area and edition: v_<measure> (the number) and s_<measure> (its status). An
--    empty cell is withheld ('suppressed') when the edition publishes the measure for other areas, and
--    'missing' (not published yet) when it publishes it for none. A number is kept as the pipeline's input sum
--    of one cell has it: through DECIMAL(38, 6).
CREATE OR REPLACE TEMP TABLE cells AS
WITH resolved AS (
    SELECT year, area_code,
           CASE WHEN COLUMNS(* EXCLUDE (year, area_code)) <> '' THEN COLUMNS(* EXCLUDE (year, area_code))
                WHEN bool_or(COLUMNS(* EXCLUDE (year, area_code)) NOT IN ('', '.')) OVER (PARTITION BY year) THEN '.'
                ELSE '' END
    FROM kwb)
SELECT year, area_code,
       CASE WHEN COLUMNS(* EXCLUDE (year, area_code)) NOT IN ('', '.')
            THEN CAST(CAST(CAST(COLUMNS(* EXCLUDE (year, area_code)) AS DOUBLE) AS DECIMAL(38, 6)) AS DOUBLE)
       END AS 'v_\0',
       CASE COLUMNS(* EXCLUDE (year, area_code)) WHEN '.' THEN 'suppressed' WHEN '' THEN 'missing'
            ELSE 'ok' END AS 's_\0'
FROM resolved;

-- 3. The inputs of every indicator (assets/indicators/*.yaml). ratio: num / den x scale; weighted_mean: the
--    published value (num) and its weight (den); sum: num. A sum of measures is usable ('ok') only when every
--    one of them is published, and is added in DECIMAL(38, 6) (indicators._sum).
CREATE OR REPLACE TEMP MACRO all_ok(s) AS
    CASE WHEN list_distinct(s) = ['ok'] THEN 'ok' WHEN list_contains(s, 'suppressed') THEN 'suppressed'
         ELSE 'missing' END;
CREATE OR REPLACE TEMP MACRO dadd(a, b) AS
    CAST(CAST(a AS DECIMAL(38, 6)) + CAST(b AS DECIMAL(38, 6)) AS DOUBLE);
CREATE OR REPLACE TEMP MACRO dadd3(a, b, c) AS
    CAST(CAST(a AS DECIMAL(38, 6)) + CAST(b AS DECIMAL(38, 6)) + CAST(c AS DECIMAL(38, 6)) AS DOUBLE);
CREATE OR REPLACE TEMP VIEW inputs AS
WITH c AS (
    SELECT *, dadd(v_age_0_15, v_age_15_25) AS v_age_0_25, all_ok([s_age_0_15, s_age_15_25]) AS s_age_0_25,
           dadd3(v_age_15_25, v_age_25_45, v_age_45_65) AS v_age_15_65,
           all_ok([s_age_15_25, s_age_25_45, s_age_45_65]) AS s_age_15_65,
           dadd3(v_education_low, v_education_mid, v_education_high) AS v_education_known,
           all_ok([s_education_low, s_education_mid, s_education_high]) AS s_education_known
    FROM cells)
SELECT 'DEM-01' AS indicator_id, 'ratio' AS method, 100::DOUBLE AS scale, area_code, year,
       v_age_0_15 AS num, s_age_0_15 AS num_status, v_inhabitants AS den, s_inhabitants AS den_status FROM c
UNION ALL SELECT 'DEM-02', 'sum', 1, area_code, year, v_inhabitants, s_inhabitants, NULL, NULL FROM c
UNION ALL SELECT 'DEM-03', 'ratio', 100, area_code, year, v_age_15_25, s_age_15_25, v_inhabitants, s_inhabitants FROM c
UNION ALL SELECT 'DEM-04', 'ratio', 100, area_code, year, v_households_with_children, s_households_with_children,
                 v_households, s_households FROM c
UNION ALL SELECT 'HLT-05', 'weighted_mean', 1, area_code, year, v_youth_care_pct, s_youth_care_pct, v_age_0_25,
                 s_age_0_25 FROM c
UNION ALL SELECT 'HOU-02', 'weighted_mean', 1, area_code, year, v_woz_mean, s_woz_mean, v_dwellings, s_dwellings FROM c
UNION ALL SELECT 'HOU-03', 'weighted_mean', 1, area_code, year, v_corporation_pct, s_corporation_pct, v_dwellings,
                 s_dwellings FROM c
UNION ALL SELECT 'HOU-06', 'weighted_mean', 1, area_code, year, v_owner_occupied_pct, s_owner_occupied_pct,
                 v_dwellings, s_dwellings FROM c
UNION ALL SELECT 'LEA-03', 'ratio', 100, area_code, year, v_education_low, s_education_low, v_education_known,
                 s_education_known FROM c
UNION ALL SELECT 'LEA-06', 'ratio', 100, area_code, year, v_education_high, s_education_high, v_education_known,
                 s_education_known FROM c
UNION ALL SELECT 'SAF-02', 'weighted_mean', 1, area_code, year, v_burglary_rate, s_burglary_rate, v_inhabitants,
                 s_inhabitants FROM c
UNION ALL SELECT 'SAF-03', 'weighted_mean', 1, area_code, year, v_violence_rate, s_violence_rate, v_inhabitants,
                 s_inhabitants FROM c
UNION ALL SELECT 'SAF-04', 'weighted_mean', 1, area_code, year, v_vandalism_rate, s_vandalism_rate, v_inhabitants,
                 s_inhabitants FROM c
UNION ALL SELECT 'WRK-01', 'ratio', 1000, area_code, year, v_bijstand_recipients, s_bijstand_recipients,
                 v_inhabitants, s_inhabitants FROM c
UNION ALL SELECT 'WRK-02', 'weighted_mean', 1, area_code, year, v_net_labour_participation_pct,
                 s_net_labour_participation_pct, v_age_15_65, s_age_15_65 FROM c
UNION ALL SELECT 'WRK-03', 'weighted_mean', 1, area_code, year, v_low_income_households_pct,
                 s_low_income_households_pct, v_households, s_households FROM c
UNION ALL SELECT 'WRK-06', 'weighted_mean', 1, area_code, year, v_bottom40_persons_pct, s_bottom40_persons_pct,
                 v_income_recipients, s_income_recipients FROM c
UNION ALL SELECT 'WRK-07', 'weighted_mean', 1, area_code, year, v_social_minimum_households_pct,
                 s_social_minimum_households_pct, v_households, s_households FROM c
UNION ALL SELECT 'WRK-08', 'weighted_mean', 1, area_code, year, v_income_per_inhabitant, s_income_per_inhabitant,
                 v_inhabitants, s_inhabitants FROM c
UNION ALL SELECT 'WRK-09', 'ratio', 1000, area_code, year, v_ww_recipients, s_ww_recipients, v_inhabitants,
                 s_inhabitants FROM c
UNION ALL SELECT 'WRK-11', 'ratio', 1000, area_code, year, v_bijstand_recipients, s_bijstand_recipients, v_age_15_65,
                 s_age_15_65 FROM c
UNION ALL SELECT 'WRK-12', 'ratio', 1000, area_code, year, v_ww_recipients, s_ww_recipients, v_age_15_65, s_age_15_65
          FROM c;

-- 4. Per indicator, area and year: are the inputs usable? (A view: the result reads it once, the programme areas
--    only their member wijken.)
CREATE OR REPLACE TEMP VIEW base AS
SELECT indicator_id, method, scale, area_code, year, num,
       CASE WHEN method = 'sum' THEN NULL ELSE den END AS den,
       CASE WHEN method <> 'ratio' THEN num_status
            WHEN num_status = 'ok' AND den_status = 'ok' THEN 'ok'
            WHEN 'suppressed' IN (num_status, den_status) THEN 'suppressed' ELSE 'missing' END AS inputs,
       den_status AS weight_status
FROM inputs;

-- 5. Heerlen-Noord (spoorlijn) and Heerlen-Zuid (the other wijken of GM0917) from their wijken's published
--    inputs: summed counts (ratio, sum) or a weighted mean of published values with a published weight, every sum
--    through DECIMAL(38, 6). Coverage in people when every member wijk's population is published that year, else
--    in wijken.
CREATE OR REPLACE TEMP MACRO dsum(x) AS CAST(sum(CAST(x AS DECIMAL(38, 6))) AS DOUBLE);
CREATE OR REPLACE TEMP TABLE members AS
SELECT *, count(*) OVER (PARTITION BY area_code) AS n_members
FROM (SELECT CASE WHEN wijk_code IN ('WK091710', 'WK091711', 'WK091712', 'WK091713', 'WK091714', 'WK091720',
                                     'WK091721', 'WK091722', 'WK091723', 'WK091724', 'WK091730', 'WK091731',
                                     'WK091732', 'WK091735')
                  THEN 'HEERLEN-NOORD' ELSE 'HEERLEN-ZUID' END AS area_code, wijk_code
      FROM (SELECT DISTINCT area_code AS wijk_code FROM cells WHERE area_code LIKE 'WK0917%'));

CREATE OR REPLACE TEMP TABLE member_base AS  -- (the prefix test reaches the scan of cells: a filter, not a join)
SELECT * FROM base WHERE area_code LIKE 'WK0917%' AND area_code IN (SELECT wijk_code FROM members);
CREATE OR REPLACE TEMP TABLE programme AS
WITH people AS (  -- a member wijk's published population
    SELECT area_code, year, v_inhabitants AS people FROM cells
    WHERE s_inhabitants = 'ok' AND area_code IN (SELECT wijk_code FROM members)),
prog_in AS (
    SELECT y.indicator_id, y.method, y.scale, m.area_code, m.n_members, y.year,
           b.inputs = 'ok' AND (y.method <> 'weighted_mean' OR b.weight_status = 'ok') AS member_ok,
           b.inputs, b.num, b.den, p.people
    FROM members m
    -- every indicator has a row for every area and edition (section 3): its years are the editions
    CROSS JOIN (SELECT * FROM (SELECT DISTINCT indicator_id, method, scale FROM member_base)
                CROSS JOIN (SELECT DISTINCT year FROM cells)) y
    LEFT JOIN member_base b ON b.indicator_id = y.indicator_id AND b.area_code = m.wijk_code AND b.year = y.year
    LEFT JOIN people p ON p.area_code = m.wijk_code AND p.year = y.year),
usable AS (  -- only the inputs of usable members are summed
    SELECT * EXCLUDE (member_ok, num, den), coalesce(member_ok, false) AS usable,
           CASE WHEN member_ok THEN num END AS num, CASE WHEN member_ok THEN den END AS den
    FROM prog_in),
agg AS (
    SELECT indicator_id, method, area_code, year,
           CASE WHEN method <> 'weighted_mean' THEN dsum(num) END AS num,
           CASE WHEN method <> 'sum' THEN dsum(den) END AS den,
           CASE WHEN count(people) = max(n_members) AND sum(people) > 0
                THEN coalesce(sum(people) FILTER (WHERE usable), 0) / sum(people)
                ELSE count(*) FILTER (WHERE usable) / max(n_members) END AS coverage,
           CASE method WHEN 'ratio' THEN dsum(num) / nullif(dsum(den), 0) * any_value(scale)
                       WHEN 'weighted_mean' THEN dsum(num * den) / nullif(dsum(den), 0)
                       ELSE CASE WHEN count(num) = max(n_members) THEN dsum(num) END END AS value,
           method <> 'sum' AND coalesce(dsum(den) < 100, false) AS small,
           coalesce(bool_or(NOT usable AND inputs = 'suppressed'), false) AS any_suppressed
    FROM usable GROUP BY indicator_id, method, area_code, year)
SELECT indicator_id, area_code, year, CASE WHEN NOT small THEN value END AS value, num AS numerator,
       den AS denominator, coverage,
       CASE WHEN value IS NOT NULL AND NOT small AND coverage < 0.9 THEN 'low_coverage'
            WHEN value IS NOT NULL AND NOT small THEN 'ok' WHEN small OR any_suppressed THEN 'suppressed'
            ELSE 'missing' END AS status
FROM agg;

-- 6. The result: every CBS area (NL, gemeenten, wijken, buurten) and the two programme areas, at full precision.
CREATE OR REPLACE TABLE baseline_indicator_values AS
SELECT indicator_id, area_code, year,
       CASE WHEN inputs = 'ok' AND NOT (method = 'ratio' AND coalesce(den < 100, false)) THEN
           CASE WHEN method <> 'ratio' THEN num WHEN den > 0 THEN num / den * scale END END AS value,
       CASE WHEN method <> 'weighted_mean' THEN num END AS numerator,
       den AS denominator,
       CASE WHEN inputs = 'ok' THEN 1.0 ELSE 0.0 END AS coverage,
       CASE WHEN inputs = 'ok' AND method = 'ratio' AND coalesce(den < 100, false) THEN 'suppressed'
            WHEN inputs = 'ok' THEN 'ok' ELSE inputs END AS status
FROM base
UNION ALL
SELECT * FROM programme;
