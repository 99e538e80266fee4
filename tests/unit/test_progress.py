"""`heerlen run` prints one line per finished step with its outcome and duration (made-up toy assets)."""

from __future__ import annotations

import io
import re

import dagster as dg

from heerlen_pipeline.defs.progress import step_lines_logger


@dg.asset(key=["raw", "toy"])
def raw_toy() -> int:
    return 1


@dg.asset(key=["staging", "toy"], deps=[raw_toy])
def staging_toy() -> int:
    raise ValueError("a bad cell")


@dg.asset(key=["marts", "toy"], deps=[staging_toy])
def marts_toy() -> int:
    return 3


def test_one_line_per_step_with_outcome_and_duration():
    stream = io.StringIO()
    defs = dg.Definitions(assets=[raw_toy, staging_toy, marts_toy], jobs=[dg.define_asset_job("toy")],
                          loggers={"progress": step_lines_logger(3, stream)})
    result = defs.resolve_job_def("toy").execute_in_process(run_config={"loggers": {"progress": {}}},
                                                            raise_on_error=False)
    assert not result.success
    lines = stream.getvalue().splitlines()
    pattern = r"\d\d:\d\d:\d\d  (\d) of 3  (\w+) +([\w/]+) +\d+\.\d\ds"
    assert [re.fullmatch(pattern, line).groups() for line in lines[:2]] == [
        ("1", "OK", "raw/toy"), ("2", "FAILED", "staging/toy")]
    assert re.fullmatch(r"\d\d:\d\d:\d\d  1 of 3 not run: they need a step that failed", lines[2]) and len(lines) == 3
