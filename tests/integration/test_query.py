"""`heerlen query` reads the published warehouse in three formats and refuses to write it."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest

from heerlen_pipeline.cli import main

TREND = ("SELECT year, noord, zuid, nederland FROM marts.gaps WHERE indicator_id = 'WRK-01' AND year = 2018")


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_prints_warehouse_values(warehouse, capsys, fmt):
    assert main(["query", "--warehouse", str(warehouse), "--format", fmt, TREND]) == 0
    out = capsys.readouterr().out
    # WRK-01 2018 (KWB 2018): Noord 3,310 bijstand recipients / 53,385 inhabitants, Zuid 1,330 / 33,330, per 1,000.
    noord, zuid = 3310 / 53385 * 1000, 1330 / 33330 * 1000  # 62.0024..., 39.9039...
    if fmt == "csv":  # machine formats keep full precision
        (row,) = list(csv.DictReader(io.StringIO(out)))
        assert (row["year"], float(row["noord"]), float(row["zuid"]), row["nederland"]) == (
            "2018", pytest.approx(noord, abs=1e-12), pytest.approx(zuid, abs=1e-12), "")
    elif fmt == "json":
        (row,) = json.loads(out)
        assert (row["year"], row["noord"], row["zuid"]) == (2018, pytest.approx(noord, abs=1e-9), pytest.approx(zuid, abs=1e-9))
    else:  # the table is for reading: rounded to 3 decimals
        assert "62.002" in out and "39.904" in out and "62.0024" not in out


@pytest.mark.parametrize("sql", [
    "DELETE FROM marts.gaps",
    "CREATE TABLE marts.x AS SELECT 1",
    "SELECT 1; DROP TABLE marts.gaps",
    "COPY marts.gaps TO '/tmp/gaps.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
])
def test_writes_are_refused_and_nothing_changes(warehouse, capsys, sql):
    before = warehouse.read_bytes()
    assert main(["query", "--warehouse", str(warehouse), sql]) == 2
    assert "refused" in capsys.readouterr().err
    assert warehouse.read_bytes() == before


# ---------------------------------------------------------------- DuckDB enforces read-only, not a list

@pytest.mark.parametrize("sql", [
    "EXPLAIN ANALYZE COPY (SELECT 42 AS v) TO '{out}'",          # EXPLAIN ANALYZE runs what it explains
    "SELECT 1; EXPLAIN ANALYZE COPY (SELECT 42 AS v) TO '{out}'",
    "EXPLAIN (ANALYZE, FORMAT JSON) COPY (SELECT 42 AS v) TO '{out}'",
    "EXPLAIN ANALYZE INSTALL httpfs",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA enable_external_access",
])
def test_statements_that_reach_outside_are_refused_before_they_run(warehouse, capsys, tmp_path, sql):
    out = tmp_path / "x.csv"
    assert main(["query", "--warehouse", str(warehouse), sql.format(out=out)]) == 2
    assert "refused" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('{url}/x.csv')",                      # the network
    "SELECT * FROM read_csv('/etc/passwd')",                       # any file but the warehouse
    "SELECT * FROM read_parquet('{parquet}')",
])
def test_duckdb_itself_refuses_files_and_the_network(warehouse, capsys, sql):
    from ..odata_mirror import Recorder

    with Recorder() as server:
        query = sql.format(url=server.url, parquet=warehouse.parent / "parquet" / "gaps.parquet")
        assert main(["query", "--warehouse", str(warehouse), query]) == 1
        assert server.log == []  # not a single request left the process
    assert "disabled by configuration" in capsys.readouterr().err


def test_a_long_query_is_stopped_at_the_timeout(warehouse, capsys, monkeypatch):
    monkeypatch.setenv("HEERLEN_QUERY_TIMEOUT", "1")
    started = time.monotonic()
    assert main(["query", "--warehouse", str(warehouse),
                 "SELECT count(*) FROM range(100000) a, range(100000) b"]) == 1   # 10^10 rows
    assert time.monotonic() - started < 5
    assert "ran longer than 1s and was stopped (HEERLEN_QUERY_TIMEOUT)" in capsys.readouterr().err


def test_memory_is_capped(warehouse, capsys, monkeypatch):
    monkeypatch.setenv("HEERLEN_QUERY_MEMORY_LIMIT", "64MB")
    assert main(["query", "--warehouse", str(warehouse), "SELECT list(i) FROM range(50000000) t(i)"]) == 1
    assert "Out of Memory" in capsys.readouterr().err


def test_a_huge_result_streams_and_the_table_shows_its_first_rows(warehouse, capsys):
    # 200 million rows: no numpy traceback, no memory blow-up; the table shows the first 1,000
    assert main(["query", "--warehouse", str(warehouse), "SELECT * FROM range(200000000) t(n)"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].strip() == "n" and lines[1].strip() == "0" and lines[-1].strip() == "999" and len(lines) == 1001
    assert "the first 1000 rows are shown; use --format csv or json for all of them" in captured.err


def test_null_prints_one_way_and_every_statement_shows_its_result(warehouse, capsys):
    sql = ("SELECT NULL::VARCHAR AS s, NULL::INTEGER AS i, NULL::DOUBLE AS d, NULL::BOOLEAN AS b, NULL::DATE AS t; "
           "SELECT 2 AS second")
    assert main(["query", "--warehouse", str(warehouse), sql]) == 0
    out = capsys.readouterr().out.split("\n\n")
    assert out[0].splitlines()[1].split() == ["NULL"] * 5   # not NULL, <NA> and None side by side
    assert out[1].split() == ["second", "2"]                 # the first statement's result is not swallowed
