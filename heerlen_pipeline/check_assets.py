"""The data checks as Dagster asset checks: a Great Expectations suite per staged table plus the plain
SQL checks of checks.py. All are declared blocking: a failure with ERROR severity stops everything
downstream (the published warehouse stays as it was); a WARN failure is reported and alerted only.

Every outcome is recorded in audit.check_results (published as marts.check_results), and the rows a
critical row-level expectation rejected are kept in audit.quarantined_rows with the reason and origin.
"""


from datetime import UTC, datetime

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from . import catalog, checks
from .quality import ExpectationOutcome, load_suite, offending_rows, validate_frame
from .resources import PipelineSettings

CHECK_COLUMNS = ["asset", "check_name", "severity", "passed", "observed", "run_id", "checked_at"]
SEVERITY = {"error": dg.AssetCheckSeverity.ERROR, "warn": dg.AssetCheckSeverity.WARN}


def record_checks(con: duckdb.DuckDBPyConnection, asset: str, rows: list[dict], run_id: str) -> None:
    now = datetime.now(UTC)
    df = pd.DataFrame([{**r, "asset": asset, "run_id": run_id, "checked_at": now} for r in rows], columns=CHECK_COLUMNS)
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute("CREATE TABLE IF NOT EXISTS audit.check_results (asset VARCHAR, check_name VARCHAR, severity VARCHAR, "
                "passed BOOLEAN, observed VARCHAR, run_id VARCHAR, checked_at TIMESTAMP WITH TIME ZONE)")
    con.register("_checks", df)
    con.execute("INSERT INTO audit.check_results SELECT * FROM _checks")
    con.unregister("_checks")


def _quarantine(con: duckdb.DuckDBPyConnection, asset: str, outcome: ExpectationOutcome, rows: pd.DataFrame,
                run_id: str) -> None:
    """Keep rejected rows (nothing is lost): one JSON record per row, with the reason and the run."""
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute("CREATE TABLE IF NOT EXISTS audit.quarantined_rows (run_id VARCHAR, asset VARCHAR, check_name VARCHAR, "
                "reason VARCHAR, source_file VARCHAR, row_nr BIGINT, record JSON, quarantined_at TIMESTAMP WITH TIME ZONE)")
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


def _origin(con: duckdb.DuckDBPyConnection, source_ids: list[str]) -> str:
    """Where the checked rows came from: the files or live tables (with their landed copies)."""
    rows = con.execute("SELECT source_file, raw_table FROM raw.files WHERE list_contains(?, source_id) ORDER BY 1",
                       [source_ids]).fetchall()
    return ", ".join(f for f, _ in rows) or "no source files"


def suite_check(context: dg.AssetCheckExecutionContext, con: duckdb.DuckDBPyConnection, asset: str, table: str,
                suite: str, origin: str) -> dg.AssetCheckResult:
    df = con.execute(f"SELECT * FROM {table}").df()
    outcomes = validate_frame(df, load_suite(suite))
    run_id = context.op_execution_context.run_id
    record_checks(con, asset, [{"check_name": o.label(), "severity": o.severity, "passed": o.passed,
                                "observed": o.observed} for o in outcomes], run_id)
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
    description = ("\n".join(parts) + f"\n({where})") if failed else f"{len(outcomes)} expectations passed ({where})"
    return dg.AssetCheckResult(
        passed=not failed, severity=SEVERITY["error" if errors else "warn"], description=description[:4000],
        metadata={"table": table, "suite": f"data_checks/{suite}.json", "expectations": len(outcomes),
                  "failed_error": len(errors), "failed_warn": len(failed) - len(errors), "origin": origin[:1000],
                  "quarantined_in": "audit.quarantined_rows (build database)" if errors else ""})


def plain_check(context: dg.AssetCheckExecutionContext, con: duckdb.DuckDBPyConnection, asset: str,
                outcome: checks.CheckOutcome, origin: str) -> dg.AssetCheckResult:
    record_checks(con, asset, [{"check_name": outcome.name, "severity": outcome.severity, "passed": outcome.passed,
                                "observed": outcome.summary[:500]}], context.op_execution_context.run_id)
    return dg.AssetCheckResult(
        passed=outcome.passed, severity=SEVERITY[outcome.severity],
        description=checks.describe(outcome, f"from {origin}")[:4000],
        metadata={"failing_rows": len(outcome.sample), "severity_when_failing": outcome.severity,
                  "sample": dg.MetadataValue.md(f"```\n{outcome.sample.to_string(index=False)}\n```"
                                                if len(outcome.sample) else "_none_")})


def _skip_empty(con: duckdb.DuckDBPyConnection, source: catalog.Source) -> dg.AssetCheckResult | None:
    if not source.files and con.execute(f"SELECT count(*) FROM staging.obs__{source.id}").fetchall()[0][0] == 0:
        return dg.AssetCheckResult(passed=True, description="live-only source: no data in a snapshot run")
    return None


def source_checks(source: catalog.Source) -> list:
    key = dg.AssetKey(["staging", source.id])
    asset = f"staging/{source.id}"

    @dg.asset_check(asset=key, name="gx_staging_observations", blocking=True,
                    description="Great Expectations suite data_checks/staging_observations.json (per expectation "
                                "severity: error blocks, warn reports).")
    def gx(context: dg.AssetCheckExecutionContext, build_db: DuckDBResource):
        with build_db.get_connection() as con:
            return _skip_empty(con, source) or suite_check(
                context, con, asset, f"staging.obs__{source.id}", "staging_observations", _origin(con, [source.id]))

    @dg.asset_check(asset=key, name="counts_reconcile_with_gemeente", blocking=True,
                    description="ERROR: the wijken add up to the published gemeente row within CBS rounding.")
    def reconcile(context: dg.AssetCheckExecutionContext, build_db: DuckDBResource):
        with build_db.get_connection() as con:
            measures = {m.name: m for m in catalog.load_measures()}
            return _skip_empty(con, source) or plain_check(
                context, con, asset, checks.counts_reconcile_with_gemeente(con, source.id, measures),
                _origin(con, [source.id]))

    @dg.asset_check(asset=key, name="required_measures_present", blocking=True,
                    description="ERROR: every required measure resolved in every file or table.")
    def required(context: dg.AssetCheckExecutionContext, settings: PipelineSettings, build_db: DuckDBResource):
        live = settings.settings.live and source.live is not None
        files = (source.live_variant() if live else source).files
        with build_db.get_connection() as con:
            return _skip_empty(con, source) or plain_check(
                context, con, asset, checks.required_measures_present(con, source, files), _origin(con, [source.id]))

    @dg.asset_check(asset=key, name="no_rejected_cells", blocking=True,
                    description="WARN: every cell parsed; rejected ones are kept in rejected_rows with the reason.")
    def rejected(context: dg.AssetCheckExecutionContext, build_db: DuckDBResource):
        with build_db.get_connection() as con:
            return plain_check(context, con, asset, checks.no_rejected_cells(con, source.id), _origin(con, [source.id]))

    return [gx, reconcile, required, rejected]


@dg.asset_check(asset=dg.AssetKey(["staging", "areas"]), name="gx_staging_areas", blocking=True,
                description="Great Expectations suite data_checks/staging_areas.json.")
def areas_check(context: dg.AssetCheckExecutionContext, build_db: DuckDBResource):
    with build_db.get_connection() as con:
        return suite_check(context, con, "staging/areas", "staging.areas", "staging_areas", "assets/areas/")


def theme_checks(theme: str, indicators: list[catalog.Indicator]) -> list:
    key = dg.AssetKey(["indicators", theme])
    asset, table = f"indicators/{theme}", f"indicators.{theme}"
    source_ids = list(catalog.load_sources())

    def run(name: str, description: str, fn):
        @dg.asset_check(asset=key, name=name, blocking=True, description=description)
        def _check(context: dg.AssetCheckExecutionContext, build_db: DuckDBResource):
            with build_db.get_connection() as con:
                return plain_check(context, con, asset, fn(con), _origin(con, source_ids))

        return _check

    @dg.asset_check(asset=key, name="gx_indicator_values", blocking=True,
                    description="Great Expectations suite data_checks/indicator_values.json.")
    def gx(context: dg.AssetCheckExecutionContext, build_db: DuckDBResource):
        with build_db.get_connection() as con:
            return suite_check(context, con, asset, table, "indicator_values", f"indicators of theme {theme}")

    return [
        gx,
        run("values_in_plausible_range", "ERROR: every value lies in the range its definition declares.",
            lambda con: checks.values_in_plausible_range(con, table, indicators)),
        run("suppression_respected", f"ERROR: no derived value rests on a base under {checks.MIN_BASE}.",
            lambda con: checks.suppression_respected(con, table, indicators)),
        run("year_over_year_jumps", "WARN: Noord, Zuid, Heerlen and NL move less than max_change between years.",
            lambda con: checks.year_over_year_jumps(con, table, indicators)),
        run("programme_wijken_complete", "WARN: every wijk of a programme area is present for every input.",
            lambda con: checks.programme_wijken_complete(con, indicators)),
    ]
