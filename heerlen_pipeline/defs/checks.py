"""The data checks as Dagster asset checks: a Great Expectations suite per staged table plus the plain
SQL checks of quality/checks.py, run in their asset's own step. All are declared blocking: a failure with ERROR
severity stops everything downstream (the published warehouse stays as it was); a WARN failure is reported and
alerted only.

Every outcome is recorded in audit.check_results (published as marts.check_results), and the rows a
critical row-level expectation rejected are kept in audit.quarantined_rows with the reason and origin.
"""


from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import dagster as dg
import duckdb
import pandas as pd

from .. import catalog
from ..quality import checks, compact, gx_worker
from ..quality.suites import ExpectationOutcome, load_suite, offending_rows
from ..settings import Settings
from ..store.layout import CHECK_TYPES, OBS_TYPES
from ..store.tables import read_frame, side_by_side, sql_literal

FORCE_CHECKS_TAG = "heerlen/force-checks"  # validate every suite again, re-using no earlier result
SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def record_checks(con: duckdb.DuckDBPyConnection, asset: str, rows: list[dict], run_id: str,
                  reused_from: str | None = None) -> None:
    """Add outcomes to audit.check_results (created by store.layout.ensure_layout), in one statement: the rows as
    lists side by side (executemany runs a statement per row, 30 ms for a suite's fifteen)."""
    columns = ["check_name", "severity", "passed", "observed"]
    con.execute(f"INSERT INTO audit.check_results ({', '.join(CHECK_TYPES)}) "
                "SELECT $asset, unnest($check_name), unnest($severity), unnest($passed), unnest($observed), $run_id, "
                "$now, $reused_from",
                {"asset": asset, **{c: [r[c] for r in rows] for c in columns}, "run_id": run_id, "now": datetime.now(UTC),
                 "reused_from": reused_from})


def _quarantine(con: duckdb.DuckDBPyConnection, asset: str, outcome: ExpectationOutcome, rows: pd.DataFrame,
                run_id: str) -> None:
    """Keep rejected rows (nothing is lost): one JSON record per row, with the reason and the run."""
    now = datetime.now(UTC)
    frame = pd.DataFrame({
        "run_id": run_id, "asset": asset, "check_name": outcome.label(), "reason": outcome.observed,
        "source_file": rows["source_file"] if "source_file" in rows else None,
        "row_nr": rows["row_nr"] if "row_nr" in rows else None,
        "record": rows.to_json(orient="records", lines=True, date_format="iso").splitlines(),
        "quarantined_at": now,
    })
    con.register("_q", frame)
    con.execute("INSERT INTO audit.quarantined_rows SELECT * FROM _q")
    con.unregister("_q")


def _origin(con: duckdb.DuckDBPyConnection, source_id: str) -> str:
    """Where the checked rows came from: the files, or for live tables the URL of their first data page."""
    rows = con.execute("""
        SELECT f.source_file, any_value(p.url ORDER BY p.fetched_at) FILTER (WHERE p.entity IN ('TypedDataSet', 'file'))
        FROM raw.files f LEFT JOIN raw.http_pages p ON p.source_id = f.source_id AND p.table_id = f.table_id
        WHERE f.source_id = ? GROUP BY 1 ORDER BY 1""", [source_id]).fetchall()
    return ", ".join(f"{f} ({url})" if url else f for f, url in rows) or "no source files"


def _validate(con: duckdb.DuckDBPyConnection, suite: str, rows_sql: str, run_id: str, forced: bool
              ) -> Callable[[], tuple[list[ExpectationOutcome], pd.DataFrame | None, str | None]]:
    """Start a suite; the returned function waits for its outcomes, the rows it failed on (None when it passed)
    and the run whose result was re-used. The suite runs on the covering rows where it allows, on all rows when an
    expectation fails there; or the passing result of an earlier run on the same content is re-used."""
    spec = load_suite(suite)
    result_key = compact.result_key(spec, compact.content_hash(con, rows_sql))
    if not forced and (reused := compact.reused_result(con, result_key)) is not None:
        outcomes, reused_from = reused
        return lambda: (outcomes, None, reused_from)
    cover = compact.covering(spec)
    frame = read_frame(con, compact.covering_rows(rows_sql, cover) if cover else rows_sql)
    pending = gx_worker.submit(frame, spec)

    def finish():
        outcomes, df = pending(), None if cover else frame
        if cover and not all(o.passed for o in outcomes):  # counts, samples and quarantine come from every row
            df = read_frame(con, rows_sql)
            outcomes = gx_worker.validate(df, spec)
        if all(o.passed for o in outcomes):
            compact.keep_result(con, result_key, suite, outcomes, run_id)
        return outcomes, df, None

    return finish


def suite_check(context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection, key: dg.AssetKey,
                name: str, table: str, suite: str, origin: str, rows_sql: str | None = None
                ) -> Callable[[], dg.AssetCheckResult]:
    """A GX suite on `table` (or on the rows `rows_sql` selects from it), started now; the returned function waits
    for it and gives the Dagster check result (Checks.run does the SQL checks in between)."""
    run_id = context.op_execution_context.run_id
    forced = context.op_execution_context.run.tags.get(FORCE_CHECKS_TAG, "").lower() == "true"
    pending = _validate(con, suite, rows_sql or f"SELECT * FROM {table}", run_id, forced)
    return lambda: _suite_result(con, key, name, table, suite, origin, run_id, *pending())


def _suite_result(con: duckdb.DuckDBPyConnection, key: dg.AssetKey, name: str, table: str, suite: str, origin: str,
                  run_id: str, outcomes: list[ExpectationOutcome], df: pd.DataFrame | None, reused_from: str | None
                  ) -> dg.AssetCheckResult:
    asset = key.to_user_string()
    record_checks(con, asset, [{"check_name": o.label(), "severity": o.severity, "passed": o.passed,
                                "observed": o.observed} for o in outcomes], run_id, reused_from)
    failed = [o for o in outcomes if not o.passed]
    errors = [o for o in failed if o.severity == "error"]
    parts = []
    for o in failed:
        sample = offending_rows(df, o)
        parts.append(f"[{o.severity}] {o.label()}: {o.observed}"
                     + (f"\n{sample.to_string(index=False, max_colwidth=60)}" if len(sample) else ""))
        if o.severity == "error" and o.unexpected_index:
            _quarantine(con, asset, o, offending_rows(df, o, n=None), run_id)
    where = f"table {table}, suite data_checks/{suite}.json, from {origin}"
    reuse = f"; the result of run {reused_from}, whose input had the same content" if reused_from else ""
    description = ("\n".join(parts) + f"\n({where})") if failed else \
        f"{len(outcomes)} expectations passed ({where}{reuse})"
    return dg.AssetCheckResult(
        asset_key=key, check_name=name,
        passed=not failed, severity=SEVERITY["error" if errors else "warn"], description=description[:4000],
        metadata={"table": table, "suite": f"data_checks/{suite}.json", "expectations": len(outcomes),
                  "failed_error": len(errors), "failed_warn": len(failed) - len(errors), "origin": origin[:1000],
                  "quarantined_in": "audit.quarantined_rows (build database)" if errors else "",
                  "reused_from_run": reused_from or ""})


def plain_check(context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection, key: dg.AssetKey,
                outcome: checks.CheckOutcome, origin: str) -> dg.AssetCheckResult:
    record_checks(con, key.to_user_string(), [{"check_name": outcome.name, "severity": outcome.severity, "passed": outcome.passed,
                                "observed": outcome.summary[:500]}], context.op_execution_context.run_id)
    return dg.AssetCheckResult(
        asset_key=key, check_name=outcome.name, passed=outcome.passed, severity=SEVERITY[outcome.severity],
        description=checks.describe(outcome, f"from {origin}")[:4000],
        metadata={"failing_rows": len(outcome.sample), "severity_when_failing": outcome.severity,
                  "sample": dg.MetadataValue.md(f"```\n{outcome.sample.to_string(index=False)}\n```"
                                                if len(outcome.sample) else "_none_")})


# A check gives its result, or (a GX suite) a function that waits for it.
Check = Callable[[dg.AssetExecutionContext, duckdb.DuckDBPyConnection, Settings],
                 dg.AssetCheckResult | Callable[[], dg.AssetCheckResult]]


@dataclass(frozen=True)
class Checks:
    """The checks of one asset. They run in the asset's own step, after it (a step of their own would cost more than
    most checks), and are declared blocking: a failure with ERROR severity fails that step, so nothing downstream
    runs."""

    key: dg.AssetKey
    checks: list[tuple[str, str, Check]]  # (name, description, function)

    @property
    def specs(self) -> list[dg.AssetCheckSpec]:
        return [dg.AssetCheckSpec(n, asset=self.key, description=d, blocking=True) for n, d, _ in self.checks]

    def run(self, context: dg.AssetExecutionContext, con: duckdb.DuckDBPyConnection, settings: Settings):
        """The selected ones (a UI launch may leave some out), in their declared order. A GX suite (`gx_<suite>`)
        starts first and returns a function instead of a result: it validates in the worker while the SQL checks run
        side by side, one per core, each on a cursor of its own (the national KWB step: 15.3 s -> 13.1 s)."""
        chosen = context.selected_asset_check_keys
        selected = [(name, fn) for name, _d, fn in self.checks if dg.AssetCheckKey(self.key, name) in chosen]
        suites = {name: fn(context, con, settings) for name, fn in selected if name.startswith("gx_")}
        plain = [(name, fn) for name, fn in selected if name not in suites]

        def on(cursor: duckdb.DuckDBPyConnection, fn: Check) -> dg.AssetCheckResult:
            return fn(context, cursor, settings)

        done = {**suites, **dict(zip([name for name, _fn in plain],
                                     side_by_side(con, [partial(on, fn=fn) for _name, fn in plain]), strict=True))}
        for name, _fn in selected:
            result = done[name]
            yield result if isinstance(result, dg.AssetCheckResult) else result()


def source_checks(source: catalog.Source):
    key = dg.AssetKey(["staging", source.id])
    table = f"staging.observations (source {source.id})"
    # The suite's columns: `part` says only which partition wrote a row.
    rows = f"SELECT {', '.join(OBS_TYPES)} FROM staging.observations WHERE source_id = {sql_literal(source.id)}"
    measures = {m.name: m for m in catalog.load_measures()}

    def empty(con) -> bool:  # a live-only source in a snapshot run
        return not source.files and con.execute(f"SELECT count(*) FROM ({rows})").fetchall()[0][0] == 0

    origins: dict[str, str] = {}  # this run's: the same for each of the step's checks, so looked up once

    def origin(ctx: dg.AssetExecutionContext, con) -> str:
        run_id = ctx.op_execution_context.run_id
        if run_id not in origins:
            origins.clear()
            origins[run_id] = _origin(con, source.id)
        return origins[run_id]

    def guarded(name: str, fn) -> Check:
        def check(context, con, settings):
            if empty(con):
                return dg.AssetCheckResult(asset_key=key, check_name=name, passed=True,
                                           description="live-only source: no data in a snapshot run")
            return fn(context, con, settings)
        return check

    def files(con, settings: Settings):
        expected = (source.live_variant() if settings.live and source.live else source).files
        if not source.partitioned:
            return expected
        # Only the years in this build: a backfill of one year must not fail on years never loaded.
        loaded = {y for (y,) in con.execute("SELECT DISTINCT year FROM raw.files WHERE source_id = ?",
                                            [source.id]).fetchall()}
        return tuple(f for f in expected if f.year in loaded)

    return Checks(key, [
        ("gx_staging_observations", "Great Expectations suite data_checks/staging_observations.json on the covering "
         "rows of quality/compact.py (per expectation severity: error blocks, warn reports).",
         guarded("gx_staging_observations", lambda ctx, con, s: suite_check(
             ctx, con, key, "gx_staging_observations", table, "staging_observations", origin(ctx, con),
             rows))),
        ("observation_keys_unique", "ERROR: one staged row per area, year and measure (SQL on every row).",
         guarded("observation_keys_unique", lambda ctx, con, s: plain_check(ctx, con, key, checks.keys_unique(
             con, "observation_keys_unique", rows, ("area_code", "year", "measure")), origin(ctx, con)))),
        ("rows_staged", f"ERROR: between 1 and {checks.MAX_STAGED_ROWS:,} rows staged (SQL).",
         guarded("rows_staged", lambda ctx, con, s: plain_check(
             ctx, con, key, checks.rows_staged(con, source.id), origin(ctx, con)))),
        ("counts_reconcile_with_gemeente", "ERROR: the wijken add up to the published gemeente row within CBS rounding.",
         guarded("counts_reconcile_with_gemeente", lambda ctx, con, s: plain_check(
             ctx, con, key, checks.counts_reconcile_with_gemeente(con, source.id, measures), origin(ctx, con)))),
        ("required_measures_present", "ERROR: every required measure resolved in every file or table.",
         guarded("required_measures_present", lambda ctx, con, s: plain_check(
             ctx, con, key, checks.required_measures_present(con, source, files(con, s)), origin(ctx, con)))),
        ("no_rejected_cells", "WARN: every cell parsed; rejected ones are kept in rejected_rows with the reason.",
         lambda ctx, con, s: plain_check(ctx, con, key, checks.no_rejected_cells(con, source.id), origin(ctx, con))),
    ])


def areas_checks():
    key = dg.AssetKey(["staging", "areas"])
    return Checks(key, [("gx_staging_areas", "Great Expectations suite data_checks/staging_areas.json.",
                             lambda ctx, con, s: suite_check(ctx, con, key, "gx_staging_areas", "staging.areas",
                                                             "staging_areas", "assets/areas/"))])


def theme_checks(theme: str, indicators: list[catalog.Indicator]):
    key = dg.AssetKey(["indicators", theme])
    table = f"indicators.{theme}"
    origin = f"indicators of theme {theme} (assets/indicators/{theme}.yaml)"

    def plain(fn) -> Check:
        return lambda ctx, con, s: plain_check(ctx, con, key, fn(con), origin)

    return Checks(key, [
        ("gx_indicator_values", "Great Expectations suite data_checks/indicator_values.json.",
         lambda ctx, con, s: suite_check(ctx, con, key, "gx_indicator_values", table, "indicator_values", origin)),
        ("indicator_keys_unique", "ERROR: one row per definition, indicator, area and year (SQL on every row).",
         plain(lambda con: checks.keys_unique(con, "indicator_keys_unique", f"SELECT * FROM {table}",
                                              ("definition", "indicator_id", "area_code", "year")))),
        ("values_in_plausible_range", "ERROR: every value lies in the range its definition declares.",
         plain(lambda con: checks.values_in_plausible_range(con, table, indicators))),
        ("suppression_respected", f"ERROR: no derived value rests on a base under {checks.MIN_BASE}.",
         plain(lambda con: checks.suppression_respected(con, table, indicators))),
        ("year_over_year_jumps", "WARN: Noord, Zuid, Heerlen and NL move less than max_change between years.",
         plain(lambda con: checks.year_over_year_jumps(con, table, indicators))),
        ("programme_wijken_complete", "WARN: every wijk of a programme area is present for every input.",
         plain(lambda con: checks.programme_wijken_complete(con, indicators))),
    ])
