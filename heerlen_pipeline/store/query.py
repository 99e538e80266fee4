"""`heerlen query`: read the published warehouse from the shell, never write it, never reach outside it.

DuckDB enforces this, not a list of statement types: the file is opened read-only with external access
disabled (no file other than the warehouse, no network, no extension install or load) and the configuration
locked, so no statement can turn any of that back on. Memory is capped (HEERLEN_QUERY_MEMORY_LIMIT) and a
statement that runs longer than HEERLEN_QUERY_TIMEOUT seconds is interrupted. As a second line, statements are
parsed by DuckDB and only queries are run: SELECT (with WITH, FROM-first, DESCRIBE, SHOW, SUMMARIZE) and EXPLAIN
of a query, since EXPLAIN ANALYZE executes the statement it explains.

Results stream out in batches: CSV and JSON carry every row at full precision; the table display shows the first
TABLE_ROWS rows with numbers rounded to DISPLAY_DECIMALS.
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import TextIO

import duckdb

from ..settings import Limits

ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}  # SELECT includes DESCRIBE, SHOW, WITH …
DISPLAY_DECIMALS = 3  # the warehouse stores values unrounded; the table display rounds them
TABLE_ROWS = 1000  # rows the table display shows; CSV and JSON stream all of them
BATCH = 10_000
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALY[SZ]E\s+|\([^)]*\)\s*)?", re.IGNORECASE)


class QueryRefused(ValueError):
    pass


class QueryFailed(RuntimeError):
    """The query ran out of time, or failed while its rows streamed out."""


def _shown(value: float) -> str:
    return f"{value:.{DISPLAY_DECIMALS}f}".rstrip("0").rstrip(".") if value == value else "NULL"


def check_read_only(sql: str) -> list:
    """The statements of `sql`, parsed by DuckDB; anything but a query (or EXPLAIN of a query) is refused."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryRefused(f"not valid SQL: {e}") from None
    if not statements:
        raise QueryRefused("no statement given")
    for st in statements:
        if st.type not in ALLOWED:
            raise QueryRefused(f"{_kind(st)} statements are refused: `heerlen query` only reads the published "
                               "warehouse (use SELECT, WITH … SELECT, DESCRIBE, SHOW or EXPLAIN of a query)")
        if st.type == duckdb.StatementType.EXPLAIN:
            try:
                inner = duckdb.extract_statements(_EXPLAIN.sub("", st.query, count=1))
            except duckdb.Error as e:
                raise QueryRefused(f"not valid SQL after EXPLAIN: {e}") from None
            if not inner or any(s.type != duckdb.StatementType.SELECT for s in inner):
                raise QueryRefused(f"EXPLAIN of a {_kind(inner[0]) if inner else 'missing'} statement is refused: "
                                   "EXPLAIN ANALYZE runs the statement it explains; explain a SELECT")
    return statements


def _kind(st) -> str:
    return st.type.name.replace("_", " ")


def limits() -> tuple[float, str]:
    """(statement timeout in seconds, DuckDB memory limit), from the environment; bad values fail clearly."""
    try:
        limits = Limits.from_env()
    except ValueError as e:
        raise QueryRefused(str(e)) from None
    return limits.query_timeout, limits.query_memory_limit


def connect(warehouse: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """The analyst connection: read-only, nothing outside the file, the configuration locked."""
    return duckdb.connect(str(warehouse), read_only=True, config={
        "enable_external_access": False, "autoload_known_extensions": False, "autoinstall_known_extensions": False,
        "memory_limit": memory_limit, "lock_configuration": True})


def run_query(warehouse: Path, sql: str, fmt: str = "table", out: TextIO | None = None,
              err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr  # looked up per call: tests and callers may swap them
    statements = check_read_only(sql)
    timeout, memory = limits()
    if not warehouse.is_file():
        raise FileNotFoundError(f"no published warehouse at {warehouse}; run `heerlen run` first")
    with connect(warehouse, memory) as con:
        stopped = threading.Event()

        def stop() -> None:
            stopped.set()
            con.interrupt()

        timer = threading.Timer(timeout, stop)
        timer.start()
        try:
            rows = 0
            for i, st in enumerate(statements):
                # A relation streams its result batch by batch (DuckDB 2: to_arrow_reader; 1.x: fetch_record_batch).
                rel = con.sql(st.query)
                last = i == len(statements) - 1
                if fmt != "table" and not last:  # one CSV or JSON document: the last statement's result
                    rel.fetchall()
                    continue
                if i:
                    out.write("\n")
                rows = _write((getattr(rel, "to_arrow_reader", None) or rel.fetch_record_batch)(BATCH), fmt, out, err)
            if fmt != "table" and len(statements) > 1:
                print(f"({fmt} shows the result of the last of {len(statements)} statements)", file=err)
            return rows
        except Exception as e:
            if stopped.is_set():  # DuckDB says "Interrupted", or Arrow does while the rows stream out
                raise QueryFailed(f"the query ran longer than {timeout:g}s and was stopped "
                                  "(HEERLEN_QUERY_TIMEOUT)") from None
            if isinstance(e, duckdb.Error):
                raise
            raise QueryFailed(f"the query failed while its rows were read: {e}") from None
        finally:
            timer.cancel()


def _write(reader, fmt: str, out: TextIO, err: TextIO) -> int:
    rows = 0
    if fmt == "csv":
        for i, batch in enumerate(reader):
            batch.to_pandas().to_csv(out, index=False, header=i == 0, lineterminator="\n")
            rows += batch.num_rows
        if rows == 0:
            out.write(",".join(reader.schema.names) + "\n")
        return rows
    if fmt == "json":
        out.write("[")
        for batch in reader:
            if batch.num_rows:
                text = batch.to_pandas().to_json(orient="records", date_format="iso", force_ascii=False, indent=1)
                out.write(("," if rows else "") + text.strip()[1:-1].rstrip())
                rows += batch.num_rows
        out.write("\n]\n" if rows else "]\n")
        return rows
    frames, more = [], False
    for batch in reader:
        room = TABLE_ROWS - rows
        frames.append(batch.slice(0, room).to_pandas())
        rows += min(batch.num_rows, room)
        if rows >= TABLE_ROWS:
            more = batch.num_rows > room or _any_left(reader)
            break
    if not rows:
        out.write("(no rows)\n")
        return 0
    import pandas as pd

    df = pd.concat(frames, ignore_index=True)
    for column in df.select_dtypes(include="object").columns:  # None in text, booleans, dates: NULL as elsewhere
        df[column] = df[column].where(df[column].notna(), "NULL")
    out.write(df.to_string(index=False, max_colwidth=80, na_rep="NULL", float_format=_shown) + "\n")
    if more:
        print(f"(the first {TABLE_ROWS} rows are shown; use --format csv or json for all of them)", file=err)
    return rows


def _any_left(reader) -> bool:
    for batch in reader:
        if batch.num_rows:
            return True
    return False
