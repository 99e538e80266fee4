"""Dagster resources: run settings and the private build database."""


from collections.abc import Mapping
from dataclasses import replace

import dagster as dg
from dagster_duckdb import DuckDBResource

from .settings import Settings

LIVE_TAG = "heerlen/live"


class PipelineSettings(dg.ConfigurableResource):
    """Paths, area definition and source mode; defaults come from HEERLEN_* environment variables."""

    warehouse: str
    area_definition: str
    snapshot_dir: str
    build_dir: str
    live: bool = False
    replay: bool = False
    scope: str = "heerlen"
    landing_dir: str
    cbs_odata_url: str
    cbs_dataderden_url: str
    duo_url: str
    pdok_url: str

    @classmethod
    def from_settings(cls, s: Settings) -> "PipelineSettings":
        return cls(**s.as_plain())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.settings.build_dir.mkdir(parents=True, exist_ok=True)  # before the build DB is first opened

    @property
    def settings(self) -> Settings:
        return Settings.from_dict({name: getattr(self, name) for name in Settings.__dataclass_fields__})

    def for_run(self, tags: Mapping[str, str]) -> Settings:
        """The settings of one run: a run tagged heerlen/live=true (the schedule, the change sensor, or a
        launch from the UI) fetches live even when the code location's default is the bundled snapshot."""
        s = self.settings
        return replace(s, live=True) if tags.get(LIVE_TAG, "").lower() == "true" else s


def build_resources(s: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "settings": PipelineSettings.from_settings(s),
        "build_db": DuckDBResource(database=str(s.build_db)),
    }
