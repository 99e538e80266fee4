"""`heerlen query` reads the published warehouse in three formats and refuses to write it."""

from __future__ import annotations

import csv
import io
import json

import pytest

from heerlen_pipeline.cli import main

TREND = ("SELECT year, noord, zuid, nederland FROM marts.gaps WHERE indicator_id = 'WRK-01' AND year = 2018")


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_prints_warehouse_values(warehouse, capsys, fmt):
    assert main(["query", "--warehouse", str(warehouse), "--format", fmt, TREND]) == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        assert list(csv.DictReader(io.StringIO(out))) == [{"year": "2018", "noord": "62.0", "zuid": "39.9",
                                                           "nederland": ""}]
    elif fmt == "json":
        (row,) = json.loads(out)
        assert (row["year"], row["noord"], row["zuid"]) == (2018, 62.0, 39.9)
    else:
        assert "62.0" in out and "39.9" in out


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
