"""Analysts are never locked out: a read-only connection held open in another process during a full
refresh keeps reading one consistent (old) state, the refresh does not wait for it, and a new connection
sees the new build. The refresh is set up by a .env file, as `dagster dev` reads one. The oldest DuckDB client the
README promises reads every published table."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR

from ..runs import cli

READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
q = "SELECT (SELECT run_id FROM marts.build_info), (SELECT count(*) FROM marts.indicator_values)"
print(*con.execute(q).fetchall()[0], flush=True)
sys.stdin.readline()
print(*con.execute(q).fetchall()[0], flush=True)
"""


@pytest.mark.slow
def test_a_refresh_set_up_by_dotenv_publishes_while_an_analyst_reads(warehouse, tmp_path, monkeypatch):
    """A .env in the working directory sets the warehouse and DAGSTER_HOME for `heerlen run` as for `dagster dev`:
    the file lands there and the run is in the history the UI shows; its values win over the environment's and are
    gone again after the command. The warehouse there is a published one an analyst holds open (read-only, in
    another process) during the full refresh: the open connection keeps its build, the refresh does not wait for
    it, a new connection sees the new build."""
    home, published = tmp_path / "dagster_home", tmp_path / "from_env" / "heerlen.duckdb"
    home.mkdir()
    published.parent.mkdir()
    shutil.copy(warehouse, published)
    (tmp_path / ".env").write_text(f"HEERLEN_WAREHOUSE={published}\nDAGSTER_HOME={home}\n", encoding="utf-8")
    monkeypatch.setenv("HEERLEN_WAREHOUSE", str(tmp_path / "not_this.duckdb"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    old_run, old_rows = reader.stdout.readline().split()
    started = time.perf_counter()
    # In this process (the environment it leaves behind is checked below); publishes over the file the reader holds.
    run = cli("heerlen", "run", "--force", "--snapshot-dir", str(BUNDLED_SNAPSHOT_DIR), "--area-definition", "spoorlijn")
    refresh = time.perf_counter() - started
    out, _ = reader.communicate("again\n", timeout=60)
    assert out.split() == [old_run, old_rows]  # the open connection still sees the build it opened
    assert f"heerlen: loaded HEERLEN_WAREHOUSE, DAGSTER_HOME from {tmp_path / '.env'}" in run.stderr
    assert not (tmp_path / "not_this.duckdb").exists()
    with duckdb.connect(str(published), read_only=True) as con:
        new_run = con.execute("SELECT run_id FROM marts.build_info").fetchall()[0][0]
    assert new_run != old_run and refresh < 180
    with dg.DagsterInstance.from_config(str(home)) as instance:
        recorded = instance.get_run_by_id(new_run)
        assert recorded is not None and recorded.status == dg.DagsterRunStatus.SUCCESS
        assert recorded.job_name == "refresh_all"
    assert os.environ["HEERLEN_WAREHOUSE"] == str(tmp_path / "not_this.duckdb")  # restored after the command


def test_the_oldest_promised_duckdb_client_reads_every_table(warehouse):
    """The README promises DuckDB 1.4 or newer. The dev extra installs the 1.4 CLI (duckdb-cli, a separate binary
    from the Python package the pipeline writes with), and that client must read every published table."""
    cli = shutil.which("duckdb", path=str(Path(sys.executable).parent))
    assert cli, "the dev extra installs the DuckDB CLI (duckdb-cli) next to this Python"
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert version.startswith("v1.4."), version  # the oldest line the README promises, not whatever is newest
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
        expected = {t: con.execute(f"SELECT count(*) FROM marts.{t}").fetchone()[0] for t in tables}
        built_at = con.execute("SELECT strftime(built_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') "
                               "FROM marts.build_info").fetchone()[0]
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM marts.{t}" for t in tables)
    sql += " UNION ALL SELECT strftime(built_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S'), 0 FROM marts.build_info"
    out = subprocess.run([cli, "-readonly", "-csv", "-noheader", str(warehouse), "-c", sql],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [line.rsplit(",", 1) for line in out.stdout.splitlines()[:-1]]
    assert {t: int(n) for t, n in rows} == expected and len(expected) >= 13
    assert out.stdout.strip().splitlines()[-1] == f"{built_at},0"  # the time-zone timestamp, read without pytz
