"""The oldest DuckDB client the README promises reads every published table.

That analysts are never locked out (a read-only connection held open in another process during a full refresh keeps
reading one consistent, old state, the refresh does not wait for it, and a new connection sees the new build; the
refresh set up by a .env file, as `dagster dev` reads one) is tested on the end-to-end refreshes of
tests/faults/test_bad_input.py: the same runs, one run less."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb


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
