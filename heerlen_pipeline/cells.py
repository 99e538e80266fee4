"""Parse published cells into (value, status, symbol). Suppression symbols never become 0.

The CBS legend is kept apart: `.` (unknown, too unreliable or secret) and `x` (secret) are withheld
('suppressed'), `-` is nil (a real 0), and an empty cell is resolved per file in staging (not applicable
in a StatLine export, withheld or not published in an OData delivery, where every symbol arrives as null).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# StatLine '.', 'x'; DUO '<5'; PDOK negative sentinels: the source withheld the cell.
SUPPRESSED = [".", "x", "X", "<5", "-99997", "-99995", "-99996", "-99998", "-99999"]
NIL = ["-"]  # StatLine: nihil, the value is zero
EMPTY = ["", "NA", "nan", "NaN", "None", "null"]


def parse_cells(raw: pd.Series) -> pd.DataFrame:
    """Vectorised parse of raw cell text.

    Returns columns `value` (float or NaN), `status` ('ok', 'suppressed', 'empty' or 'error'), `symbol` (the
    legend symbol as published: '.', 'x', '-', '<5', a sentinel, '' for an empty cell; None for a number) and
    `error` (reason, for rejected cells). 'empty' is resolved in staging (see staging._resolve_empty).
    """
    text = raw.astype("string").fillna("").str.strip()
    empty = text.isin(EMPTY)
    suppressed = text.isin(SUPPRESSED)
    nil = text.isin(NIL)
    # Decimal comma ("33,4") only when it is the sole separator; "1.000" style thousands are not used.
    normal = text.str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True).mask(nil, "0")
    value = pd.to_numeric(normal.where(~(empty | suppressed)), errors="coerce").astype("float64")
    finite = np.isfinite(value.to_numpy(dtype="float64", na_value=np.nan))
    error = ~(empty | suppressed) & ~finite
    status = np.select([empty, suppressed, error], ["empty", "suppressed", "error"], default="ok")
    symbol = pd.Series(np.where(empty, "", text.astype(object)), index=raw.index, dtype=object).where(
        empty | suppressed | nil, None)
    out = pd.DataFrame({"value": value.where(~error), "status": status, "symbol": symbol}, index=raw.index)
    out["error"] = np.where(error, "not a number: '" + text + "'", None)
    return out
