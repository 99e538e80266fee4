"""The definitions load; publish swaps the warehouse atomically and refuses what it must; a wrong setting stops
before any work. No pipeline run (tests/integration/test_national_scope.py starts the whole graph with the Dagster CLI)."""

import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.cli import main
from heerlen_pipeline.definitions import defs, make_definitions
from heerlen_pipeline.settings import Limits, Settings
from heerlen_pipeline.store.publish import PublishRefused, check_target, publish, sync_parquet
from heerlen_pipeline.store.tables import sql_literal, write_frame

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_load_grouped_by_theme():
    loaded = defs()  # what Dagster's tools load (@dg.definitions: built on demand, not at import)
    dg.Definitions.validate_loadable(loaded)
    graph = loaded.resolve_asset_graph()
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


def test_directories_follow_a_warehouse_given_on_the_command_line(tmp_path, monkeypatch):
    # Two `heerlen run --warehouse` builds must not share one private build directory (and run lock) by accident.
    for var in ("HEERLEN_WAREHOUSE", "HEERLEN_BUILD_DIR", "HEERLEN_LANDING_DIR"):
        monkeypatch.delenv(var, raising=False)
    s = Settings.from_env(warehouse=tmp_path / "other" / "w.duckdb")
    assert (s.build_dir, s.landing_dir) == (tmp_path / "other" / ".build", tmp_path / "other" / "landing")


@pytest.mark.parametrize("args, env, words", [
    (["--area-definition", "molenburg"], {}, ["unknown area definition 'molenburg'", "molenberg, spoorlijn"]),
    ([], {"HEERLEN_LOCK_TIMEOUT": "nan"}, ["HEERLEN_LOCK_TIMEOUT must be a number of seconds", "'nan'"]),
    ([], {"HEERLEN_LOCK_TIMEOUT": "abc"}, ["HEERLEN_LOCK_TIMEOUT must be a number of seconds", "'abc'"]),
    ([], {"HEERLEN_SCOPE": "world"}, ["scope must be one of heerlen, national", "'world'"]),
    (["--focus-area", "atlantis"], {}, ["unknown focus area 'atlantis'", "heerlen-noord, rotterdam-zuid"]),
    ([], {"HEERLEN_HTTP_RETRIES": "many"}, ["HEERLEN_HTTP_RETRIES must be a whole number", "'many'"]),
    ([], {"HEERLEN_SOURCE_BUDGET": "-1"}, ["HEERLEN_SOURCE_BUDGET must be a number of seconds above 0", "'-1'"]),
    ([], {"HEERLEN_BUILD_MEMORY_LIMIT": "lots"}, ["HEERLEN_BUILD_MEMORY_LIMIT must be an amount of memory", "'lots'"]),
    (["--focus-area", "rotterdam-zuid", "--area-definition", "spoorlijn"], {},
     ["unknown area definition 'spoorlijn' of focus area rotterdam-zuid", "choose one of gebieden"]),
])
def test_a_wrong_setting_fails_before_any_work_and_without_an_alert(tmp_path, monkeypatch, capsys, args, env, words):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    assert main(["run", "--warehouse", str(tmp_path / "w.duckdb"), *args]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert all(w in err for w in words) and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # no build directory, no alert log: nothing was started


def test_the_warehouse_path_must_hold_a_warehouse(tmp_path, capsys):
    document = tmp_path / "notes.duckdb"
    document.write_text("my notes", encoding="utf-8")
    assert main(["run", "--warehouse", str(document)]) == 2
    assert "is not a DuckDB warehouse" in capsys.readouterr().err and document.read_text() == "my notes"
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE budget AS SELECT 1 AS euro")
    with pytest.raises(PublishRefused, match="other schemas than marts"):
        check_target(other)


def test_publish_refuses_while_a_client_holds_the_warehouse_read_write(tmp_path):
    target = tmp_path / "w.duckdb"
    build = duckdb.connect(str(tmp_path / "build.duckdb"))
    write_frame(build, "marts.t", pd.DataFrame({"x": [1]}))
    publish(build, target)
    # An analyst opens it read-write (DuckDB's default) in another process and keeps it open.
    holder = subprocess.Popen([sys.executable, "-c", "import sys, duckdb; con = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); sys.stdin.read()", str(target)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        before = target.read_bytes()
        with pytest.raises(PublishRefused, match="open read-write"):
            publish(build, target)
        assert target.read_bytes() == before
    finally:
        holder.communicate("", timeout=30)
    publish(build, target)  # closed again: the swap goes ahead


def test_paths_with_an_apostrophe_are_quoted_everywhere(tmp_path):
    target = tmp_path / "it's mine" / "w.duckdb"
    build = duckdb.connect(str(tmp_path / "build.duckdb"))
    # the described columns of build_info (publish comments each)
    columns = [c for c in catalog.load_warehouse_docs()["build_info"]["columns"] if c != "run_id"]
    write_frame(build, "marts.build_info", pd.DataFrame({"run_id": ["r1"], **{c: ["x"] for c in columns}}))
    publish(build, target)
    assert duckdb.execute(f"SELECT run_id FROM read_parquet({sql_literal(target.parent / 'parquet' / 'build_info.parquet')})"
                          ).fetchall() == [("r1",)]
    assert sync_parquet(target) is False  # reads the twin back through the same quoting


def test_env_example_values_carry_no_inline_comment():
    # `# VAR=value   (a note)` uncommented would make the note part of the value (DAGSTER_HOME broke Dagster).
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if re.match(r"^#? ?[A-Z][A-Z0-9_]*=", line):
            value = line.split("=", 1)[1]
            assert value == value.strip() and " " not in value and "#" not in value, line


def test_every_setting_is_visible_in_dagster_and_the_webhook_only_by_its_variable(tmp_path, monkeypatch):
    """settings.Limits is read once from the environment; Dagster shows it as the `limits` resource. The webhook URL
    is a secret: the resource holds the name of its variable, resolved only when a run uses it."""
    monkeypatch.setenv("HEERLEN_ALERT_WEBHOOK_URL", "https://hooks.example/secret-token")
    monkeypatch.setenv("HEERLEN_HTTP_BUDGET", "42")
    defs = make_definitions(Settings.from_env(warehouse=tmp_path / "w.duckdb"))
    limits = defs.resources["limits"]
    assert limits.http_budget == 42 and limits.lock_timeout == 3600
    assert limits.alert_webhook_url == "HEERLEN_ALERT_WEBHOOK_URL" and isinstance(limits.alert_webhook_url, dg.EnvVar)
    assert "secret-token" not in repr(defs.resources)
    assert {f.name for f in dataclasses.fields(Limits)} == set(type(limits).model_fields)  # nothing left out
