-- The full-work floor of the bundled run: everything `heerlen run --force` computes from the bundled snapshot
-- (every file of assets/sources.yaml read and parsed, every measure unpivoted, the programme areas summed, every
-- indicator of assets/indicators/*.yaml, the gaps and the gap verdicts), as ONE plain DuckDB script: no
-- orchestration, no raw/staging copies, no checks, no report. bench/check_floor.py proves that its values equal
-- marts.indicator_values of a pipeline build; bench/run_bench.py times the pipeline against it.
--
-- The SQL follows heerlen_pipeline/transform/ (staging.py + cells.py for reading and parsing, indicators.py for
-- the values, gaps.py for the gaps) clause by clause, so that the numbers are bit-identical: sums go through
-- DECIMAL(38, 6) as indicators._sum does, and every expression keeps the pipeline's order of operations. What
-- the pipeline reads from assets/ at run time is spelled out here (section 1), except the two tables DuckDB can
-- read as they are: assets/measures.csv (aliases and rounding) and assets/areas/cbs_areas.csv (the scope).
--
-- Paths are relative to the snapshot directory: run it from there, e.g.
--   cd data/snapshot && duckdb /tmp/floor.duckdb < ../../bench/floor.sql
-- or with SET file_search_path = '<repo>/data/snapshot' (bench/check_floor.py, bench/run_bench.py).
-- Results: floor_indicator_values (the columns of marts.indicator_values, area definition 'spoorlijn'),
-- floor_programme_values (both definitions), floor_gaps and floor_gap_verdicts.

-- Cell text as staging sees it: Python's str.strip() strips more than spaces (tabs, line ends, no-break spaces).
CREATE OR REPLACE TEMP MACRO clean(x) AS regexp_replace(coalesce(x, ''), '^[\s\v\x{a0}]+|[\s\v\x{a0}]+$', '', 'g');

-- ------------------------------------------------------------------------------------------------------------
-- 1. What assets/ says (sources.yaml, the focus area, indicators/*.yaml), as tables.
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE sources (source_id VARCHAR, empty_cells VARCHAR, model_estimate BOOLEAN);
INSERT INTO sources VALUES
    ('kwb', 'withheld', false), ('rivm_health', 'not_applicable', true), ('politie_nl', 'withheld', false),
    ('politie_gemeente', 'not_applicable', false), ('cbs_labour_participation', 'withheld', false),
    ('duo_pupils', 'withheld', false), ('duo_school_advice', 'withheld', false),
    ('cbs_school_disadvantage', 'withheld', false);

-- Every bundled file: its table, its year when the file has one, its decimal separator.
CREATE OR REPLACE TEMP TABLE files (source_id VARCHAR, path VARCHAR, table_id VARCHAR, year INTEGER, decimal VARCHAR);
INSERT INTO files VALUES
    ('kwb', 'kwb/heerlen_kwb_2016.csv', '83487NED', 2016, '.'),
    ('kwb', 'kwb/heerlen_kwb_2017.csv', '83765NED', 2017, '.'),
    ('kwb', 'kwb/heerlen_kwb_2018.csv', '84286NED', 2018, '.'),
    ('kwb', 'kwb/heerlen_kwb_2019.csv', '84583NED', 2019, '.'),
    ('kwb', 'kwb/heerlen_kwb_2020.csv', '84799NED', 2020, '.'),
    ('kwb', 'kwb/kwb_2017_NL00.csv', '83765NED', 2017, '.'),
    ('kwb', 'kwb/kwb_2019_NL00.csv', '84583NED', 2019, ','),
    ('kwb', 'kwb/kwb_2024_bevolking_nl_gm_wk_heerlenbu.csv', '85984NED', 2024, '.'),
    ('rivm_health', 'rivm/rivm_gezondheid_2012_18plus_nl_gm_wk_heerlenbu.csv', '50090NED', NULL, '.'),
    ('rivm_health', 'rivm/rivm_gezondheid_2016_18plus_nl_gm_wk_heerlenbu.csv', '50090NED', NULL, '.'),
    ('rivm_health', 'rivm/rivm_gezondheid_2020_18plus_nl_gm_wk_heerlenbu.csv', '50090NED', NULL, '.'),
    ('politie_nl', 'politie/47018NED_typeddataset_first1000rows_totaal_misdrijven.csv', '47018NED', NULL, '.'),
    ('politie_gemeente', 'politie/statline_geregistreerde_misdrijven_gemeente_2022_2023_raw.csv', '47013NED', NULL, '.'),
    ('politie_gemeente', 'politie/statline_geregistreerde_misdrijven_gemeente_2024_raw.csv', '47013NED', NULL, '.'),
    ('duo_pupils', 'duo/duo_historisch_leerlingen_per_vestiging_1996_2025.csv',
     'DUO 06 historisch leerlingen per vestiging', NULL, '.'),
    ('cbs_school_disadvantage', 'duo/cbs_achterstandsscores_basisscholen_2019.csv',
     'CBS maatwerk achterstandsscores 2019', 2019, '.');
-- read_csv's filename column is the path as found (absolute under file_search_path): files are known by their
-- base name (`file`), which is unique in the snapshot, taken before the cells are unpivoted.
CREATE OR REPLACE TEMP MACRO file_of(filename) AS parse_filename(filename);

-- The scope of the bundled run: Nederland, Heerlen and its wijken and buurten.
CREATE OR REPLACE TEMP TABLE areas AS
SELECT area_code, area_name, level, parent_code
FROM read_csv('../../assets/areas/cbs_areas.csv', header = true, all_varchar = true);

-- The programme areas (assets/areas/focus_areas/heerlen-noord.yaml): Noord is the listed wijken, Zuid every
-- other wijk of the gemeente; both definitions are computed, as the pipeline does (marts.programme_values).
CREATE OR REPLACE TEMP TABLE noord (definition VARCHAR, wijk_code VARCHAR);
INSERT INTO noord SELECT 'spoorlijn', unnest(['WK091710', 'WK091711', 'WK091712', 'WK091713', 'WK091714', 'WK091720',
    'WK091721', 'WK091722', 'WK091723', 'WK091724', 'WK091730', 'WK091731', 'WK091732', 'WK091735']);
INSERT INTO noord SELECT 'molenberg', unnest(['WK091710', 'WK091711', 'WK091712', 'WK091713', 'WK091714', 'WK091720',
    'WK091721', 'WK091722', 'WK091723', 'WK091724', 'WK091730', 'WK091731', 'WK091732', 'WK091739']);
CREATE OR REPLACE TEMP TABLE members AS
SELECT d.definition, CASE WHEN n.wijk_code IS NOT NULL THEN 'HEERLEN-NOORD' ELSE 'HEERLEN-ZUID' END AS area_code,
       w.area_code AS wijk_code
FROM (SELECT DISTINCT definition FROM noord) d
CROSS JOIN (SELECT area_code FROM areas WHERE level = 'wijk') w
LEFT JOIN noord n ON n.definition = d.definition AND n.wijk_code = w.area_code;

-- The measures (assets/measures.csv): the aliases source headers are matched with, and the rounding base of a
-- published cell (its half-width bounds a value: indicators._half). The half-width is exact (DECIMAL) as the
-- pipeline's literal is, so that its sums are exact too.
CREATE OR REPLACE TEMP TABLE measures AS
SELECT measure, unit, aliases, TRY_CAST(rounding AS DOUBLE) AS rounding,
       CAST(TRY_CAST(rounding AS DOUBLE) / 2 AS DECIMAL(18, 3)) AS half
FROM read_csv('../../assets/measures.csv', header = true, all_varchar = true);

-- The indicators (assets/indicators/*.yaml). `period`: the reference period of the first numerator or the measure
-- (sources.yaml reference_periods, first source by id). Roles: 'num' is the numerator (ratio) or the measure
-- (weighted_mean, sum), 'den' the denominator or the weight; `source` pins a measure to one source.
CREATE OR REPLACE TEMP TABLE indicators (indicator_id VARCHAR, method VARCHAR, scale DOUBLE, direction VARCHAR,
                                         period VARCHAR);
INSERT INTO indicators VALUES
    ('DEM-01', 'ratio', 100, 'context', '1 januari {year}'),
    ('DEM-02', 'sum', 1, 'context', '1 januari {year}'),
    ('DEM-03', 'ratio', 100, 'context', '1 januari {year}'),
    ('DEM-04', 'ratio', 100, 'context', '1 januari {year}'),
    ('HLT-01', 'weighted_mean', 1, 'higher_is_better', NULL),
    ('HLT-02', 'weighted_mean', 1, 'lower_is_better', NULL),
    ('HLT-03', 'weighted_mean', 1, 'lower_is_better', NULL),
    ('HLT-05', 'weighted_mean', 1, 'context', NULL),
    ('HLT-06', 'weighted_mean', 1, 'lower_is_better', NULL),
    ('HLT-07', 'weighted_mean', 1, 'lower_is_better', NULL),
    ('HLT-08', 'weighted_mean', 1, 'lower_is_better', NULL),
    ('LEA-03', 'ratio', 100, 'lower_is_better', NULL),
    ('LEA-06', 'ratio', 100, 'higher_is_better', NULL),
    ('LEA-04', 'school_ratio', 100, 'lower_is_better', '1 oktober {year}'),
    ('LEA-05', 'school_sum', 1, 'context', '1 oktober {year}'),
    ('LEA-07', 'school_ratio', 100, 'higher_is_better', 'schooljaar {previous}-{year}'),
    ('SAF-01', 'ratio', 1000, 'lower_is_better', NULL),
    ('SAF-02', 'weighted_mean', 1, 'lower_is_better', '{previous}'),
    ('SAF-03', 'weighted_mean', 1, 'lower_is_better', '{previous}'),
    ('SAF-04', 'weighted_mean', 1, 'lower_is_better', '{previous}'),
    ('WRK-01', 'ratio', 1000, 'lower_is_better', NULL),
    ('WRK-02', 'weighted_mean', 1, 'higher_is_better', NULL),
    ('WRK-03', 'weighted_mean', 1, 'lower_is_better', 'inkomensjaar eerder dan KWB {year}'),
    ('WRK-06', 'weighted_mean', 1, 'lower_is_better', 'inkomensjaar eerder dan KWB {year}'),
    ('WRK-07', 'weighted_mean', 1, 'lower_is_better', 'inkomensjaar eerder dan KWB {year}'),
    ('WRK-08', 'weighted_mean', 1, 'higher_is_better', 'inkomensjaar eerder dan KWB {year}'),
    ('WRK-09', 'ratio', 1000, 'lower_is_better', NULL),
    ('WRK-10', 'weighted_mean', 1, 'higher_is_better', NULL),
    ('WRK-11', 'ratio', 1000, 'lower_is_better', NULL),
    ('WRK-12', 'ratio', 1000, 'lower_is_better', NULL),
    ('HOU-02', 'weighted_mean', 1, 'context', NULL),
    ('HOU-03', 'weighted_mean', 1, 'context', '1 januari {year}'),
    ('HOU-06', 'weighted_mean', 1, 'context', '1 januari {year}');
-- LEA-07 (DUO school advice) and WRK-10 (CBS Arbeidsdeelname) read sources that only `heerlen run --live` fills
-- (sources.yaml: files: []): they are defined here as in the pipeline and, like there, have no rows.
CREATE OR REPLACE TEMP TABLE refs (indicator_id VARCHAR, role VARCHAR, measure VARCHAR, source VARCHAR);
INSERT INTO refs VALUES
    ('DEM-01', 'num', 'age_0_15', NULL), ('DEM-01', 'den', 'inhabitants', NULL),
    ('DEM-02', 'num', 'inhabitants', NULL),
    ('DEM-03', 'num', 'age_15_25', NULL), ('DEM-03', 'den', 'inhabitants', NULL),
    ('DEM-04', 'num', 'households_with_children', NULL), ('DEM-04', 'den', 'households', NULL),
    ('HLT-01', 'num', 'good_health_pct', NULL), ('HLT-01', 'den', 'inhabitants', NULL),
    ('HLT-02', 'num', 'overweight_pct', NULL), ('HLT-02', 'den', 'inhabitants', NULL),
    ('HLT-03', 'num', 'difficulty_making_ends_meet_pct', NULL), ('HLT-03', 'den', 'inhabitants', NULL),
    ('HLT-05', 'num', 'youth_care_pct', NULL), ('HLT-05', 'den', 'age_0_15', NULL), ('HLT-05', 'den', 'age_15_25', NULL),
    ('HLT-06', 'num', 'smoker_pct', NULL), ('HLT-06', 'den', 'inhabitants', NULL),
    ('HLT-07', 'num', 'severe_loneliness_pct', NULL), ('HLT-07', 'den', 'inhabitants', NULL),
    ('HLT-08', 'num', 'anxiety_depression_high_risk_pct', NULL), ('HLT-08', 'den', 'inhabitants', NULL),
    ('LEA-03', 'num', 'education_low', NULL), ('LEA-03', 'den', 'education_low', NULL),
    ('LEA-03', 'den', 'education_mid', NULL), ('LEA-03', 'den', 'education_high', NULL),
    ('LEA-06', 'num', 'education_high', NULL), ('LEA-06', 'den', 'education_low', NULL),
    ('LEA-06', 'den', 'education_mid', NULL), ('LEA-06', 'den', 'education_high', NULL),
    ('LEA-04', 'num', 'disadvantage_score_raw', NULL), ('LEA-04', 'den', 'pupils_funded', NULL),
    ('LEA-05', 'num', 'pupils', NULL),
    ('LEA-07', 'num', 'advice_havo', NULL), ('LEA-07', 'num', 'advice_havo_vwo', NULL), ('LEA-07', 'num', 'advice_vwo', NULL),
    ('LEA-07', 'den', 'advice_vso', NULL), ('LEA-07', 'den', 'advice_pro', NULL), ('LEA-07', 'den', 'advice_vmbo_b', NULL),
    ('LEA-07', 'den', 'advice_vmbo_b_k', NULL), ('LEA-07', 'den', 'advice_vmbo_k', NULL),
    ('LEA-07', 'den', 'advice_vmbo_k_gt', NULL), ('LEA-07', 'den', 'advice_vmbo_gt', NULL),
    ('LEA-07', 'den', 'advice_vmbo_gt_havo', NULL), ('LEA-07', 'den', 'advice_havo', NULL),
    ('LEA-07', 'den', 'advice_havo_vwo', NULL), ('LEA-07', 'den', 'advice_vwo', NULL),
    ('SAF-01', 'num', 'registered_crimes', 'politie_gemeente'), ('SAF-01', 'den', 'inhabitants', NULL),
    ('SAF-02', 'num', 'burglary_rate', NULL), ('SAF-02', 'den', 'inhabitants', NULL),
    ('SAF-03', 'num', 'violence_rate', NULL), ('SAF-03', 'den', 'inhabitants', NULL),
    ('SAF-04', 'num', 'vandalism_rate', NULL), ('SAF-04', 'den', 'inhabitants', NULL),
    ('WRK-01', 'num', 'bijstand_recipients', NULL), ('WRK-01', 'den', 'inhabitants', NULL),
    ('WRK-02', 'num', 'net_labour_participation_pct', NULL), ('WRK-02', 'den', 'age_15_25', NULL),
    ('WRK-02', 'den', 'age_25_45', NULL), ('WRK-02', 'den', 'age_45_65', NULL),
    ('WRK-03', 'num', 'low_income_households_pct', NULL), ('WRK-03', 'den', 'households', NULL),
    ('WRK-06', 'num', 'bottom40_persons_pct', NULL), ('WRK-06', 'den', 'income_recipients', NULL),
    ('WRK-07', 'num', 'social_minimum_households_pct', NULL), ('WRK-07', 'den', 'households', NULL),
    ('WRK-08', 'num', 'income_per_inhabitant', NULL), ('WRK-08', 'den', 'inhabitants', NULL),
    ('WRK-09', 'num', 'ww_recipients', NULL), ('WRK-09', 'den', 'inhabitants', NULL),
    ('WRK-10', 'num', 'youth_net_labour_participation_pct', NULL), ('WRK-10', 'den', 'age_15_25', NULL),
    ('WRK-11', 'num', 'bijstand_recipients', NULL), ('WRK-11', 'den', 'age_15_25', NULL),
    ('WRK-11', 'den', 'age_25_45', NULL), ('WRK-11', 'den', 'age_45_65', NULL),
    ('WRK-12', 'num', 'ww_recipients', NULL), ('WRK-12', 'den', 'age_15_25', NULL),
    ('WRK-12', 'den', 'age_25_45', NULL), ('WRK-12', 'den', 'age_45_65', NULL),
    ('HOU-02', 'num', 'woz_mean', NULL), ('HOU-02', 'den', 'dwellings', NULL),
    ('HOU-03', 'num', 'corporation_pct', NULL), ('HOU-03', 'den', 'dwellings', NULL),
    ('HOU-06', 'num', 'owner_occupied_pct', NULL), ('HOU-06', 'den', 'dwellings', NULL);
CREATE OR REPLACE TEMP TABLE series_breaks (indicator_id VARCHAR, year INTEGER);
INSERT INTO series_breaks VALUES ('WRK-03', 2024);

-- ------------------------------------------------------------------------------------------------------------
-- 2. Headers to measures (sources/headers.py): a header and every alias are "squashed" to lower-case letters
--    and digits (an OData key first loses its running _N suffix); a header is a measure when its key is an alias,
--    or the longest alias it starts with followed by the measure's unit.
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP MACRO squash(t) AS
    regexp_replace(regexp_replace(replace(strip_accents(lower(t)), '%', ''), '([0-9])proc', '\1', 'g'),
                   '[^0-9a-z]', '', 'g');
CREATE OR REPLACE TEMP MACRO header_key(h) AS
    squash(CASE WHEN NOT contains(trim(h), ' ') AND regexp_full_match(trim(h), '[A-Za-z][A-Za-z0-9_]*?_[0-9]+')
                THEN regexp_replace(trim(h), '_[0-9]+$', '') ELSE trim(h) END);
CREATE OR REPLACE TEMP TABLE measure_keys AS
SELECT DISTINCT measure, squash(alias) AS alias_key, squash(unit) AS unit_key
FROM (SELECT measure, unit, unnest(string_split(aliases, '|')) AS alias FROM measures)
WHERE alias <> '';

-- ------------------------------------------------------------------------------------------------------------
-- 3. Reading (sources/files.py, transform/staging.py): every file as long cells (file, area, year, header, raw
--    text), rows of the scope only. Footer lines ("Bron: CBS") need no test of their own: a row with one filled
--    cell names no area of the scope, and passes no row filter. read_csv's NULL marker is '\x01', a string no
--    bundled file contains: an empty cell then reads as '' (a cell to resolve, as in staging), and NULL means only
--    "this file has no such column" (files read together with union_by_name), which UNPIVOT leaves out.
-- ------------------------------------------------------------------------------------------------------------

-- 3a. KWB 2016-2020 (Heerlen): rows carry names. A wijk ("Wijk 12 Hoensbroek-De Dem") is found by its name
--     without the label, a buurt among the buurten of the wijk above it, Nederland and Heerlen by name
--     (areas.NameResolver): that needs the file's row order, which read_csv keeps (insertion order) and the
--     streaming row_number() numbers.
CREATE OR REPLACE TEMP TABLE kwb_named AS
WITH r AS (
    SELECT row_number() OVER () AS row_nr, *
    FROM read_csv(['kwb/heerlen_kwb_2016.csv', 'kwb/heerlen_kwb_2017.csv', 'kwb/heerlen_kwb_2018.csv',
                   'kwb/heerlen_kwb_2019.csv', 'kwb/heerlen_kwb_2020.csv'],
                  header = true, all_varchar = true, union_by_name = true, filename = true, delim = ',',
                  quote = '"', escape = '"', nullstr = '\x01')),
named AS (
    SELECT r.row_nr, r.filename, clean(r.regio_naam) AS name,
           regexp_matches(clean(r.regio_naam), '^Wijk [0-9]+ ') AS is_wijk
    FROM r),
ctx AS (
    SELECT n.*, t.area_code AS top_code, w.area_code AS wijk_code,
           -- the wijk above: set by a wijk row, cleared by a top row ('' = none)
           last_value(CASE WHEN n.is_wijk THEN coalesce(w.area_code, '')
                           WHEN t.area_code IS NOT NULL THEN '' END IGNORE NULLS)
               OVER (PARTITION BY n.filename ORDER BY n.row_nr ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
               AS above
    FROM named n
    LEFT JOIN (SELECT area_name, area_code FROM areas WHERE level IN ('land', 'gemeente')) t ON t.area_name = n.name
    LEFT JOIN (SELECT area_name, area_code FROM areas WHERE level = 'wijk') w
        ON n.is_wijk AND w.area_name = regexp_replace(n.name, '^Wijk [0-9]+ ', '')),
resolved AS (
    SELECT c.row_nr,
           CASE WHEN c.top_code IS NOT NULL AND NOT c.is_wijk THEN c.top_code
                WHEN c.is_wijk THEN c.wijk_code
                ELSE b.area_code END AS area_code
    FROM ctx c
    LEFT JOIN (SELECT parent_code, area_name, area_code FROM areas WHERE level = 'buurt') b
        ON NOT c.is_wijk AND c.top_code IS NULL AND b.parent_code = c.above AND b.area_name = c.name)
SELECT * FROM (UNPIVOT (SELECT x.area_code, file_of(r.filename) AS file, r.* EXCLUDE (regio_naam, filename)
                        FROM r JOIN resolved x USING (row_nr)
                        WHERE x.area_code IN (SELECT area_code FROM areas))
               ON COLUMNS(* EXCLUDE (area_code, row_nr, file)) INTO NAME field VALUE raw);

-- 3b. KWB files with codes: the national rows of 2017 and 2019, and 2024 (every gemeente and wijk; Heerlen's
--     buurten). The 2024 export repeats 'Aantal inwoners': read_csv renames the second copy, which then names no
--     measure, as the pipeline keeps the first of two equal columns.
CREATE OR REPLACE TEMP TABLE kwb_coded AS
SELECT * FROM (UNPIVOT (
    SELECT clean(coalesce("Regioaanduiding.Codering..code.", "Regioaanduiding/Codering (code)")) AS area_code,
           file_of(filename) AS file,
           * EXCLUDE ("Regioaanduiding.Codering..code.", "Regioaanduiding/Codering (code)", filename)
    FROM read_csv(['kwb/kwb_2017_NL00.csv', 'kwb/kwb_2019_NL00.csv', 'kwb/kwb_2024_bevolking_nl_gm_wk_heerlenbu.csv'],
                  header = true, all_varchar = true, union_by_name = true, filename = true, delim = ',',
                  quote = '"', escape = '"', nullstr = '\x01')
    WHERE clean(coalesce("Regioaanduiding.Codering..code.", "Regioaanduiding/Codering (code)"))
          IN (SELECT area_code FROM areas))
    ON COLUMNS(* EXCLUDE (area_code, file)) INTO NAME field VALUE raw);

-- 3c. RIVM (18 jaar of ouder, point estimate) and Politie 47018NED (Totaal misdrijven): OData-shaped tables with
--     a period column (YYYYJJ00; any other period is a rejected row). RIVM calls Nederland NL01.
CREATE OR REPLACE TEMP TABLE rivm AS
SELECT * FROM (UNPIVOT (
    SELECT CASE clean(WijkenEnBuurten) WHEN 'NL01' THEN 'NL00' ELSE clean(WijkenEnBuurten) END AS area_code,
           CAST(regexp_extract(clean(Perioden), '^([0-9]{4})(JJ00)?$', 1) AS INTEGER) AS year,
           file_of(filename) AS file, * EXCLUDE (WijkenEnBuurten, Perioden, Leeftijd, Marges, filename)
    FROM read_csv(['rivm/rivm_gezondheid_2012_18plus_nl_gm_wk_heerlenbu.csv',
                   'rivm/rivm_gezondheid_2016_18plus_nl_gm_wk_heerlenbu.csv',
                   'rivm/rivm_gezondheid_2020_18plus_nl_gm_wk_heerlenbu.csv'],
                  header = true, all_varchar = true, union_by_name = true, filename = true, delim = ',',
                  quote = '"', escape = '"', nullstr = '\x01')
    WHERE clean(Leeftijd) = '20300' AND clean(Marges) = 'MW00000'
      AND CASE clean(WijkenEnBuurten) WHEN 'NL01' THEN 'NL00' ELSE clean(WijkenEnBuurten) END
          IN (SELECT area_code FROM areas)
      AND regexp_full_match(clean(Perioden), '[0-9]{4}(JJ00)?'))
    ON COLUMNS(* EXCLUDE (area_code, year, file)) INTO NAME field VALUE raw);

CREATE OR REPLACE TEMP TABLE politie_nl AS
SELECT * FROM (UNPIVOT (
    SELECT clean(WijkenEnBuurten) AS area_code,
           CAST(regexp_extract(clean(Perioden), '^([0-9]{4})(JJ00)?$', 1) AS INTEGER) AS year,
           file_of(filename) AS file, * EXCLUDE (WijkenEnBuurten, Perioden, SoortMisdrijf, filename)
    FROM read_csv('politie/47018NED_typeddataset_first1000rows_totaal_misdrijven.csv',
                  header = true, all_varchar = true, filename = true, delim = ',', quote = '"', escape = '"',
                  nullstr = '\x01')
    WHERE clean(SoortMisdrijf) = '0.0.0' AND clean(WijkenEnBuurten) IN (SELECT area_code FROM areas)
      AND regexp_full_match(clean(Perioden), '[0-9]{4}(JJ00)?'))
    ON COLUMNS(* EXCLUDE (area_code, year, file)) INTO NAME field VALUE raw);

-- 3d. Politie per gemeente: StatLine "CSV met metadata" (staging._read_statline_export): title lines, then the
--     Onderwerp row (the measure of each column), the Perioden row (its year) and the unit row, then one row per
--     region by name. Nederland and Heerlen are the regions of the scope.
CREATE OR REPLACE TEMP TABLE statline AS
WITH r AS (
    SELECT row_number() OVER () AS row_nr, *
    FROM read_csv(['politie/statline_geregistreerde_misdrijven_gemeente_2022_2023_raw.csv',
                   'politie/statline_geregistreerde_misdrijven_gemeente_2024_raw.csv'],
                  header = false, all_varchar = true, union_by_name = true, filename = true, delim = ';',
                  quote = '"', escape = '"', null_padding = true, nullstr = '\x01')),
marks AS (
    SELECT filename, min(row_nr) FILTER (WHERE clean(column0) = 'Onderwerp') AS topic_i,
           min(row_nr) FILTER (WHERE clean(column0) = 'Perioden') AS period_i
    FROM r GROUP BY filename),
long AS (UNPIVOT r ON COLUMNS(* EXCLUDE (row_nr, filename, column0)) INTO NAME col VALUE cell),
cols AS (  -- the data columns: those with a period
    SELECT l.filename, l.col,
           any_value(clean(l.cell)) FILTER (WHERE l.row_nr = m.topic_i) AS label,
           any_value(clean(l.cell)) FILTER (WHERE l.row_nr = m.period_i) AS period
    FROM long l JOIN marks m USING (filename)
    GROUP BY l.filename, l.col)
SELECT t.area_code, file_of(l.filename) AS file, CAST(regexp_extract(c.period, '^([0-9]{4})(JJ00)?$', 1) AS INTEGER) AS year,
       c.label AS field, l.cell AS raw
FROM long l
JOIN marks m USING (filename)
JOIN cols c ON c.filename = l.filename AND c.col = l.col AND c.period <> ''
JOIN (SELECT area_name, area_code FROM areas WHERE level IN ('land', 'gemeente')) t ON t.area_name = clean(l.column0)
WHERE l.row_nr > m.period_i + 1;

-- 3e. DUO pupils per school (bo and sbo): one column per year (LEERLINGEN_yyyy). Schools are areas of their own,
--     placed in their gemeente by DUO's register (GEMEENTECODE_VESTIGING: 'GM' and four digits).
CREATE OR REPLACE TEMP TABLE duo_rows AS
SELECT clean(VESTIGINGSCODE) AS area_code, file_of(filename) AS file, COLUMNS('^LEERLINGEN_[0-9]{4}$'),
       -- pandas: 'GM' + to_numeric(...).astype('Int64').astype(str).str.zfill(4), so a non-number is 'GM<NA>'
       'GM' || coalesce(CASE WHEN length(g) >= 4 THEN g ELSE lpad(g, 4, '0') END, '<NA>') AS gemeente_code
FROM (SELECT *, CAST(TRY_CAST(TRY_CAST(clean(GEMEENTECODE_VESTIGING) AS DOUBLE) AS BIGINT) AS VARCHAR) AS g
      FROM read_csv('duo/duo_historisch_leerlingen_per_vestiging_1996_2025.csv', header = true, all_varchar = true,
                    filename = true, delim = ';', quote = '"', escape = '"', nullstr = '\x01'))
WHERE clean(SOORT_VESTIGING) IN ('BO', 'SBO');
CREATE OR REPLACE TEMP TABLE schools AS SELECT DISTINCT ON (area_code) area_code, gemeente_code, NULL::VARCHAR AS wijk_code
FROM duo_rows;
CREATE OR REPLACE TEMP TABLE duo AS
SELECT area_code, file, CAST(regexp_extract(field, '([0-9]{4})$', 1) AS INTEGER) AS year, field, raw
FROM (UNPIVOT (SELECT * EXCLUDE (gemeente_code) FROM duo_rows)
      ON COLUMNS(* EXCLUDE (area_code, file)) INTO NAME field VALUE raw);

-- 3f. CBS disadvantage scores per school, 2019.
CREATE OR REPLACE TEMP TABLE disadvantage AS
SELECT * FROM (UNPIVOT (
    SELECT clean(brin_vestiging) AS area_code, file_of(filename) AS file, * EXCLUDE (brin_vestiging, filename)
    FROM read_csv('duo/cbs_achterstandsscores_basisscholen_2019.csv', header = true, all_varchar = true,
                  filename = true, delim = ',', quote = '"', escape = '"', nullstr = '\x01'))
    ON COLUMNS(* EXCLUDE (area_code, file)) INTO NAME field VALUE raw);

-- ------------------------------------------------------------------------------------------------------------
-- 4. Observations: the cells of every measure, parsed (cells.parse_cells) and resolved (staging.resolve_empty).
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE cells AS
SELECT area_code, file, NULL::INTEGER AS year, field, raw FROM kwb_named
UNION ALL SELECT area_code, file, NULL, field, raw FROM kwb_coded
UNION ALL SELECT area_code, file, year, field, raw FROM rivm
UNION ALL SELECT area_code, file, year, field, raw FROM politie_nl
UNION ALL SELECT area_code, file, year, field, raw FROM statline
UNION ALL SELECT area_code, file, NULL, field, raw FROM disadvantage;

-- Header -> measure, once per distinct header (the matcher of section 2): an exact alias first, else the longest.
CREATE OR REPLACE TEMP TABLE header_measures AS
SELECT field, measure FROM (
    SELECT h.field, k.measure,
           row_number() OVER (PARTITION BY h.field ORDER BY k.alias_key = h.key DESC, length(k.alias_key) DESC) AS rn
    FROM (SELECT field, header_key(field) AS key FROM (SELECT DISTINCT field FROM cells)) h
    JOIN measure_keys k
      ON k.alias_key = h.key
      OR (starts_with(h.key, k.alias_key) AND substr(h.key, length(k.alias_key) + 1) = k.unit_key))
WHERE rn = 1;

-- Cell text -> (value, status, symbol). '.', 'x' (StatLine), '<5' (DUO) and the PDOK sentinels are withheld
-- ('suppressed'), '-' is nil (0); a number must be written in the file's notation, and anything else is a
-- rejected cell, left out of the observations. An empty cell is resolved below.
CREATE OR REPLACE TEMP TABLE obs AS
WITH typed AS (
    SELECT f.source_id, f.table_id, f.path AS source_file, f.decimal, c.area_code, coalesce(c.year, f.year) AS year,
           c.measure, c.text,
           CASE WHEN c.text = '' THEN 'empty'
                WHEN c.text IN ('.', 'x', 'X', '<5', '-99997', '-99995', '-99996', '-99998', '-99999') THEN 'suppressed'
                WHEN c.text = '-' THEN 'ok'
                -- constant patterns: a pattern computed per row is compiled per row
                WHEN CASE f.decimal WHEN ',' THEN regexp_full_match(c.text, '[-+]?[0-9]+(?:,[0-9]+)?')
                     ELSE regexp_full_match(c.text, '[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?') END
                     AND isfinite(TRY_CAST(replace(c.text, f.decimal, '.') AS DOUBLE)) THEN 'ok'
                ELSE 'error' END AS status
    FROM (SELECT x.area_code, x.file, x.year, m.measure, clean(x.raw) AS text FROM cells x
          JOIN header_measures m USING (field)
          UNION ALL
          SELECT area_code, file, year, 'pupils', clean(raw) FROM duo) c
    JOIN (SELECT *, file_of(path) AS file FROM files) f USING (file)),
kept AS (SELECT * FROM typed WHERE status <> 'error'),
published AS (  -- per file, year and measure: is any cell published?
    SELECT source_file, year, measure, bool_or(status = 'ok') AS any_ok FROM kept GROUP BY ALL)
SELECT k.source_id, k.table_id, k.source_file, k.area_code, k.year, k.measure,
       CASE WHEN k.text = '-' THEN 0.0 WHEN k.status = 'ok' THEN CAST(replace(k.text, k.decimal, '.') AS DOUBLE)
       END AS value,
       -- an empty cell: 'missing' when the file publishes the measure for nobody that year, else withheld
       -- ('suppressed') or, in a StatLine export, 'not_applicable'
       CASE WHEN k.status <> 'empty' THEN k.status
            WHEN p.any_ok THEN CASE s.empty_cells WHEN 'not_applicable' THEN 'not_applicable' ELSE 'suppressed' END
            ELSE 'missing' END AS status,
       CASE WHEN k.status <> 'ok' OR k.text = '-' THEN k.text END AS symbol
FROM kept k
JOIN sources s USING (source_id)
JOIN published p ON p.source_file = k.source_file AND p.year = k.year AND p.measure = k.measure;

-- ------------------------------------------------------------------------------------------------------------
-- 5. Indicator inputs (indicators._measure_cte), every indicator and role at once, per area and year: the sum of
--    the role's measures, 'ok' only when every one is published; the legend symbol of one that is not; the
--    rounding half-widths summed; whether a model estimate is among them; the source tables.
-- ------------------------------------------------------------------------------------------------------------
-- An exact sum (indicators._sum): fixed point before adding, so that the order rows are added in does not matter.
CREATE OR REPLACE TEMP MACRO dsum(x) AS CAST(sum(CAST(x AS DECIMAL(38, 6))) AS DOUBLE);
-- Distinct, sorted source tables as 'A + B' (indicators._tables), of one or two such texts.
CREATE OR REPLACE TEMP MACRO tables_of(a) AS
    array_to_string(list_sort(list_distinct(string_split(concat_ws(' + ', a), ' + '))), ' + ');
CREATE OR REPLACE TEMP MACRO tables_of2(a, b) AS
    array_to_string(list_sort(list_distinct(string_split(concat_ws(' + ', a, b), ' + '))), ' + ');
CREATE OR REPLACE TEMP MACRO period_text(period, year) AS
    replace(replace(period, '{year}', CAST(year AS VARCHAR)), '{previous}', CAST(year - 1 AS VARCHAR));
CREATE OR REPLACE TEMP MACRO uncertainty(estimate, lo, hi, bounded) AS
    CASE WHEN estimate THEN (CASE WHEN lo IS NOT NULL AND hi IS NOT NULL THEN 'interval' ELSE 'unknown' END)
         WHEN bounded THEN 'rounding' ELSE 'exact' END;

CREATE OR REPLACE TEMP TABLE inputs AS
WITH r AS (SELECT *, count(*) OVER (PARTITION BY indicator_id, role) AS n_refs FROM refs),
j AS (
    SELECT r.indicator_id, r.role, r.n_refs, o.area_code, o.year, o.value, o.status, o.symbol, o.table_id,
           s.model_estimate,
           -- half the rounding base when the cell is a multiple of it (a gemeente's exact count was not rounded)
           CASE WHEN abs(o.value / m.rounding - round(o.value / m.rounding)) < 1e-6 THEN m.half ELSE 0 END AS half
    FROM r
    JOIN obs o ON o.measure = r.measure AND (r.source IS NULL OR o.source_id = r.source)
    JOIN sources s ON s.source_id = o.source_id
    LEFT JOIN measures m ON m.measure = o.measure)
-- One measure: its cell is the group (the pipeline fails on a measure twice for one area and year), so the
-- aggregates below reduce to the row itself - which saves grouping DUO's 254,000 school cells.
SELECT indicator_id, role, area_code, year,
       CASE WHEN status = 'ok' THEN CAST(CAST(value AS DECIMAL(38, 6)) AS DOUBLE) END AS value,
       CASE WHEN status IN ('ok', 'suppressed', 'not_applicable') THEN status ELSE 'missing' END AS status,
       CASE WHEN status <> 'ok' THEN symbol END AS symbol,
       half, model_estimate AS estimate, table_id AS tables
FROM j WHERE n_refs = 1
UNION ALL
SELECT indicator_id, role, area_code, year,
       CASE WHEN count(*) FILTER (WHERE status = 'ok') = any_value(n_refs) THEN dsum(value) END AS value,
       CASE WHEN count(*) FILTER (WHERE status = 'ok') = any_value(n_refs) THEN 'ok'
            WHEN bool_or(status = 'suppressed') THEN 'suppressed'
            WHEN bool_or(status = 'not_applicable') THEN 'not_applicable' ELSE 'missing' END AS status,
       min(symbol) FILTER (WHERE status <> 'ok') AS symbol,
       sum(half) AS half, bool_or(model_estimate) AS estimate,
       array_to_string(list_sort(list_distinct(list(table_id))), ' + ') AS tables
FROM j WHERE n_refs > 1
GROUP BY indicator_id, role, area_code, year;

-- ------------------------------------------------------------------------------------------------------------
-- 6. Per indicator, area and year (indicators.indicator_sql, `base`): ratio = numerator LEFT JOIN denominator,
--    weighted_mean = value LEFT JOIN weight, sum = the value. The source's interval around a model estimate
--    (staging.intervals) is staged by `heerlen run --live` only: in a bundled run it is empty, so lo/hi are NULL.
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE base AS
SELECT i.indicator_id, i.method, i.scale, i.period, n.area_code, n.year, n.value AS num, d.value AS den,
       CASE WHEN i.method <> 'ratio' THEN n.status
            WHEN n.status = 'ok' AND d.status = 'ok' THEN 'ok'
            WHEN 'suppressed' IN (n.status, d.status) THEN 'suppressed'
            WHEN 'not_applicable' IN (n.status, d.status) THEN 'not_applicable' ELSE 'missing' END AS inputs,
       d.status AS weight_status,
       CASE WHEN i.method = 'ratio' THEN coalesce(n.symbol, d.symbol) ELSE n.symbol END AS symbol,
       n.half AS num_half, coalesce(d.half, 0) AS den_half,
       CASE WHEN i.method = 'ratio' THEN n.estimate OR coalesce(d.estimate, false) ELSE n.estimate END AS estimate,
       NULL::DOUBLE AS lo, NULL::DOUBLE AS hi,
       CASE WHEN i.method = 'sum' THEN n.tables ELSE tables_of2(n.tables, d.tables) END AS tables
FROM indicators i
JOIN inputs n ON n.indicator_id = i.indicator_id AND n.role = 'num'
LEFT JOIN inputs d ON d.indicator_id = n.indicator_id AND d.role = 'den' AND d.area_code = n.area_code
                  AND d.year = n.year
WHERE i.method IN ('ratio', 'weighted_mean', 'sum');

-- 7. CBS areas: a ratio on a base under 100 is suppressed; weighted means and sums are published values.
CREATE OR REPLACE TEMP TABLE values_cbs AS
WITH v AS (
    SELECT b.*, coalesce(b.method = 'ratio' AND b.den < 100, false) AS small
    FROM base b WHERE b.area_code IN (SELECT area_code FROM areas)),
w AS (
    SELECT v.*, CASE WHEN inputs = 'ok' AND NOT small THEN
                    CASE WHEN method <> 'ratio' THEN num WHEN den > 0 THEN num / den * scale END END AS value
    FROM v)
SELECT NULL::VARCHAR AS definition, indicator_id, area_code, year, value,
       CASE WHEN method <> 'weighted_mean' THEN num END AS numerator, den AS denominator,
       CASE WHEN inputs = 'ok' THEN 1.0 ELSE 0.0 END AS coverage,
       CASE WHEN inputs = 'ok' AND small THEN 'suppressed' WHEN inputs = 'ok' THEN 'ok' ELSE inputs END AS status,
       CASE WHEN inputs <> 'ok' THEN symbol END AS symbol,
       CASE WHEN value IS NOT NULL THEN
           CASE method WHEN 'ratio' THEN greatest(num - num_half, 0) / (den + den_half) * scale
                       WHEN 'weighted_mean' THEN CASE WHEN estimate THEN lo ELSE num - num_half END
                       ELSE num - num_half END END AS value_lower,
       CASE WHEN value IS NOT NULL THEN
           CASE method WHEN 'ratio' THEN CASE WHEN den - den_half > 0 THEN (num + num_half) / (den - den_half) * scale END
                       WHEN 'weighted_mean' THEN CASE WHEN estimate THEN hi ELSE num + num_half END
                       ELSE num + num_half END END AS value_upper,
       CASE WHEN value IS NOT NULL THEN uncertainty(estimate, lo, hi, num_half + den_half > 0) END AS uncertainty,
       period_text(period, year) AS reference_period,
       tables AS source_table
FROM w;

-- ------------------------------------------------------------------------------------------------------------
-- 8. Programme areas, under every definition: from the published inputs of their wijken only - summed counts
--    (ratio, sum) or a weighted mean of published values with a published weight. Coverage is counted in people
--    when every member wijk's population is published that year, else in wijken.
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE people AS
SELECT area_code, year, any_value(value) AS people FROM obs
WHERE measure = 'inhabitants' AND status = 'ok' GROUP BY area_code, year;

CREATE OR REPLACE TEMP TABLE prog_in AS
WITH m AS (SELECT *, count(*) OVER (PARTITION BY definition, area_code) AS n_members FROM members),
y AS (  -- the years of the indicator; only indicators with a value for some member wijk
    SELECT DISTINCT indicator_id, method, scale, period, year FROM base
    WHERE indicator_id IN (SELECT indicator_id FROM base WHERE area_code IN (SELECT wijk_code FROM members))),
j AS (
    SELECT y.indicator_id, y.method, y.scale, y.period, m.definition, m.area_code, m.n_members, y.year,
           b.inputs = 'ok' AND (y.method <> 'weighted_mean' OR b.weight_status = 'ok') AS member_ok,
           b.num, b.den, b.num_half, b.den_half, b.estimate, b.lo, b.hi, b.inputs, b.tables, p.people
    FROM m CROSS JOIN y
    LEFT JOIN base b ON b.indicator_id = y.indicator_id AND b.area_code = m.wijk_code AND b.year = y.year
    LEFT JOIN people p ON p.area_code = m.wijk_code AND p.year = y.year)
SELECT indicator_id, method, scale, period, definition, area_code, n_members, year,
       coalesce(member_ok, false) AS usable,
       CASE WHEN member_ok THEN num END AS num, CASE WHEN member_ok THEN den END AS den,
       num_half, den_half, estimate, lo, hi, inputs, tables, people
FROM j;

CREATE OR REPLACE TEMP TABLE values_prog AS
WITH a AS (
    SELECT indicator_id, method, scale, period, definition, area_code, year,
           CASE WHEN method <> 'weighted_mean' THEN dsum(num) END AS num,
           CASE WHEN method <> 'sum' THEN dsum(den) END AS den,
           CASE WHEN count(people) = max(n_members) AND sum(people) > 0
                THEN coalesce(sum(people) FILTER (WHERE usable), 0) / sum(people)
                ELSE count(*) FILTER (WHERE usable) / max(n_members) END AS coverage,
           CASE method WHEN 'ratio' THEN dsum(num) / nullif(dsum(den), 0) * scale
                       WHEN 'weighted_mean' THEN dsum(num * den) / nullif(dsum(den), 0)
                       ELSE CASE WHEN count(num) = max(n_members) THEN dsum(num) END END AS value,
           method <> 'sum' AND coalesce(dsum(den) < 100, false) AS small,
           coalesce(bool_or(NOT usable AND inputs = 'suppressed'), false) AS any_suppressed,
           coalesce(bool_or(NOT usable AND inputs = 'not_applicable'), false) AS any_not_applicable,
           coalesce(sum(num_half) FILTER (WHERE usable), 0) AS num_half,
           coalesce(sum(den_half) FILTER (WHERE usable), 0) AS den_half,
           coalesce(max(num_half) FILTER (WHERE usable), 0) AS max_half,
           coalesce(bool_or(estimate) FILTER (WHERE usable), false) AS estimate,
           CASE WHEN count(lo) FILTER (WHERE usable) = count(*) FILTER (WHERE usable)
                THEN sum(lo * den) FILTER (WHERE usable) / nullif(sum(den) FILTER (WHERE usable), 0) END AS lo,
           CASE WHEN count(hi) FILTER (WHERE usable) = count(*) FILTER (WHERE usable)
                THEN sum(hi * den) FILTER (WHERE usable) / nullif(sum(den) FILTER (WHERE usable), 0) END AS hi,
           tables_of(string_agg(DISTINCT tables, ' + ') FILTER (WHERE usable)) AS tables
    FROM prog_in GROUP BY indicator_id, method, scale, period, definition, area_code, year),
s AS (  -- how far the weighted mean moves when the weights move within their rounding
    SELECT a.indicator_id, a.definition, a.area_code, a.year, sum(abs(i.num - a.value) * i.den_half) AS spread
    FROM a JOIN prog_in i ON i.usable AND i.indicator_id = a.indicator_id AND i.definition = a.definition
                         AND i.area_code = a.area_code AND i.year = a.year
    GROUP BY a.indicator_id, a.definition, a.area_code, a.year),
p AS (
    SELECT a.*, coalesce(s.spread, 0) AS spread FROM a
    LEFT JOIN s ON s.indicator_id = a.indicator_id AND s.definition = a.definition AND s.area_code = a.area_code
               AND s.year = a.year)
SELECT definition, indicator_id, area_code, year,
       CASE WHEN NOT small THEN value END AS value, num AS numerator, den AS denominator, coverage,
       CASE WHEN value IS NOT NULL AND NOT small AND coverage < 0.9 THEN 'low_coverage'
            WHEN value IS NOT NULL AND NOT small THEN 'ok'
            WHEN small OR any_suppressed THEN 'suppressed'
            WHEN any_not_applicable THEN 'not_applicable' ELSE 'missing' END AS status,
       NULL::VARCHAR AS symbol,
       CASE WHEN value IS NOT NULL AND NOT small THEN
           CASE method WHEN 'ratio' THEN greatest(num - num_half, 0) / nullif(den + den_half, 0) * scale
                       WHEN 'weighted_mean' THEN
                           CASE WHEN estimate THEN lo - spread / nullif(den - den_half, 0)
                                ELSE value - max_half - spread / nullif(den - den_half, 0) END
                       ELSE value - num_half END END AS value_lower,
       CASE WHEN value IS NOT NULL AND NOT small THEN
           CASE method WHEN 'ratio' THEN CASE WHEN den - den_half > 0 THEN (num + num_half) / (den - den_half) * scale END
                       WHEN 'weighted_mean' THEN
                           CASE WHEN estimate THEN hi + spread / nullif(den - den_half, 0)
                                ELSE value + max_half + spread / nullif(den - den_half, 0) END
                       ELSE value + num_half END END AS value_upper,
       CASE WHEN value IS NOT NULL AND NOT small THEN uncertainty(estimate, lo, hi, num_half + den_half > 0) END
           AS uncertainty,
       period_text(period, year) AS reference_period,
       tables AS source_table
FROM p;

-- ------------------------------------------------------------------------------------------------------------
-- 9. School indicators (indicators._school_sql): summed over the schools placed in an area - Nederland (every
--    school), the gemeente (DUO's register) and, where a school's address is geocoded (live DUO only), its wijk
--    and programme area. Coverage is the share of schools with published inputs.
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE values_school AS
WITH school AS (  -- per school: school_ratio joins numerator and denominator (inner), school_sum is the measure
    SELECT n.indicator_id, n.area_code, n.year, n.value AS num, d.value AS den,
           n.status = 'ok' AND d.status = 'ok' AS usable, tables_of2(n.tables, d.tables) AS tables
    FROM inputs n JOIN inputs d ON d.indicator_id = n.indicator_id AND d.role = 'den' AND d.area_code = n.area_code
                               AND d.year = n.year
    WHERE n.role = 'num' AND n.indicator_id IN (SELECT indicator_id FROM indicators WHERE method = 'school_ratio')
    UNION ALL
    SELECT indicator_id, area_code, year, value, NULL::DOUBLE, status = 'ok', tables FROM inputs
    WHERE role = 'num' AND indicator_id IN (SELECT indicator_id FROM indicators WHERE method = 'school_sum')),
placed AS (SELECT s.*, g.gemeente_code, g.wijk_code FROM school s LEFT JOIN schools g USING (area_code)),
-- One pass for the CBS areas: grouped by gemeente, by wijk and over all, then the groups of the scope's areas
-- are kept (the land's group is every school). Programme areas from the wijken the schools are placed in.
by_area AS (
    SELECT NULL::VARCHAR AS definition, indicator_id, year,
           CASE WHEN grouping(gemeente_code) = 0 THEN gemeente_code WHEN grouping(wijk_code) = 0 THEN wijk_code
                ELSE (SELECT area_code FROM areas WHERE level = 'land') END AS area_code,
           CAST(sum(CAST(num AS DECIMAL(38, 6))) FILTER (WHERE usable) AS DOUBLE) AS num,
           CAST(sum(CAST(den AS DECIMAL(38, 6))) FILTER (WHERE usable) AS DOUBLE) AS den,
           count(*) FILTER (WHERE usable) / count(*) AS coverage,
           tables_of(string_agg(DISTINCT tables, ' + ')) AS tables
    FROM placed
    GROUP BY GROUPING SETS ((indicator_id, year), (indicator_id, year, gemeente_code), (indicator_id, year, wijk_code))),
by_programme AS (
    SELECT m.definition, p.indicator_id, p.year, m.area_code,
           CAST(sum(CAST(p.num AS DECIMAL(38, 6))) FILTER (WHERE p.usable) AS DOUBLE) AS num,
           CAST(sum(CAST(p.den AS DECIMAL(38, 6))) FILTER (WHERE p.usable) AS DOUBLE) AS den,
           count(*) FILTER (WHERE p.usable) / count(*) AS coverage,
           tables_of(string_agg(DISTINCT p.tables, ' + ')) AS tables
    FROM placed p JOIN members m ON p.wijk_code = m.wijk_code
    GROUP BY m.definition, p.indicator_id, p.year, m.area_code),
agg AS (
    SELECT a.*, CASE WHEN i.method = 'school_ratio' THEN a.num / nullif(a.den, 0) * i.scale ELSE a.num END AS value,
           i.period
    FROM (SELECT * FROM by_area WHERE area_code IN (SELECT area_code FROM areas)
          UNION ALL SELECT * FROM by_programme) a
    JOIN indicators i USING (indicator_id)),
shown AS (SELECT *, CASE WHEN den IS NULL OR den >= 100 THEN value END AS shown_value FROM agg)
SELECT definition, indicator_id, area_code, year, shown_value AS value, num AS numerator, den AS denominator,
       coverage,
       CASE WHEN value IS NULL THEN 'missing' WHEN den < 100 THEN 'suppressed'
            WHEN definition IS NOT NULL AND coverage < 0.9 THEN 'low_coverage' ELSE 'ok' END AS status,
       NULL::VARCHAR AS symbol, shown_value AS value_lower, shown_value AS value_upper,
       CASE WHEN shown_value IS NOT NULL THEN 'exact' END AS uncertainty,
       period_text(period, year) AS reference_period,
       tables AS source_table
FROM shown;

-- ------------------------------------------------------------------------------------------------------------
-- 10. The results: the values under the default definition (marts.indicator_values) and the programme values
--     under every definition (marts.programme_values).
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP VIEW all_values AS
SELECT * FROM values_cbs UNION ALL SELECT * FROM values_prog UNION ALL SELECT * FROM values_school;

CREATE OR REPLACE TABLE floor_indicator_values AS
SELECT indicator_id, area_code, CAST(year AS BIGINT) AS year, CAST(value AS DOUBLE) AS value,
       CAST(numerator AS DOUBLE) AS numerator, CAST(denominator AS DOUBLE) AS denominator,
       CAST(coverage AS DOUBLE) AS coverage, status, symbol, CAST(value_lower AS DOUBLE) AS value_lower,
       CAST(value_upper AS DOUBLE) AS value_upper, uncertainty, reference_period, source_table
FROM all_values WHERE definition IS NULL OR definition = 'spoorlijn'
ORDER BY indicator_id, area_code, year;

CREATE OR REPLACE TABLE floor_programme_values AS
SELECT definition, indicator_id, area_code, CAST(year AS BIGINT) AS year, CAST(value AS DOUBLE) AS value,
       CAST(numerator AS DOUBLE) AS numerator, CAST(denominator AS DOUBLE) AS denominator,
       CAST(coverage AS DOUBLE) AS coverage, status, symbol, CAST(value_lower AS DOUBLE) AS value_lower,
       CAST(value_upper AS DOUBLE) AS value_upper, uncertainty, reference_period, source_table
FROM all_values WHERE definition IS NOT NULL
ORDER BY definition, indicator_id, area_code, year;

-- ------------------------------------------------------------------------------------------------------------
-- 11. Gaps (transform/gaps.py): Heerlen-Noord against Nederland and Heerlen-Zuid per indicator and year, from
--     unrounded 'ok' values; for normative indicators the oriented index, the baseline (the latest year up to
--     2018 with both values, else the earliest later one), the closure and the straight path to parity in 2047.
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TABLE floor_gaps AS
WITH v AS (  -- only 'ok' values: a low-coverage or withheld value is no level to compare
    SELECT indicator_id, year,
           max(value) FILTER (WHERE area_code = 'HEERLEN-NOORD' AND status = 'ok') AS noord,
           max(value) FILTER (WHERE area_code = 'HEERLEN-ZUID' AND status = 'ok') AS zuid,
           max(value) FILTER (WHERE area_code = 'GM0917' AND status = 'ok') AS heerlen,
           max(value) FILTER (WHERE area_code = 'NL00' AND status = 'ok') AS nederland
    FROM floor_indicator_values GROUP BY indicator_id, year),
g AS (  -- counts (population, pupils) are not comparable between areas: no gaps for them
    SELECT v.*, i.method NOT IN ('sum', 'school_sum') AS comparable,
           CASE WHEN comparable THEN CASE i.direction WHEN 'lower_is_better' THEN 1 WHEN 'higher_is_better' THEN -1 END
           END AS sign,
           CASE WHEN comparable THEN noord - nederland END AS gap_noord_nl,
           CASE WHEN comparable THEN noord - zuid END AS gap_noord_zuid,
           CASE WHEN comparable THEN heerlen - nederland END AS gap_heerlen_nl
    FROM v JOIN indicators i USING (indicator_id)),
pairs AS (
    SELECT indicator_id, 'nederland' AS target, year FROM g WHERE sign IS NOT NULL AND gap_noord_nl IS NOT NULL
    UNION ALL
    SELECT indicator_id, 'zuid', year FROM g WHERE sign IS NOT NULL AND gap_noord_zuid IS NOT NULL),
base AS (
    SELECT indicator_id, target, coalesce(max(year) FILTER (WHERE year <= 2018), min(year)) AS baseline_year
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
       CASE WHEN year >= baseline_year AND baseline_gap <> 0 THEN 1 - gap_noord_nl / baseline_gap END
           AS closure_since_baseline,
       CASE WHEN year >= baseline_year THEN baseline_gap * greatest(2047 - year, 0) / (2047 - baseline_year) END
           AS trajectory_target,
       CASE WHEN year > baseline_year AND gap_noord_nl IS NOT NULL
            THEN sign * gap_noord_nl <= greatest(sign * baseline_gap * greatest(2047 - year, 0) / (2047 - baseline_year), 0)
       END AS on_track,
       baseline_year_zuid,
       CASE WHEN year >= baseline_year_zuid AND baseline_gap_zuid <> 0 THEN 1 - gap_noord_zuid / baseline_gap_zuid END
           AS closure_noord_zuid,
       CASE WHEN year >= baseline_year_zuid
            THEN baseline_gap_zuid * greatest(2047 - year, 0) / (2047 - baseline_year_zuid) END AS trajectory_target_zuid,
       CASE WHEN year > baseline_year_zuid AND gap_noord_zuid IS NOT NULL
            THEN sign * gap_noord_zuid
                 <= greatest(sign * baseline_gap_zuid * greatest(2047 - year, 0) / (2047 - baseline_year_zuid), 0)
       END AS on_track_zuid
FROM t ORDER BY indicator_id, year;

-- 12. Gap verdicts (gaps.verdicts_sql): the change of each gap from the baseline to the latest year, against the
--     noise of the values compared (rounding bounds add up; 95% intervals add in quadrature).
CREATE OR REPLACE TABLE floor_gap_verdicts AS
WITH ind AS (
    SELECT indicator_id, CASE direction WHEN 'lower_is_better' THEN 1 ELSE -1 END AS sign FROM indicators
    WHERE direction IN ('higher_is_better', 'lower_is_better') AND method NOT IN ('sum', 'school_sum')),
pts AS (
    SELECT indicator_id, 'nederland' AS target, 'NL00' AS target_area, year, gap_noord_nl AS gap,
           baseline_year AS baseline_year, closure_since_baseline AS closure, trajectory_target AS trajectory_target,
           on_track AS on_track FROM floor_gaps
    UNION ALL
    SELECT indicator_id, 'zuid' AS target, 'HEERLEN-ZUID' AS target_area, year, gap_noord_zuid AS gap,
           baseline_year_zuid AS baseline_year, closure_noord_zuid AS closure, trajectory_target_zuid AS trajectory_target,
           on_track_zuid AS on_track FROM floor_gaps),
pair AS (
    SELECT i.indicator_id, t.target, t.target_area, i.sign,
           any_value(p.baseline_year) AS baseline_year,
           max(p.year) FILTER (WHERE p.year > p.baseline_year AND p.gap IS NOT NULL) AS latest_year
    FROM ind i
    CROSS JOIN (VALUES ('nederland', 'NL00'), ('zuid', 'HEERLEN-ZUID')) t(target, target_area)
    LEFT JOIN pts p ON p.indicator_id = i.indicator_id AND p.target = t.target
    GROUP BY ALL),
bounds AS (
    SELECT indicator_id, area_code, year, uncertainty, greatest(value - value_lower, value_upper - value) AS half
    FROM floor_indicator_values
    WHERE area_code IN ('HEERLEN-NOORD', 'HEERLEN-ZUID', 'NL00') AND status = 'ok'),
noise AS (
    SELECT p.indicator_id, p.target,
           bool_or(b.uncertainty = 'unknown' OR b.half IS NULL) OR count(b.indicator_id) < 4 AS unknown,
           coalesce(sum(b.half) FILTER (WHERE b.uncertainty = 'rounding'), 0)
             + sqrt(coalesce(sum(b.half * b.half) FILTER (WHERE b.uncertainty = 'interval'), 0)) AS noise,
           coalesce(string_agg(DISTINCT b.uncertainty, ' + ' ORDER BY b.uncertainty)
                    FILTER (WHERE b.uncertainty <> 'exact'), 'exact') AS kinds
    FROM pair p
    JOIN bounds b ON b.indicator_id = p.indicator_id AND b.area_code IN ('HEERLEN-NOORD', p.target_area)
                 AND b.year IN (p.baseline_year, p.latest_year)
    WHERE p.latest_year IS NOT NULL
    GROUP BY p.indicator_id, p.target),
breaks AS (
    SELECT p.indicator_id, p.target, min(s.year) AS break_year FROM pair p
    JOIN series_breaks s ON s.indicator_id = p.indicator_id AND s.year > p.baseline_year AND s.year <= p.latest_year
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
FROM v ORDER BY indicator_id, target;
