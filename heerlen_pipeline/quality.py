"""Great Expectations suites (data_checks/*.json) run in memory on a pandas frame.

GX is imported only here, inside the function, because importing it takes seconds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from .settings import DATA_CHECKS_DIR

SAMPLE_COLUMNS = ["definition", "indicator_id", "area_code", "year", "measure", "value", "status", "source_file",
                  "row_nr", "table_id"]


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    severity: str
    passed: bool
    observed: str
    unexpected_index: tuple[int, ...] = ()  # row positions in the validated frame (row-level expectations)

    def label(self) -> str:
        return f"{self.expectation}({self.column or ''})"


def load_suite(name: str, checks_dir: Path = DATA_CHECKS_DIR) -> dict:
    return json.loads((checks_dir / f"{name}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _batch_definition():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("frames").add_dataframe_asset("frame")
    return context, asset.add_batch_definition_whole_dataframe("whole")


def validate_frame(df: pd.DataFrame, suite_spec: dict) -> list[ExpectationOutcome]:
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context, batch_definition = _batch_definition()
    suite = gx.ExpectationSuite(name=f"{suite_spec['name']}_{id(df)}")
    for e in suite_spec["expectations"]:
        suite.add_expectation_configuration(ExpectationConfiguration(**e))
    frame = df.reset_index(drop=True)
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format="COMPLETE")
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        observed = res.get("observed_value")
        if observed is None and "unexpected_count" in res:
            observed = f"{res['unexpected_count']} unexpected, e.g. {res.get('partial_unexpected_list', [])[:5]}"
        outcomes.append(ExpectationOutcome(
            expectation=cfg.type,
            column=cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list", [])) or None,
            severity=(cfg.meta or {}).get("severity", "error"),
            passed=bool(r.success),
            observed=str(observed)[:500],
            unexpected_index=tuple(int(i) for i in res.get("unexpected_index_list") or () if isinstance(i, int)),
        ))
    return outcomes


def offending_rows(df: pd.DataFrame, outcome: ExpectationOutcome, n: int | None = 5) -> pd.DataFrame:
    """The rows an expectation rejected, with the columns that say where they came from."""
    frame = df.reset_index(drop=True)
    cols = [c for c in SAMPLE_COLUMNS if c in frame.columns]
    rows = frame.iloc[list(outcome.unexpected_index)][cols]
    return rows if n is None else rows.head(n)
