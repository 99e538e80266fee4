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
