"""Great Expectations suites (data_checks/*.json) run in memory on a pandas frame.

GX is imported only here, inside the function, because importing it takes seconds.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..settings import DATA_CHECKS_DIR

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
    # Importing GX creates ~200,000 long-lived objects; each full collection while that happens re-scans all
    # of them (and Dagster's), 0.3-0.5 s apiece. Collect nothing during the import, then move what exists to
    # the permanent generation (gc.freeze) so later full collections skip it. Reference counting still frees
    # everything as before; only cyclic garbage that exists right now would be kept.
    enabled = gc.isenabled()
    gc.disable()
    try:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("frames").add_dataframe_asset("frame")
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return context, batch_definition


def warm_up() -> None:
    """Import GX and build its context now (a worker does this while the run's first steps go on)."""
    _batch_definition()


def _validate(frame: pd.DataFrame, name: str, expectations: list[dict], result_format: str) -> list:
    _context, batch_definition = _batch_definition()  # first: it imports GX
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    suite = gx.ExpectationSuite(name=name)
    for e in expectations:
        suite.add_expectation_configuration(ExpectationConfiguration(**e))
    return list(batch_definition.get_batch(batch_parameters={"dataframe": frame})
                .validate(suite, result_format=result_format).results)


def _key(result) -> str:
    cfg = result.expectation_config
    return json.dumps([cfg.type, cfg.kwargs, cfg.meta], sort_keys=True, default=str)


def validate_frame(df: pd.DataFrame, suite_spec: dict) -> list[ExpectationOutcome]:
    frame = df.reset_index(drop=True)
    name = f"{suite_spec['name']}_{id(df)}"
    # BASIC (counts, the first unexpected values, observed values) costs about a third less than COMPLETE, and
    # only a failed expectation needs COMPLETE's row indexes (samples, quarantine): run those again with it.
    # The outcomes are the same as one COMPLETE run; success does not depend on the result format.
    results = _validate(frame, name, suite_spec["expectations"], "BASIC")
    failed = [r for r in results if not r.success]
    if failed:  # GX orders the results its own way: match them by expectation, keep the first run's order
        again = {_key(r): r for r in _validate(frame, f"{name}_failed", [r.expectation_config.to_json_dict()
                                                                         for r in failed], "COMPLETE")}
        if len(again) == len(failed) and all(_key(r) in again for r in failed):
            results = [again[_key(r)] if not r.success else r for r in results]
        else:  # not expected; the plain way is always right
            results = _validate(frame, name, suite_spec["expectations"], "COMPLETE")
    outcomes = []
    for r in results:
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
