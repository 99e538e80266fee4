"""Analysts are never locked out: a read-only connection held open in another process during a full
refresh keeps reading one consistent (old) state, the refresh does not wait for it, and a new connection
sees the new build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import duckdb

from .conftest import run_pipeline

READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
q = "SELECT (SELECT run_id FROM marts.build_info), (SELECT count(*) FROM marts.indicator_values)"
print(*con.execute(q).fetchall()[0], flush=True)
sys.stdin.readline()
print(*con.execute(q).fetchall()[0], flush=True)
"""


def test_full_refresh_while_an_analyst_reads(warehouse, tmp_path):
    published = tmp_path / "warehouse" / "heerlen.duckdb"
    published.parent.mkdir()
    shutil.copy(warehouse, published)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    old_run, old_rows = reader.stdout.readline().split()
    started = time.perf_counter()
    assert run_pipeline(tmp_path, force=True) == 0  # publishes over the file the reader holds open
    refresh = time.perf_counter() - started
    out, _ = reader.communicate("again\n", timeout=60)
    assert out.split() == [old_run, old_rows]  # the open connection still sees the build it opened
    with duckdb.connect(str(published), read_only=True) as con:
        new_run = con.execute("SELECT run_id FROM marts.build_info").fetchall()[0][0]
    assert new_run != old_run and refresh < 180
