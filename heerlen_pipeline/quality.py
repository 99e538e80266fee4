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


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    severity: str
    passed: bool
    observed: str


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
    result = batch_definition.get_batch(batch_parameters={"dataframe": df}).validate(suite)
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
        ))
    return outcomes
