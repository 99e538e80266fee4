"""Run settings, read from environment variables (a `.env` is honoured by Dagster and the CLI)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The declarative definitions (sources, measures, areas, indicators); another copy can be used, e.g. for a
# different focus area or a local mirror's table list.
ASSETS_DIR = Path(os.environ.get("HEERLEN_ASSETS_DIR") or PROJECT_ROOT / "assets").absolute()
DATA_CHECKS_DIR = PROJECT_ROOT / "data_checks"
BUNDLED_SNAPSHOT_DIR = PROJECT_ROOT / "data" / "snapshot"

_TRUE = {"1", "true", "yes", "on"}
SCOPES = ("heerlen", "national")


def env_seconds(name: str, default: float, *, above_zero: bool = False) -> float:
    """A duration in seconds from the environment; anything but a finite number in range is refused (nan would
    wait forever)."""
    raw = os.environ.get(name) or str(default)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    in_range = (seconds > 0 if above_zero else seconds >= 0) and seconds < float("inf")
    if not in_range:
        raise ValueError(f"{name} must be a number of seconds {'above 0' if above_zero else 'from 0 up'}, not {raw!r}")
    return seconds


_MEMORY = re.compile(r"\d+(\.\d+)?\s*[KMGT]i?B", re.IGNORECASE)  # as DuckDB's memory_limit takes it


def _env(name: str, default):
    return field(default=default, metadata={"env": name})


@dataclass(frozen=True)
class Limits:
    """The time, size and alert settings, each from its environment variable: the one place they are read and
    checked (a bad value names the variable). The HTTP client, the run lock, `heerlen query` and the alerts take
    them from here; the Dagster UI shows them as the `limits` resource."""

    http_connect_timeout: float = _env("HEERLEN_HTTP_CONNECT_TIMEOUT", 10.0)  # seconds per connection attempt
    http_read_timeout: float = _env("HEERLEN_HTTP_READ_TIMEOUT", 120.0)  # seconds per read
    http_retries: int = _env("HEERLEN_HTTP_RETRIES", 5)  # of 429/5xx and connection errors
    http_backoff: float = _env("HEERLEN_HTTP_BACKOFF", 0.5)  # seconds; doubles per retry, plus jitter
    http_max_bytes: int = _env("HEERLEN_HTTP_MAX_BYTES", 256 * 1024 * 1024)  # a larger response is refused
    http_budget: float = _env("HEERLEN_HTTP_BUDGET", 300.0)  # one request with its retries and their waits
    source_budget: float = _env("HEERLEN_SOURCE_BUDGET", 1800.0)  # all requests of one source together
    lock_timeout: float = _env("HEERLEN_LOCK_TIMEOUT", 3600.0)  # a second run waits this long for the first
    query_timeout: float = _env("HEERLEN_QUERY_TIMEOUT", 60.0)  # per statement of `heerlen query`
    query_memory_limit: str = _env("HEERLEN_QUERY_MEMORY_LIMIT", "2GB")
    # DuckDB's memory in the build database; past it, DuckDB spills to a temporary file next to it
    build_memory_limit: str = _env("HEERLEN_BUILD_MEMORY_LIMIT", "1GB")
    alert_log: str = _env("HEERLEN_ALERT_LOG", "")  # empty: alerts.jsonl next to the warehouse
    alert_webhook_url: str = _env("HEERLEN_ALERT_WEBHOOK_URL", "")  # a secret: never shown, only its variable
    webserver_url: str = _env("DAGSTER_WEBSERVER_URL", "")  # for run links in alerts

    @classmethod
    def from_env(cls) -> Limits:
        values: dict[str, object] = {}
        for f in fields(cls):
            name = f.metadata["env"]
            if f.type == "float":  # zero allowed where it means "no wait": the lock timeout and the backoff
                values[f.name] = env_seconds(name, f.default, above_zero=f.name not in ("lock_timeout", "http_backoff"))
            elif f.type == "int":
                raw = os.environ.get(name) or str(f.default)
                if not raw.isdigit():
                    raise ValueError(f"{name} must be a whole number from 0 up, not {raw!r}")
                values[f.name] = int(raw)
            else:
                values[f.name] = os.environ.get(name) or f.default
                if f.name.endswith("_memory_limit") and not _MEMORY.fullmatch(values[f.name]):
                    raise ValueError(f"{name} must be an amount of memory such as 2GB or 512MB, not {values[f.name]!r}")
        return cls(**values)

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable of a field."""
        return next(f.metadata["env"] for f in fields(Limits) if f.name == name)


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    area_definition: str  # one of the focus area's definitions; empty: its default
    snapshot_dir: Path
    build_dir: Path
    # Live sources (`heerlen run --live`): base URLs; the paths beneath them are exactly the real ones.
    live: bool = False
    replay: bool = False  # live, but from the landed responses only (no network)
    scope: str = "heerlen"  # heerlen: Heerlen's areas and NL; national: also every gemeente and wijk (SCOPES)
    landing_dir: Path = Path("warehouse/landing")
    cbs_odata_url: str = "https://opendata.cbs.nl"
    cbs_dataderden_url: str = "https://dataderden.cbs.nl"
    duo_url: str = "https://duo.nl/open_onderwijsdata"
    pdok_url: str = "https://api.pdok.nl"  # Locatieserver, to place schools in wijken
    focus_area: str = "heerlen-noord"  # assets/areas/focus_areas/<id>.yaml

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        # Directories that default to the warehouse's own follow a --warehouse given on the command line.
        warehouse = Path(overrides.get("warehouse") or env.get("HEERLEN_WAREHOUSE") or "warehouse/heerlen.duckdb")
        values: dict[str, object] = {
            "warehouse": warehouse,
            "area_definition": env.get("HEERLEN_AREA_DEFINITION") or "",
            "snapshot_dir": Path(env.get("HEERLEN_SNAPSHOT_DIR") or BUNDLED_SNAPSHOT_DIR),
            "build_dir": Path(env.get("HEERLEN_BUILD_DIR") or warehouse.parent / ".build"),
            "live": env.get("HEERLEN_LIVE", "").lower() in _TRUE,
            "replay": env.get("HEERLEN_REPLAY", "").lower() in _TRUE,
            "scope": env.get("HEERLEN_SCOPE") or "heerlen",
            "landing_dir": Path(env.get("HEERLEN_LANDING_DIR") or warehouse.parent / "landing"),
            "cbs_odata_url": env.get("HEERLEN_CBS_ODATA_URL") or cls.cbs_odata_url,
            "cbs_dataderden_url": env.get("HEERLEN_CBS_DATADERDEN_URL") or cls.cbs_dataderden_url,
            "duo_url": env.get("HEERLEN_DUO_URL") or cls.duo_url,
            "pdok_url": env.get("HEERLEN_PDOK_URL") or cls.pdok_url,
            "focus_area": env.get("HEERLEN_FOCUS_AREA") or cls.focus_area,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> Settings:
        """Typed construction from plain values (environment, CLI or a Dagster resource's config)."""
        out: dict[str, object] = {}
        for f in fields(cls):
            v = values[f.name]
            if f.type == "Path":
                v = Path(str(v)).absolute()
            elif f.type == "bool":
                v = v if isinstance(v, bool) else str(v).lower() in _TRUE
            elif f.name.endswith("_url"):
                v = str(v).rstrip("/")
            elif f.name == "scope" and v not in SCOPES:
                raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {v!r} (HEERLEN_SCOPE or --scope)")
            out[f.name] = v
        from .catalog import focus_area_ids, load_focus_area  # the catalog reads settings: imported here

        if out["focus_area"] not in focus_area_ids():
            raise ValueError(f"unknown focus area {out['focus_area']!r} (--focus-area or HEERLEN_FOCUS_AREA); choose one "
                             f"of {', '.join(focus_area_ids())}")
        focus = load_focus_area(out["focus_area"])
        out["area_definition"] = out["area_definition"] or focus.default
        if out["area_definition"] not in focus.definitions:
            known = ", ".join(sorted(focus.definitions))
            raise ValueError(f"unknown area definition {out['area_definition']!r} of focus area {focus.id} "
                             f"(--area-definition or HEERLEN_AREA_DEFINITION); choose one of {known}")
        if out["live"] and out["focus_area"] != cls.focus_area:
            raise ValueError(f"the live sources are fetched for {cls.focus_area}'s gemeente (the geo filters in "
                             f"assets/sources.yaml); focus area {out['focus_area']} runs on the bundled files")
        if out["scope"] == "national" and out["live"]:
            raise ValueError("the national scope runs on the bundled files; a live national refresh is not supported yet")
        return cls(**out)

    def as_plain(self) -> dict[str, object]:
        return {f.name: (str(v) if isinstance(v := getattr(self, f.name), Path) else v) for f in fields(self)}

    @property
    def build_db(self) -> Path:
        return self.build_dir / "build.duckdb"

    @property
    def live_urls(self) -> list[str]:
        """Every base URL a live refresh talks to."""
        return [self.cbs_odata_url, self.cbs_dataderden_url, self.duo_url, self.pdok_url]

    @property
    def catalogue_urls(self) -> dict[str, str]:
        return {"opendata": self.cbs_odata_url, "dataderden": self.cbs_dataderden_url}
