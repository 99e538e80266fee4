"""Dagster resources: run settings and the private build database."""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from .settings import Settings


class PipelineSettings(dg.ConfigurableResource):
    """Paths and the area definition; defaults come from HEERLEN_* environment variables."""

    warehouse: str
    area_definition: str
    snapshot_dir: str
    build_dir: str

    @classmethod
    def from_settings(cls, s: Settings) -> "PipelineSettings":
        return cls(warehouse=str(s.warehouse), area_definition=s.area_definition,
                   snapshot_dir=str(s.snapshot_dir), build_dir=str(s.build_dir))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.settings.build_dir.mkdir(parents=True, exist_ok=True)  # before the build DB is first opened

    @property
    def settings(self) -> Settings:
        return Settings(Path(self.warehouse), self.area_definition, Path(self.snapshot_dir), Path(self.build_dir))


def build_resources(s: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "settings": PipelineSettings.from_settings(s),
        "build_db": DuckDBResource(database=str(s.build_db)),
    }
