"""`heerlen` command line: run the whole graph in-process, the same assets Dagster's UI shows."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .settings import Settings

LOCKED_EXIT = 75  # EX_TEMPFAIL: another run held the lock until the timeout; nothing was changed
INTERRUPTED_EXIT = 130  # 128 + SIGINT: the run was stopped by Ctrl-C or SIGTERM
USAGE_EXIT = 2  # a setting is wrong: nothing was started
UNREACHABLE_EXIT = 69  # EX_UNAVAILABLE: a live source's host cannot be reached; nothing was changed


def _run(args: argparse.Namespace) -> int:
    from .store.lock import RUN_LOCK, LockTimeout, hold, lock_timeout
    from .store.publish import PublishRefused, check_target

    try:  # every setting checked before any work: a typo costs a second, not a run and an alert
        settings = Settings.from_env(warehouse=args.warehouse, area_definition=args.area_definition,
                                     snapshot_dir=args.snapshot_dir, build_dir=args.build_dir,
                                     live=args.live or args.replay or None, replay=args.replay or None,
                                     scope=args.scope, focus_area=args.focus_area)
        lock_timeout()
        check_target(settings.warehouse)  # again at the swap; here it costs nothing yet
    except (ValueError, PublishRefused) as e:
        print(f"heerlen run: {e}", file=sys.stderr)
        return USAGE_EXIT

    if settings.live and not settings.replay:  # no network, or a wrong base URL: say so now, not after retries
        from .sources.reach import unreachable

        if problems := unreachable(settings.live_urls):
            print("heerlen run: the live sources cannot be reached; nothing was changed:\n  " + "\n  ".join(problems),
                  file=sys.stderr)
            return UNREACHABLE_EXIT
    try:  # one run at a time per build directory; a second one waits (HEERLEN_LOCK_TIMEOUT)
        with hold(settings.build_dir / RUN_LOCK):
            return _refresh(args, settings)
    except LockTimeout as e:
        print(f"heerlen run: {e}", file=sys.stderr)
        return LOCKED_EXIT


def _refresh(args: argparse.Namespace, settings: Settings) -> int:
    started = time.perf_counter()
    from .store.build_db import set_aside_if_damaged
    from .store.publish import sync_parquet

    if sync_parquet(settings.warehouse):  # a publish killed between its two renames
        print(f"heerlen run: the Parquet export next to {settings.warehouse} was a build behind it; re-exported",
              file=sys.stderr)
    damaged = set_aside_if_damaged(settings.build_db)
    if damaged:  # a damaged cache: rebuilt from the sources, whatever --force says
        print(f"heerlen run: {damaged}", file=sys.stderr)
    if not (args.force or args.force_checks) and not damaged:
        from .sources.versions import up_to_date

        try:
            current = up_to_date(settings)
        except Exception as e:  # noqa: BLE001 - the run itself will report the cause with full context
            print(f"could not check upstream versions ({e}); refreshing", file=sys.stderr)
            current = False
        if current:
            print(f"heerlen run: nothing changed upstream since the last build; {settings.warehouse} is current "
                  f"({time.perf_counter() - started:.1f}s; --force rebuilds anyway)")
            return 0

    print(f"heerlen run: building {settings.warehouse} from {'live' if settings.live else 'bundled'} sources "
          f"(area definition {settings.area_definition})", file=sys.stderr, flush=True)
    from .quality import gx_worker

    own_worker = gx_worker.start()  # GX imports in its own process while Dagster starts up here
    try:
        from .defs.run import refresh  # imported here: a no-op refresh should not pay for Dagster's start-up

        run = refresh(settings, args.verbose, args.force_checks)
    finally:
        if own_worker:  # a worker its caller started (the test suite's) serves the caller's next runs too
            gx_worker.stop()
    elapsed = time.perf_counter() - started
    if run.alerts:
        sink = run.sink
        unlogged = sorted({r["logged"] for r in run.alerts if r["logged"] is not True})
        print(f"{len(run.alerts)} alert(s) " + (f"NOT logged ({'; '.join(unlogged)})" if unlogged
                                                 else f"logged to {sink.log_path}")
              + (f" and posted to the webhook ({', '.join(sorted({r['delivered'] for r in run.alerts}))})"
                 if sink.webhook_url else ""), file=sys.stderr)
    checks = "".join(f"  check {c}\n" for c in run.failed_checks)  # WARN checks too: someone should read them
    if not run.success:
        state = ("the warehouse itself was published; a step after it failed" if run.published
                 else f"the published warehouse {settings.warehouse} was left as it was")
        if run.interrupted:  # Ctrl-C or SIGTERM: stop, do not retry; 130 is the shell's code for SIGINT
            print(f"heerlen run INTERRUPTED after {elapsed:.1f}s (run {run.run_id}): stopped by a signal; "
                  f"{state}.", file=sys.stderr)
            return INTERRUPTED_EXIT
        print(f"heerlen run FAILED after {elapsed:.1f}s (run {run.run_id}); {state}.", file=sys.stderr)
        for step, error in run.step_errors:
            print(f"  step {step}: {error}", file=sys.stderr)
        print(checks, end="", file=sys.stderr)
        return 1
    print(checks, end="", file=sys.stderr)
    print(f"heerlen run OK in {elapsed:.1f}s: published {settings.warehouse} "
          f"(area definition {settings.area_definition}, {'live' if settings.live else 'bundled'} sources, "
          f"run {run.run_id})")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report.render import write_report

    warehouse = Settings.from_env(warehouse=args.warehouse).warehouse
    try:
        result = write_report(warehouse, args.output)
    except (FileNotFoundError, ValueError) as e:  # no warehouse, or one of another focus area
        print(f"heerlen report: {e}", file=sys.stderr)
        return 1
    print(f"heerlen report: wrote {result.path} ({result.indicators} indicators, {result.bytes / 1e6:.1f} MB) "
          f"in {result.seconds:.2f}s from {warehouse}")
    return 0


def _query(args: argparse.Namespace) -> int:
    import duckdb

    from .store.query import QueryFailed, QueryRefused, run_query

    warehouse = Settings.from_env(warehouse=args.warehouse).warehouse
    try:
        run_query(warehouse, args.sql, args.format)
    except QueryRefused as e:
        print(f"heerlen query: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, QueryFailed, duckdb.Error) as e:
        print(f"heerlen query: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heerlen", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="build and publish the warehouse (bundled real data by default)")
    run.add_argument("--focus-area", help="focus area, one of assets/areas/focus_areas/ (heerlen-noord) [HEERLEN_FOCUS_AREA]")
    run.add_argument("--area-definition", help="the focus area's wijk list: spoorlijn (default) or molenberg for "
                                               "heerlen-noord [HEERLEN_AREA_DEFINITION]")
    run.add_argument("--warehouse", help="published DuckDB file [HEERLEN_WAREHOUSE, warehouse/heerlen.duckdb]")
    run.add_argument("--snapshot-dir", help="directory with the source files [HEERLEN_SNAPSHOT_DIR]")
    run.add_argument("--build-dir", help="private build directory [HEERLEN_BUILD_DIR]")
    run.add_argument("--live", action="store_true",
                     help="fetch the sources from the CBS OData APIs [HEERLEN_LIVE]; tables whose Modified stamp is "
                          "unchanged are read from the landing instead of downloaded")
    run.add_argument("--replay", action="store_true",
                     help="live, but only from the landed responses (no network) [HEERLEN_REPLAY]")
    run.add_argument("--scope", choices=["heerlen", "national"],
                     help="heerlen (default): the focus area's gemeente and NL; national: also every gemeente and wijk "
                          "in the source files, with the focus area's rank among all Dutch wijken [HEERLEN_SCOPE]")
    run.add_argument("--force", action="store_true", help="rebuild even when nothing changed upstream")
    run.add_argument("--force-checks", action="store_true",
                     help="run every Great Expectations suite again, re-using no earlier run's result (implies --force)")
    run.add_argument("-v", "--verbose", action="store_true", help="show Dagster's debug events")
    report = sub.add_parser("report", help="write the routekaart report (one self-contained HTML page) from the warehouse")
    report.add_argument("--warehouse", help="published DuckDB file [HEERLEN_WAREHOUSE, warehouse/heerlen.duckdb]")
    report.add_argument("--output", help="HTML file to write [<warehouse dir>/report/index.html]")
    query = sub.add_parser("query", help="run read-only SQL on the published warehouse and print the result")
    query.add_argument("sql", help="SELECT / WITH / DESCRIBE / SHOW / EXPLAIN; anything that writes is refused")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format (table)")
    query.add_argument("--warehouse", help="published DuckDB file [HEERLEN_WAREHOUSE, warehouse/heerlen.duckdb]")
    args = parser.parse_args(argv)
    command = {"run": _run, "report": _report, "query": _query}[args.command]
    with _env_file(Path.cwd() / ".env"):
        return command(args)


@contextmanager
def _env_file(path: Path) -> Iterator[None]:
    """The working directory's .env, read as `dagster dev` reads it: its values win over the environment's, so
    `heerlen` and Dagster run with the same settings and history. Restored afterwards (tests call main() in-process)."""
    from dotenv import dotenv_values

    values = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.is_file() else {}
    if values:
        print(f"heerlen: loaded {', '.join(values)} from {path}", file=sys.stderr)
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


if __name__ == "__main__":
    sys.exit(main())
