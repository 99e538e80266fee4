"""Unattended refreshes: a monthly live refresh, and declarative automation that refreshes as soon as CBS or DUO
re-publishes a table the pipeline uses — the changed sources (and years) and everything downstream only.

Both are RUNNING by default, so `dagster dev` (webserver + daemon) runs them without clicks.
"""

import warnings

import dagster as dg

from .. import catalog
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


# Declarative automation, Dagster's own change detection: every 6 hours each source/<id> is observed (its version:
# the CBS tables' Modified stamps, the DUO files' validators, or the bundled files' checksum; per year for a
# partitioned source), and every asset downstream is requested once an asset it depends on changed, year by year
# where it is partitioned. Nothing is requested for what is merely missing: a first start does not refresh everything.
OBSERVE = (dg.AutomationCondition.cron_tick_passed("0 */6 * * *", cron_timezone="Europe/Amsterdam")
           & ~dg.AutomationCondition.in_progress()).with_label("every 6 hours")
REACT = (dg.AutomationCondition.any_deps_updated().since_last_handled()
         & ~dg.AutomationCondition.any_deps_in_progress() & ~dg.AutomationCondition.in_progress()
         ).with_label("an upstream version changed")


def upstream_changes_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluates OBSERVE and REACT; its runs fetch live (a run tag), so a re-published table is refreshed from CBS."""
    with warnings.catch_warnings():  # include_sources is marked beta; the observable sources must be targets
        warnings.simplefilter("ignore", dg.BetaWarning)
        target = dg.AssetSelection.all(include_sources=True)
    return dg.AutomationConditionSensorDefinition(
        "upstream_changes", target=target, run_tags=LIVE_TAGS,
        default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=60,
        description="Observes every source every 6 hours and refreshes, live, exactly the sources whose upstream "
                    "version changed (the changed years of KWB) and everything downstream of them.")
