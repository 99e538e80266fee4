"""Sensors that turn finished runs into alerts (quality/alerts.py), so failures reach a person without anyone
watching the UI. A WARN check does not fail its run, so the failure sensor alone would miss it: a second
sensor scans successful runs for failed checks. Both are RUNNING by default under `dagster dev`."""


import dagster as dg

from ..quality.alerts import AlertSink
from ..settings import Settings
from .alerts import alerts_for_run


def alert_sensors(settings: Settings) -> list:
    @dg.run_failure_sensor(name="alert_on_run_failure", default_status=dg.DefaultSensorStatus.RUNNING,
                           description="Posts a failed run (and its failed checks) to HEERLEN_ALERT_WEBHOOK_URL "
                                       "and the local alert log.")
    def on_failure(context: dg.RunFailureSensorContext):
        sent = AlertSink.from_env(settings.warehouse).send(alerts_for_run(context.instance, context.dagster_run.run_id))
        context.log.info(f"{len(sent)} alert(s) for failed run {context.dagster_run.run_id}")

    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="alert_on_check_warnings",
                          default_status=dg.DefaultSensorStatus.RUNNING,
                          description="Posts failed WARN checks of successful runs.")
    def on_success(context: dg.RunStatusSensorContext):
        sent = AlertSink.from_env(settings.warehouse).send(alerts_for_run(context.instance, context.dagster_run.run_id))
        if sent:
            context.log.info(f"{len(sent)} warning alert(s) for run {context.dagster_run.run_id}")

    return [on_failure, on_success]
