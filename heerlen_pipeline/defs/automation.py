"""Unattended refreshes: a monthly live refresh, and a sensor that starts one as soon as CBS or DUO
re-publishes a table the pipeline uses — for the changed sources and everything downstream only.

Both are RUNNING by default, so `dagster dev` (webserver + daemon) runs them without clicks.
"""


import dataclasses
import hashlib
import json

import dagster as dg

from .. import catalog
from ..settings import Settings
from ..sources.http import HttpClient
from ..sources.live import partition_versions
from ..sources.odata import ODataClient
from ..sources.reach import unreachable
from .partitions import all_years_tags
from .resources import LIVE_TAG

LIVE_TAGS = {LIVE_TAG: "true"}  # run config cannot override one field of a configured resource; a tag can


def monthly_live_refresh(job) -> dg.ScheduleDefinition:
    # Every KWB year in one run: the range tags are set on the request (a schedule's own tags may not).
    tags = {**LIVE_TAGS, **all_years_tags(catalog.load_sources().values())}

    @dg.schedule(name="refresh_live_monthly", job=job, cron_schedule="0 6 3 * *", execution_timezone="Europe/Amsterdam",
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="Live refresh on the 3rd of every month (police figures are monthly, the rest yearly); "
                             "tables whose Modified stamp did not change are read from the landing, not downloaded.")
    def refresh_live_monthly(_context: dg.ScheduleEvaluationContext):
        return dg.RunRequest(tags=tags)

    return refresh_live_monthly


def upstream_change_sensor(settings: Settings, job, sources: dict[str, catalog.Source] | None = None):
    """Polls the Modified stamps (ETag/Last-Modified for DUO files) of every live table."""
    live_settings = dataclasses.replace(settings, live=True, replay=False)

    @dg.sensor(name="cbs_modified_stamps", job=job, minimum_interval_seconds=6 * 3600,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Starts a live refresh of exactly the sources whose upstream table changed.")
    def sensor(context: dg.SensorEvaluationContext):
        live_sources = {sid: s for sid, s in (sources or catalog.load_sources()).items() if s.live}
        # Offline (or a host down): one line in the sensor's history, not a stack trace per source every tick.
        problems = unreachable([live_settings.cbs_odata_url, live_settings.cbs_dataderden_url, live_settings.duo_url])
        if problems:
            return dg.SkipReason(f"live sources unreachable, checking again later: {'; '.join(problems)}")
        client = ODataClient(HttpClient(), live_settings.catalogue_urls)
        current = {sid: partition_versions(s, live_settings, client) for sid, s in live_sources.items()}
        previous = json.loads(context.cursor) if context.cursor else None
        context.update_cursor(json.dumps(current, sort_keys=True))
        if previous is None:
            return dg.SkipReason(f"recorded the upstream versions of {len(current)} sources; refreshing on change")
        # {source: changed partitions}; "" is a whole (unpartitioned) source. A cursor written before
        # partitions held one string per source: that source counts as changed once.
        changed = {sid: sorted(p for p, v in parts.items()
                               if not isinstance(previous.get(sid), dict) or previous[sid].get(p) != v)
                   for sid, parts in current.items()}
        changed = {sid: parts for sid, parts in changed.items() if parts}
        if not changed:
            return dg.SkipReason("no table changed upstream")
        whole = sorted(sid for sid, parts in changed.items() if parts == [""])
        years = sorted({p for parts in changed.values() for p in parts if p})
        graph = context.repository_def.asset_graph
        requests = []
        # One run per changed year (that year's partition and everything downstream); unpartitioned sources
        # that changed ride along with the first, or get a run of their own.
        for i, year in enumerate(years or [None]):
            sids = [sid for sid, parts in changed.items() if year in parts] + (whole if i == 0 else [])
            selection = dg.AssetSelection.assets(*(dg.AssetKey(["raw", sid]) for sid in sids)).downstream()
            stamps = {sid: current[sid].get(year or "", current[sid]) for sid in sids}
            run_key = hashlib.sha256(json.dumps([year, stamps], sort_keys=True).encode()).hexdigest()[:16]
            requests.append(dg.RunRequest(run_key=run_key, asset_selection=sorted(selection.resolve(graph)),
                                          partition_key=year,
                                          tags={**LIVE_TAGS, "heerlen/changed_sources": ",".join(sorted(sids))}))
        return requests

    return sensor
