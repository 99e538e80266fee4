"""The asset graph: raw -> staging -> indicators -> marts -> publish, built from assets/ definitions."""


import subprocess
import sys
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from tqdm import tqdm

from . import __version__, catalog
from .areas import NameResolver, areas_frame, programme_members
from .check_assets import areas_checks, source_checks, theme_checks
from .gaps import GAPS_SQL, VERDICTS_SQL
from .headers import MeasureMatcher
from .indicators import VALUE_COLUMNS, build_indicator_values
from .live import combine_versions, fetch_live, live_dimensions, live_mappings, live_pages, source_version
from .partitions import SINGLE_RUN, partitions_def, run_partitions, unit, write_part
from .pdok import PLACEMENT_COLUMNS
from .ranks import NATIONAL_RANK_SQL
from .raw import files_version, raw_table_name, read_source_files
from .report import report_asset
from .resources import PipelineSettings
from .staging import (
    INTERVAL_TYPES,
    REJECT_TYPES,
    SCHOOL_COLUMNS,
    bound_side,
    empty_intervals,
    stage_intervals,
    stage_source,
)
from .versions import build_stamp
from .warehouse import publish, read_frame, write_frame

SOURCES = catalog.load_sources()
PARTITIONS = partitions_def(SOURCES.values())  # the KWB years; None when no source is partitioned


def _preview(df: pd.DataFrame, n: int = 10) -> dg.MetadataValue:
    return dg.MetadataValue.md(f"```\n{df.head(n).to_string(index=False)}\n```" if len(df) else "_empty_")


# ---------------------------------------------------------------- raw + staging, one pair per source

def _progress(context: dg.AssetExecutionContext, source_id: str):
    """Download progress: a Dagster log line per page, and a bar when the CLI runs in a terminal."""
    bars: dict[tuple[str, str], tqdm] = {}

    def report(table_id: str, entity: str, pages: int, rows: int) -> None:
        context.log.info(f"{source_id} {table_id} {entity}: page {pages}, {rows} rows so far")
        if sys.stderr.isatty():
            bar = bars.setdefault((table_id, entity), tqdm(desc=f"{table_id} {entity}", unit=" rows", leave=False))
            bar.update(rows - bar.n)

    return report


def build_source_assets(source: catalog.Source) -> list:
    source_key = dg.AssetKey(["source", source.id])
    raw_key = dg.AssetKey(["raw", source.id])
    staging_key = dg.AssetKey(["staging", source.id])
    group = source.theme
    years = PARTITIONS if source.partitioned else None

    def observe(settings: PipelineSettings):
        return dg.DataVersion(source_version(source, settings.settings))

    with warnings.catch_warnings():  # observable source assets are the documented way, though marked beta
        warnings.simplefilter("ignore", dg.BetaWarning)
        source_asset = dg.observable_source_asset(
            observe, key=source_key, group_name=group,
            description=f"{source.title} upstream: version = the CBS tables' Modified stamps when live, "
                        "the files' checksum otherwise.")

    # No step-level RetryPolicy: the HTTP client retries what is worth retrying (429/5xx, resets, a body that breaks
    # off), and Dagster would retry an interrupt too, so Ctrl-C or SIGTERM could not stop a run.
    @dg.asset(key=raw_key, deps=[source_key], group_name=group, kinds={"duckdb"},
              partitions_def=years,
              description=f"{source.title} ({source.publisher}): rows exactly as received (file or OData pages)"
                          + (", one partition per year." if years else "."))
    def raw_asset(context: dg.AssetExecutionContext, settings: PipelineSettings, build_db: DuckDBResource):
        s = settings.for_run(context.run.tags)
        loads = []
        with build_db.get_connection() as con:
            for part in run_partitions(context, source):
                loads.append(_load_raw(context, unit(source, part), part, s, con))
        files = [f for load in loads for f in load.files]
        downloaded = sum(t.downloaded for load in loads for t in load.tables)
        return dg.MaterializeResult(
            data_version=dg.DataVersion(combine_versions({load.part or "": load.version for load in loads})),
            metadata={
                "dagster/row_count": sum(len(f.rows) - 1 for f in files),
                "mode": "live" if s.live and source.live is not None else "snapshot",
                "tables_downloaded": downloaded,
                "tables_unchanged": sum(len(load.tables) for load in loads) - downloaded,
                "files": dg.MetadataValue.md("\n".join(
                    f"- `{f.file.path}` ({f.file.table_id}) sha256 `{f.sha256[:12]}…`" for f in files) or "_none_"),
            },
        )

    @dg.asset(key=staging_key, deps=[raw_key, dg.AssetKey(["staging", "areas"])], group_name=group,
              kinds={"duckdb"}, partitions_def=years,
              description=f"{source.title}: long format (area_code, year, measure, value, unit, status).")
    def staging_asset(context: dg.AssetExecutionContext, settings: PipelineSettings, build_db: DuckDBResource):
        s = settings.for_run(context.run.tags)
        live = s.live and source.live is not None
        scope = {a["area_code"] for a in catalog.scope_areas(s.scope)}
        matcher, resolver = MeasureMatcher(list(catalog.load_measures())), NameResolver(catalog.load_area_spec())
        with build_db.get_connection() as con:
            staged = [_stage(con, unit(source, part), part, live, scope, matcher, resolver)
                      for part in run_partitions(context, source)]
        obs = pd.concat([st.observations for st in staged], ignore_index=True)
        rejected = sum(len(st.rejected) for st in staged)
        if rejected:
            sample = pd.concat([st.rejected for st in staged]).head(3).to_dict("records")
            context.log.warning(f"{source.id}: {rejected} cells rejected, e.g. {sample}")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": len(obs),
            "rejected_cells": rejected,
            "out_of_scope_rows": sum(st.out_of_scope_rows for st in staged),
            "status_counts": dg.MetadataValue.json(obs.status.value_counts().to_dict()),
            "years": dg.MetadataValue.text(", ".join(str(y) for y in sorted(obs.year.unique()))),
            "measures": dg.MetadataValue.text(", ".join(sorted(obs.measure.unique()))),
            "preview": _preview(obs),
        })

    return [source_asset, raw_asset, staging_asset]


@dataclass
class _RawLoad:
    part: str | None
    files: list
    tables: list
    version: str


def _load_raw(context: dg.AssetExecutionContext, source: catalog.Source, part: str | None, s, con) -> _RawLoad:
    """One source (or one year of it): fetch or read, then write the raw tables and their audit rows."""
    live = s.live and source.live is not None
    schools = None
    if live:
        result = fetch_live(source, s, _progress(context, source.id))
        tables, schools, version = result.tables, result.schools, result.version
        files = [t.raw_file(source.id) for t in tables]
    else:
        if s.live:
            context.log.info(f"{source.id} has no live form; using the bundled file(s) from {s.snapshot_dir}")
        tables, files = [], read_source_files(source, s.snapshot_dir)
        version = files_version(files)
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE TABLE IF NOT EXISTS raw.files (source_id VARCHAR, table_id VARCHAR, source_file VARCHAR, "
                "year INTEGER, sha256 VARCHAR, fetched_at VARCHAR, rows INTEGER, raw_table VARCHAR, origin VARCHAR)")
    con.execute("ALTER TABLE raw.files ADD COLUMN IF NOT EXISTS origin VARCHAR")  # build DBs of 0.1.0
    con.execute("ALTER TABLE raw.files ADD COLUMN IF NOT EXISTS fetched_basis VARCHAR")  # and of before provenance
    con.execute("DELETE FROM raw.files WHERE source_id = ? AND (? IS NULL OR year = ?::INTEGER)", [source.id, part, part])
    for f in files:
        write_frame(con, f"raw.{f.table_name}", f.rows.assign(_row=range(len(f.rows))))
        con.execute("INSERT INTO raw.files BY NAME SELECT ? AS source_id, ? AS table_id, ? AS source_file, ? AS year, "
                    "? AS sha256, ? AS fetched_at, ? AS rows, ? AS raw_table, ? AS origin, ? AS fetched_basis",
                    [source.id, f.file.table_id, f.file.path, f.file.year, f.sha256, f.fetched_at,
                     len(f.rows) - 1, f.table_name, str(f.path), f.fetched_basis])
    write_part(con, f"raw.http_pages__{source.id}", part, live_pages(source.id, tables))
    write_part(con, f"raw.odata_measures__{source.id}", part, live_mappings(source.id, tables))
    write_part(con, f"raw.odata_dimensions__{source.id}", part, live_dimensions(source.id, tables))
    write_part(con, f"raw.school_placement__{source.id}", part,
               schools if schools is not None else pd.DataFrame(columns=PLACEMENT_COLUMNS))
    con.execute("CREATE TABLE IF NOT EXISTS raw.source_versions "
                "(source_id VARCHAR, part VARCHAR, version VARCHAR, PRIMARY KEY (source_id, part))")
    if part is None:  # a source that was partitioned before keeps no stale years
        con.execute("DELETE FROM raw.source_versions WHERE source_id = ?", [source.id])
    con.execute("INSERT OR REPLACE INTO raw.source_versions VALUES (?, ?, ?)", [source.id, part or "", version])
    return _RawLoad(part, files, tables, version)


def _stage(con, source: catalog.Source, part: str | None, live: bool, scope: set[str], matcher: MeasureMatcher,
           resolver: NameResolver):
    """Stage one source (or one year of it) from its raw tables into the staging tables; rows of areas
    outside `scope` are counted, not kept."""
    src = source.live_variant() if live else source
    suffix = f"__y{part}" if part else ""
    files = [(f, read_frame(con, f"SELECT * EXCLUDE (_row) FROM raw.{raw_table_name(source.id, f.path)} ORDER BY _row"))
             for f in src.files]
    key_maps = None
    if live:  # columns are OData keys, resolved through DataProperties when fetched
        mapping = con.execute(f"SELECT * FROM raw.odata_measures__{source.id}{suffix}").df()
        used = mapping[mapping.used]
        key_maps = {t: dict(zip(g.key, g.measure, strict=True)) for t, g in used.groupby("table_id")}
    staged = stage_source(src, files, matcher, scope, resolver, key_maps)
    intervals = empty_intervals().assign(bound_title=pd.Series(dtype="object"), side=pd.Series(dtype="object"))
    if live and source.live.intervals:
        titles = dict(con.execute(f"SELECT code, any_value(title) FROM raw.odata_dimensions__{source.id}{suffix} "
                                  "WHERE dimension = ? GROUP BY code", [source.live.intervals]).fetchall())
        intervals = stage_intervals(src, files, source.live.intervals, matcher, scope, resolver, key_maps)
        intervals = intervals.assign(bound_title=intervals.bound.map(titles),
                                     side=[bound_side(c, titles.get(c)) for c in intervals.bound])
    write_part(con, f"staging.intervals__{source.id}", part, intervals)
    placement = con.execute(f"SELECT * FROM raw.school_placement__{source.id}{suffix}").df()
    if len(placement):  # DUO live: schools placed by address, not only by gemeente
        staged.schools = placement[SCHOOL_COLUMNS]
    write_part(con, f"staging.obs__{source.id}", part, staged.observations)
    write_part(con, f"staging.rejected__{source.id}", part, staged.rejected)
    write_part(con, f"staging.measure_map__{source.id}", part, mapping if live else staged.measure_map)
    if len(staged.schools):
        write_part(con, f"staging.schools__{source.id}", part, staged.schools)
    return staged


@dg.asset(key=["staging", "areas"], group_name="areas", kinds={"duckdb"},
          description="CBS areas of the scope and the programme areas under every definition (assets/areas/).")
def staging_areas(settings: PipelineSettings, build_db: DuckDBResource):
    spec = catalog.load_area_spec()
    areas, members = areas_frame(spec, catalog.other_areas(settings.settings.scope)), programme_members(spec)
    with build_db.get_connection() as con:
        write_frame(con, "staging.areas", areas)
        write_frame(con, "staging.area_members", members)
    return dg.MaterializeResult(metadata={"dagster/row_count": len(areas), "preview": _preview(areas, 30)})


STAGING_KEYS = [dg.AssetKey(["staging", sid]) for sid in SOURCES]


@dg.asset(key=["staging", "observations"], deps=STAGING_KEYS, group_name="areas", kinds={"duckdb"},
          description="All staged observations and schools, as views over the per-source staging tables.")
def staging_observations(build_db: DuckDBResource):
    with build_db.get_connection() as con:
        union = " UNION ALL ".join(f"SELECT * FROM staging.obs__{sid}" for sid in SOURCES)
        con.execute(f"CREATE OR REPLACE VIEW staging.observations AS {union}")
        intervals = " UNION ALL ".join(f"SELECT * FROM staging.intervals__{sid}" for sid in SOURCES)
        con.execute(f"CREATE OR REPLACE VIEW staging.intervals AS {intervals}")
        school_tables = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'staging' AND table_name LIKE 'schools__%'"
        ).fetchall()]
        schools = " UNION ALL ".join(f"SELECT * FROM staging.{t}" for t in school_tables) or \
            "SELECT NULL::VARCHAR AS area_code, NULL::VARCHAR AS gemeente_code, NULL::VARCHAR AS wijk_code WHERE false"
        con.execute("CREATE OR REPLACE VIEW staging.schools AS SELECT DISTINCT ON (area_code) * "
                    f"FROM ({schools}) ORDER BY area_code, wijk_code NULLS LAST")  # the most precise placement
        n = con.execute("SELECT count(*) FROM staging.observations").fetchall()[0][0]
    return dg.MaterializeResult(metadata={"dagster/row_count": n})


# ---------------------------------------------------------------- indicators per theme

# The live refresh is monthly: a theme not rebuilt for 40 days is overdue, after 100 days it is stale.
INDICATOR_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=100), warn_window=timedelta(days=40))


def build_theme_asset(theme: str, indicators: list[catalog.Indicator]):
    key = dg.AssetKey(["indicators", theme])

    @dg.asset(key=key, deps=[dg.AssetKey(["staging", "observations"]), dg.AssetKey(["staging", "areas"])],
              group_name=theme, kinds={"duckdb"}, freshness_policy=INDICATOR_FRESHNESS,
              description=f"Indicators of theme {theme}: " + ", ".join(i.id for i in indicators))
    def theme_asset(build_db: DuckDBResource):
        with build_db.get_connection() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS indicators")
            n = build_indicator_values(con, indicators, f"indicators.{theme}")
            df = con.execute(f"SELECT * FROM indicators.{theme} WHERE area_code IN "
                             "('HEERLEN-NOORD', 'HEERLEN-ZUID', 'GM0917', 'NL00') ORDER BY indicator_id, year, "
                             "area_code, definition NULLS FIRST").df()
        return dg.MaterializeResult(metadata={
            "dagster/row_count": n,
            "indicators": ", ".join(i.id for i in indicators),
            "preview": _preview(df, 20),
        })

    return theme_asset


INDICATORS = catalog.load_indicators()
THEME_KEYS = [dg.AssetKey(["indicators", t]) for t in catalog.THEMES if any(i.theme == t for i in INDICATORS)]


# ---------------------------------------------------------------- marts and publish

def _indicator_catalogue(published: dict[str, set[str]]) -> pd.DataFrame:
    """marts.indicators; `published` maps each source to the measures it actually delivered."""

    declared = {sid: set(s.required_measures) for sid, s in SOURCES.items()}

    def sources(ref: catalog.MeasureRef) -> tuple[set[str], set[str]]:
        """The sources that delivered `ref` in this build, and (if none) those that would deliver it."""
        delivered = {ref.source} if ref.source else {s for s, ms in published.items() if ref.measure in ms}
        # Not delivered in this build (a live-only source in a snapshot run): name where it would come from.
        return delivered, set() if delivered else {s for s, ms in declared.items() if ref.measure in ms}

    def attribution(ind: catalog.Indicator) -> str:
        found, absent = set(), set()
        for ref in ind.measure_refs():
            delivered, would = sources(ref)
            found, absent = found | delivered, absent | would
        text = "; ".join(SOURCES[s].attribution for s in sorted(found | absent))
        return text + (" (niet alle bronnen in deze build)" if absent else "")

    def estimate(ind: catalog.Indicator) -> bool:
        """The value itself (not its base or weight) is a model estimate."""
        refs = (ind.measure,) if ind.measure else ind.numerator
        return any(SOURCES[s].model_estimate for r in refs for s in set().union(*sources(r)))

    return pd.DataFrame([{
        "indicator_id": i.id, "theme": i.theme, "name_nl": i.name_nl, "name_en": i.name_en,
        "definition": i.definition, "unit": i.unit, "direction": i.direction, "method": i.method,
        "source": attribution(i),
        "licence": "CC BY 4.0", "youth_focus": i.youth_focus, "decimals": i.decimals, "model_estimate": estimate(i),
    } for i in INDICATORS])


def _programmes() -> pd.DataFrame:
    """marts.programmes: the routekaart's interventions (assets/programmes.yaml)."""
    columns = ["programme_id", "theme", "name_nl", "name_en", "description", "areas", "start_year", "start_text",
               "marker_year", "source"]
    return pd.DataFrame([{"programme_id": p.id, "theme": p.theme, "name_nl": p.name_nl, "name_en": p.name_en,
                          "description": p.description, "areas": p.areas, "start_year": p.start_year,
                          "start_text": p.start_text, "marker_year": p.marker_year, "source": p.source}
                         for p in catalog.load_programmes()], columns=columns).astype({"start_year": "Int64"})


@dg.asset(key=["marts", "indicator_values"], deps=THEME_KEYS, group_name="marts", kinds={"duckdb"},
          description="marts.areas, marts.indicators, marts.indicator_values and marts.programme_values.")
def marts_indicator_values(settings: PipelineSettings, build_db: DuckDBResource):
    definition = settings.settings.area_definition
    spec = catalog.load_area_spec()
    if definition not in spec["definitions"]:
        raise dg.Failure(f"unknown area definition {definition!r}; choose one of {sorted(spec['definitions'])}")
    cols = ", ".join(c for c in VALUE_COLUMNS if c != "definition")
    with build_db.get_connection() as con:
        published = {sid: set(ms) for sid, ms in con.execute(
            "SELECT source_id, list(DISTINCT measure) FROM staging.observations WHERE status = 'ok' GROUP BY 1").fetchall()}
        write_frame(con, "marts.indicators", _indicator_catalogue(published))
        write_frame(con, "marts.programmes", _programmes())
        write_frame(con, "marts.series_breaks", pd.DataFrame(
            [{"indicator_id": i.id, "year": y, "note": note} for i in INDICATORS for y, note in i.series_breaks],
            columns=["indicator_id", "year", "note"]))
        con.execute("CREATE OR REPLACE TABLE marts.areas AS SELECT * FROM staging.areas ORDER BY definition, level, area_code")
        union = " UNION ALL ".join(f"SELECT * FROM indicators.{k.path[-1]}" for k in THEME_KEYS)
        con.execute(f"CREATE OR REPLACE TEMP VIEW all_values AS {union}")
        con.execute(f"CREATE OR REPLACE TABLE marts.indicator_values AS SELECT {cols} FROM all_values "
                    "WHERE definition IS NULL OR definition = ? ORDER BY indicator_id, area_code, year", [definition])
        con.execute(f"CREATE OR REPLACE TABLE marts.programme_values AS SELECT definition, {cols} FROM all_values "
                    "WHERE definition IS NOT NULL ORDER BY definition, indicator_id, area_code, year")
        n = con.execute("SELECT count(*) FROM marts.indicator_values").fetchall()[0][0]
        summary = con.execute("SELECT status, count(*) AS n FROM marts.indicator_values GROUP BY 1 ORDER BY 1").df()
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "area_definition": definition,
                                          "status_counts": _preview(summary)})


@dg.asset(key=["marts", "gaps"], deps=[dg.AssetKey(["marts", "indicator_values"])], group_name="marts",
          kinds={"duckdb"}, description="marts.gaps (Noord vs NL and vs Zuid per year: oriented index, closure since "
                                        "the baseline, 2047 trajectory) and marts.gap_verdicts (closing, widening, no "
                                        "clear change or not yet measurable, against the noise of the sources).")
def marts_gaps(build_db: DuckDBResource):
    with build_db.get_connection() as con:
        con.execute(GAPS_SQL)
        con.execute(VERDICTS_SQL)
        n = con.execute("SELECT count(*) FROM marts.gaps").fetchall()[0][0]
        verdicts = read_frame(con, "SELECT * FROM marts.gap_verdicts ORDER BY indicator_id, target")
    counts = verdicts.groupby(["target", "verdict"]).size().rename("n").reset_index()
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "verdicts": _preview(counts, 20),
                                          "preview": _preview(verdicts, 40)})


@dg.asset(key=["marts", "national_rank"], deps=[dg.AssetKey(["marts", "indicator_values"])], group_name="marts",
          kinds={"duckdb"}, description="National scope: Heerlen-Noord and -Zuid ranked among every Dutch wijk, "
                                        "Heerlen among every gemeente (percentile, direction-aware).")
def marts_national_rank(build_db: DuckDBResource):
    with build_db.get_connection() as con:
        con.execute(NATIONAL_RANK_SQL)
        df = con.execute("SELECT * FROM marts.national_rank WHERE area_code = 'HEERLEN-NOORD' "
                         "ORDER BY indicator_id, year").df()
    return dg.MaterializeResult(metadata={"dagster/row_count": len(df), "preview": _preview(df, 20)})


def _typed(types: dict[str, str]) -> str:
    """Every column with its declared type, so a table that is empty in this build is typed all the same."""
    return ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types.items())


def _code_version() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=catalog.ASSETS_DIR.parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


@dg.asset(key=["publish", "warehouse"], deps=[dg.AssetKey(["marts", "gaps"]), dg.AssetKey(["marts", "national_rank"])],
          group_name="marts",
          kinds={"duckdb"}, description="Writes the analyst warehouse privately and swaps it in atomically.")
def publish_warehouse(context: dg.AssetExecutionContext, settings: PipelineSettings, build_db: DuckDBResource):
    s = settings.for_run(context.run.tags)
    with build_db.get_connection() as con:
        con.execute("""CREATE OR REPLACE TABLE marts.sources AS
            SELECT f.source_id, f.table_id, f.year, f.source_file, NULL::VARCHAR AS title, NULL::VARCHAR AS publisher,
                   NULL::VARCHAR AS licence, NULL::VARCHAR AS attribution, f.fetched_at, f.fetched_basis, f.sha256, f.rows
            FROM raw.files f WHERE list_contains(?, f.source_id)  -- a build DB may remember retired sources
            ORDER BY source_id, source_file""", [list(SOURCES)])
        for sid, src in SOURCES.items():
            con.execute("UPDATE marts.sources SET title = ?, publisher = ?, licence = ?, attribution = ? WHERE source_id = ?",
                        [src.title, src.publisher, src.licence, src.attribution, sid])
        rejected = " UNION ALL ".join(f"SELECT * FROM staging.rejected__{sid}" for sid in SOURCES)
        con.execute(f"CREATE OR REPLACE TABLE marts.rejected_rows AS SELECT {_typed(REJECT_TYPES)} FROM ({rejected}) "
                    "WHERE source_id IS NOT NULL")
        con.execute(f"CREATE OR REPLACE TABLE marts.estimate_intervals AS SELECT {_typed(INTERVAL_TYPES)} "
                    "FROM staging.intervals ORDER BY measure, area_code, year, bound")
        con.execute("CREATE OR REPLACE TABLE marts.check_results AS SELECT * FROM audit.check_results "
                    "WHERE run_id = ? ORDER BY asset, check_name", [context.run_id])
        parts = con.execute("SELECT source_id, part, version FROM raw.source_versions").fetchall()
        versions = {sid: combine_versions({p: v for s, p, v in parts if s == sid}) for sid in {r[0] for r in parts}}
        write_frame(con, "marts.build_info", pd.DataFrame([{
            "code_version": _code_version(), **build_stamp(s, versions),
            "run_id": context.run_id, "built_at": datetime.now(UTC),
            "attribution": "Bron: CBS; RIVM/CBS; Politie/CBS; DUO (CC BY 4.0)",
        }]))
        counts = publish(con, s.warehouse)
    context.log.info(f"published {s.warehouse}: {counts}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(s.warehouse)),
                                          "tables": dg.MetadataValue.json(counts)})


def all_assets_and_checks() -> tuple[list, list]:
    assets: list = [staging_areas, staging_observations, marts_indicator_values, marts_gaps, marts_national_rank,
                    publish_warehouse]
    checks: list = [areas_checks()]
    for source in SOURCES.values():
        assets += build_source_assets(source)
        checks.append(source_checks(source))
    for theme in catalog.THEMES:
        inds = [i for i in INDICATORS if i.theme == theme]
        if inds:
            assets.append(build_theme_asset(theme, inds))
            checks.append(theme_checks(theme, inds))
    assets.append(report_asset())
    # Any range of years runs as one run (`--partition-range`, a backfill from the UI), every asset once in it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = [a.with_attributes(backfill_policy=SINGLE_RUN) if isinstance(a, dg.AssetsDefinition) else a
                  for a in assets]
    return assets, checks
