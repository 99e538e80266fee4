"""Great Expectations in a worker process, started when a run starts.

Importing GX and building its context takes seconds and some 100 MB. `heerlen run` starts this worker before its
first step, so the import overlaps landing and staging on the second core and GX never enters the run's own
process; the checks send it compact frames and get plain outcomes back. Without a started worker (a step process
of `dagster dev`, a test's materialize()) suites run in the calling process. If the worker dies, the suite runs
in the calling process instead.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pandas as pd

from .suites import ExpectationOutcome, validate_frame, warm_up

_pool: ProcessPoolExecutor | None = None
RESULT_TIMEOUT_S = 900  # a suite on the national scope's full data takes well under a minute


def start() -> None:
    """Start the worker now; it imports GX while the run lands and stages its sources."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_init, initargs=(os.getpid(),))
        _pool.submit(warm_up)


def stop() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


def validate(frame: pd.DataFrame, suite: dict) -> list[ExpectationOutcome]:
    if _pool is not None:
        try:
            return _pool.submit(validate_frame, frame, suite).result(timeout=RESULT_TIMEOUT_S)
        except BrokenProcessPool:
            stop()
    return validate_frame(frame, suite)


def _init(parent: int) -> None:
    # The run decides when to stop (Ctrl-C reaches the whole process group); and a worker whose run was killed
    # (kill -9 leaves no chance to stop it) exits by itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
