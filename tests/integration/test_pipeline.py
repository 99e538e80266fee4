"""The whole graph on the bundled real data, checked against published CBS/RIVM figures."""

import json

import duckdb
import pytest

from heerlen_pipeline import catalog

CONTRACT = {
    "areas": {"area_code", "area_name", "level", "parent_code", "definition"},
    "indicators": {"indicator_id", "theme", "name_nl", "name_en", "definition", "unit", "direction", "source",
                   "youth_focus"},
    "indicator_values": {"indicator_id", "area_code", "year", "value", "numerator", "denominator", "coverage",
                         "status", "symbol", "value_lower", "value_upper", "uncertainty", "reference_period",
                         "source_table"},
    "gaps": {"indicator_id", "year", "noord", "zuid", "heerlen", "nederland", "gap_noord_nl", "gap_noord_zuid",
             "index_noord_nl", "baseline_year", "closure_since_baseline", "trajectory_target", "on_track",
             "baseline_year_zuid", "closure_noord_zuid", "trajectory_target_zuid", "on_track_zuid"},
    "gap_verdicts": {"indicator_id", "target", "baseline_year", "baseline_gap", "latest_year", "latest_gap", "closure",
                     "trajectory_target", "on_track", "change", "noise", "verdict"},
    "programmes": {"programme_id", "theme", "name_nl", "start_text", "marker_year", "source"},
    "sources": {"source_id", "table_id", "title", "publisher", "licence", "attribution", "fetched_at", "fetched_basis", "sha256",
                "rows"},
    "check_results": {"asset", "check_name", "severity", "passed", "observed", "run_id", "checked_at"},
    "build_info": {"code_version", "area_definition", "source_versions", "config_fingerprint", "source_mode",
                   "built_at"},
    "series_breaks": {"indicator_id", "year", "note"},
}


def value(con, indicator, area, year, table="indicator_values", extra=""):
    rows = con.execute(f"SELECT value FROM marts.{table} WHERE indicator_id = ? AND area_code = ? AND year = ? {extra}",
                       [indicator, area, year]).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def test_contract_tables_and_columns(wh):
    for table, columns in CONTRACT.items():
        got = {r[0] for r in wh.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                                        "AND table_name = ?", [table]).fetchall()}
        assert columns <= got, (table, columns - got)
        assert wh.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0] > 0, table


def test_reference_values_from_real_publications(wh):
    assert value(wh, "DEM-02", "GM0917", 2019) == 86832                # KWB 2019
    assert value(wh, "DEM-02", "NL00", 2019) == 17282163
    # sums of published wijk rows, spoorlijn (published unrounded; 62.0 / 39.9 / 33.3 in the reference list)
    assert value(wh, "WRK-01", "HEERLEN-NOORD", 2018) == pytest.approx(3310 / 53385 * 1000) and \
        round(value(wh, "WRK-01", "HEERLEN-NOORD", 2018), 1) == 62.0
    assert round(value(wh, "WRK-01", "HEERLEN-ZUID", 2018), 1) == 39.9
    assert round(value(wh, "WRK-01", "HEERLEN-ZUID", 2018, "programme_values", "AND definition = 'molenberg'"), 1) == 33.3
    assert wh.execute("SELECT numerator FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                      "AND area_code = 'GM0917' AND year = 2018").fetchone()[0] == 4640
    assert value(wh, "HLT-01", "NL00", 2020) == 78.4                    # RIVM 50090NED (NL01)
    assert value(wh, "HLT-01", "GM0917", 2020) == 67.4
    assert value(wh, "HLT-01", "WK091721", 2020) == 59.9
    assert value(wh, "HLT-02", "GM0917", 2020) == 57.8
    assert value(wh, "SAF-01", "GM0917", 2024) == pytest.approx(6057 / 87461 * 1000)


def test_programme_areas_sum_counts_and_never_subtract(wh):
    noord, zuid, gm = (wh.execute("SELECT numerator, denominator FROM marts.indicator_values WHERE indicator_id = "
                                  "'WRK-01' AND year = 2018 AND area_code = ?", [a]).fetchone()
                       for a in ("HEERLEN-NOORD", "HEERLEN-ZUID", "GM0917"))
    # wijk counts are rounded by CBS, so Noord + Zuid is close to, not equal to, the published gemeente row
    assert abs(noord[0] + zuid[0] - gm[0]) <= 23 * 5 and abs(noord[1] + zuid[1] - gm[1]) <= 23 * 5
    direct = wh.execute("""SELECT sum(numerator), sum(denominator) FROM marts.indicator_values v
        JOIN marts.areas a ON a.area_code = v.area_code AND a.definition = 'spoorlijn'
        WHERE indicator_id = 'WRK-01' AND year = 2018 AND a.parent_code = 'HEERLEN-NOORD'""").fetchone()
    assert direct == noord


def test_every_programme_value_records_coverage(wh):
    bad = wh.execute("SELECT count(*) FROM marts.programme_values WHERE coverage IS NULL OR coverage < 0 "
                     "OR coverage > 1").fetchone()[0]
    assert bad == 0
    # 2019 income is unreleased everywhere -> missing with coverage 0; De Hei's suppressed wijk lowers coverage
    row = wh.execute("SELECT status, coverage FROM marts.indicator_values WHERE indicator_id = 'WRK-06' "
                     "AND area_code = 'HEERLEN-NOORD' AND year = 2019").fetchone()
    assert row == ("missing", 0.0)
    cov = wh.execute("SELECT coverage FROM marts.indicator_values WHERE indicator_id = 'WRK-06' "
                     "AND area_code = 'HEERLEN-NOORD' AND year = 2018").fetchone()[0]
    assert 0.8 < cov < 1.0


def test_suppressed_cells_stay_suppressed(wh):
    rows = wh.execute("SELECT indicator_id, value, status FROM marts.indicator_values WHERE area_code = 'WK091723' "
                      "AND year = 2018 AND indicator_id IN ('WRK-06', 'WRK-03', 'WRK-08')").fetchall()
    assert len(rows) == 3 and all(v is None and s == "suppressed" for _, v, s in rows)
    # a rate over fewer than 100 inhabitants is not published either (De Hei has 55)
    assert wh.execute("SELECT value, status FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                      "AND area_code = 'WK091723' AND year = 2018").fetchone() == (None, "suppressed")
    assert wh.execute("SELECT count(*) FROM marts.indicator_values WHERE status <> 'ok' AND value IS NOT NULL"
                      ).fetchone()[0] == 0


def test_indicator_catalogue_covers_the_themes(wh):
    themes = dict(wh.execute("SELECT theme, count(*) FROM marts.indicators GROUP BY 1").fetchall())
    assert set(themes) == set(catalog.THEMES)
    assert sum(themes.values()) >= 20
    assert wh.execute("SELECT count(*) FROM marts.indicators WHERE source NOT LIKE 'Bron:%'").fetchone()[0] == 0


def test_gaps_orientation_and_counts(wh):
    # higher is better (good health): Noord below NL must also index above 100 (tests/integration/test_verdicts.py has the rest)
    assert wh.execute("SELECT index_noord_nl FROM marts.gaps WHERE indicator_id = 'HLT-01' AND year = 2020"
                      ).fetchone()[0] > 100
    # counts get no gap
    assert wh.execute("SELECT count(*) FROM marts.gaps WHERE indicator_id = 'DEM-02' AND gap_noord_nl IS NOT NULL"
                      ).fetchone()[0] == 0


def test_build_info_sources_and_checks(wh):
    definition, mode, versions = wh.execute("SELECT area_definition, source_mode, source_versions FROM marts.build_info"
                                            ).fetchone()
    assert (definition, mode) == ("spoorlijn", "snapshot")
    assert json.loads(versions).keys() == catalog.load_sources().keys()
    assert wh.execute("SELECT year FROM marts.series_breaks WHERE indicator_id = 'WRK-03'").fetchall() == [(2024,)]
    # Interval bounds arrive with live RIVM tables only; the table is there (empty) in a snapshot build.
    cols = {r[0] for r in wh.execute("DESCRIBE marts.estimate_intervals").fetchall()}
    assert {"area_code", "year", "measure", "bound", "bound_title", "value"} <= cols
    assert wh.execute("SELECT count(*) FROM marts.sources WHERE attribution LIKE 'Bron:%' AND length(sha256) = 64"
                      ).fetchone()[0] == 16
    # When each bundled file left its publisher, from its provenance (sources.yaml), not the checkout time.
    fetched = dict(wh.execute("SELECT source_file, fetched_at || ' | ' || fetched_basis FROM marts.sources").fetchall())
    assert fetched["kwb/kwb_2019_NL00.csv"].startswith("2025-06-05T11:26:13+02:00 | the StatLine export's own name, "
                                                      "Kerncijfers_wijken_en_buurten_2019_05062025_112613")
    assert fetched["rivm/rivm_gezondheid_2020_18plus_nl_gm_wk_heerlenbu.csv"].startswith("2022-05-06 | the creation")
    assert not any("modification time" in v for v in fetched.values())
    assert wh.execute("SELECT DISTINCT table_id FROM marts.sources WHERE source_id = 'politie_gemeente'"
                      ).fetchall() == [("47013NED",)]
    assert wh.execute("SELECT bool_and(passed), count(*) > 10 FROM marts.check_results").fetchone() == (True, True)


def test_published_file_opens_read_only_and_is_not_the_build_db(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    schemas = {r[0] for r in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert schemas == {"marts"}


def test_every_published_column_has_a_type_even_when_its_table_is_empty(wh):
    # estimate_intervals and rejected_rows are empty in a bundled build; their columns were NULL-typed
    assert wh.execute("SELECT table_name || '.' || column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                      "AND data_type ILIKE '%NULL%'").fetchall() == []


def test_every_published_table_and_column_is_described(wh):
    missing = wh.execute("SELECT table_name || '.' || column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                         "AND coalesce(comment, '') = ''").fetchall()
    assert missing == []
    assert wh.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND coalesce(comment, '') = ''"
                      ).fetchall()[0][0] == 0


def test_every_published_table_is_also_parquet(warehouse, wh):
    tables = [r[0] for r in wh.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
    for t in tables:
        path = warehouse.parent / "parquet" / f"{t}.parquet"
        rows = duckdb.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
        assert rows == wh.execute(f"SELECT count(*) FROM marts.{t}").fetchall()[0][0], t
    noord = duckdb.execute(f"SELECT value FROM read_parquet('{warehouse.parent / 'parquet' / 'indicator_values.parquet'}') "
                           "WHERE indicator_id = 'WRK-01' AND area_code = 'HEERLEN-NOORD' AND year = 2018").fetchall()
    assert noord == [(pytest.approx(3310 / 53385 * 1000, abs=1e-12),)]
    assert not list((warehouse.parent / "parquet").glob(".*.tmp"))


def test_values_lie_in_published_order_in_the_file_and_its_parquet_twin(warehouse, wh):
    """Read without ORDER BY, the values come in the order the marts promise (indicator, area, year; programme values
    by definition first), in the warehouse and in its Parquet twin. The theme tables are written in that order and
    publish copies them without sorting again: a write that lost it would show here."""
    def keys(con, relation: str, columns: str) -> list[tuple]:
        con.execute("SET threads = 1")  # a plain scan, in stored order
        return con.execute(f"SELECT {columns} FROM {relation}").fetchall()

    parquet = warehouse.parent / "parquet"
    for table, columns in (("indicator_values", "indicator_id, area_code, year"),
                           ("programme_values", "definition, indicator_id, area_code, year")):
        with duckdb.connect() as twin:
            for rows in (keys(wh, f"marts.{table}", columns),
                         keys(twin, f"read_parquet('{parquet / f'{table}.parquet'}')", columns)):
                assert len(rows) > 400 and rows == sorted(rows), table  # keys are unique: one order only
                assert len(set(rows)) == len(rows), table
