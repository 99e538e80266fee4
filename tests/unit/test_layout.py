"""The build database's layout: one table per kind, a partition replaced by delete-then-insert (made-up rows)."""

import duckdb
import pandas as pd

from heerlen_pipeline.store.layout import (
    LAYOUT_VERSION,
    PER_SOURCE,
    ensure_layout,
    forget_retired_sources,
    replace_part,
    widen_raw_rows,
)


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


def test_raw_rows_widen_and_an_older_layout_is_rebuilt(tmp_path):
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
        widen_raw_rows(con, 3)
        widen_raw_rows(con, 2)  # never narrower
        columns = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' "
                                             "AND table_name = 'rows' ORDER BY column_index").fetchall()]
        assert columns == ["source_id", "table_id", "source_file", "_row", "c0", "part", "c1", "c2"]
