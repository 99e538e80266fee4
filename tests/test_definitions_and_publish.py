import hashlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from heerlen_pipeline.definitions import defs
from heerlen_pipeline.settings import Settings
from heerlen_pipeline.warehouse import publish, write_frame

from .conftest import run_pipeline

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_load_grouped_by_theme():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw/kwb", "staging/kwb", "staging/areas", "marts/gaps", "publish/warehouse"} <= keys
    groups = {graph.get(dg.AssetKey(["indicators", t])).group_name for t in
              ("leren", "werken", "gezondheid", "wonen", "veiligheid", "demografie")}
    assert groups == {"leren", "werken", "gezondheid", "wonen", "veiligheid", "demografie"}
    # The UI shows a theme as overdue 40 days after its last build (the live refresh is monthly).
    policy = graph.get(dg.AssetKey(["indicators", "werken"])).freshness_policy
    assert (policy.warn_window.to_timedelta().days, policy.fail_window.to_timedelta().days) == (40, 100)
    assert len(graph.asset_check_keys) >= 6 + 6  # a suite per source, a range check per theme


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT sum(x) FROM marts.t").fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute("SELECT sum(x) FROM marts.t").fetchone()[0], flush=True)
"""


def _sum_in_new_process(path: Path) -> int:
    code = ("import sys, duckdb; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(con.execute('SELECT sum(x) FROM marts.t').fetchone()[0])")
    return int(subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60).stdout)


def test_publish_swaps_atomically_and_open_readers_keep_their_snapshot(tmp_path):
    target = tmp_path / "w.duckdb"
    build = duckdb.connect(str(tmp_path / "build.duckdb"))
    write_frame(build, "marts.t", pd.DataFrame({"x": [1]}))
    publish(build, target)
    # An analyst's read-only connection, in another process, stays open across the next publish.
    reader = subprocess.Popen([sys.executable, "-c", READER, str(target)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "1"
    write_frame(build, "marts.t", pd.DataFrame({"x": [2, 3]}))
    publish(build, target)  # must neither wait for nor break the reader
    out, _ = reader.communicate("go\n", timeout=60)
    assert out.strip() == "1"                       # the open reader keeps its consistent old state
    assert _sum_in_new_process(target) == 5         # a new connection sees the new state
    assert not list(tmp_path.glob(".*.tmp"))


def test_failed_run_leaves_the_published_warehouse_byte_for_byte(tmp_path, snapshot_copy, warehouse):
    out = tmp_path / "warehouse" / "heerlen.duckdb"
    out.parent.mkdir(parents=True)
    out.write_bytes(warehouse.read_bytes())
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    # A duplicated wijk row: staging succeeds, the blocking GX uniqueness check must stop the run.
    path = snapshot_copy / "kwb" / "heerlen_kwb_2019.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    dup = next(i for i, line in enumerate(lines) if line.startswith("Wijk 21 "))
    lines.insert(dup + 1, lines[dup])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run_pipeline(tmp_path, snapshot=snapshot_copy) == 1
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before


def test_dagster_cli_materializes_the_same_graph(tmp_path):
    env = {**os.environ, "HEERLEN_WAREHOUSE": str(tmp_path / "w.duckdb"), "HEERLEN_BUILD_DIR": str(tmp_path / "b")}
    env.pop("DAGSTER_HOME", None)
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "asset", "materialize", "-m", "heerlen_pipeline.definitions",
                           "--select", "*", "--partition-range", "2016...2025"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT value FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                       "AND area_code = 'HEERLEN-NOORD' AND year = 2018").fetchone()[0] == pytest.approx(3310 / 53385 * 1000)


def test_directories_follow_a_warehouse_given_on_the_command_line(tmp_path, monkeypatch):
    # Two `heerlen run --warehouse` builds must not share one private build directory (and run lock) by accident.
    for var in ("HEERLEN_WAREHOUSE", "HEERLEN_BUILD_DIR", "HEERLEN_LANDING_DIR"):
        monkeypatch.delenv(var, raising=False)
    s = Settings.from_env(warehouse=tmp_path / "other" / "w.duckdb")
    assert (s.build_dir, s.landing_dir) == (tmp_path / "other" / ".build", tmp_path / "other" / "landing")
