"""The real Dagster webserver on a free local port: it answers, and its GraphQL API shows the asset graph,
the checks (blocking, with their severity) and the schedule and sensors, RUNNING by default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

QUERY = """{
  assetNodes { assetKey { path } groupName
               assetChecksOrError { ... on AssetChecks { checks { name blocking description } } } }
  workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
    ... on RepositoryLocation { repositories {
      schedules { name cronSchedule scheduleState { status } }
      sensors { name sensorState { status } } } } } } } }
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml", "-h", "127.0.0.1",
                             "-p", str(port)], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "webserver did not answer within 120 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the webserver and its code-server child
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_graphql_shows_assets_checks_schedule_and_sensors(webserver):
    data = requests.post(f"{webserver}/graphql", json={"query": QUERY}, timeout=120).json()["data"]
    nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    assert {"source/kwb", "raw/kwb", "staging/kwb", "indicators/werken", "marts/gaps", "publish/warehouse"} <= nodes.keys()
    assert nodes["indicators/werken"]["groupName"] == "werken"
    checks = {c["name"]: c for c in nodes["staging/kwb"]["assetChecksOrError"]["checks"]}
    assert {"gx_staging_observations", "observation_keys_unique", "rows_staged", "counts_reconcile_with_gemeente",
            "required_measures_present", "no_rejected_cells"} == checks.keys()
    assert all(c["blocking"] for c in checks.values())
    assert checks["counts_reconcile_with_gemeente"]["description"].startswith("ERROR")
    assert checks["no_rejected_cells"]["description"].startswith("WARN")
    (location,) = data["workspaceOrError"]["locationEntries"]
    (repo,) = location["locationOrLoadError"]["repositories"]
    assert [(s["name"], s["cronSchedule"], s["scheduleState"]["status"]) for s in repo["schedules"]] == [
        ("refresh_live_monthly", "0 6 3 * *", "RUNNING")]
    assert {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]} == {
        "upstream_changes": "RUNNING", "alert_on_run_failure": "RUNNING", "alert_on_check_warnings": "RUNNING"}
