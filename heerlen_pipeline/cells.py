"""Parse published cells into (value, status). Suppression symbols never become 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

# StatLine '.', 'x' (and OData null): unknown, secret or too unreliable; DUO '<5'; PDOK negative sentinels.
SUPPRESSED = [".", "x", "X", "<5", "-99997", "-99995", "-99996", "-99998", "-99999"]
EMPTY = ["", "NA", "nan", "NaN", "None", "null"]


def parse_cells(raw: pd.Series) -> pd.DataFrame:
    """Vectorised parse of raw cell text.

    Returns columns `value` (float or NaN), `status` ('ok', 'suppressed', 'empty' or 'error') and
    `error` (reason, for rejected cells). 'empty' is resolved later to 'suppressed' or 'missing'
    depending on whether the same measure is published for other areas of the same file.
    """
    text = raw.astype("string").fillna("").str.strip()
    empty = text.isin(EMPTY)
    suppressed = text.isin(SUPPRESSED)
    # Decimal comma ("33,4") only when it is the sole separator; "1.000" style thousands are not used.
    normal = text.str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True)
    value = pd.to_numeric(normal.where(~(empty | suppressed)), errors="coerce").astype("float64")
    finite = np.isfinite(value.to_numpy(dtype="float64", na_value=np.nan))
    error = ~(empty | suppressed) & ~finite
    status = np.select([empty, suppressed, error], ["empty", "suppressed", "error"], default="ok")
    out = pd.DataFrame({"value": value.where(~error), "status": status}, index=raw.index)
    out["error"] = np.where(error, "not a number: '" + text + "'", None)
    return out
