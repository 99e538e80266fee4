"""Parse published cells into (value, status, symbol). Suppression symbols never become 0.

The CBS legend is kept apart: `.` (unknown, too unreliable or secret) and `x` (secret) are withheld
('suppressed'), `-` is nil (a real 0), and an empty cell is resolved per file in staging (not applicable
in a StatLine export, withheld or not published in an OData delivery, where every symbol arrives as null).
Anything else that is not a number - text such as NA, NaN or null, or a number written with the other decimal
separator than the file's - is rejected with its reason, never read as missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# StatLine '.', 'x'; DUO '<5'; PDOK negative sentinels: the source withheld the cell.
SUPPRESSED = [".", "x", "X", "<5", "-99997", "-99995", "-99996", "-99998", "-99999"]
NIL = ["-"]  # StatLine: nihil, the value is zero
EMPTY = [""]
# A plain number in the file's notation: point decimals (and exponents), or comma decimals.
NUMBER = {".": r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?", ",": r"[-+]?\d+(?:,\d+)?"}


def parse_cells(raw: pd.Series, decimal: str = ".") -> pd.DataFrame:
    """Vectorised parse of raw cell text; `decimal` is the file's decimal separator ('.' or ',').

    Returns columns `value` (float or NaN), `status` ('ok', 'suppressed', 'empty' or 'error'), `symbol` (the
    legend symbol as published: '.', 'x', '-', '<5', a sentinel, '' for an empty cell; None for a number) and
    `error` (reason, for rejected cells). 'empty' is resolved in staging (see staging.resolve_empty).
    """
    text = raw.astype("string").fillna("").str.strip()
    empty = text.isin(EMPTY)
    suppressed = text.isin(SUPPRESSED)
    nil = text.isin(NIL)
    number = text.str.fullmatch(NUMBER[decimal]).fillna(False).astype(bool)
    normal = (text.str.replace(",", ".", regex=False) if decimal == "," else text).mask(nil, "0")
    value = pd.to_numeric(normal.where((number | nil) & ~suppressed), errors="coerce").astype("float64")
    finite = np.isfinite(value.to_numpy(dtype="float64", na_value=np.nan))
    error = ~(empty | suppressed) & ~finite
    status = np.select([empty, suppressed, error], ["empty", "suppressed", "error"], default="ok")
    symbol = pd.Series(np.where(empty, "", text.astype(object)), index=raw.index, dtype=object).where(
        empty | suppressed | nil, None)
    out = pd.DataFrame({"value": value.where(~error), "status": status, "symbol": symbol}, index=raw.index)
    other = "," if decimal == "." else "."
    hint = np.where(text.str.contains(other, regex=False), f" (this file writes decimals with '{decimal}')", "")
    out["error"] = np.where(error, "not a number: '" + text + "'" + hint, None)
    return out
