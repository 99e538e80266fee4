"""Dagster entry point: `dagster dev` (workspace.yaml) and `dagster asset materialize -m heerlen_pipeline.definitions`."""

from __future__ import annotations

import dagster as dg

from .defs.assets import all_assets
from .defs.automation import monthly_live_refresh, upstream_changes_sensor
from .defs.resources import build_resources
from .defs.sensors import alert_sensors
from .settings import Settings


def make_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    refresh = dg.define_asset_job("refresh_all", selection=dg.AssetSelection.all(),
                                  description="Full refresh: every source to the published warehouse.")
    return dg.Definitions(
        assets=all_assets(),
        resources=build_resources(settings),
        schedules=[monthly_live_refresh(refresh)],
        sensors=[*alert_sensors(settings), upstream_changes_sensor()],
        # Small data: start-up dominates, so run every step in one process (and one DuckDB writer).
        executor=dg.in_process_executor,
        jobs=[refresh],
    )


@dg.definitions  # built when a Dagster tool loads it; the CLI imports make_definitions and builds them once, itself
def defs() -> dg.Definitions:
    return make_definitions()
