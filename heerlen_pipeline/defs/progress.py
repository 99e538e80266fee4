"""One line per finished step on the terminal, as `dbt run` prints them, so a run is never silent.

A Dagster logger: it sees every event of the run (steps end with STEP_SUCCESS, STEP_FAILURE or STEP_SKIPPED)
and writes the count, the outcome, the step as its asset path and its duration to stderr; at a failed run's
end, how many steps were not started because they need a step that failed.
"""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg
from dagster._core.log_manager import get_log_record_metadata, has_log_record_metadata

OUTCOMES = {"STEP_SUCCESS": "OK", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "SKIPPED"}


class StepLines(logging.Handler):
    def __init__(self, steps: int, stream=None):
        super().__init__(logging.DEBUG)
        self.steps, self.done, self.stream = steps, 0, stream
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = get_log_record_metadata(record)["dagster_event"] if has_log_record_metadata(record) else None
        if event is None:
            return
        kind = event.event_type_value
        if kind == "PIPELINE_FAILURE" and self.done < self.steps:  # Dagster does not start what a failure blocks
            print(f"{time.strftime('%H:%M:%S')}  {self.steps - self.done} of {self.steps} not run: they need a step "
                  "that failed", file=self.stream or sys.stderr, flush=True)
        elif not event.step_key:
            return
        elif kind == "STEP_START":
            self.started[event.step_key] = time.perf_counter()
        elif kind in OUTCOMES:
            self.done += 1
            took = time.perf_counter() - self.started.pop(event.step_key, time.perf_counter())
            width = len(str(self.steps))
            print(f"{time.strftime('%H:%M:%S')}  {self.done:>{width}} of {self.steps}  {OUTCOMES[kind]:<7} "
                  f"{event.step_key.replace('__', '/'):<40} {took:6.2f}s", file=self.stream or sys.stderr, flush=True)


def step_lines_logger(steps: int, stream=None) -> dg.LoggerDefinition:
    """A logger definition for `JobDefinition.with_logger_defs`, enabled by `{"loggers": {"progress": {}}}`."""

    lines = StepLines(steps, stream)  # one count for the run: Dagster builds the logger for each log manager

    @dg.logger(description="one line per finished step with its duration (the `heerlen run` terminal)")
    def progress(_context: dg.InitLoggerContext) -> logging.Logger:
        log = logging.Logger("heerlen.progress", logging.DEBUG)
        log.addHandler(lines)
        return log

    return progress
