"""Run settings, read from environment variables (a `.env` is honoured by Dagster and the CLI)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
DATA_CHECKS_DIR = PROJECT_ROOT / "data_checks"
BUNDLED_SNAPSHOT_DIR = PROJECT_ROOT / "data" / "snapshot"


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    area_definition: str
    snapshot_dir: Path
    build_dir: Path

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        warehouse = Path(env.get("HEERLEN_WAREHOUSE") or "warehouse/heerlen.duckdb")
        values: dict[str, object] = {
            "warehouse": warehouse,
            "area_definition": env.get("HEERLEN_AREA_DEFINITION") or "spoorlijn",
            "snapshot_dir": Path(env.get("HEERLEN_SNAPSHOT_DIR") or BUNDLED_SNAPSHOT_DIR),
            "build_dir": Path(env.get("HEERLEN_BUILD_DIR") or warehouse.parent / ".build"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(
            warehouse=Path(values["warehouse"]).absolute(),
            area_definition=str(values["area_definition"]),
            snapshot_dir=Path(values["snapshot_dir"]).absolute(),
            build_dir=Path(values["build_dir"]).absolute(),
        )

    @property
    def build_db(self) -> Path:
        return self.build_dir / "build.duckdb"
