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

-- A string no bundled file contains, as read_csv's NULL marker: an empty cell then reads as '' (a cell to
-- resolve), and NULL means only "this file has no such column" (files read together with union_by_name).
-- Python's str.strip() strips more than spaces: the same whitespace is trimmed here.
CREATE OR REPLACE TEMP MACRO clean(x) AS
    trim(coalesce(x, ''), ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160));

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
-- base name, which is unique in the snapshot.
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
--    cell names no area of the scope, and passes no row filter.
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
SELECT * FROM (UNPIVOT (SELECT x.area_code, r.* EXCLUDE (regio_naam)
                        FROM r JOIN resolved x USING (row_nr)
                        WHERE x.area_code IN (SELECT area_code FROM areas))
               ON COLUMNS(* EXCLUDE (area_code, row_nr, filename)) INTO NAME field VALUE raw);

-- 3b. KWB files with codes: the national rows of 2017 and 2019, and 2024 (every gemeente and wijk; Heerlen's
--     buurten). The 2024 export repeats 'Aantal inwoners': read_csv renames the second copy, which then names no
--     measure, as the pipeline keeps the first of two equal columns.
CREATE OR REPLACE TEMP TABLE kwb_coded AS
SELECT * FROM (UNPIVOT (
    SELECT clean(coalesce("Regioaanduiding.Codering..code.", "Regioaanduiding/Codering (code)")) AS area_code,
           * EXCLUDE ("Regioaanduiding.Codering..code.", "Regioaanduiding/Codering (code)")
    FROM read_csv(['kwb/kwb_2017_NL00.csv', 'kwb/kwb_2019_NL00.csv', 'kwb/kwb_2024_bevolking_nl_gm_wk_heerlenbu.csv'],
                  header = true, all_varchar = true, union_by_name = true, filename = true, delim = ',',
                  quote = '"', escape = '"', nullstr = '\x01')
    WHERE clean(coalesce("Regioaanduiding.Codering..code.", "Regioaanduiding/Codering (code)"))
          IN (SELECT area_code FROM areas))
    ON COLUMNS(* EXCLUDE (area_code, filename)) INTO NAME field VALUE raw);

-- 3c. RIVM (18 jaar of ouder, point estimate) and Politie 47018NED (Totaal misdrijven): OData-shaped tables with
--     a period column (YYYYJJ00; any other period is a rejected row). RIVM calls Nederland NL01.
CREATE OR REPLACE TEMP TABLE rivm AS
SELECT * FROM (UNPIVOT (
    SELECT CASE clean(WijkenEnBuurten) WHEN 'NL01' THEN 'NL00' ELSE clean(WijkenEnBuurten) END AS area_code,
           CAST(regexp_extract(clean(Perioden), '^([0-9]{4})(JJ00)?$', 1) AS INTEGER) AS year,
           * EXCLUDE (WijkenEnBuurten, Perioden, Leeftijd, Marges)
    FROM read_csv(['rivm/rivm_gezondheid_2012_18plus_nl_gm_wk_heerlenbu.csv',
                   'rivm/rivm_gezondheid_2016_18plus_nl_gm_wk_heerlenbu.csv',
                   'rivm/rivm_gezondheid_2020_18plus_nl_gm_wk_heerlenbu.csv'],
                  header = true, all_varchar = true, union_by_name = true, filename = true, delim = ',',
                  quote = '"', escape = '"', nullstr = '\x01')
    WHERE clean(Leeftijd) = '20300' AND clean(Marges) = 'MW00000'
      AND CASE clean(WijkenEnBuurten) WHEN 'NL01' THEN 'NL00' ELSE clean(WijkenEnBuurten) END
          IN (SELECT area_code FROM areas)
      AND regexp_full_match(clean(Perioden), '[0-9]{4}(JJ00)?'))
    ON COLUMNS(* EXCLUDE (area_code, year, filename)) INTO NAME field VALUE raw);

CREATE OR REPLACE TEMP TABLE politie_nl AS
SELECT * FROM (UNPIVOT (
    SELECT clean(WijkenEnBuurten) AS area_code,
           CAST(regexp_extract(clean(Perioden), '^([0-9]{4})(JJ00)?$', 1) AS INTEGER) AS year,
           * EXCLUDE (WijkenEnBuurten, Perioden, SoortMisdrijf)
    FROM read_csv('politie/47018NED_typeddataset_first1000rows_totaal_misdrijven.csv',
                  header = true, all_varchar = true, filename = true, delim = ',', quote = '"', escape = '"',
                  nullstr = '\x01')
    WHERE clean(SoortMisdrijf) = '0.0.0' AND clean(WijkenEnBuurten) IN (SELECT area_code FROM areas)
      AND regexp_full_match(clean(Perioden), '[0-9]{4}(JJ00)?'))
    ON COLUMNS(* EXCLUDE (area_code, year, filename)) INTO NAME field VALUE raw);

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
SELECT t.area_code, l.filename, CAST(regexp_extract(c.period, '^([0-9]{4})(JJ00)?$', 1) AS INTEGER) AS year,
       c.label AS field, l.cell AS raw
FROM long l
JOIN marks m USING (filename)
JOIN cols c ON c.filename = l.filename AND c.col = l.col AND c.period <> ''
JOIN (SELECT area_name, area_code FROM areas WHERE level IN ('land', 'gemeente')) t ON t.area_name = clean(l.column0)
WHERE l.row_nr > m.period_i + 1;

-- 3e. DUO pupils per school (bo and sbo): one column per year (LEERLINGEN_yyyy). Schools are areas of their own,
--     placed in their gemeente by DUO's register (GEMEENTECODE_VESTIGING: 'GM' and four digits).
CREATE OR REPLACE TEMP TABLE duo_rows AS
SELECT clean(VESTIGINGSCODE) AS area_code, filename, COLUMNS('^LEERLINGEN_[0-9]{4}$'),
       'GM' || coalesce(lpad(CAST(TRY_CAST(TRY_CAST(clean(GEMEENTECODE_VESTIGING) AS DOUBLE) AS BIGINT) AS VARCHAR),
                             4, '0'), '<NA>') AS gemeente_code
FROM read_csv('duo/duo_historisch_leerlingen_per_vestiging_1996_2025.csv', header = true, all_varchar = true,
              filename = true, delim = ';', quote = '"', escape = '"', nullstr = '\x01')
WHERE clean(SOORT_VESTIGING) IN ('BO', 'SBO');
CREATE OR REPLACE TEMP TABLE schools AS SELECT DISTINCT ON (area_code) area_code, gemeente_code, NULL::VARCHAR AS wijk_code
FROM duo_rows;
CREATE OR REPLACE TEMP TABLE duo AS
SELECT area_code, filename, CAST(regexp_extract(field, '([0-9]{4})$', 1) AS INTEGER) AS year, field, raw
FROM (UNPIVOT (SELECT * EXCLUDE (gemeente_code) FROM duo_rows)
      ON COLUMNS(* EXCLUDE (area_code, filename)) INTO NAME field VALUE raw);

-- 3f. CBS disadvantage scores per school, 2019.
CREATE OR REPLACE TEMP TABLE disadvantage AS
SELECT * FROM (UNPIVOT (
    SELECT clean(brin_vestiging) AS area_code, * EXCLUDE (brin_vestiging)
    FROM read_csv('duo/cbs_achterstandsscores_basisscholen_2019.csv', header = true, all_varchar = true,
                  filename = true, delim = ',', quote = '"', escape = '"', nullstr = '\x01'))
    ON COLUMNS(* EXCLUDE (area_code, filename)) INTO NAME field VALUE raw);

-- ------------------------------------------------------------------------------------------------------------
-- 4. Observations: the cells of every measure, parsed (cells.parse_cells) and resolved (staging.resolve_empty).
-- ------------------------------------------------------------------------------------------------------------
CREATE OR REPLACE TEMP TABLE cells AS
SELECT area_code, filename, NULL::INTEGER AS year, field, raw FROM kwb_named
UNION ALL SELECT area_code, filename, NULL, field, raw FROM kwb_coded
UNION ALL SELECT area_code, filename, year, field, raw FROM rivm
UNION ALL SELECT area_code, filename, year, field, raw FROM politie_nl
UNION ALL SELECT area_code, filename, year, field, raw FROM statline
UNION ALL SELECT area_code, filename, NULL, field, raw FROM disadvantage;

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
    SELECT f.source_id, f.table_id, f.path AS source_file, c.area_code, coalesce(c.year, f.year) AS year,
           c.measure, c.text,
           CASE WHEN c.text = '' THEN 'empty'
                WHEN c.text IN ('.', 'x', 'X', '<5', '-99997', '-99995', '-99996', '-99998', '-99999') THEN 'suppressed'
                WHEN c.text = '-' THEN 'ok'
                -- constant patterns: a pattern computed per row is compiled per row
                WHEN CASE f.decimal WHEN ',' THEN regexp_full_match(c.text, '[-+]?[0-9]+(?:,[0-9]+)?')
                     ELSE regexp_full_match(c.text, '[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?') END
                     AND isfinite(TRY_CAST(replace(c.text, f.decimal, '.') AS DOUBLE)) THEN 'ok'
                ELSE 'error' END AS status
    FROM (SELECT x.area_code, x.filename, x.year, m.measure, clean(x.raw) AS text FROM cells x
          JOIN header_measures m USING (field)
          UNION ALL
          SELECT area_code, filename, year, 'pupils', clean(raw) FROM duo) c
    JOIN files f ON parse_filename(f.path) = file_of(c.filename)),
kept AS (SELECT * FROM typed WHERE status <> 'error')
SELECT k.source_id, k.table_id, k.source_file, k.area_code, k.year, k.measure,
       CASE WHEN k.text = '-' THEN 0.0 WHEN k.status = 'ok' THEN CAST(replace(k.text, f.decimal, '.') AS DOUBLE)
       END AS value,
       -- an empty cell: 'missing' when the file publishes the measure for nobody that year, else withheld
       -- ('suppressed') or, in a StatLine export, 'not_applicable'
       CASE WHEN k.status <> 'empty' THEN k.status
            WHEN bool_or(k.status = 'ok') OVER (PARTITION BY k.source_file, k.year, k.measure)
            THEN CASE s.empty_cells WHEN 'not_applicable' THEN 'not_applicable' ELSE 'suppressed' END
            ELSE 'missing' END AS status,
       CASE WHEN k.status <> 'ok' OR k.text = '-' THEN k.text END AS symbol
FROM kept k JOIN sources s USING (source_id) JOIN files f ON f.path = k.source_file;
