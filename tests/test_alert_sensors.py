"""The two alert sensors, driven with Dagster's sensor test utilities on real runs: a blocked run (the
failure sensor) and a successful run with a failed WARN check (the success scanner)."""

from __future__ import annotations

import dagster as dg
import pytest

from heerlen_pipeline.definitions import make_definitions
from heerlen_pipeline.settings import Settings

from .test_bad_input import CASES
from .webhook_receiver import WebhookReceiver


def _run(snapshot, tmp_path, instance):
    settings = Settings.from_env(warehouse=tmp_path / "warehouse" / "heerlen.duckdb", snapshot_dir=snapshot,
                                 build_dir=tmp_path / "build")
    defs = make_definitions(settings)
    result = defs.resolve_job_def("refresh_all").execute_in_process(instance=instance, raise_on_error=False)
    return defs, instance.get_run_by_id(result.run_id)


def _event(instance, run, event_type):
    (record,) = instance.all_logs(run.run_id, of_type=event_type)
    return record.dagster_event


@pytest.mark.parametrize("case, sensor, event_type", [
    ("negative-inhabitants", "alert_on_run_failure", dg.DagsterEventType.RUN_FAILURE),
    ("text-in-number", "alert_on_check_warnings", dg.DagsterEventType.RUN_SUCCESS),
])
def test_sensor_posts_each_failure_once(case, sensor, event_type, snapshot_copy, tmp_path, monkeypatch):
    CASES[case][0](snapshot_copy)
    with WebhookReceiver() as receiver, dg.instance_for_test() as instance:
        monkeypatch.setenv("HEERLEN_ALERT_WEBHOOK_URL", receiver.url)
        monkeypatch.setenv("HEERLEN_ALERT_LOG", str(tmp_path / "alerts.jsonl"))
        defs, run = _run(snapshot_copy, tmp_path, instance)
        sensor_def = defs.resolve_sensor_def(sensor)
        assert sensor_def.default_status == dg.DefaultSensorStatus.RUNNING
        context = dg.build_run_status_sensor_context(sensor_name=sensor, dagster_event=_event(instance, run, event_type),
                                                     dagster_instance=instance, dagster_run=run)
        if event_type == dg.DagsterEventType.RUN_FAILURE:
            sensor_def(context.for_run_failure())
        else:
            sensor_def(context)
        first = list(receiver.received)
        sensor_def(context.for_run_failure() if event_type == dg.DagsterEventType.RUN_FAILURE else context)
        assert receiver.received == first  # evaluated twice, posted once
    kinds = {(a["kind"], a["severity"]) for a in first}
    if sensor == "alert_on_run_failure":
        assert ("run_failed", "error") in kinds and ("check_failed", "error") in kinds
        assert any("staging.obs__kwb" in a["summary"] and "kwb/heerlen_kwb_2018.csv" in a["summary"] for a in first)
    else:
        assert kinds == {("check_failed", "warn")}
        assert first[0]["check"] == "no_rejected_cells" and first[0]["run_id"] == run.run_id
