"""The build database's layout: one table per kind, a partition replaced by delete-then-insert (made-up rows; one
test lands a bundled source), and statements side by side."""

import time

import duckdb
import pandas as pd
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import Settings
from heerlen_pipeline.sources.headers import MeasureMatcher
from heerlen_pipeline.sources.land import land_source
from heerlen_pipeline.store.layout import (
    LAYOUT_VERSION,
    PER_SOURCE,
    ensure_layout,
    forget_retired_sources,
    replace_part,
)
from heerlen_pipeline.store.tables import side_by_side
from heerlen_pipeline.transform.areas import NameResolver
from heerlen_pipeline.transform.stage import raw_rows, stage_part


def _obs(area: str, year: int, value: float) -> dict:
    return {"area_code": area, "year": year, "measure": "inhabitants", "value": value, "unit": "aantal",
            "status": "ok", "symbol": None, "table_id": "T", "source_file": f"kwb_{year}.csv", "row_nr": 1}


def _rows(con) -> list[tuple]:
    return con.execute("SELECT source_id, part, area_code, year, value FROM staging.observations ORDER BY ALL").fetchall()


def test_a_partition_replaces_only_its_own_rows():
    con = duckdb.connect()
    ensure_layout(con)
    replace_part(con, "staging.observations", "kwb", "2017", pd.DataFrame([_obs("GM0917", 2017, 87_000.0)]))
    replace_part(con, "staging.observations", "kwb", "2018", pd.DataFrame([_obs("GM0917", 2018, 86_762.0)]))
    replace_part(con, "staging.observations", "rivm", None, pd.DataFrame([_obs("GM0917", 2020, 1.0)]))
    # 2018 again, now with two rows: 2017 and the other source keep theirs.
    replace_part(con, "staging.observations", "kwb", "2018",
                 pd.DataFrame([_obs("GM0917", 2018, 86_763.0), _obs("WK091700", 2018, 5_000.0)]))
    assert _rows(con) == [("kwb", "2017", "GM0917", 2017, 87_000.0), ("kwb", "2018", "GM0917", 2018, 86_763.0),
                          ("kwb", "2018", "WK091700", 2018, 5_000.0), ("rivm", "", "GM0917", 2020, 1.0)]
    # An empty frame writes nothing but still clears the partition; a whole-source load replaces every year.
    replace_part(con, "staging.observations", "kwb", "2017", pd.DataFrame(columns=["area_code"]))
    replace_part(con, "staging.observations", "kwb", None, pd.DataFrame([_obs("GM0917", 2024, 87_461.0)]))
    assert _rows(con) == [("kwb", "", "GM0917", 2024, 87_461.0), ("rivm", "", "GM0917", 2020, 1.0)]
    forget_retired_sources(con, ["kwb"])
    assert _rows(con) == [("kwb", "", "GM0917", 2024, 87_461.0)]


def test_an_older_layout_is_rebuilt_with_a_line_as_a_list_of_fields(tmp_path):
    path = str(tmp_path / "build.duckdb")
    with duckdb.connect(path) as con:  # the layout of before: a table per source and year, a view over them
        con.execute("CREATE SCHEMA staging")
        con.execute("CREATE TABLE staging.obs__kwb__y2018 AS SELECT 1 AS x")
        con.execute("CREATE VIEW staging.obs__kwb AS SELECT * FROM staging.obs__kwb__y2018")
    with duckdb.connect(path) as con:
        ensure_layout(con)
        tables = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                                      "WHERE schema_name IN ('raw', 'staging')").fetchall()}
        assert tables == set(PER_SOURCE) | {"raw.files", "raw.source_versions"}
        assert con.execute("SELECT version FROM audit.layout").fetchall() == [(LAYOUT_VERSION,)]
        columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'raw' "
                              "AND table_name = 'rows' ORDER BY column_index").fetchall()
        assert columns == [("source_id", "VARCHAR"), ("table_id", "VARCHAR"), ("source_file", "VARCHAR"),
                           ("_row", "BIGINT"), ("cells", "VARCHAR[]"), ("part", "VARCHAR")]  # a line's fields: a list


def test_side_by_side_runs_every_statement_and_stops_the_others_on_an_error(monkeypatch):
    monkeypatch.setattr("heerlen_pipeline.store.tables.cores", lambda: 2)  # two cursors whatever the machine
    con = duckdb.connect(config={"threads": 1})
    con.execute("ATTACH ':memory:' AS w")
    side_by_side(con, [f"CREATE TABLE w.t{k} AS SELECT {k} * 10 AS v" for k in range(5)])
    assert [con.execute(f"SELECT v FROM w.t{k}").fetchone()[0] for k in range(5)] == [0, 10, 20, 30, 40]
    # One fails at once while the other hashes three billion numbers: the error comes back, and the long one is
    # stopped instead of waited for (about a minute on one thread).
    started = time.monotonic()
    with pytest.raises(duckdb.Error, match="no_such_table"):
        side_by_side(con, ["CREATE TABLE w.slow AS SELECT sum(hash(a.range + b.range)) FROM range(100000000) a, range(30) b",
                           "SELECT * FROM no_such_table"])
    assert time.monotonic() - started < 10
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'slow'").fetchone()[0] == 0


def test_side_by_side_runs_functions_of_a_cursor_and_returns_their_results_in_order(monkeypatch):
    """A task may be a function of a cursor (a year of a source staged, a SQL check): each cursor has TEMP tables
    of its own, so five tasks may each fill one named `_obs` (as stage_source does) without meeting the others'."""
    monkeypatch.setattr("heerlen_pipeline.store.tables.cores", lambda: 2)
    con = duckdb.connect(config={"threads": 1})
    con.execute("CREATE TABLE kept (k INTEGER, n BIGINT)")

    def task(cur, k: int) -> int:
        cur.execute("CREATE OR REPLACE TEMP TABLE _obs AS SELECT range AS v FROM range(?)", [k * 1000])
        cur.execute("INSERT INTO kept SELECT ?, count(*) FROM _obs", [k])
        return cur.execute("SELECT sum(v) FROM _obs").fetchone()[0]

    results = side_by_side(con, [lambda cur, k=k: task(cur, k) for k in range(1, 6)])
    # sum(0 .. n-1) = n(n-1)/2 for n = 1000, ..., 5000: 499,500; 1,999,000; 4,498,500; 7,998,000; 12,497,500
    assert results == [499_500, 1_999_000, 4_498_500, 7_998_000, 12_497_500]
    assert con.execute("SELECT k, n FROM kept ORDER BY k").fetchall() == [(k, k * 1000) for k in range(1, 6)]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_obs'").fetchone()[0] == 0


def test_a_staging_run_of_its_own_reads_back_the_rows_landing_wrote(tmp_path):
    """raw.rows keeps a line's fields as a list; staging without landing first (a UI selection of staging/<id>)
    reads them back into the same frame the landing step hands over, and stages the same observations."""
    settings = Settings.from_env(warehouse=tmp_path / "w" / "heerlen.duckdb")
    source = catalog.load_sources()["politie_gemeente"]  # bundled: two StatLine exports of 2022-2024
    matcher, resolver = MeasureMatcher(list(catalog.load_measures())), NameResolver(catalog.load_cbs_names())
    scope = {a["area_code"] for a in catalog.scope_areas(settings.scope, focus_id=settings.focus_area)}
    con = duckdb.connect()
    ensure_layout(con)
    load = land_source(con, source, None, settings, lambda *_a: None, lambda _m: None)
    for f in load.files:
        back = raw_rows(con, source.id, f.file.path, f.rows.shape[1])
        assert back.values.tolist() == f.rows.values.tolist() and list(back.columns) == list(f.rows.columns)
    observations = []
    for landed in ({f.file.path: f.rows for f in load.files}, None):
        stage_part(con, source, None, False, scope, matcher, resolver, landed)
        observations.append(con.execute("SELECT * EXCLUDE (part) FROM staging.observations ORDER BY ALL").fetchall())
    assert observations[0] == observations[1] and len(observations[0]) > 0
