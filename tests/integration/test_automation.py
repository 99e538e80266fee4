"""The monthly schedule and Dagster's declarative automation (evaluated with its test utilities): a source whose
upstream version changed requests a refresh of exactly that source, that year, and what depends on it."""

from __future__ import annotations

import csv
import io

import dagster as dg
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.definitions import make_definitions
from heerlen_pipeline.defs.automation import LIVE_TAGS
from heerlen_pipeline.settings import Settings


def test_schedule_is_running_and_refreshes_live():
    defs = make_definitions()
    schedule = defs.resolve_schedule_def("refresh_live_monthly")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "0 6 3 * *" and schedule.execution_timezone == "Europe/Amsterdam"
    # Live by tag: the run config stays valid (a partial config of a configured resource would not be).
    job = defs.resolve_job_def("refresh_all")
    assert dg.validate_run_config(job, {})
    (run,) = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert run.tags.items() >= {**LIVE_TAGS, "dagster/asset_partition_range_start": "2016",
                                "dagster/asset_partition_range_end": "2025"}.items()  # every KWB year, one run
    for name in ("upstream_changes", "alert_on_run_failure", "alert_on_check_warnings"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def _observe(defs: dg.Definitions, instance, tags=None) -> list:
    """Observe every source/<id> as the automation sensor's observation runs do; returns the failed runs' events."""
    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_observable]
    parted = [k for k in keys if graph.get(k).partitions_def is not None]
    failures = []
    for group, partition in ((sorted(set(keys) - set(parted)), None), (parted, "2016")):
        job = dg.Definitions(assets=defs.assets, resources=defs.resources, jobs=[dg.define_asset_job(
            "observe", selection=dg.AssetSelection.assets(*group))]).resolve_job_def("observe")
        result = job.execute_in_process(instance=instance, partition_key=partition, tags=tags, raise_on_error=False)
        failures += [e for e in result.all_events if e.is_step_failure]
    return failures


@pytest.mark.slow
def test_a_changed_year_refreshes_that_year_and_what_depends_on_it(tmp_path, snapshot_copy):
    """Dagster's declarative automation: every source/<id> is observed (per year for KWB); a source whose version
    changed, here the bundled KWB 2018 file, requests raw and staging of that year only, not the other sources."""
    settings = Settings.from_env(warehouse=tmp_path / "w.duckdb", snapshot_dir=snapshot_copy)
    defs = make_definitions(settings)
    sensor = defs.resolve_sensor_def("upstream_changes")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING and sensor.run_tags == LIVE_TAGS
    with dg.instance_for_test() as instance:
        assert _observe(defs, instance) == []
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # a first observation is no change: nothing is refreshed
        path = snapshot_copy / "kwb" / "heerlen_kwb_2018.csv"
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        row = next(r for r in rows if r[0].startswith("Wijk 13 "))
        row[-1] = row[-1] + "0" if row[-1] else "1"  # CBS re-published the 2018 edition with one cell changed
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
        assert _observe(defs, instance) == []
        changed = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {r.key.to_user_string(): r.true_subset for r in changed.results if r.true_subset.size}
    assert set(requested) == {"raw/kwb", "staging/kwb"}
    assert {str(k) for k in requested["raw/kwb"].expensively_compute_partition_keys()} == {"2018"}
    assert {str(k) for k in requested["staging/kwb"].expensively_compute_partition_keys()} == {"2018"}


def test_sources_are_observed_every_six_hours():
    defs = make_definitions()
    graph = defs.resolve_asset_graph()
    observed = [k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).is_observable]
    assert len(observed) == len(catalog.load_sources()) and all(k.startswith("source/") for k in observed)
    for key in observed:
        assert "every 6 hours" in str(graph.get(dg.AssetKey.from_user_string(key)).automation_condition.get_label())


def test_a_live_tag_makes_one_run_live():
    from heerlen_pipeline.defs.resources import PipelineSettings

    resource = PipelineSettings.from_settings(Settings.from_env())
    assert not resource.for_run({}).live
    assert resource.for_run(LIVE_TAGS).live and resource.for_run(LIVE_TAGS).warehouse == resource.settings.warehouse


def test_offline_an_observation_fails_with_one_line_naming_the_hosts(tmp_path):
    settings = Settings.from_env(warehouse=tmp_path / "w.duckdb", cbs_odata_url="http://opendata.heerlen-test.invalid",
                                 cbs_dataderden_url="http://dataderden.heerlen-test.invalid",
                                 duo_url="http://duo.heerlen-test.invalid/open_onderwijsdata")
    with dg.instance_for_test() as instance:
        failures = _observe(make_definitions(settings), instance, tags=LIVE_TAGS)
    assert failures
    for event in failures:
        message = event.step_failure_data.user_failure_data.description
        assert message.startswith("live sources unreachable, observing again at the next tick: ")
        assert "opendata.heerlen-test.invalid:80: the name does not resolve" in message and "\n" not in message
