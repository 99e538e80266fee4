"""Landing a source in the build database's `raw` schema: fetched live or read from the bundled files, the rows
exactly as received (raw.rows), a record per file (raw.files) and the source's version (raw.source_versions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from .. import catalog
from ..settings import Settings
from ..store.layout import replace_part
from .files import files_version, read_source_files
from .http import HttpConfig
from .live import Progress, fetch_live, live_dimensions, live_mappings, live_pages


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
    con.execute("DELETE FROM raw.files WHERE source_id = ? AND (? IS NULL OR year = ?::INTEGER)", [source.id, part, part])
    replace_part(con, "raw.rows", source.id, part)
    for f in files:
        con.execute("INSERT INTO raw.files BY NAME SELECT ? AS source_id, ? AS table_id, ? AS source_file, ? AS year, "
                    "? AS sha256, ? AS fetched_at, ? AS rows, ? AS width, ? AS origin, ? AS fetched_basis",
                    [source.id, f.file.table_id, f.file.path, f.file.year, f.sha256, f.fetched_at,
                     len(f.rows) - 1, f.rows.shape[1], str(f.path), f.fetched_basis])
        con.register("_file", f.rows.assign(_row=range(len(f.rows))))
        try:
            con.execute(f"INSERT INTO raw.rows BY NAME SELECT ? AS source_id, ? AS part, ? AS table_id, ? AS source_file, "
                        f"_row, [{', '.join(f.rows.columns)}]::VARCHAR[] AS cells FROM _file",
                        [source.id, part or "", f.file.table_id, f.file.path])
        finally:
            con.unregister("_file")
    replace_part(con, "raw.http_pages", source.id, part, live_pages(source.id, tables))
    replace_part(con, "raw.odata_measures", source.id, part, live_mappings(source.id, tables))
    replace_part(con, "raw.odata_dimensions", source.id, part, live_dimensions(source.id, tables))
    replace_part(con, "raw.school_placement", source.id, part, schools)
    if part is None:  # a source that was partitioned before keeps no stale years
        con.execute("DELETE FROM raw.source_versions WHERE source_id = ?", [source.id])
    con.execute("INSERT OR REPLACE INTO raw.source_versions VALUES (?, ?, ?)", [source.id, part or "", version])
    return RawLoad(part, files, tables, version)
