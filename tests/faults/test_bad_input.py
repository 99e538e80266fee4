"""Bad input from outside: a corrupted copy of the bundled snapshot (HEERLEN_SNAPSHOT_DIR) is blocked or
warned as designed, with a clear message, the published warehouse unchanged when blocked, and an alert
posted to a real HTTP receiver on 127.0.0.1 (plus the local alert log). For one blocked and one warned case
the Dagster alert sensors are driven on the same recorded run and must post the same alerts, once.

Those two end-to-end runs are also the refresh an analyst reads during (test_analyst_access.py's concern, on the
same runs to spare a third): set up by a .env file as `dagster dev` reads one, over a published warehouse an analyst
holds open read-only in another process. The open connection keeps its build, the refresh does not wait for it, and
a new connection sees the new build when the run publishes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from heerlen_pipeline.definitions import make_definitions
from heerlen_pipeline.quality.alerts import Alert, AlertSink
from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR, Settings

from ..runs import cli, materialize, problems
from ..webhook_receiver import WebhookReceiver

KWB_2018 = "kwb/heerlen_kwb_2018.csv"
INHABITANTS, CORPORATION_PCT = 2, 39  # columns of the 2018 export


def _edit(snapshot: Path, name: str, change) -> None:
    path = snapshot / name
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    rows = change(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _row(rows, name):
    return next(i for i, r in enumerate(rows) if r[0] == name)


def _set(name, col, value):
    def change(rows):
        rows[_row(rows, name)][col] = value
        return rows
    return change


def _duplicate(name):
    def change(rows):
        i = _row(rows, name)
        return rows[: i + 1] + [list(rows[i])] + rows[i + 1:]
    return change


def _drop_wijk(name):
    def change(rows):
        i = _row(rows, name)
        j = next(k for k in range(i + 1, len(rows)) if rows[k][0].startswith("Wijk "))
        return rows[:i] + rows[j:]  # the wijk and its buurten
    return change


def _rename_header(old, new):
    def change(rows):
        rows[0] = [new if h == old else h for h in rows[0]]
        return rows
    return change


def _repeat_line(snapshot: Path, name: str, start: str) -> None:
    """The line starting with `start` twice in a row, the rest of the file byte for byte as it was."""
    path = snapshot / name
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(start))
    path.write_text("\n".join(lines[: i + 1] + lines[i:]) + "\n", encoding="utf-8")


def _truncate(snapshot: Path, name: str) -> None:
    path = snapshot / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # cut mid-row, as an interrupted copy would


CASES = {
    # case: (corrupt, outcome, words the message must contain)
    "negative-inhabitants": (lambda s: _edit(s, KWB_2018, _set("Wijk 12 Hoensbroek-De Dem", INHABITANTS, "-5")),
                             "blocked", ["expect_column_values_to_be_between(value)", "WK091712", KWB_2018]),
    "duplicated-wijk-row": (lambda s: _edit(s, KWB_2018, _duplicate("Wijk 13 Nieuw Lotbroek")),
                            "blocked", ["WK091713", "more than once", KWB_2018]),
    "repeated-line-2019": (lambda s: _repeat_line(s, "kwb/heerlen_kwb_2019.csv", "Wijk 21 "),
                           "blocked", ["WK091721", "2019", "more than once", "kwb/heerlen_kwb_2019.csv"]),
    "missing-wijk": (lambda s: _edit(s, KWB_2018, _drop_wijk("Wijk 11 Mariarade")),
                     "blocked", ["counts_reconcile_with_gemeente", "GM0917", "2018", "inhabitants"]),
    "percentage-140": (lambda s: _edit(s, KWB_2018, _set("Wijk 21 Heerlerheide-Passart", CORPORATION_PCT, "140")),
                       "blocked", ["expect_column_values_to_be_between(value)", "140", "WK091721"]),
    "text-in-number": (lambda s: _edit(s, KWB_2018, _set("Wijk 22 Heksenberg", CORPORATION_PCT, "veel")),
                       "warned", ["no_rejected_cells", "not a number: 'veel'"]),
    "truncated-file": (lambda s: _truncate(s, "kwb/heerlen_kwb_2019.csv"),  # its last row cut short
                       "blocked", ["kwb/heerlen_kwb_2019.csv", "fields where the header has"]),
    "unknown-header": (lambda s: _edit(s, KWB_2018, _rename_header("Bevolking_Aantal_inwoners", "Bevolking_Aantal_bewoners")),
                       "blocked", ["required measure 'inhabitants'", "84286NED", "Bevolking_Aantal_bewoners"]),
}


@pytest.fixture(scope="module")
def receiver():
    with WebhookReceiver() as r:
        yield r


# The sensor that must alert on each outcome when the daemon runs (the CLI alerts by itself).
SENSOR_FOR = {"blocked": ("alert_on_run_failure", dg.DagsterEventType.RUN_FAILURE),
              "warned": ("alert_on_check_warnings", dg.DagsterEventType.RUN_SUCCESS)}


# One blocked and one warned case run end to end through the CLI (alerts, the sensors, the published file kept
# byte for byte: what only a whole run shows); the others need only the assets that read KWB: they materialise
# raw/kwb, the areas and staging/kwb with its checks for the year of the file they changed (as the automation
# refreshes a changed year), and must fail there with their message.
END_TO_END = ("negative-inhabitants", "text-in-number")
KWB_ASSETS = ("raw/kwb", "staging/areas", "staging/kwb")


def _changed_year(snapshot: Path) -> str:
    (changed,) = [p for p in (snapshot / "kwb").glob("*.csv")
                  if p.read_bytes() != (BUNDLED_SNAPSHOT_DIR / "kwb" / p.name).read_bytes()]
    return re.search(r"_(20\d\d)", changed.name).group(1)


@pytest.mark.parametrize("case", [c for c in CASES if c not in END_TO_END])
def test_corrupted_kwb_is_blocked_at_staging(case, snapshot_copy, tmp_path):
    corrupt, outcome, words = CASES[case]
    assert outcome == "blocked"
    corrupt(snapshot_copy)
    settings = Settings.from_env(warehouse=tmp_path / "warehouse" / "heerlen.duckdb", snapshot_dir=snapshot_copy)
    result = materialize(settings, *KWB_ASSETS, partition=_changed_year(snapshot_copy))
    assert not result.success
    said = problems(result)
    for w in words:
        assert any(w in text for text in said), (w, said)
    assert not (tmp_path / "warehouse" / "heerlen.duckdb").exists()  # nothing published


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
q = "SELECT (SELECT run_id FROM marts.build_info), (SELECT count(*) FROM marts.indicator_values)"
print(*con.execute(q).fetchall()[0], flush=True)
sys.stdin.readline()
print(*con.execute(q).fetchall()[0], flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("case", END_TO_END)
def test_corrupted_snapshot_refreshed_while_an_analyst_reads(case, warehouse, snapshot_copy, tmp_path, receiver,
                                                             monkeypatch):
    corrupt, outcome, words = CASES[case]
    home, published = tmp_path / "dagster_home", tmp_path / "warehouse" / "heerlen.duckdb"
    home.mkdir()  # Dagster keeps the run there, for the sensor below and the run history the UI shows
    published.parent.mkdir()
    shutil.copy(warehouse, published)  # the last good warehouse
    before = published.read_bytes()
    corrupt(snapshot_copy)
    log = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("HEERLEN_ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("HEERLEN_ALERT_LOG", str(log))
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", "http://127.0.0.1:3000")
    receiver.received.clear()
    # A .env in the working directory sets the warehouse and DAGSTER_HOME for `heerlen run` as for `dagster dev`: its
    # values win over the environment's and are gone again after the command.
    (tmp_path / ".env").write_text(f"HEERLEN_WAREHOUSE={published}\nDAGSTER_HOME={home}\n", encoding="utf-8")
    monkeypatch.setenv("HEERLEN_WAREHOUSE", str(tmp_path / "not_this.duckdb"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    old_run, old_rows = reader.stdout.readline().split()
    started = time.perf_counter()

    # In this process (the environment it leaves behind is checked below); publishes over the file the reader holds.
    run = cli("heerlen", "run", "--snapshot-dir", str(snapshot_copy), expect=1 if outcome == "blocked" else 0)
    refresh = time.perf_counter() - started
    out, _ = reader.communicate("again\n", timeout=60)
    assert out.split() == [old_run, old_rows]  # the open connection still sees the build it opened
    assert f"heerlen: loaded HEERLEN_WAREHOUSE, DAGSTER_HOME from {tmp_path / '.env'}" in run.stderr
    assert not (tmp_path / "not_this.duckdb").exists()
    assert os.environ["HEERLEN_WAREHOUSE"] == str(tmp_path / "not_this.duckdb")  # restored after the command
    assert "DAGSTER_HOME" not in os.environ
    with duckdb.connect(str(published), read_only=True) as con:
        new_run = con.execute("SELECT run_id FROM marts.build_info").fetchall()[0][0]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (recorded,) = instance.get_runs()  # in the run history the UI shows
    assert recorded.job_name == "refresh_all"
    if outcome == "warned":  # published: a new connection sees the new build
        assert recorded.run_id == new_run != old_run and recorded.status == dg.DagsterRunStatus.SUCCESS
        assert refresh < 180
    else:
        assert new_run == old_run and recorded.status == dg.DagsterRunStatus.FAILURE
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # for the sensor below, as `dagster dev` runs it

    err = run.stderr
    for w in words:
        assert w in err or any(w in a["summary"] for a in receiver.received), (w, err[-3000:])
    if outcome == "blocked":
        assert published.read_bytes() == before  # byte for byte the previous warehouse
        assert any(a["kind"] == "run_failed" and a["severity"] == "error" for a in receiver.received)
    else:
        with duckdb.connect(str(published), read_only=True) as con:
            rejected = con.execute("SELECT field, raw_value, reason, source_file FROM marts.rejected_rows").fetchall()
        assert any(r[1] == "veel" and r[3] == KWB_2018 for r in rejected)
        warn = [a for a in receiver.received if a["severity"] == "warn"]
        assert warn and warn[0]["check"] == "no_rejected_cells" and warn[0]["asset"] == "staging/kwb"
    alert = receiver.received[0]
    assert alert["content_type"] == "application/json" and alert["text"].startswith((":rotating_light:", ":warning:"))
    assert alert["run_url"].startswith("http://127.0.0.1:3000/runs/") and alert["run_id"]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["key"] for r in logged] == [a["key"] for a in receiver.received]  # the same records, once
    _sensor_alerts_the_same_run_once(outcome, receiver, tmp_path, monkeypatch)


def _sensor_alerts_the_same_run_once(outcome, receiver, tmp_path, monkeypatch):
    """Under `dagster dev` the sensors send these alerts; Dagster's sensor test context drives them here."""
    name, event_type = SENSOR_FOR[outcome]
    cli_alerts = list(receiver.received)
    receiver.received.clear()
    monkeypatch.setenv("HEERLEN_ALERT_LOG", str(tmp_path / "sensor_alerts.jsonl"))  # as if the CLI had not run
    instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs()
    (record,) = instance.all_logs(run.run_id, of_type=event_type)
    sensor = make_definitions().resolve_sensor_def(name)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    context = dg.build_run_status_sensor_context(sensor_name=name, dagster_event=record.dagster_event,
                                                 dagster_instance=instance, dagster_run=run)
    for _ in range(2):  # evaluated twice, posted once
        sensor(context.for_run_failure() if outcome == "blocked" else context)
    assert [a["key"] for a in receiver.received] == [a["key"] for a in cli_alerts]


def test_an_alert_is_sent_once(tmp_path, receiver):
    receiver.received.clear()
    sink = AlertSink(tmp_path / "alerts.jsonl", receiver.url)
    alert = Alert("run-1", "check_failed", "warn", "3 values jumped", "indicators/werken", "year_over_year_jumps")
    assert len(sink.send([alert, alert])) == 1
    assert sink.send([alert]) == []  # the CLI and a sensor both seeing the run
    assert len(receiver.received) == 1 and receiver.received[0]["check"] == "year_over_year_jumps"


def test_alert_log_is_written_even_when_the_webhook_is_down(tmp_path):
    sink = AlertSink(tmp_path / "alerts.jsonl", "http://127.0.0.1:9/unreachable")
    (record,) = sink.send([Alert("run-2", "run_failed", "error", "staging/kwb failed")])
    assert record["delivered"].startswith("failed: ConnectionError")
    assert json.loads((tmp_path / "alerts.jsonl").read_text())["summary"] == "staging/kwb failed"
