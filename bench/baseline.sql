-- The floor of the national benchmark (issue 7): the KWB-based indicator values of the pipeline, computed by
-- one plain DuckDB script from the SYNTHETIC national input (bench/synth_national.py), with no orchestration,
-- no raw/staging layers and no checks. Same formulas as heerlen_pipeline/transform/indicators.py and
-- assets/indicators/*.yaml: ratios suppressed on a base under 100, weighted means of published values,
-- sums; an input is usable only when every measure behind it is published ('.' = withheld; an empty cell
-- is withheld when the edition publishes the measure for other areas, else not published at all).
-- Heerlen-Noord and -Zuid as in assets/areas/programme_areas.yaml (definition spoorlijn).
--
-- Paths are relative to the synthetic snapshot directory: run it from there, e.g.
--   cd bench/.synthetic/national/snapshot && duckdb /tmp/baseline.duckdb < ../../../baseline.sql
-- (bench/run_bench.py sets file_search_path instead). Result: table baseline_indicator_values.

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
--    'missing' (not published yet) when it publishes it for none.
CREATE OR REPLACE TEMP TABLE cells AS
WITH resolved AS (
    SELECT year, area_code,
           CASE WHEN COLUMNS(* EXCLUDE (year, area_code)) <> '' THEN COLUMNS(* EXCLUDE (year, area_code))
                WHEN bool_or(COLUMNS(* EXCLUDE (year, area_code)) NOT IN ('', '.')) OVER (PARTITION BY year) THEN '.'
                ELSE '' END
    FROM kwb)
SELECT year, area_code,
       CASE WHEN COLUMNS(* EXCLUDE (year, area_code)) NOT IN ('', '.')
            THEN CAST(COLUMNS(* EXCLUDE (year, area_code)) AS DOUBLE) END AS 'v_\0',
       CASE COLUMNS(* EXCLUDE (year, area_code)) WHEN '.' THEN 'suppressed' WHEN '' THEN 'missing'
            ELSE 'ok' END AS 's_\0'
FROM resolved;

-- 3. The inputs of every indicator (assets/indicators/*.yaml). ratio: num / den x scale; weighted_mean: the
--    published value (num) and its weight (den); sum: num. A sum of measures is usable ('ok') only when every
--    one of them is published.
CREATE OR REPLACE TEMP MACRO all_ok(s) AS
    CASE WHEN list_distinct(s) = ['ok'] THEN 'ok' WHEN list_contains(s, 'suppressed') THEN 'suppressed'
         ELSE 'missing' END;
CREATE OR REPLACE TEMP VIEW inputs AS
SELECT 'DEM-01' AS indicator_id, 'ratio' AS method, 100::DOUBLE AS scale, 1 AS decimals, area_code, year,
       v_age_0_15 AS num, s_age_0_15 AS num_status, v_inhabitants AS den, s_inhabitants AS den_status FROM cells
UNION ALL SELECT 'DEM-02', 'sum', 1, 0, area_code, year, v_inhabitants, s_inhabitants, NULL, NULL FROM cells
UNION ALL SELECT 'DEM-03', 'ratio', 100, 1, area_code, year, v_age_15_25, s_age_15_25, v_inhabitants, s_inhabitants
          FROM cells
UNION ALL SELECT 'DEM-04', 'ratio', 100, 1, area_code, year, v_households_with_children, s_households_with_children,
                 v_households, s_households FROM cells
UNION ALL SELECT 'HLT-05', 'weighted_mean', 1, 1, area_code, year, v_youth_care_pct, s_youth_care_pct,
                 v_age_0_15 + v_age_15_25, all_ok([s_age_0_15, s_age_15_25]) FROM cells
UNION ALL SELECT 'HOU-02', 'weighted_mean', 1, 0, area_code, year, v_woz_mean, s_woz_mean, v_dwellings, s_dwellings
          FROM cells
UNION ALL SELECT 'HOU-03', 'weighted_mean', 1, 0, area_code, year, v_corporation_pct, s_corporation_pct, v_dwellings,
                 s_dwellings FROM cells
UNION ALL SELECT 'HOU-06', 'weighted_mean', 1, 0, area_code, year, v_owner_occupied_pct, s_owner_occupied_pct,
                 v_dwellings, s_dwellings FROM cells
UNION ALL SELECT 'LEA-03', 'ratio', 100, 1, area_code, year, v_education_low, s_education_low,
                 v_education_low + v_education_mid + v_education_high,
                 all_ok([s_education_low, s_education_mid, s_education_high]) FROM cells
UNION ALL SELECT 'LEA-06', 'ratio', 100, 1, area_code, year, v_education_high, s_education_high,
                 v_education_low + v_education_mid + v_education_high,
                 all_ok([s_education_low, s_education_mid, s_education_high]) FROM cells
UNION ALL SELECT 'SAF-02', 'weighted_mean', 1, 0, area_code, year, v_burglary_rate, s_burglary_rate, v_inhabitants,
                 s_inhabitants FROM cells
UNION ALL SELECT 'SAF-03', 'weighted_mean', 1, 0, area_code, year, v_violence_rate, s_violence_rate, v_inhabitants,
                 s_inhabitants FROM cells
UNION ALL SELECT 'SAF-04', 'weighted_mean', 1, 0, area_code, year, v_vandalism_rate, s_vandalism_rate, v_inhabitants,
                 s_inhabitants FROM cells
UNION ALL SELECT 'WRK-01', 'ratio', 1000, 1, area_code, year, v_bijstand_recipients, s_bijstand_recipients,
                 v_inhabitants, s_inhabitants FROM cells
UNION ALL SELECT 'WRK-02', 'weighted_mean', 1, 0, area_code, year, v_net_labour_participation_pct,
                 s_net_labour_participation_pct, v_age_15_25 + v_age_25_45 + v_age_45_65,
                 all_ok([s_age_15_25, s_age_25_45, s_age_45_65]) FROM cells
UNION ALL SELECT 'WRK-03', 'weighted_mean', 1, 1, area_code, year, v_low_income_households_pct,
                 s_low_income_households_pct, v_households, s_households FROM cells
UNION ALL SELECT 'WRK-06', 'weighted_mean', 1, 1, area_code, year, v_bottom40_persons_pct, s_bottom40_persons_pct,
                 v_income_recipients, s_income_recipients FROM cells
UNION ALL SELECT 'WRK-07', 'weighted_mean', 1, 1, area_code, year, v_social_minimum_households_pct,
                 s_social_minimum_households_pct, v_households, s_households FROM cells
UNION ALL SELECT 'WRK-08', 'weighted_mean', 1, 1, area_code, year, v_income_per_inhabitant, s_income_per_inhabitant,
                 v_inhabitants, s_inhabitants FROM cells
UNION ALL SELECT 'WRK-09', 'ratio', 1000, 1, area_code, year, v_ww_recipients, s_ww_recipients, v_inhabitants,
                 s_inhabitants FROM cells;

-- 4. Per indicator, area and year: are the inputs usable?
CREATE OR REPLACE TEMP TABLE base AS
SELECT indicator_id, method, scale, decimals, area_code, year, num,
       CASE WHEN method = 'sum' THEN NULL ELSE den END AS den,
       CASE WHEN method <> 'ratio' THEN num_status
            WHEN num_status = 'ok' AND den_status = 'ok' THEN 'ok'
            WHEN 'suppressed' IN (num_status, den_status) THEN 'suppressed' ELSE 'missing' END AS inputs,
       den_status AS weight_status
FROM inputs;

-- 5. Heerlen-Noord (spoorlijn) and Heerlen-Zuid (the other wijken of GM0917) from their wijken's inputs.
CREATE OR REPLACE TEMP TABLE members AS
SELECT *, count(*) OVER (PARTITION BY area_code) AS n_members
FROM (SELECT CASE WHEN wijk_code IN ('WK091710', 'WK091711', 'WK091712', 'WK091713', 'WK091714', 'WK091720',
                                     'WK091721', 'WK091722', 'WK091723', 'WK091724', 'WK091730', 'WK091731',
                                     'WK091732', 'WK091735')
                  THEN 'HEERLEN-NOORD' ELSE 'HEERLEN-ZUID' END AS area_code, wijk_code
      FROM (SELECT DISTINCT area_code AS wijk_code FROM cells WHERE area_code LIKE 'WK0917%'));

CREATE OR REPLACE TEMP TABLE programme AS
WITH prog_in AS (
    SELECT y.indicator_id, y.method, y.scale, y.decimals, m.area_code, m.n_members, y.year,
           coalesce(b.inputs = 'ok' AND (y.method <> 'weighted_mean' OR b.weight_status = 'ok'), false) AS usable,
           b.inputs, b.num, b.den
    FROM members m
    CROSS JOIN (SELECT DISTINCT indicator_id, method, scale, decimals, year FROM base) y
    LEFT JOIN (SELECT * FROM base WHERE area_code IN (SELECT wijk_code FROM members)) b ON b.indicator_id = y.indicator_id AND b.area_code = m.wijk_code AND b.year = y.year
    WHERE y.indicator_id IN (SELECT indicator_id FROM base WHERE area_code IN (SELECT wijk_code FROM members))),
agg AS (
    SELECT indicator_id, method, decimals, area_code, year,
           CASE WHEN method <> 'weighted_mean' THEN sum(num) FILTER (WHERE usable) END AS num,
           CASE WHEN method <> 'sum' THEN sum(den) FILTER (WHERE usable) END AS den,
           count(*) FILTER (WHERE usable) / max(n_members) AS coverage,
           CASE method
               WHEN 'ratio' THEN round(sum(num) FILTER (WHERE usable)
                                       / nullif(sum(den) FILTER (WHERE usable), 0) * any_value(scale), decimals)
               WHEN 'weighted_mean' THEN round(sum(num * den) FILTER (WHERE usable)
                                               / nullif(sum(den) FILTER (WHERE usable), 0), decimals)
               ELSE CASE WHEN count(num) FILTER (WHERE usable) = max(n_members)
                         THEN round(sum(num) FILTER (WHERE usable), decimals) END END AS value,
           method <> 'sum' AND coalesce(sum(den) FILTER (WHERE usable) < 100, false) AS small,
           coalesce(bool_or(NOT usable AND inputs = 'suppressed'), false) AS any_suppressed
    FROM prog_in GROUP BY indicator_id, method, decimals, area_code, year)
SELECT indicator_id, area_code, year, CASE WHEN NOT small THEN value END AS value, num AS numerator,
       den AS denominator, round(coverage, 3) AS coverage,
       CASE WHEN value IS NOT NULL AND NOT small THEN 'ok' WHEN small OR any_suppressed THEN 'suppressed'
            ELSE 'missing' END AS status
FROM agg;

-- 6. The result: every CBS area (NL, gemeenten, wijken, buurten) and the two programme areas.
CREATE OR REPLACE TABLE baseline_indicator_values AS
SELECT indicator_id, area_code, year,
       CASE WHEN inputs = 'ok' AND NOT (method = 'ratio' AND coalesce(den < 100, false)) THEN
           CASE WHEN method <> 'ratio' THEN round(num, decimals)
                WHEN den > 0 THEN round(num / den * scale, decimals) END END AS value,
       CASE WHEN method <> 'weighted_mean' THEN num END AS numerator,
       den AS denominator,
       CASE WHEN inputs = 'ok' THEN 1.0 ELSE 0.0 END AS coverage,
       CASE WHEN inputs = 'ok' AND method = 'ratio' AND coalesce(den < 100, false) THEN 'suppressed'
            WHEN inputs = 'ok' THEN 'ok' ELSE inputs END AS status
FROM base
UNION ALL
SELECT * FROM programme;
