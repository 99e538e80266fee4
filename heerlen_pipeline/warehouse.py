"""The private build database and the atomic publish of the analyst warehouse."""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

# Analysts' DuckDB 1.x tools (CLI, DBeaver) must be able to open the published file.
STORAGE_VERSION = "v1.4.0"
PUBLISHED_SCHEMA = "marts"

TABLE_COMMENTS = {
    "areas": "Areas (CBS codes and the programme areas) per area definition; 'cbs' rows do not depend on one.",
    "indicators": "Indicator catalogue: definition, unit, direction and source of every indicator.",
    "indicator_values": "Indicator values per area and year; programme areas under the area definition in build_info.",
    "programme_values": "Heerlen-Noord and Heerlen-Zuid values under every area definition.",
    "gaps": "Noord vs NL and vs Zuid per indicator and year, from unrounded values: the gaps, the oriented index "
    "(NL = 100, above 100 is worse), and per target the closure since its baseline and the straight 2047 trajectory.",
    "gap_verdicts": "Per normative indicator and target (nederland, zuid): the gap in the baseline and the latest year, "
    "the change, the noise of the sources, and the verdict: closing, widening, no clear change or not yet measurable.",
    "programmes": "The routekaart's interventions (assets/programmes.yaml) with theme, areas, start and source.",
    "estimate_intervals": "Interval bounds the source publishes next to a model estimate (RIVM Marges), per "
    "area, year and measure; the point estimate is in the indicator values.",
    "series_breaks": "Years from which an indicator's source definition changed: do not compare across them.",
    "sources": "Source tables and files behind this build, with licence, attribution and checksum.",
    "check_results": "Outcome of every data check of the build.",
    "build_info": "Code version, area definition and source versions of this build.",
    "rejected_rows": "Source cells that could not be parsed, with the reason. Nothing is dropped silently.",
    "national_rank": "National scope only: Heerlen-Noord and Heerlen-Zuid ranked among every Dutch wijk, Heerlen "
    "among every gemeente, per indicator and year (empty in a Heerlen-only build).",
}


# One description per published column: analysts read them with `DESCRIBE`/duckdb_columns() or in DBeaver.
_VALUE_COLUMNS = {
    "indicator_id": "Indicator code, see marts.indicators (e.g. WRK-01)",
    "area_code": "CBS code (NL00, GM0917, WK0917xx, BU0917xxxx) or programme area (HEERLEN-NOORD, HEERLEN-ZUID)",
    "year": "Reference year of the value (the KWB edition, the RIVM survey year, the school year's end)",
    "value": "Indicator value in the indicator's unit (marts.indicators.unit), unrounded (round to "
             "marts.indicators.decimals to show it); NULL unless status is ok or low_coverage",
    "numerator": "Numerator (ratio methods) or weighted sum behind the value, in source units",
    "denominator": "Denominator or total weight (people, households, pupils); values on a base under 100 are suppressed",
    "coverage": "Programme areas: share of the area's inhabitants living in wijken whose inputs were published "
                "(share of wijken when a wijk's population is not published; share of schools for school "
                "indicators), 0-1; CBS areas: 1 or 0",
    "status": "ok; low_coverage (a programme-area value on coverage under 0.9: shown, not used in verdicts); "
              "suppressed (withheld by the source: CBS '.' or 'x', DUO '<5', or a base under 100); not_applicable "
              "(an empty cell in a StatLine export); missing (not published)",
    "symbol": "The source's legend symbol of the input cell that has no value: '.' unknown, too unreliable or "
              "secret; 'x' secret; '' empty (in an OData delivery every symbol arrives empty); '<5' (DUO)",
    "value_lower": "Lower bound of the value: the source's interval (uncertainty = interval) or the value computed "
                   "from the published cells at the low end of their rounding (rounding)",
    "value_upper": "Upper bound of the value, as value_lower",
    "uncertainty": "Where the bounds come from: interval (RIVM 95% interval), rounding (CBS rounding of the cells), "
                   "exact (unrounded counts), unknown (a model estimate whose interval is not in this build)",
    "reference_period": "The period the value describes when it is not the table's year (e.g. '1 januari 2018', "
                        "crime of the year before); NULL: the year itself",
    "source_table": "Source table(s) behind the value, e.g. '84286NED' or '84286NED + 50090NED'",
}
COLUMN_COMMENTS = {
    "areas": {"area_code": _VALUE_COLUMNS["area_code"], "area_name": "Name (CBS spelling)",
              "level": "land, gemeente, wijk, buurt or programma",
              "parent_code": "Containing area: gemeente of a wijk, wijk of a buurt, programme area of a wijk",
              "definition": "cbs for CBS areas; the Heerlen-Noord definition (spoorlijn, molenberg) for programme rows"},
    "indicators": {"indicator_id": _VALUE_COLUMNS["indicator_id"], "theme": "leren, werken, gezondheid, wonen, "
                   "veiligheid or demografie", "name_nl": "Name (Dutch)", "name_en": "Name (English)",
                   "definition": "How the value is computed, and from what", "unit": "Unit of value",
                   "direction": "higher_is_better, lower_is_better or context (no normative direction)",
                   "method": "ratio, weighted_mean, sum, school_ratio or school_sum",
                   "source": "Attribution of the source tables (name the source when re-using the data)",
                   "licence": "Licence of the source data", "youth_focus": "True for indicators about children "
                   "and young people", "decimals": "Decimals to show the value with (values are stored unrounded)",
                   "model_estimate": "True when the values are model estimates (RIVM small-area estimates)"},
    "indicator_values": _VALUE_COLUMNS,
    "programme_values": {**_VALUE_COLUMNS, "definition": "Heerlen-Noord definition (spoorlijn, molenberg)"},
    "gaps": {"indicator_id": _VALUE_COLUMNS["indicator_id"], "year": _VALUE_COLUMNS["year"],
             "noord": "Heerlen-Noord value", "zuid": "Heerlen-Zuid value", "heerlen": "Gemeente Heerlen value",
             "nederland": "Nederland value", "gap_noord_nl": "noord - nederland (indicator units)",
             "gap_noord_zuid": "noord - zuid", "gap_heerlen_nl": "heerlen - nederland",
             "ratio_noord_nl": "noord / nederland", "ratio_noord_zuid": "noord / zuid",
             "index_noord_nl": "Oriented index, NL = 100: 100 * noord / nederland when lower is better, "
                               "100 * nederland / noord when higher is better; above 100 is worse for Noord. NULL "
                               "for context indicators",
             "baseline_year": "Target nederland: the latest year up to 2018 with a Noord and an NL value, else the "
                              "earliest later one", "closure_since_baseline":
             "1 - gap / baseline gap: 0 = unchanged, 1 = closed, negative = wider",
             "trajectory_target": "Gap on the straight line from the baseline gap to 0 in 2047",
             "on_track": "Gap at or inside the 2047 trajectory; NULL on and before the baseline year and for "
                         "context indicators",
             "baseline_year_zuid": "Target zuid: the latest year up to 2018 with a Noord and a Zuid value, else the "
                                   "earliest later one",
             "closure_noord_zuid": "1 - gap_noord_zuid / its baseline gap",
             "trajectory_target_zuid": "Noord - Zuid gap on the straight line from its baseline to 0 in 2047",
             "on_track_zuid": "Noord - Zuid gap at or inside its 2047 trajectory (NULL on and before the baseline)"},
    "gap_verdicts": {"indicator_id": _VALUE_COLUMNS["indicator_id"], "target": "nederland or zuid",
                     "baseline_year": "Latest year up to 2018 in which Noord and the target both have a value, else "
                                      "the earliest later one", "baseline_gap": "Noord - target in the baseline year",
                     "latest_year": "Latest year after the baseline with both values",
                     "latest_gap": "Noord - target in the latest year",
                     "closure": "1 - latest_gap / baseline_gap", "trajectory_target": "The 2047 path's gap in the "
                     "latest year", "on_track": "latest_gap at or inside the 2047 path",
                     "change": "latest_gap - baseline_gap (indicator units)",
                     "noise": "Half-width of the uncertainty of the change: rounding bounds of the four values "
                              "added, 95% intervals added in quadrature; NULL when a bound is unknown",
                     "verdict": "closing or widening (the change exceeds the noise, in Noord's favour or against "
                                "it), no clear change (within the noise), not yet measurable",
                     "noise_basis": "What the noise rests on: rounding, interval, or both; exact for unrounded counts",
                     "reason": "Why this verdict, in words"},
    "programmes": {"programme_id": "Code of the intervention", "theme": "Routekaart theme", "name_nl": "Name "
                   "(Dutch)", "name_en": "Name (English)", "description": "What it is, as the source describes it",
                   "areas": "Where or for whom", "start_year": "Year it started, when a public source gives one",
                   "start_text": "Start as the source states it (a year, or 'uiterlijk 2022')",
                   "marker_year": "Year the report's charts mark it at", "source": "Public source"},
    "sources": {"source_id": "Source in assets/sources.yaml", "table_id": "CBS table id, or the file's table name",
                "year": "Edition year (where a table is one year)", "source_file": "Bundled file, or catalogue/table "
                "when fetched live", "title": "Title", "publisher": "Publisher", "licence": "Licence",
                "attribution": "How to name the source",
                "fetched_at": "When the publisher's data was downloaded (ISO 8601; see fetched_basis)",
                "fetched_basis": "How fetched_at is known: this pipeline's download, or the bundled file's provenance",
                "sha256": "Checksum of the file or of the landed responses", "rows": "Rows received"},
    "check_results": {"asset": "Checked asset", "check_name": "Check, or GX expectation(column)",
                      "severity": "error (blocks publishing) or warn (reported)", "passed": "Outcome",
                      "observed": "What was observed (sample of offending values)", "run_id": "Dagster run",
                      "checked_at": "When"},
    "build_info": {"code_version": "Package version + git commit", "source_versions": "JSON: source -> version "
                   "(Modified stamps of CBS tables, or file checksums)", "config_fingerprint": "Checksum of code, "
                   "definitions and suites", "area_definition": "Heerlen-Noord definition of indicator_values and gaps",
                   "source_mode": "snapshot (bundled files) or live (APIs)",
                   "scope": "heerlen (Heerlen's areas and NL) or national (also every gemeente and wijk)",
                   "run_id": "Dagster run that built "
                   "this file", "built_at": "When", "attribution": "Sources to name"},
    "estimate_intervals": {"area_code": _VALUE_COLUMNS["area_code"], "year": _VALUE_COLUMNS["year"],
                           "measure": "Measure (assets/measures.csv)", "bound": "Marges code of the bound",
                           "value": "Bound value (%)", "status": "ok / suppressed / missing",
                           "source_id": "Source", "table_id": "RIVM table", "bound_title": "Title of the bound",
                           "side": "lower or upper"},
    "series_breaks": {"indicator_id": _VALUE_COLUMNS["indicator_id"], "year": "First year of the new definition",
                      "note": "What changed; do not compare across this year"},
    "national_rank": {"indicator_id": _VALUE_COLUMNS["indicator_id"], "year": _VALUE_COLUMNS["year"],
                      "area_code": "HEERLEN-NOORD, HEERLEN-ZUID (among wijken) or GM0917 (among gemeenten)",
                      "compared_with": "wijk or gemeente: the peer group", "value": "The area's value",
                      "peer_group": "Who the peers are: wijken outside the focus area's gemeente, or the other "
                                    "gemeenten",
                      "residents_worse_share": "Share of the peers' residents (in %) living in a peer with a worse "
                                               "value, ties half: the rank weighed by people",
                      "peer_residents": "Residents of the peers weighed", "peers_weighed": "Peers with a "
                      "population count to weigh with (recoded wijken have none)", "population_year": "Year(s) of the "
                      "population counts used as weights (the value's year, or the nearest one with a count)",
                      "peers": "Peers with a value that year", "peers_worse": "Peers with a worse value (lower "
                      "when higher is better)", "peers_better": "Peers with a better value",
                      "percentile_rank": "Share of peers with a worse value, ties half, in %: 100 = best place",
                      "peer_p10": "10th percentile of the peers' values", "peer_median": "Median of the peers",
                      "peer_p90": "90th percentile of the peers' values"},
    "rejected_rows": {"source_id": "Source", "table_id": "Table", "source_file": "File or live table",
                      "row_nr": "Line in the file (1 = header)", "area": "Area code of the row",
                      "field": "Column", "raw_value": "The cell as received", "reason": "Why it was rejected"},
}


def sql_literal(text: object) -> str:
    """A SQL string literal of any text (a comment, a path with an apostrophe in it): the one way text goes into SQL
    here, since ATTACH, COPY and read_parquet take no parameters."""
    return "'" + str(text).replace("'", "''") + "'"


def set_aside_if_damaged(path: Path) -> str | None:
    """The build database is a cache of what the sources hold. If it cannot be opened as a DuckDB database
    (overwritten, truncated, written by a newer DuckDB), move it and its WAL aside, so the run rebuilds it from the
    sources instead of failing (dagster-duckdb retries a failing open for about 100 s, per step). Returns a one-line
    message saying so; None when it is fine or absent. A file held by another process is not damage: that error is
    raised."""
    if not path.exists():
        return None
    try:
        with duckdb.connect(str(path)) as con:
            con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
        return None
    except duckdb.Error as e:
        reason = str(e).splitlines()[0]
        if "lock" in reason.lower():
            raise
    aside = path.with_name(f"{path.name}.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    os.replace(path, aside)
    wal = path.with_name(f"{path.name}.wal")
    if wal.exists():
        os.replace(wal, aside.with_name(f"{aside.name}.wal"))
    return f"the build database {path} could not be opened ({reason}); moved it aside to {aside.name} and rebuilding " \
           "it from the sources"


def read_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    """A query's rows as a DataFrame by way of Arrow. DuckDB's .df() builds a Python string per text cell: 12.5 s
    for the 4.7 million staged rows of a national run, against 1.4 s this way (same dtypes and values)."""
    return con.sql(sql, params=params).to_arrow_table().to_pandas()


def write_frame(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    schema = table.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_frame", df)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame")
    finally:
        con.unregister("_frame")


class PublishRefused(RuntimeError):
    """The file at the warehouse path may not be replaced: it is not a warehouse, or someone writes to it."""


def check_target(target: Path) -> None:
    """Refuse to swap a new warehouse over a file that is not one (another DuckDB database, any other file), and
    over one another process holds open read-write: its WAL would no longer match the file swapped in, and every
    later query of that connection would fail. Read-only readers are no obstacle."""
    if not target.exists():
        return
    if not target.is_file():
        raise PublishRefused(f"the warehouse path {target} exists but is not a file; refusing to replace it")
    try:
        with duckdb.connect(str(target), read_only=True) as con:
            foreign = con.execute("SELECT DISTINCT schema_name FROM duckdb_tables() WHERE schema_name <> ?",
                                  [PUBLISHED_SCHEMA]).fetchall()
    except duckdb.Error as e:
        reason = str(e).splitlines()[0]
        if "lock" in reason.lower():
            raise PublishRefused(f"another process has the warehouse {target} open read-write ({reason}); close it "
                                 "and run again. Analysts open it read-only (see the README)") from None
        raise PublishRefused(f"the file at the warehouse path {target} is not a DuckDB warehouse ({reason}); refusing "
                             "to replace it: move it away or choose another --warehouse") from None
    if foreign:
        raise PublishRefused(f"{target} is a DuckDB database with other schemas than {PUBLISHED_SCHEMA} "
                             f"({', '.join(r[0] for r in foreign)}): not a heerlen warehouse; refusing to replace it")


def publish(con: duckdb.DuckDBPyConnection, target: Path) -> dict[str, int]:
    """Copy the marts schema of the build DB into a new file and swap it in with one rename.

    Readers that have the old file open keep their consistent snapshot (the old inode); new connections
    see the new file. The Parquet twin is written completely into a directory of its own first, and
    `parquet/` (a symlink) is re-pointed at it with one rename right after the file's. A failure or a kill
    before the file's rename leaves both as they were; a kill between the two renames leaves the file one
    build ahead of its Parquet twin, which `sync_parquet` (run at the start of every `heerlen run`) repairs.
    Publishes are serialised by a lock next to the target, so leftovers of a killed publish are safe to
    remove at the start of the next one.
    """
    from .runlock import hold

    target.parent.mkdir(parents=True, exist_ok=True)
    with hold(_lock_path(target), "publish of this warehouse"):
        check_target(target)
        remove_leftovers(target)
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
            "ORDER BY table_name", [PUBLISHED_SCHEMA]).fetchall()]
        tag = uuid.uuid4().hex[:8]
        tmp = target.with_name(f".{target.name}.{tag}.tmp")
        staged = target.parent / f"{PARQUET_PREFIX}{tag}"
        try:
            counts = _write_copy(con, tables, tmp)
            export_parquet(con, tables, staged)
            os.replace(tmp, target)  # the warehouse: one rename
            link_parquet(staged, target.parent / "parquet")  # its Parquet twin: one rename (of a symlink)
        finally:
            tmp.unlink(missing_ok=True)
            if not _linked(target.parent / "parquet", staged):
                shutil.rmtree(staged, ignore_errors=True)
        remove_leftovers(target)
    return counts


PARQUET_PREFIX = ".parquet-"


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def _write_copy(con: duckdb.DuckDBPyConnection, tables: list[str], tmp: Path) -> dict[str, int]:
    counts = {}
    con.execute(f"ATTACH {sql_literal(tmp)} AS pub (STORAGE_VERSION {sql_literal(STORAGE_VERSION)})")
    try:
        con.execute(f"CREATE SCHEMA pub.{PUBLISHED_SCHEMA}")
        for t in tables:
            con.execute(f"CREATE TABLE pub.{PUBLISHED_SCHEMA}.{t} AS SELECT * FROM {PUBLISHED_SCHEMA}.{t}")
            counts[t] = con.execute(f"SELECT count(*) FROM pub.{PUBLISHED_SCHEMA}.{t}").fetchall()[0][0]
            if t in TABLE_COMMENTS:
                con.execute(f"COMMENT ON TABLE pub.{PUBLISHED_SCHEMA}.{t} IS {sql_literal(TABLE_COMMENTS[t])}")
            for column, text in COLUMN_COMMENTS.get(t, {}).items():
                con.execute(f"COMMENT ON COLUMN pub.{PUBLISHED_SCHEMA}.{t}.{column} IS {sql_literal(text)}")
    finally:
        con.execute("DETACH pub")
    return counts


def export_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], directory: Path) -> None:
    """Every published table as <directory>/<table>.parquet, for tools that cannot read DuckDB (R, Power BI,
    Excel). `directory` is new and private until link_parquet points `parquet/` at it."""
    directory.mkdir(parents=True)
    for t in tables:
        con.execute(f"COPY {PUBLISHED_SCHEMA}.{t} TO {sql_literal(directory / f'{t}.parquet')} "
                    "(FORMAT parquet, COMPRESSION zstd)")


def link_parquet(directory: Path, link: Path) -> None:
    """Point `link` (warehouse/parquet) at `directory` with one rename: a reader sees the whole old set or the
    whole new one. A real directory from before exports were symlinked is moved aside once."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.link")
    os.symlink(directory.name, tmp)  # relative: the warehouse directory can be moved
    try:
        previous = os.readlink(link) if link.is_symlink() else None
        if link.is_dir() and not link.is_symlink():
            previous = f"{PARQUET_PREFIX}legacy-{uuid.uuid4().hex[:8]}"
            os.rename(link, link.with_name(previous))
        os.replace(tmp, link)
    finally:
        tmp.unlink(missing_ok=True)
    link.with_name(f".{link.name}.previous").write_text(previous or "", encoding="utf-8")


def _linked(link: Path, directory: Path) -> bool:
    return link.is_symlink() and os.readlink(link) == directory.name


def remove_leftovers(target: Path) -> None:
    """Temp files of killed publishes, and Parquet sets other than the current one and the one it replaced
    (a reader may still be in that one)."""
    directory = target.parent
    for tmp in [*directory.glob(f".{target.name}.*.tmp"), *directory.glob(".parquet.*.link")]:
        tmp.unlink(missing_ok=True)
    link = directory / "parquet"
    keep = {os.readlink(link) if link.is_symlink() else None, _previous_set(link)}
    for old in directory.glob(f"{PARQUET_PREFIX}*"):
        if old.is_dir() and old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _previous_set(link: Path) -> str | None:
    note = link.with_name(f".{link.name}.previous")
    return note.read_text(encoding="utf-8").strip() if note.is_file() else None


def sync_parquet(target: Path) -> bool:
    """Bring the Parquet twin in line with the published file when a killed publish left it one build behind
    (build_info's run_id differs). Returns True when it re-exported."""
    link = target.parent / "parquet"
    if not target.is_file():
        return False
    from .runlock import hold

    with hold(_lock_path(target), "publish of this warehouse"):
        try:
            with duckdb.connect(str(target), read_only=True) as con:
                run_id = con.execute(f"SELECT run_id FROM {PUBLISHED_SCHEMA}.build_info").fetchone()
                tables = [r[0] for r in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY table_name",
                    [PUBLISHED_SCHEMA]).fetchall()]
                try:
                    twin = con.execute(f"SELECT run_id FROM read_parquet({sql_literal(link / 'build_info.parquet')})"
                                       ).fetchone()
                except duckdb.Error:
                    twin = None
                if twin == run_id:
                    return False
                remove_leftovers(target)
                staged = target.parent / f"{PARQUET_PREFIX}{uuid.uuid4().hex[:8]}"
                try:
                    export_parquet(con, tables, staged)
                    link_parquet(staged, link)
                finally:
                    if not _linked(link, staged):
                        shutil.rmtree(staged, ignore_errors=True)
                remove_leftovers(target)
        except duckdb.Error:  # a warehouse from before build_info had a run_id: the next publish writes both
            return False
    return True
