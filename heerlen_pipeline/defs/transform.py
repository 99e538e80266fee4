"""The areas and one indicator asset per theme, each with its checks in its own step."""

from datetime import timedelta

import dagster as dg
from dagster_duckdb import DuckDBResource

from .. import catalog
from ..transform.areas import compared
from ..transform.indicators import build_indicator_values
from ..transform.stage import stage_areas
from .automation import REACT
from .checks import areas_checks, theme_checks
from .metadata import preview
from .resources import PipelineSettings

AREAS_CHECKS = areas_checks()


@dg.asset(key=["staging", "areas"], group_name="areas", kinds={"duckdb"}, check_specs=AREAS_CHECKS.specs,
          description="CBS areas of the scope and the programme areas under every definition (assets/areas/).")
def staging_areas(context: dg.AssetExecutionContext, settings: PipelineSettings, build_db: DuckDBResource):
    s = settings.for_run(context.run.tags)
    with build_db.get_connection() as con:
        areas = stage_areas(con, catalog.load_area_spec(focus_id=s.focus_area),
                            catalog.other_areas(s.scope, focus_id=s.focus_area))
        yield dg.MaterializeResult(metadata={"dagster/row_count": len(areas), "preview": preview(areas, 30)})
        yield from AREAS_CHECKS.run(context, con, s)


# The live refresh is monthly: a theme not rebuilt for 40 days is overdue, after 100 days it is stale.
INDICATOR_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=100), warn_window=timedelta(days=40))


def build_theme_asset(theme: str, indicators: list[catalog.Indicator], source_ids: list[str]):
    key = dg.AssetKey(["indicators", theme])
    checks = theme_checks(theme, indicators)

    staged = [*(dg.AssetKey(["staging", sid]) for sid in source_ids), dg.AssetKey(["staging", "areas"])]

    @dg.asset(key=key, check_specs=checks.specs, deps=staged,
              group_name=theme, kinds={"duckdb"}, freshness_policy=INDICATOR_FRESHNESS, automation_condition=REACT,
              description=f"Indicators of theme {theme}: " + ", ".join(i.id for i in indicators))
    def theme_asset(context: dg.AssetExecutionContext, settings: PipelineSettings, build_db: DuckDBResource):
        s = settings.for_run(context.run.tags)
        headline = compared(catalog.load_focus_area(s.focus_area))
        with build_db.get_connection() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS indicators")
            n = build_indicator_values(con, indicators, f"indicators.{theme}")
            df = con.execute(f"SELECT * FROM indicators.{theme} WHERE list_contains(?, area_code) "
                             "ORDER BY indicator_id, year, area_code, definition NULLS FIRST",
                             [list(headline)]).df()
            yield dg.MaterializeResult(metadata={
                "dagster/row_count": n,
                "indicators": ", ".join(i.id for i in indicators),
                "preview": preview(df, 20),
            })
            yield from checks.run(context, con, s)

    return theme_asset
