"""The marts (indicator values, gaps and verdicts, national rank) and the publish of the analyst warehouse."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from .. import catalog
from ..sources.versions import build_stamp, code_version, combine_versions
from ..store.publish import publish
from ..store.tables import read_frame
from ..transform.gaps import gaps_sql, verdicts_sql
from ..transform.marts import build_audit_marts, build_value_marts
from ..transform.ranks import national_rank_sql
from .automation import REACT
from .metadata import preview
from .resources import PipelineSettings


def indicator_values_asset(sources: dict[str, catalog.Source], indicators, themes: list[str]) -> dg.AssetsDefinition:
    @dg.asset(key=["marts", "indicator_values"], deps=[dg.AssetKey(["indicators", t]) for t in themes],
              group_name="marts", kinds={"duckdb"}, automation_condition=REACT,
              description="marts.areas, marts.indicators, marts.indicator_values and marts.programme_values.")
    def marts_indicator_values(settings: PipelineSettings, build_db: DuckDBResource):
        definition = settings.settings.area_definition  # Settings checked it against the focus area
        with build_db.get_connection() as con:
            n = build_value_marts(con, definition, sources, indicators, themes)
            summary = con.execute("SELECT status, count(*) AS n FROM marts.indicator_values GROUP BY 1 ORDER BY 1").df()
        return dg.MaterializeResult(metadata={"dagster/row_count": n, "area_definition": definition,
                                              "status_counts": preview(summary)})

    return marts_indicator_values


@dg.asset(key=["marts", "gaps"], deps=[dg.AssetKey(["marts", "indicator_values"])], group_name="marts",
          kinds={"duckdb"}, automation_condition=REACT,
          description="marts.gaps (Noord vs NL and vs Zuid per year: oriented index, closure since the baseline, 2047 "
                      "trajectory) and marts.gap_verdicts (closing, widening, no clear change or not yet measurable, "
                      "against the noise of the sources).")
def marts_gaps(settings: PipelineSettings, build_db: DuckDBResource):
    focus = catalog.load_focus_area(settings.settings.focus_area)
    with build_db.get_connection() as con:
        con.execute(gaps_sql(focus))
        con.execute(verdicts_sql(focus))
        n = con.execute("SELECT count(*) FROM marts.gaps").fetchall()[0][0]
        verdicts = read_frame(con, "SELECT * FROM marts.gap_verdicts ORDER BY indicator_id, target")
    counts = verdicts.groupby(["target", "verdict"]).size().rename("n").reset_index()
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "verdicts": preview(counts, 20),
                                          "preview": preview(verdicts, 40)})


@dg.asset(key=["marts", "national_rank"], deps=[dg.AssetKey(["marts", "indicator_values"])], group_name="marts",
          kinds={"duckdb"}, automation_condition=REACT,
          description="National scope: the focus area and the rest of its gemeente ranked among every Dutch wijk "
                      "outside that gemeente, the gemeente among every other (percentile, direction-aware).")
def marts_national_rank(settings: PipelineSettings, build_db: DuckDBResource):
    focus = catalog.load_focus_area(settings.settings.focus_area)
    with build_db.get_connection() as con:
        con.execute(national_rank_sql(focus))
        df = con.execute("SELECT * FROM marts.national_rank WHERE area_code = ? ORDER BY indicator_id, year",
                         [focus.focus.code]).df()
    return dg.MaterializeResult(metadata={"dagster/row_count": len(df), "preview": preview(df, 20)})


def publish_asset(sources: dict[str, catalog.Source]) -> dg.AssetsDefinition:
    @dg.asset(key=["publish", "warehouse"], deps=[dg.AssetKey(["marts", "gaps"]), dg.AssetKey(["marts", "national_rank"])],
              group_name="marts", automation_condition=REACT,
              kinds={"duckdb"}, description="Writes the analyst warehouse privately and swaps it in atomically.")
    def publish_warehouse(context: dg.AssetExecutionContext, settings: PipelineSettings, build_db: DuckDBResource):
        s = settings.for_run(context.run.tags)
        with build_db.get_connection() as con:
            parts = con.execute("SELECT source_id, part, version FROM raw.source_versions").fetchall()
            versions = {sid: combine_versions({p: v for s_, p, v in parts if s_ == sid}) for sid in {r[0] for r in parts}}
            build_audit_marts(con, sources, context.run_id, {"code_version": code_version(), **build_stamp(s, versions)})
            counts = publish(con, s.warehouse)
        context.log.info(f"published {s.warehouse}: {counts}")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(s.warehouse)),
                                              "tables": dg.MetadataValue.json(counts)})

    return publish_warehouse
