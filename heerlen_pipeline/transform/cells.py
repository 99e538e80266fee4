"""Parse published cells into (value, status, symbol). Suppression symbols never become 0.

The CBS legend is kept apart: `.` (unknown, too unreliable or secret) and `x` (secret) are withheld
('suppressed'), `-` is nil (a real 0), and an empty cell is resolved per file in staging (not applicable
in a StatLine export, withheld or not published in an OData delivery, where every symbol arrives as null).
Anything else that is not a number - text such as NA, NaN or null, or a number written with the other decimal
separator than the file's - is rejected with its reason, never read as missing.

The rules are SQL (`status_sql`, `cell_sql`), run by DuckDB over a source's cells where they lie: staging never turns a cell
into a Python object. `parse_cells` runs the same SQL over a pandas Series.
"""

from __future__ import annotations

import duckdb

from ..store.tables import sql_list, sql_literal

# StatLine '.', 'x'; DUO '<5'; PDOK negative sentinels: the source withheld the cell.
SUPPRESSED = [".", "x", "X", "<5", "-99997", "-99995", "-99996", "-99998", "-99999"]
NIL = ["-"]  # StatLine: nihil, the value is zero
EMPTY = [""]
# A plain number in the file's notation: point decimals (and exponents), or comma decimals.
NUMBER = {".": r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", ",": r"[-+]?[0-9]+(?:,[0-9]+)?"}
# What Python's str.strip() strips: every character str.isspace() calls white space (tests/unit checks the list).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
              + "\u2028\u2029\u202f\u205f\u3000")
_SPACE = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + "]"


def clean_sql(expr: str) -> str:
    """The cell text as staging reads it: NULL as '', stripped as str.strip() strips."""
    return f"regexp_replace(coalesce(CAST({expr} AS VARCHAR), ''), '^{_SPACE}+|{_SPACE}+$', '', 'g')"


def status_sql(text: str, decimal: str = ".") -> str:
    """SQL for a cell's status from its cleaned text in column `text` (see clean_sql), in a file whose decimal
    separator is `decimal`: 'ok' (a number in the file's notation, or nil), 'suppressed', 'empty' or 'error'.
    'empty' is resolved in staging."""
    is_number = f"regexp_full_match({text}, {sql_literal(NUMBER[decimal])}) AND isfinite({_number(text, decimal)})"
    return (f"CASE WHEN {text} IN {sql_list(EMPTY)} THEN 'empty' "
            f"WHEN {text} IN {sql_list(SUPPRESSED)} THEN 'suppressed' "
            f"WHEN {text} IN {sql_list(NIL)} OR ({is_number}) THEN 'ok' ELSE 'error' END")


def cell_sql(text: str, status: str, decimal: str = ".") -> dict[str, str]:
    """SQL for the rest of a cell from its text and its status (status_sql, computed once and stored: DuckDB would
    evaluate it again at every use): `value` (DOUBLE; NULL unless a number or nil), `symbol` (the legend symbol as
    published: '.', 'x', '-', '<5', a sentinel, '' for an empty cell; NULL for a number) and `error` (why a cell is
    rejected)."""
    other = "," if decimal == "." else "."
    hint = sql_literal(f" (this file writes decimals with '{decimal}')")
    return {
        "value": (f"CASE WHEN {status} = 'ok' THEN "
                  f"CASE WHEN {text} IN {sql_list(NIL)} THEN 0.0 ELSE {_number(text, decimal)} END END"),
        "symbol": f"CASE WHEN {status} IN ('empty', 'suppressed') OR {text} IN {sql_list(NIL)} THEN {text} END",
        "error": (f"CASE WHEN {status} = 'error' THEN concat('not a number: ', chr(39), {text}, chr(39), "
                  f"CASE WHEN contains({text}, {sql_literal(other)}) THEN {hint} ELSE '' END) END"),
    }


def _number(text: str, decimal: str) -> str:
    return f"TRY_CAST({text if decimal == '.' else f'replace({text}, {sql_literal(decimal)}, {sql_literal(chr(46))})'} AS DOUBLE)"


def parse_cells(raw, decimal: str = "."):
    """The same SQL over a pandas Series of raw cell text: a frame of value, status, symbol and error, same index."""
    import pandas as pd

    con = duckdb.connect()
    con.register("_raw", pd.DataFrame({"i": range(len(raw)), "raw": raw.astype("string").to_numpy()}))
    con.execute(f"CREATE TABLE cells AS SELECT i, text, {status_sql('text', decimal)} AS status "
                f"FROM (SELECT i, {clean_sql('raw')} AS text FROM _raw)")
    cols = cell_sql("text", "status", decimal)
    out = con.sql(f"SELECT status, {', '.join(f'{e} AS {c}' for c, e in cols.items())} FROM cells ORDER BY i"
                  ).to_arrow_table().to_pandas()
    out.index = raw.index
    for c in ("symbol", "error"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out[["value", "status", "symbol", "error"]]
