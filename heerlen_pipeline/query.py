"""`heerlen query`: read the published warehouse from the shell, never write it.

The file is opened read-only (DuckDB refuses any write then), and statements other than queries are refused
before they run, with a message that says why: COPY TO, ATTACH, SET and the like are not for this command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import duckdb

ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}  # SELECT includes DESCRIBE, SHOW, WITH …


DISPLAY_DECIMALS = 3  # the warehouse stores values unrounded; the table display rounds them


def _shown(value: float) -> str:
    return f"{value:.{DISPLAY_DECIMALS}f}".rstrip("0").rstrip(".") if value == value else "NULL"


class QueryRefused(ValueError):
    pass


def check_read_only(sql: str) -> list:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryRefused(f"not valid SQL: {e}") from None
    if not statements:
        raise QueryRefused("no statement given")
    for st in statements:
        if st.type not in ALLOWED:
            kind = st.type.name.replace("_", " ")
            raise QueryRefused(f"{kind} statements are refused: `heerlen query` only reads the published warehouse "
                               "(use SELECT, WITH … SELECT, DESCRIBE, SHOW or EXPLAIN)")
    return statements


def run_query(warehouse: Path, sql: str, fmt: str = "table", out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up per call: tests and callers may swap sys.stdout
    statements = check_read_only(sql)
    if not warehouse.is_file():
        raise FileNotFoundError(f"no published warehouse at {warehouse}; run `heerlen run` first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for st in statements[:-1]:  # several statements: the last one's result is shown
            con.execute(st.query).fetchall()
        df = con.execute(statements[-1].query).df()
    if fmt == "csv":
        df.to_csv(out, index=False, lineterminator="\n")
    elif fmt == "json":
        out.write(df.to_json(orient="records", date_format="iso", force_ascii=False, indent=1) + "\n")
    else:  # for reading: numbers to at most DISPLAY_DECIMALS (csv and json keep full precision)
        out.write(df.to_string(index=False, max_colwidth=80, na_rep="NULL", float_format=_shown) + "\n"
                  if len(df) else "(no rows)\n")
    return len(df)
