"""The alerts of a finished run, read from Dagster's event log: the same for the CLI and the sensors."""

from __future__ import annotations

import re

import dagster as dg

from ..quality.alerts import Alert


def alerts_for_run(instance, run_id: str) -> list[Alert]:
    """Alerts for one finished run, read from Dagster's event log (the same for the CLI and the sensors)."""
    alerts: list[Alert] = []
    run = instance.get_run_by_id(run_id)
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        ev = record.dagster_event.event_specific_data
        if ev.passed:
            continue
        severity = "error" if ev.severity == dg.AssetCheckSeverity.ERROR else "warn"
        meta = {k: getattr(v, "value", v) for k, v in (ev.metadata or {}).items()}
        alerts.append(Alert(run_id, "check_failed", severity, (ev.description or "check failed")[:1500],
                            ev.asset_key.to_user_string(), ev.check_name,
                            {k: v for k, v in meta.items() if isinstance(v, str | int | float)}))
    if run is not None and run.status == dg.DagsterRunStatus.FAILURE:
        causes = []
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            err = record.dagster_event.step_failure_data.error
            if err is not None and err.cls_name == "DagsterExecutionInterruptedError":
                causes.append(f"{record.dagster_event.step_key}: interrupted (Ctrl-C or SIGTERM); nothing was published")
                continue
            while err is not None and err.cause is not None:
                err = err.cause
            # The exception without its module path: "HttpError: GET …".
            message = re.sub(r"^[\w.]+\.(\w+): ", r"\1: ", err.message.strip()) if err else "failed"
            causes.append(f"{record.dagster_event.step_key}: {message}")
        share = 1500 // max(1, len(causes)) - 2  # every failed step gets its say within the summary's 1,500 characters
        summary = "; ".join(c if len(c) <= share else c[:share - 1] + "…" for c in causes) or \
            "run failed (see the run's events)"
        alerts.append(Alert(run_id, "run_failed", "error", summary[:1500],
                            details={"failed_steps": len(causes), "job": run.job_name}))
    return alerts
