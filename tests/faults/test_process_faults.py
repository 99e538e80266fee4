"""Process faults (issue 7), on copies of the session's live build (tests/live_build.py), offline (--replay): kill -9
in staging and in publish (tests/kill_points.py stops the real CLI there), a run refused and one waiting on the run
lock, a damaged build database moved aside and rebuilt, a rebuild whose marts equal the first build's
(idempotency), Ctrl-C and SIGTERM; and a Dagster run started outside the CLI meeting the run lock.

A file of its own, apart from test_fault_matrix.py (which reads the same live build): --dist loadfile runs the two on
different xdist workers at the same time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from heerlen_pipeline.store.build_db import set_aside_if_damaged

from ..live_build import OFFLINE, Build, assert_no_duplicate_keys, build_info, heerlen, mart_hashes, parquet_hashes, run_env
from ..runs import materialize


def _state(build: Build) -> dict:
    """What a reader sees: the warehouse's build and marts, and its Parquet twin's build and tables."""
    info = build_info(build.warehouse)
    with duckdb.connect() as con:
        twin_run = con.execute(f"SELECT run_id FROM read_parquet('{build.parquet / 'build_info.parquet'}')").fetchone()[0]
    return {"run_id": info["run_id"], "definition": info["area_definition"], "marts": mart_hashes(build.warehouse),
            "twin": parquet_hashes(build.parquet), "twin_run_id": twin_run}


def _set_aside(db) -> list:
    """The damaged build databases moved aside next to `db` (each with its WAL, when it had one)."""
    return [p for p in db.parent.glob(f"{db.name}.damaged-*") if p.suffix != ".wal"]


@pytest.mark.slow
def test_kill_9_in_staging_and_in_publish_a_damaged_build_database_and_two_runs_at_once(live_build, assets_dir,
                                                                                        tmp_path):
    """Runs rebuild from the landing (--replay: no network), on a copy of the live build (S0). Between the kill in
    staging and the one in publish the private build database is overwritten: the run stopped in publish first moves
    it aside with a one-line message and rebuilds it (here from the landing), where before every step waited out
    dagster-duckdb's ~100 s connection backoff; the last run, on top of the database so rebuilt, gives S0's marts."""
    build = live_build.build.copy(tmp_path / "build")
    env = run_env(build, OFFLINE, assets_dir)
    s0 = _state(build)
    assert s0["twin"] == s0["marts"] and s0["twin_run_id"] == s0["run_id"]
    published = build.warehouse.read_bytes()
    molenberg = ("--replay", "--force", "--area-definition", "molenberg")  # S1: other values than S0

    # 1. kill -9 while staging: the published warehouse and its twin are untouched.
    run = heerlen(env, *molenberg, at="staging", marker=tmp_path / "staging", background=tmp_path / "k1")
    run.wait_for(tmp_path / "staging")
    run.kill9()
    assert build.warehouse.read_bytes() == published and _state(build) == s0

    # 2. The build database overwritten. A run stopped in publish, after the new file was renamed in and before its
    # Parquet twin is re-pointed (the one moment the two differ): it set the damaged database aside and rebuilt it
    # from the landing on the way, within 120 s. Meanwhile another run, with a 1 s lock timeout, refuses with exit 75
    # and says why. Then kill -9: each of file and twin is still one complete build (S1, S0).
    db = build.root / "build" / "build.duckdb"
    db.write_bytes(b"\x00not a database" * 4096)
    started = time.monotonic()
    run = heerlen(env, *molenberg, at="publish_swap", marker=tmp_path / "publish", background=tmp_path / "k2")
    run.wait_for(tmp_path / "publish")
    assert time.monotonic() - started < 120
    said = run.err.read_text()
    assert "could not be opened (IO Error" in said and "moved it aside to build.duckdb.damaged-" in said, said[-3000:]
    assert len(_set_aside(db)) == 1
    refused = heerlen({**env, "HEERLEN_LOCK_TIMEOUT": "1"}, "--replay")
    assert refused.returncode == 75, refused.stderr[-2000:]
    assert f"another heerlen run holds {build.root / 'build' / 'run.lock'} (pid {run.proc.pid}" in refused.stderr
    assert "after 1s; nothing was changed" in refused.stderr
    run.kill9()
    s1 = _state(build)
    assert s1["definition"] == "molenberg" and s1["run_id"] != s0["run_id"] and set(s1["marts"]) >= set(s0["marts"])
    assert s1["marts"]["indicator_values"] != s0["marts"]["indicator_values"]  # a different build indeed
    assert s1["twin"] == s0["twin"] and s1["twin_run_id"] == s0["run_id"]

    # 3. The next run brings the twin in line, then rebuilds S0's inputs (it stops at staging for a moment to
    # signal it holds the lock). A third run started meanwhile waits for it, then finds nothing changed.
    run = heerlen(env, "--replay", at="staging", marker=tmp_path / "again", pause=0, background=tmp_path / "r3")
    run.wait_for(tmp_path / "again")
    waiter = heerlen(env, "--replay", background=tmp_path / "waiter")
    done, waited = run.finish(), waiter.finish()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "was a build behind it; re-exported" in done.stderr and "heerlen run OK" in done.stdout
    assert re.search(r"\n\d\d:\d\d:\d\d  (\d+) of \1  OK +report/index +\d+\.\d\ds\n", done.stderr)  # a line per step
    assert "could not be opened" not in done.stderr and len(_set_aside(db)) == 1  # the rebuilt one is sound
    assert waited.returncode == 0, waited.stderr[-3000:]
    assert "another heerlen run holds" in waited.stderr and "waiting up to 3600s" in waited.stderr
    assert "nothing changed upstream" in waited.stdout
    # Idempotency: rebuilt from the same inputs as the live build, the marts are the same, table for table
    # (sorted rows hashed; VOLATILE columns aside). The twin is in line with the file.
    final = _state(build)
    assert final["marts"] == live_build.hashes and final["twin"] == final["marts"]
    assert final["definition"] == "spoorlijn" and final["twin_run_id"] == final["run_id"] != s0["run_id"]
    assert_no_duplicate_keys(build.warehouse)
    # Killed publishes leave nothing behind once a publish has run again: the set in use and the one before.
    assert not list(build.warehouse.parent.glob(".*.tmp")) and len(list(build.warehouse.parent.glob(".parquet-*"))) == 2


@pytest.mark.slow
def test_ctrl_c_and_sigterm_end_the_run_at_once_and_free_the_lock(live_build, assets_dir, tmp_path):
    """SIGINT (a person at a terminal) in a raw step and SIGTERM (a scheduler, systemd, `timeout`) in staging: each
    run ends within seconds with exit 130, publishes nothing and frees the run lock. Before, the raw steps'
    RetryPolicy retried the interrupt and the run published anyway. (The damaged build database a killed run may
    leave is rebuilt in the kill -9 sequence above.)"""
    build = live_build.build.copy(tmp_path / "build")
    env = run_env(build, OFFLINE, assets_dir)
    published = build.warehouse.read_bytes()
    log = build.warehouse.parent / "alerts.jsonl"
    logged_before = len(log.read_text().splitlines()) if log.exists() else 0
    for sig, point in ((signal.SIGINT, "raw"), (signal.SIGTERM, "staging")):
        run = heerlen(env, "--replay", "--force", at=point, marker=tmp_path / point, background=tmp_path / point)
        run.wait_for(tmp_path / point)
        sent = time.monotonic()
        os.kill(run.proc.pid, sig)
        done = run.finish(60)
        assert time.monotonic() - sent < 10, sig
        assert done.returncode == 130 and "heerlen run INTERRUPTED" in done.stderr, done.stderr[-3000:]
        assert build.warehouse.read_bytes() == published
    alerts = [json.loads(line) for line in log.read_text().splitlines()[logged_before:]]
    assert ["interrupted (Ctrl-C or SIGTERM); nothing was published" in a["summary"] for a in alerts] == [True, True]

    # The lock is free again: a run that would give up after 1 s of waiting for it gets it at once, and finds the
    # published build current (the interrupted runs left the build database sound and published nothing).
    again = heerlen({**env, "HEERLEN_LOCK_TIMEOUT": "1"}, "--replay")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "nothing changed upstream" in again.stdout
    assert build.warehouse.read_bytes() == published


@pytest.mark.parametrize("damage", ["overwritten", "truncated", "empty"])
def test_what_counts_as_a_damaged_build_database(tmp_path, damage):
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS n FROM range(200000)")
    assert set_aside_if_damaged(db) is None  # a good one stays
    data = db.read_bytes()
    db.write_bytes({"overwritten": b"garbage" * 1000, "truncated": data[: len(data) // 3], "empty": b""}[damage])
    message = set_aside_if_damaged(db)
    assert message and "moved it aside" in message and not db.exists()
    assert len(list(tmp_path.glob("build.duckdb.damaged-*"))) == 1
    with duckdb.connect(str(tmp_path / "held.duckdb")) as held:  # held by another connection: not damage
        held.execute("SELECT 1")
        assert set_aside_if_damaged(tmp_path / "held.duckdb") is None


def test_a_dagster_run_started_outside_the_cli_takes_the_same_run_lock(tmp_path, monkeypatch):
    """A run from the UI, schedule or sensor waits for (here: gives up on) a `heerlen run` holding the lock."""
    import dagster as dg

    from heerlen_pipeline.settings import Settings

    settings = Settings.from_env(warehouse=tmp_path / "w.duckdb", build_dir=tmp_path / "build")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from heerlen_pipeline.store.lock import hold; p = Path(sys.argv[1])\n"
                               "with hold(p):\n    print('held', flush=True); time.sleep(30)",
                               str(settings.build_dir / "run.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("HEERLEN_LOCK_TIMEOUT", "0.5")
        with pytest.raises(dg.DagsterResourceFunctionError) as failed:
            materialize(settings, "staging/areas", raise_on_error=True)
        assert re.search(r"another run still holds .*run\.lock \(pid \d+ since", str(failed.value.__cause__))
    finally:
        holder.kill()
        holder.wait()
    assert materialize(settings, "staging/areas", raise_on_error=True).success  # free again
