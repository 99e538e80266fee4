"""The whole graph started with the Dagster CLI (`dagster asset materialize`, as its own process). `heerlen run`
set up by a .env file is tested in test_analyst_access.py, on the refresh an analyst reads during."""

from __future__ import annotations

import duckdb
import pytest

from ..runs import cli


@pytest.mark.slow
def test_dagster_cli_materializes_the_same_graph(tmp_path):
    cli("dagster", "asset", "materialize", "-m", "heerlen_pipeline.definitions", "--select", "*",
        "--partition-range", "2016...2025", cwd=tmp_path,
        env={"HEERLEN_WAREHOUSE": tmp_path / "w.duckdb", "HEERLEN_BUILD_DIR": tmp_path / "b", "DAGSTER_HOME": None})
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT value FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                       "AND area_code = 'HEERLEN-NOORD' AND year = 2018").fetchone()[0] == pytest.approx(3310 / 53385 * 1000)
