"""Per source: its observable upstream (`source/<id>`), and one step that lands its raw rows (`raw/<id>`), stages
its observations (`staging/<id>`) and checks them, partitioned by year where the source is. The asset modules do
without `from __future__ import annotations`: Dagster reads the `context` annotation when it defines an asset."""

import sys
import warnings
from functools import partial

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource
from tqdm import tqdm

from .. import catalog
from ..sources.headers import MeasureMatcher
from ..sources.land import land_source
from ..sources.reach import unreachable
from ..sources.versions import combine_versions, partition_versions
from ..store.tables import read_frame, side_by_side
from ..transform.areas import NameResolver
from ..transform.stage import stage_part
from ..transform.staging import OBS_COLUMNS
from .automation import OBSERVE, REACT
from .checks import source_checks
from .metadata import preview
from .partitions import run_partitions, unit
from .resources import PipelineSettings, RunLimits


def _progress(context: dg.AssetExecutionContext, source_id: str):
    """Download progress: a Dagster log line per page, and a bar when the CLI runs in a terminal."""
    bars: dict[tuple[str, str], tqdm] = {}

    def report(table_id: str, entity: str, pages: int, rows: int) -> None:
        context.log.info(f"{source_id} {table_id} {entity}: page {pages}, {rows} rows so far")
        if sys.stderr.isatty():
            bar = bars.setdefault((table_id, entity), tqdm(desc=f"{table_id} {entity}", unit=" rows", leave=False))
            bar.update(rows - bar.n)

    return report


def build_source_assets(source: catalog.Source, years: dg.PartitionsDefinition | None) -> list:
    source_key = dg.AssetKey(["source", source.id])
    raw_key = dg.AssetKey(["raw", source.id])
    staging_key = dg.AssetKey(["staging", source.id])
    group = source.theme
    years = years if source.partitioned else None

    def observe(context, settings: PipelineSettings):
        s = settings.for_run(context.run.tags)
        if s.live and not s.replay and (problems := unreachable(s.live_urls)):
            raise dg.Failure(description=f"live sources unreachable, observing again at the next tick: "
                                         f"{'; '.join(problems)}", allow_retries=False)
        versions = partition_versions(source, s)
        return dg.DataVersionsByPartition(versions) if years else dg.DataVersion(versions[""])

    with warnings.catch_warnings():  # observable source assets are the documented way, though marked beta
        warnings.simplefilter("ignore", dg.BetaWarning)
        # Called with its options first: given the function and options at once, Dagster drops the options (the
        # key among them), and every source became one stray asset named `observe`.
        source_asset = dg.observable_source_asset(
            key=source_key, group_name=group, partitions_def=years, automation_condition=OBSERVE,
            description=f"{source.title} upstream: version = the CBS tables' Modified stamps when live, "
                        "the files' checksum otherwise" + (", per year." if years else "."))(observe)

    checks = source_checks(source)
    react = dict(group_name=group, kinds={"duckdb"}, automation_condition=REACT)

    # One step per source: its raw rows, its staged observations and their checks. No step-level RetryPolicy: the
    # HTTP client retries what is worth retrying (429/5xx, resets, a body that breaks off), and Dagster would retry
    # an interrupt too, so Ctrl-C or SIGTERM could not stop a run.
    @dg.multi_asset(
        name=f"ingest__{source.id}", partitions_def=years, can_subset=True, check_specs=checks.specs,
        specs=[
            dg.AssetSpec(raw_key, deps=[source_key], **react,
                         description=f"{source.title} ({source.publisher}): rows exactly as received (file or OData "
                                     "pages)" + (", one partition per year." if years else ".")),
            dg.AssetSpec(staging_key, deps=[raw_key, dg.AssetKey(["staging", "areas"])], **react,
                         description=f"{source.title}: long format (area_code, year, measure, value, unit, status)."),
        ])
    def source_step(context: dg.AssetExecutionContext, settings: PipelineSettings, limits: RunLimits,
                    build_db: DuckDBResource):
        s = settings.for_run(context.run.tags)
        with build_db.get_connection() as con:
            landed = {}  # part -> {file path: its rows}: what was landed here is staged without reading it back
            if raw_key in context.selected_asset_keys:
                loads = [land_source(con, unit(source, part), part, s, _progress(context, source.id), context.log.info,
                                     limits.http_config()) for part in run_partitions(context, source)]
                landed = {load.part: {f.file.path: f.rows for f in load.files} for load in loads}
                yield raw_result(s, loads)
                del loads
            if staging_key in context.selected_asset_keys:
                yield stage(context, con, s, landed)
            del landed
            yield from checks.run(context, con, s)

    def raw_result(s, loads: list) -> dg.MaterializeResult:
        """raw/<id>'s materialisation: what the landings of this step brought."""
        files = [f for load in loads for f in load.files]
        downloaded = sum(t.downloaded for load in loads for t in load.tables)
        return dg.MaterializeResult(
            asset_key=raw_key,
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

    def stage(context: dg.AssetExecutionContext, con, s, landed: dict) -> dg.MaterializeResult:
        live = s.live and source.live is not None
        scope = {a["area_code"] for a in catalog.scope_areas(s.scope, focus_id=s.focus_area)}
        matcher, resolver = MeasureMatcher(list(catalog.load_measures())), NameResolver(catalog.load_cbs_names())
        parts = list(run_partitions(context, source))

        def stage_year(cur, part: str | None, rows: dict | None):
            return stage_part(cur, unit(source, part), part, live, scope, matcher, resolver, rows)

        # The years side by side, one per core, each on a DuckDB cursor of its own: with a national KWB's ten years
        # of 470,000 cells each, its step took 15.3 s instead of 19.5 s.
        staged = side_by_side(con, [partial(stage_year, part=part, rows=landed.pop(part, None)) for part in parts])
        # What was staged, counted where it lies (a national KWB is millions of rows: no frame of them here).
        mine, key = "FROM staging.observations WHERE source_id = ? AND list_contains(?, part)", [source.id,
                                                                                               [p or "" for p in parts]]
        counts = dict(con.execute(f"SELECT status, count(*) {mine} GROUP BY status ORDER BY 2 DESC, 1", key).fetchall())
        years, measures = ([v for (v,) in con.execute(f"SELECT DISTINCT {c} {mine} ORDER BY 1", key).fetchall()]
                           for c in ("year", "measure"))
        rejected = sum(len(st.rejected) for st in staged)
        if rejected:
            sample = pd.concat([st.rejected for st in staged]).head(3).to_dict("records")
            context.log.warning(f"{source.id}: {rejected} cells rejected, e.g. {sample}")
        return dg.MaterializeResult(asset_key=staging_key, metadata={
            "dagster/row_count": sum(counts.values()),
            "rejected_cells": rejected,
            "out_of_scope_rows": sum(st.out_of_scope_rows for st in staged),
            "status_counts": dg.MetadataValue.json(counts),
            "years": dg.MetadataValue.text(", ".join(str(y) for y in years)),
            "measures": dg.MetadataValue.text(", ".join(measures)),
            "preview": preview(read_frame(con, f"SELECT {', '.join(OBS_COLUMNS)} {mine} LIMIT 10", key)),
        })

    return [source_asset, source_step]
