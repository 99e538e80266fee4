"""Tables of the private build database: text into SQL, DataFrames in and out."""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas is imported where it is used: a no-op refresh never needs it
    import pandas as pd


def sql_literal(text: object) -> str:
    """A SQL string literal of any text (a comment, a path with an apostrophe in it): the one way text goes into SQL
    here, since ATTACH, COPY and read_parquet take no parameters."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_list(values) -> str:
    """A parenthesised list of literals, for `IN (…)`: `('sum', 'school_sum')`."""
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    """A table built in several statements appears whole or not at all (also on Ctrl-C)."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()


def all_cores(con: duckdb.DuckDBPyConnection):
    """Every core for statements that copy or sort rows, and compute nothing: their result does not depend on
    the order in which threads finish, as a float sum's last digit would (the build runs on one thread for
    that). Writing a national build's 3.9 million indicator values takes 4.4 s on one thread, 2.4 s on two.
    Not while tasks run side by side: `SET threads` is the database's, so one task's setting would be another's
    (they use the cores by running at once)."""
    return nullcontext(con) if _beside.is_set() else threads(con, cores())


@contextmanager
def threads(con: duckdb.DuckDBPyConnection, n: int):
    """`n` threads for the statements inside, then those set before."""
    (before,) = con.execute("SELECT current_setting('threads')").fetchone()
    con.execute(f"SET threads = {n}")
    try:
        yield con
    finally:
        con.execute(f"SET threads = {before}")


SIDE_BY_SIDE_MAX = 4  # tasks at once, whatever the cores: each holds its own intermediate results
_beside = threading.Event()  # set while side_by_side runs tasks at once (all_cores then leaves the threads alone)


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or taskset sets), not the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def side_by_side(con: duckdb.DuckDBPyConnection, tasks: list) -> list:
    """Run independent tasks at once, one per core, each on a cursor of its own (DuckDB lets go of the GIL while it
    works), and return their results in the order given. A task is a statement, or a function of a cursor that runs
    several (its TEMP tables and registered frames are the cursor's own). Each statement still runs on one thread,
    so its result is the one it gives alone, to the last digit of a float sum; only tasks overlap. On an error or
    an interrupt the others are stopped first."""
    def run(cursor: duckdb.DuckDBPyConnection, task):
        return cursor.execute(task) if isinstance(task, str) else task(cursor)

    workers = min(cores(), SIDE_BY_SIDE_MAX, len(tasks))
    if workers <= 1:
        return [run(con, task) for task in tasks]
    todo: queue.SimpleQueue[tuple[int, object]] = queue.SimpleQueue()
    for item in enumerate(tasks):
        todo.put(item)
    results: list = [None] * len(tasks)
    stop = threading.Event()
    cursors = [con.cursor() for _ in range(workers)]
    _beside.set()

    def work(cursor: duckdb.DuckDBPyConnection) -> None:
        while not stop.is_set():
            try:
                k, task = todo.get_nowait()
            except queue.Empty:
                return
            results[k] = run(cursor, task)

    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="duckdb") as pool:
            futures = [pool.submit(work, c) for c in cursors]
            try:
                for future in wait(futures, return_when=FIRST_EXCEPTION).done:  # all, unless one failed
                    future.result()
            except BaseException:
                stop.set()
                while not all(f.done() for f in futures):  # again until they end: one may not have started yet
                    for c in cursors:
                        c.interrupt()
                    wait(futures, timeout=0.1)
                raise
    finally:
        _beside.clear()
        for c in cursors:
            c.close()
    return results


def column_defs(types: dict[str, str]) -> str:
    """`name TYPE, ...` for a CREATE TABLE, from a {column: type} mapping."""
    return ", ".join(f"{c} {t}" for c, t in types.items())


def sql_array(values) -> str:
    """A list literal of text, for indexing by a number: `(['a.csv', 'b.csv']::VARCHAR[])[_f + 1]`."""
    return "([" + ", ".join(sql_literal(v) for v in values) + "]::VARCHAR[])"


def read_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """A query's rows as a DataFrame by way of Arrow. DuckDB's .df() builds a Python string per text cell: 12.5 s
    for the 4.7 million staged rows of a national run, against 1.4 s this way (same dtypes and values)."""
    return con.sql(sql, params=params).to_arrow_table().to_pandas()


def write_frame(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    schema = table.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_frame", df)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame")
    finally:
        con.unregister("_frame")
