"""The whole graph started as people start it: `dagster asset materialize` (the Dagster CLI, as its own process) and
`heerlen run` configured by a .env file."""

from __future__ import annotations

import os

import dagster as dg
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


@pytest.mark.slow
def test_heerlen_reads_dotenv_as_dagster_does(tmp_path, monkeypatch):
    """A .env in the working directory sets the warehouse and DAGSTER_HOME for `heerlen run` as for `dagster dev`:
    the file lands there and the run is in the history the UI shows. Its values win over the environment's."""
    home, published = tmp_path / "dagster_home", tmp_path / "from_env" / "heerlen.duckdb"
    home.mkdir()
    (tmp_path / ".env").write_text(f"HEERLEN_WAREHOUSE={published}\nDAGSTER_HOME={home}\n", encoding="utf-8")
    monkeypatch.setenv("HEERLEN_WAREHOUSE", str(tmp_path / "not_this.duckdb"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    run = cli("heerlen", "run")  # in this process: the environment it leaves behind is checked below
    assert f"heerlen: loaded HEERLEN_WAREHOUSE, DAGSTER_HOME from {tmp_path / '.env'}" in run.stderr
    assert published.is_file() and not (tmp_path / "not_this.duckdb").exists()
    with duckdb.connect(str(published), read_only=True) as con:
        run_id = con.execute("SELECT run_id FROM marts.build_info").fetchone()[0]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "refresh_all"
    assert os.environ["HEERLEN_WAREHOUSE"] == str(tmp_path / "not_this.duckdb")  # restored after the command
