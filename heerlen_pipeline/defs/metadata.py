"""How assets show their data in the Dagster UI."""

from __future__ import annotations

import dagster as dg
import pandas as pd


def preview(df: pd.DataFrame, n: int = 10) -> dg.MetadataValue:
    """The first rows as a Markdown code block."""
    return dg.MetadataValue.md(f"```\n{df.head(n).to_string(index=False)}\n```" if len(df) else "_empty_")
