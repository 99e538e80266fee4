"""The private build database: a cache of what the sources hold, rebuilt when it is damaged."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb


def set_aside_if_damaged(path: Path) -> str | None:
    """The build database is a cache of what the sources hold. If it cannot be opened as a DuckDB database
    (overwritten, truncated, written by a newer DuckDB), move it and its WAL aside, so the run rebuilds it from the
    sources instead of failing (dagster-duckdb retries a failing open for about 100 s, per step). Returns a one-line
    message saying so; None when it is fine or absent. A file held by another process is not damage: that error is
    raised."""
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path)) as con:
            con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
        return None
    except duckdb.Error as e:
        reason = str(e).splitlines()[0]
        if "lock" in reason.lower():
            raise
    aside = path.with_name(f"{path.name}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    os.replace(path, aside)
    wal = path.with_name(f"{path.name}.wal")
    if wal.exists():
        os.replace(wal, aside.with_name(f"{aside.name}.wal"))
    return f"the build database {path} could not be opened ({reason}); moved it aside to {aside.name} and rebuilding " \
           "it from the sources"
