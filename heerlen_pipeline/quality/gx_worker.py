"""Great Expectations in a worker process, started when a run starts.

Importing GX and building its context takes seconds and some 100 MB. `heerlen run` starts this worker before its
first step, so the import overlaps Dagster's start-up and the first steps on the second core, and GX never enters
the run's own process; the checks send it frames and get plain outcomes back. Without a started worker (a step of
`dagster dev`, a test's materialize()) suites run in the calling process, as they do if the worker dies.

A plain process and pipe, not a pool: stopping it (the run's end, Ctrl-C, SIGTERM) terminates it at once, even in
the middle of its GX import, where a pool would wait for the import to finish before the process could exit.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import pandas as pd

from .suites import ExpectationOutcome, validate_frame, warm_up

RESULT_TIMEOUT_S = 900  # a suite on the national scope's covering rows takes seconds; on all its rows, a minute
_worker: tuple[multiprocessing.Process, Connection] | None = None
_unread = False  # a suite was sent and its outcomes not yet received


def start() -> bool:
    """Start the worker now; it imports GX while the run starts up and lands its sources. False when one is
    running already (a process that runs many refreshes, such as the test suite, keeps one for all of them)."""
    global _worker
    if _worker is not None and _worker[0].is_alive():
        return False
    stop()  # one that died: forget it
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(theirs, os.getpid()), name="gx-worker", daemon=True)
    process.start()
    theirs.close()
    _worker = (process, ours)
    return True


def stop() -> None:
    global _worker, _unread
    if _worker is not None:
        process, conn = _worker
        _worker = None
        _unread = False
        conn.close()  # an idle worker sees the pipe close and exits cleanly, releasing what it holds
        process.join(1)
        if process.is_alive():  # busy (importing GX, validating): at once
            process.terminate()
            process.join(5)


def validate(frame: pd.DataFrame, suite: dict) -> list[ExpectationOutcome]:
    return submit(frame, suite)()


def submit(frame: pd.DataFrame, suite: dict) -> Callable[[], list[ExpectationOutcome]]:
    """Hand a suite to the worker and return at once: the step does its SQL checks while GX validates. Calling
    the result waits for the outcomes. Without a worker (or when it died) the suite runs here."""
    global _unread
    if _worker is None:
        outcomes = validate_frame(frame, suite)
        return lambda: outcomes
    _process, conn = _worker
    try:
        if _unread:  # a step that failed before taking its outcomes: they must not become this suite's
            _take(conn, "an earlier suite")
        conn.send((frame, suite))
        _unread = True
    except (EOFError, BrokenPipeError, ConnectionResetError):  # it died: run the suite here
        stop()
        return submit(frame, suite)

    def result() -> list[ExpectationOutcome]:
        try:
            kind, value = _take(conn, f"suite {suite['name']}")
        except (EOFError, BrokenPipeError, ConnectionResetError):
            stop()
            return validate_frame(frame, suite)
        if kind == "error":
            raise value
        return value

    return result


def _take(conn: Connection, what: str):
    global _unread
    if not conn.poll(RESULT_TIMEOUT_S):
        stop()
        raise TimeoutError(f"the Great Expectations worker gave no result for {what} within {RESULT_TIMEOUT_S} s")
    _unread = False
    return conn.recv()


def _serve(conn: Connection, parent: int) -> None:
    # The run decides when to stop (Ctrl-C reaches the whole process group); a worker whose run was killed
    # (kill -9 leaves no chance to stop it) exits by itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    warm_up()
    while True:
        try:
            frame, suite = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", validate_frame(frame, suite)))
        except Exception as e:  # noqa: BLE001 - the run raises it, with GX's own message
            conn.send(("error", e))


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)
