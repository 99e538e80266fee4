"""Is the published warehouse current? Compare what it was built from with what is upstream now.

A build records every source's version (the CBS tables' Modified stamps when live, the files' checksum
otherwise), a fingerprint of the code and definitions, the area definition and the source mode. When
all of them are unchanged a refresh has nothing to do, and `heerlen run` stops before any download.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from .. import __version__, catalog
from ..settings import ASSETS_DIR, DATA_CHECKS_DIR, Settings
from .files import snapshot_version

if TYPE_CHECKING:
    from .odata import ODataClient

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the whole heerlen_pipeline package


def code_version() -> str:
    """The package version and, in a git checkout, the commit: `0.1.0+6af91ac`."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=PACKAGE_DIR.parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def config_fingerprint() -> str:
    """Checksum of everything besides the data that shapes the warehouse: code, definitions, suites."""
    h = hashlib.sha256()
    for root, pattern in ((PACKAGE_DIR, "**/*.py"), (PACKAGE_DIR, "**/*.css"), (ASSETS_DIR, "**/*"),
                          (DATA_CHECKS_DIR, "*.json")):
        for path in sorted(p for p in root.glob(pattern) if p.is_file()):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def source_mode(settings: Settings) -> str:
    return "live" if settings.live else "snapshot"


def current_versions(settings: Settings) -> dict[str, str]:
    client = None
    if settings.live and not settings.replay:  # imported here: a bundled no-op refresh needs no HTTP client
        from .http import HttpClient
        from .odata import ODataClient

        client = ODataClient(HttpClient(), settings.catalogue_urls)
    return {sid: source_version(src, settings, client) for sid, src in catalog.load_sources().items()}


def source_version(source: catalog.Source, settings: Settings, client: ODataClient | None = None) -> str:
    """What the source is upstream right now, all partitions together (see combine_versions)."""
    return combine_versions(partition_versions(source, settings, client))


def partition_versions(source: catalog.Source, settings: Settings, client: ODataClient | None = None
                       ) -> dict[str, str]:
    """The version of each year partition of the source; {"": version} when it is not partitioned."""
    if not source.partitioned:
        return {"": _version(source, settings, client)}
    return {str(y): _version(source.for_year(y), settings, client) for y in source.years()}


def combine_versions(parts: dict[str, str]) -> str:
    if set(parts) == {""}:
        return parts[""]
    return ";".join(f"{part}={version}" for part, version in sorted(parts.items()))


def _version(source: catalog.Source, settings: Settings, client: ODataClient | None) -> str:
    """Its tables' Modified stamps (live) or its files' checksum."""
    if not (settings.live and source.live):
        return snapshot_version(source, settings.snapshot_dir)
    from .live import live_version  # the HTTP stack, for live runs only

    return live_version(source, settings, client)


STAMP_FIELDS = ("source_versions", "config_fingerprint", "area_definition", "source_mode", "scope", "focus_area")


def build_stamp(settings: Settings, versions: dict[str, str]) -> dict[str, str]:
    return {"source_versions": json.dumps(versions, sort_keys=True), "config_fingerprint": config_fingerprint(),
            "area_definition": settings.area_definition, "source_mode": source_mode(settings), "scope": settings.scope,
            "focus_area": settings.focus_area}


def published_stamp(warehouse: Path) -> dict[str, str] | None:
    if not warehouse.is_file():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            row = con.execute(f"SELECT {', '.join(STAMP_FIELDS)} FROM marts.build_info").fetchall()[0]
    except duckdb.Error:  # an older warehouse without these columns: rebuild
        return None
    return dict(zip(STAMP_FIELDS, row, strict=True))


def up_to_date(settings: Settings) -> bool:
    published = published_stamp(settings.warehouse)
    return published is not None and published == build_stamp(settings, current_versions(settings))
