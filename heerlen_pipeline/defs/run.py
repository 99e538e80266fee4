"""`heerlen run`'s refresh as one in-process Dagster run: every source and every year, one step after another, in
the run history the UI shows when DAGSTER_HOME is set. It returns what the command line says about the run."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field

import dagster as dg

from .. import catalog
from ..quality.alerts import AlertSink
from ..settings import Settings
from .alerts import alerts_for_run
from .checks import FORCE_CHECKS_TAG
from .partitions import all_years_tags
from .progress import step_lines_logger

INTERRUPT_ERROR = "DagsterExecutionInterruptedError"  # what Dagster raises in a step on SIGINT and SIGTERM


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    interrupted: bool  # a step ended because the process was told to stop
    published: bool  # publish/warehouse was materialised (a step after it may still have failed)
    step_errors: list[tuple[str, str]] = field(default_factory=list)  # (step, the user's error, not Dagster's wrapper)
    failed_checks: list[str] = field(default_factory=list)  # "asset:check failed|warns: description"
    alerts: list[dict] = field(default_factory=list)  # what the alert sink did with each alert
    sink: AlertSink | None = None


def refresh(settings: Settings, verbose: bool = False, force_checks: bool = False) -> RunOutcome:
    from ..definitions import make_definitions

    # Start-up creates some 300,000 long-lived objects; full collections meanwhile re-scan them all (~0.9 s).
    # Collect nothing until the definitions are built, then park what exists outside the collector's scans.
    gc.disable()
    try:
        job = make_definitions(settings).resolve_job_def("refresh_all")
    finally:
        gc.enable()
    gc.freeze()
    # With DAGSTER_HOME set, runs land in the same history the UI shows; otherwise an ephemeral instance.
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    loggers = {"console": {"config": {"log_level": "DEBUG" if verbose else "INFO"}}}
    if not verbose:  # -v shows Dagster's own step events instead
        job = job.with_logger_defs({**job.loggers, "progress": step_lines_logger(len(job.graph.nodes))})
        loggers["progress"] = {}
    tags = all_years_tags(catalog.load_sources().values())  # every KWB year, one run
    if force_checks:
        tags[FORCE_CHECKS_TAG] = "true"
    result = job.execute_in_process(instance=instance, raise_on_error=False, tags=tags, run_config={"loggers": loggers})
    # Without the daemon no sensor runs: send the same alerts from here (the alert log keeps them unique).
    sink = AlertSink.from_env(settings.warehouse)
    return RunOutcome(
        run_id=result.run_id, success=result.success,
        interrupted=any(e.is_step_failure and e.step_failure_data.error is not None
                        and e.step_failure_data.error.cls_name == INTERRUPT_ERROR for e in result.all_events),
        published=any(e.asset_key == dg.AssetKey(["publish", "warehouse"])
                      for e in result.get_asset_materialization_events()),
        step_errors=[(e.step_key, _user_error(e)) for e in result.all_events if e.is_step_failure],
        failed_checks=[f"{ev.asset_key.to_user_string()}:{ev.check_name} "
                       f"{'failed' if ev.severity == dg.AssetCheckSeverity.ERROR else 'warns'}: {ev.description}"
                       for ev in result.get_asset_check_evaluations() if not ev.passed],
        alerts=sink.send(alerts_for_run(instance, result.run_id)), sink=sink)


def _user_error(event: dg.DagsterEvent) -> str:
    err = event.step_failure_data.error
    while err is not None and err.cause is not None:  # the user error, not Dagster's wrapper
        err = err.cause
    return err.message.strip() if err else event.message
