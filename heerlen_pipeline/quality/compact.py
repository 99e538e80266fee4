"""What a suite validates, made small in DuckDB: the rows that decide a suite, and the hash that lets a run re-use
an earlier run's result.

Covering rows. The staged observations of one source can be hundreds of thousands of rows (DUO: every school in
the country, 30 years), while the observation suite only asks column-value questions: is a column null, in a set,
in a range, matching a pattern, under a condition on `unit`. Each of those has the same answer on a subset that
holds, for every group of the key columns, the rows with the group's smallest and largest value and a row whose
value is missing, plus one row per distinct area code: a value outside a range is then the group's minimum or
maximum, and every key value occurs. `covering_rows` selects those rows (a few per cent of DUO's), and
`coverable` says whether a suite asks only such questions; otherwise, and whenever an expectation fails on the
covering rows, the suite runs on every row (the failure's counts, samples and quarantine are the full data's).
Questions about the table as a whole (are keys unique, how many rows) are SQL checks (quality/checks.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import duckdb

from .suites import ExpectationOutcome

# Key columns: every value of these occurs in the covering rows. `value` is covered by its extremes per group.
KEYS = ("year", "measure", "unit", "status", "symbol")
DISTINCT = "area_code"
EXTREME = "value"
# Expectations whose verdict the covering rows preserve (column-value questions, and the column set).
COVERABLE = {"expect_column_values_to_not_be_null", "expect_column_values_to_be_in_set",
             "expect_column_values_to_be_between", "expect_column_values_to_match_regex",
             "expect_table_columns_to_match_set"}
_CONDITION_COLUMN = re.compile(r"([A-Za-z_]\w*)\s*(?:==|!=|<=|>=|<|>|\bin\b)")


def coverable(suite: dict) -> bool:
    """Whether every expectation of `suite` gives the same verdict on the covering rows as on all rows."""
    for e in suite["expectations"]:
        if e["type"] not in COVERABLE:
            return False
        column = e["kwargs"].get("column")
        if column is not None and column not in (*KEYS, DISTINCT, EXTREME):
            return False
        condition = e["kwargs"].get("row_condition") or ""
        if not set(_CONDITION_COLUMN.findall(condition)) <= set(KEYS):
            return False
    return True


def covering_rows(rows_sql: str) -> str:
    """SQL for the covering rows of the rows `rows_sql` selects (which must have the KEYS, area_code and value)."""
    keys = ", ".join(KEYS)
    return f"""
        WITH r AS (SELECT *, row_number() OVER () AS _pos FROM ({rows_sql})),
        pick AS (
            SELECT min(_pos) AS p FROM r GROUP BY {DISTINCT}
            UNION SELECT arg_min(_pos, {EXTREME}) FROM r GROUP BY {keys}
            UNION SELECT arg_max(_pos, {EXTREME}) FROM r GROUP BY {keys}
            UNION SELECT min(_pos) FROM r WHERE {EXTREME} IS NULL GROUP BY {keys})
        SELECT * EXCLUDE (_pos) FROM r WHERE _pos IN (SELECT p FROM pick) ORDER BY _pos"""


def content_hash(con: duckdb.DuckDBPyConnection, rows_sql: str) -> str:
    """A hash of the rows' content, whatever their order: the row count and the sum of 64-bit row hashes."""
    n, total = con.execute(f"SELECT count(*), sum(hash(r)::HUGEINT) FROM ({rows_sql}) r").fetchall()[0]
    return f"{n}:{total or 0}"


def result_key(suite: dict, input_hash: str) -> str:
    """What a suite result depends on: the input's content, the suite and the code and libraries that ran it."""
    text = json.dumps([suite, input_hash, _runner_versions()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=1)
def _runner_versions() -> dict[str, str]:
    """The libraries, and this package's own suite runner (quality/*.py), by content."""
    runner = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py"))))
    return {**{lib: version(lib) for lib in ("great_expectations", "pandas", "duckdb")},
            "runner": runner.hexdigest()}


def reused_result(con: duckdb.DuckDBPyConnection, key: str) -> tuple[list[ExpectationOutcome], str] | None:
    """A passing result of the same suite on the same input with the same libraries, and the run that found it."""
    row = con.execute("SELECT outcomes, run_id FROM audit.suite_results WHERE result_key = ?", [key]).fetchall()
    if not row:
        return None
    outcomes, run_id = row[0]
    return [ExpectationOutcome(**{**o, "unexpected_index": ()}) for o in json.loads(outcomes)], run_id


def keep_result(con: duckdb.DuckDBPyConnection, key: str, suite: str, outcomes: list[ExpectationOutcome],
                run_id: str) -> None:
    """Remember a passing result (a failing one is validated again: its samples and quarantine come from that)."""
    fields = [{k: v for k, v in asdict(o).items() if k != "unexpected_index"} for o in outcomes]
    con.execute("DELETE FROM audit.suite_results WHERE result_key = ?", [key])
    con.execute("INSERT INTO audit.suite_results VALUES (?, ?, ?, ?, now())", [key, suite, json.dumps(fields), run_id])
