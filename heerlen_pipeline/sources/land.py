"""Landing a source in the build database's `raw` schema: fetched live or read from the bundled files, the rows
exactly as received, a record per file (raw.files) and the source's version (raw.source_versions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from .. import catalog
from ..settings import Settings
from ..store.tables import write_frame, write_part
from .files import files_version, read_source_files
from .http import HttpConfig
from .live import Progress, fetch_live, live_dimensions, live_mappings, live_pages
from .pdok import PLACEMENT_COLUMNS


@dataclass
class RawLoad:
    """What landing one source (or one year of it) brought: its files, live tables and version."""

    part: str | None
    files: list
    tables: list
    version: str


def land_source(con: duckdb.DuckDBPyConnection, source: catalog.Source, part: str | None, s: Settings,
                progress: Progress, log: Callable[[str], None], http_config: HttpConfig | None = None) -> RawLoad:
    """One source (or one year of it): fetch or read, then write the raw tables and their audit rows."""
    live = s.live and source.live is not None
    schools = None
    if live:
        result = fetch_live(source, s, progress, http_config)
        tables, schools, version = result.tables, result.schools, result.version
        files = [t.raw_file(source.id) for t in tables]
    else:
        if s.live:
            log(f"{source.id} has no live form; using the bundled file(s) from {s.snapshot_dir}")
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
    return RawLoad(part, files, tables, version)
