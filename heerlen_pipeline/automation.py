"""Unattended refreshes: a monthly live refresh, and a sensor that starts one as soon as CBS or DUO
re-publishes a table the pipeline uses — for the changed sources and everything downstream only.

Both are RUNNING by default, so `dagster dev` (webserver + daemon) runs them without clicks.
"""


import dataclasses
import hashlib
import json

import dagster as dg

from . import catalog
from .http_client import HttpClient
from .live import source_version
from .odata import ODataClient
from .resources import LIVE_TAG
from .settings import Settings

LIVE_TAGS = {LIVE_TAG: "true"}  # run config cannot override one field of a configured resource; a tag can


def monthly_live_refresh(job) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="refresh_live_monthly", job=job, cron_schedule="0 6 3 * *", execution_timezone="Europe/Amsterdam",
        tags=LIVE_TAGS, default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Live refresh on the 3rd of every month (police figures are monthly, the rest yearly); "
                    "tables whose Modified stamp did not change are read from the landing, not downloaded.")


def upstream_change_sensor(settings: Settings, job, sources: dict[str, catalog.Source] | None = None):
    """Polls the Modified stamps (ETag/Last-Modified for DUO files) of every live table."""
    live_settings = dataclasses.replace(settings, live=True, replay=False)

    @dg.sensor(name="cbs_modified_stamps", job=job, minimum_interval_seconds=6 * 3600,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts a live refresh of exactly the sources whose upstream table changed.")
    def sensor(context: dg.SensorEvaluationContext):
        live_sources = {sid: s for sid, s in (sources or catalog.load_sources()).items() if s.live}
        client = ODataClient(HttpClient(), live_settings.catalogue_urls)
        current = {sid: source_version(s, live_settings, client) for sid, s in live_sources.items()}
        previous = json.loads(context.cursor) if context.cursor else None
        context.update_cursor(json.dumps(current, sort_keys=True))
        if previous is None:
            return dg.SkipReason(f"recorded the upstream versions of {len(current)} sources; refreshing on change")
        changed = sorted(sid for sid, version in current.items() if previous.get(sid) != version)
        if not changed:
            return dg.SkipReason("no table changed upstream")
        raw = [dg.AssetKey(["raw", sid]) for sid in changed]
        selection = dg.AssetSelection.assets(*raw).downstream().resolve(context.repository_def.asset_graph)
        run_key = hashlib.sha256(json.dumps({sid: current[sid] for sid in changed}).encode()).hexdigest()[:16]
        return dg.RunRequest(run_key=run_key, asset_selection=sorted(selection),
                             tags={**LIVE_TAGS, "heerlen/changed_sources": ",".join(changed)})

    return sensor
