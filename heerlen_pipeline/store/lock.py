"""One refresh at a time: an exclusive lock on a file (fcntl.flock), held for the whole run.

Two `heerlen run` on the same build directory would write the same build database and publish over each
other. The second one waits for the first (saying so), up to HEERLEN_LOCK_TIMEOUT seconds (default 3600),
then gives up with a clear message. The kernel releases the lock when its holder exits, however it exits
(kill -9 included), so a lock file left behind never blocks anyone.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ..settings import Limits

RUN_LOCK = "run.lock"  # in the build directory
POLL = 0.2  # seconds between attempts while waiting
_HELD: set[Path] = set()  # locks this process holds: holding one again is a no-op, not a self-deadlock


class LockTimeout(RuntimeError):
    """The lock was still held by another process when the timeout ran out."""


def lock_timeout() -> float:
    return Limits.from_env().lock_timeout


@contextmanager
def hold(path: Path, what: str = "heerlen run", timeout: float | None = None,
         out: TextIO | None = None) -> Iterator[Path]:
    """Hold an exclusive lock on `path` (created if needed); wait up to `timeout` seconds for it."""
    timeout = lock_timeout() if timeout is None else timeout
    path.parent.mkdir(parents=True, exist_ok=True)
    key = path.resolve()
    if key in _HELD:  # `heerlen run` holds it, and the Dagster run it starts in-process asks again
        yield path
        return
    with open(path, "a+", encoding="utf-8") as f:
        if not _try(f):
            holder = _holder(path)
            print(f"another {what} holds {path}{holder}; waiting up to {timeout:g}s "
                  "(HEERLEN_LOCK_TIMEOUT)", file=out or sys.stderr, flush=True)
            deadline = time.monotonic() + timeout
            while not _try(f):
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"another {what} still holds {path}{_holder(path)} after {timeout:g}s; "
                                      "nothing was changed. Try again later or raise HEERLEN_LOCK_TIMEOUT")
                time.sleep(POLL)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}\n")
        f.flush()
        _HELD.add(key)
        try:
            yield path
        finally:
            _HELD.discard(key)
            fcntl.flock(f, fcntl.LOCK_UN)


def _try(f) -> bool:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""
