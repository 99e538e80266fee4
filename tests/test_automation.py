"""The monthly schedule and the upstream-change sensor, with Dagster's sensor test utilities and the local
CBS/DUO mirror: a changed Modified stamp requests a refresh of exactly that source and what depends on it."""

from __future__ import annotations

import dagster as dg

from heerlen_pipeline import catalog
from heerlen_pipeline.definitions import make_definitions
from heerlen_pipeline.defs.automation import LIVE_TAGS
from heerlen_pipeline.settings import Settings

from .odata_mirror import Mirror, bundled_tables, duo_fixture, mirror_assets


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
    for name in ("cbs_modified_stamps", "alert_on_run_failure", "alert_on_check_warnings"):
        assert defs.resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


def test_changed_stamp_requests_only_that_source_and_downstream(tmp_path):
    sources = catalog.load_sources(mirror_assets(tmp_path / "assets"))
    with Mirror(bundled_tables(), duo=duo_fixture()) as m, dg.instance_for_test() as instance:
        env = m.env()
        settings = Settings.from_env(warehouse=tmp_path / "w.duckdb", landing_dir=tmp_path / "landing",
                                     **{k.removeprefix("HEERLEN_").lower(): v for k, v in env.items()})
        defs = make_definitions(settings, sources)
        sensor = defs.resolve_sensor_def("cbs_modified_stamps")
        repo = defs.get_repository_def()

        def evaluate(cursor):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=repo)
            return sensor(context), context.cursor

        first, cursor = evaluate(None)
        assert isinstance(first, dg.SkipReason) and "recorded" in first.skip_message
        unchanged, cursor = evaluate(cursor)
        assert isinstance(unchanged, dg.SkipReason) and "no table changed" in unchanged.skip_message
        assert not m.requests_to("TypedDataSet")  # polling reads stamps only

        m.tables[("opendata", "84286NED")].modified = "2026-11-01T02:00:00"  # KWB 2018 re-published
        (request,), cursor = evaluate(cursor)

        # Two KWB years and the RIVM table at once: one run per year, RIVM rides along with the first.
        m.tables[("opendata", "84286NED")].modified = "2026-12-01T02:00:00"
        m.tables[("opendata", "85984NED")].modified = "2026-12-01T02:00:00"
        m.tables[("dataderden", "50090NED")].modified = "2026-12-01T02:00:00"
        both, _ = evaluate(cursor)
    assert isinstance(request, dg.RunRequest) and request.tags["heerlen/live"] == "true" and not request.run_config
    assert request.partition_key == "2018"  # only the re-published year is reloaded
    keys = {k.to_user_string() for k in request.asset_selection}
    assert {"raw/kwb", "staging/kwb", "staging/observations", "indicators/werken", "publish/warehouse"} <= keys
    assert not keys & {"raw/rivm_health", "staging/rivm_health", "raw/politie_nl", "raw/duo_school_advice"}
    assert request.tags["heerlen/changed_sources"] == "kwb"
    assert [(r.partition_key, r.tags["heerlen/changed_sources"]) for r in both] == [
        ("2018", "kwb,rivm_health"), ("2024", "kwb")]
    assert "raw/rivm_health" in {k.to_user_string() for k in both[0].asset_selection}
    assert "raw/rivm_health" not in {k.to_user_string() for k in both[1].asset_selection}


def test_a_live_tag_makes_one_run_live():
    from heerlen_pipeline.defs.resources import PipelineSettings

    resource = PipelineSettings.from_settings(Settings.from_env())
    assert not resource.for_run({}).live
    assert resource.for_run(LIVE_TAGS).live and resource.for_run(LIVE_TAGS).warehouse == resource.settings.warehouse


def test_offline_the_sensor_skips_with_one_line_and_keeps_its_cursor(tmp_path):
    settings = Settings.from_env(warehouse=tmp_path / "w.duckdb", cbs_odata_url="http://opendata.heerlen-test.invalid",
                                 cbs_dataderden_url="http://dataderden.heerlen-test.invalid",
                                 duo_url="http://duo.heerlen-test.invalid/open_onderwijsdata")
    defs = make_definitions(settings)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor='{"kwb": {}}', repository_def=defs.get_repository_def())
        skip = defs.resolve_sensor_def("cbs_modified_stamps")(context)
    assert isinstance(skip, dg.SkipReason) and skip.skip_message.startswith("live sources unreachable, checking again")
    assert "opendata.heerlen-test.invalid:80: the name does not resolve" in skip.skip_message
    assert context.cursor == '{"kwb": {}}'  # nothing recorded: the next tick compares with the last known stamps
