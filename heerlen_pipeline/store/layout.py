"""The layout of the build database: one table per kind of data, whatever the source or year.

Every per-source table carries `source_id` and `part` (the year of a partitioned source, '' otherwise); a step
replaces its own rows by delete-then-insert (`replace_part`), so a year can be reloaded alone and nothing needs a
view to glue partitions together. The layout is created once per connection. A build database of an older
layout (one table per source and year, glued by views) is a cache: its raw and staging schemas are dropped and
the next run rebuilds them from the sources.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .tables import column_defs

# 1: a table per source and year, views over them; 2: a table per kind; 3: raw.rows holds a line's fields as a list;
# 4: theme tables in published order, marts.indicator_values a view over them
LAYOUT_VERSION = "4"

OBS_TYPES = {"area_code": "VARCHAR", "year": "BIGINT", "measure": "VARCHAR", "value": "DOUBLE", "unit": "VARCHAR",
             "status": "VARCHAR", "symbol": "VARCHAR", "source_id": "VARCHAR", "table_id": "VARCHAR",
             "source_file": "VARCHAR", "row_nr": "BIGINT"}
# audit.check_results: one row per check outcome of a run.
CHECK_TYPES = {"asset": "VARCHAR", "check_name": "VARCHAR", "severity": "VARCHAR", "passed": "BOOLEAN",
               "observed": "VARCHAR", "run_id": "VARCHAR", "checked_at": "TIMESTAMP WITH TIME ZONE",
               "reused_from_run": "VARCHAR"}
# Per-source tables: columns and types (`source_id` is among them or added; `part` is always added).
PER_SOURCE: dict[str, dict[str, str]] = {
    # Every source file's rows exactly as received: a line's fields as one list of text (as many as raw.files.width
    # says), row 0 a CSV's header line. A list, not a column per field: with 122 columns (the widest file), a
    # write cost some 25 ms for the column count alone, for a KWB file of 83 lines as for DUO's 9,738.
    "raw.rows": {"table_id": "VARCHAR", "source_file": "VARCHAR", "_row": "BIGINT", "cells": "VARCHAR[]"},
    "raw.http_pages": {"table_id": "VARCHAR", "modified": "VARCHAR", "downloaded_this_run": "BOOLEAN",
                       "entity": "VARCHAR", "url": "VARCHAR", "status": "BIGINT", "fetched_at": "VARCHAR",
                       "bytes": "BIGINT", "sha256": "VARCHAR", "landed_file": "VARCHAR"},
    "raw.odata_measures": {"table_id": "VARCHAR", "year": "BIGINT", "key": "VARCHAR", "measure": "VARCHAR",
                           "title": "VARCHAR", "topic_path": "VARCHAR", "unit": "VARCHAR", "matched_by": "VARCHAR",
                           "used": "BOOLEAN"},
    "raw.odata_dimensions": {"table_id": "VARCHAR", "dimension": "VARCHAR", "code": "VARCHAR", "title": "VARCHAR"},
    "raw.school_placement": {"area_code": "VARCHAR", "gemeente_code": "VARCHAR", "wijk_code": "VARCHAR",
                             "buurt_code": "VARCHAR", "placed_by": "VARCHAR", "address": "VARCHAR"},
    "staging.observations": OBS_TYPES,
    # As pandas typed them before this layout (int64 -> BIGINT); the marts cast them to their published types.
    "staging.rejected": {"table_id": "VARCHAR", "source_file": "VARCHAR", "row_nr": "BIGINT", "area": "VARCHAR",
                         "field": "VARCHAR", "raw_value": "VARCHAR", "reason": "VARCHAR"},
    "staging.intervals": {"area_code": "VARCHAR", "year": "BIGINT", "measure": "VARCHAR", "bound": "VARCHAR",
                          "value": "DOUBLE", "status": "VARCHAR", "table_id": "VARCHAR", "bound_title": "VARCHAR",
                          "side": "VARCHAR"},
    "staging.measure_map": {"table_id": "VARCHAR", "source_file": "VARCHAR", "source_column": "VARCHAR",
                            "measure": "VARCHAR"},
    "staging.school_places": {"area_code": "VARCHAR", "gemeente_code": "VARCHAR", "wijk_code": "VARCHAR"},
}


def _columns(types: dict[str, str]) -> str:
    return column_defs({"source_id": "VARCHAR", **types, "part": "VARCHAR"})


def ensure_layout(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables of the layout if missing (the per-source ones once per database); an older layout is
    dropped first."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute("CREATE SCHEMA IF NOT EXISTS audit")
    con.execute("CREATE TABLE IF NOT EXISTS audit.layout (version VARCHAR)")
    # The check records outlive layouts (audit is never dropped); reused_from_run came later than the table.
    con.execute(f"CREATE TABLE IF NOT EXISTS audit.check_results ({column_defs(CHECK_TYPES)})")
    con.execute("ALTER TABLE audit.check_results ADD COLUMN IF NOT EXISTS reused_from_run VARCHAR")
    con.execute("CREATE TABLE IF NOT EXISTS audit.quarantined_rows (run_id VARCHAR, asset VARCHAR, check_name VARCHAR, "
                "reason VARCHAR, source_file VARCHAR, row_nr BIGINT, record JSON, "
                "quarantined_at TIMESTAMP WITH TIME ZONE)")
    if con.execute("SELECT max(version) FROM audit.layout").fetchall()[0][0] == LAYOUT_VERSION:
        return
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name IN ('raw', 'staging')").fetchall()[0][0]:
        for schema in ("raw", "staging", "indicators", "marts"):  # an older layout: rebuilt from the sources by the next run
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            con.execute(f"CREATE SCHEMA {schema}")
    for table, types in PER_SOURCE.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({_columns(types)})")
    con.execute("CREATE TABLE IF NOT EXISTS raw.files (source_id VARCHAR, table_id VARCHAR, source_file VARCHAR, "
                "year INTEGER, sha256 VARCHAR, fetched_at VARCHAR, rows INTEGER, width INTEGER, origin VARCHAR, "
                "fetched_basis VARCHAR)")
    con.execute("CREATE TABLE IF NOT EXISTS raw.source_versions "
                "(source_id VARCHAR, part VARCHAR, version VARCHAR, PRIMARY KEY (source_id, part))")
    con.execute("CREATE TABLE IF NOT EXISTS audit.suite_results (result_key VARCHAR PRIMARY KEY, suite VARCHAR, "
                "outcomes JSON, run_id VARCHAR, checked_at TIMESTAMP WITH TIME ZONE)")
    # The most precise placement of each school, whichever source placed it.
    con.execute("CREATE OR REPLACE VIEW staging.schools AS SELECT DISTINCT ON (area_code) area_code, gemeente_code, "
                "wijk_code FROM staging.school_places ORDER BY area_code, wijk_code NULLS LAST")
    con.execute("DELETE FROM audit.layout")
    con.execute("INSERT INTO audit.layout VALUES (?)", [LAYOUT_VERSION])


def forget_retired_sources(con: duckdb.DuckDBPyConnection, source_ids) -> None:
    """Rows of a source no longer in sources.yaml would otherwise still feed the indicators."""
    keep = list(source_ids)
    for table in [*PER_SOURCE, "raw.files", "raw.source_versions"]:
        con.execute(f"DELETE FROM {table} WHERE NOT list_contains(?, source_id)", [keep])


def replace_part(con: duckdb.DuckDBPyConnection, table: str, source_id: str, part: str | None,
                 *frames: pd.DataFrame | None) -> None:
    """Replace one source's rows (of one year, for a partitioned source) in `table` by those of `frames`. A source
    loaded whole (`part` None) replaces all its rows, so a source that was partitioned before keeps no stale years.
    Empty frames write nothing."""
    con.execute(f"DELETE FROM {table} WHERE source_id = ? AND (? IS NULL OR part = ?)", [source_id, part, part])
    for df in frames:
        if df is None or not len(df):
            continue
        own = "* REPLACE (? AS source_id)" if "source_id" in df.columns else "*, ? AS source_id"
        con.register("_part", df)
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT {own}, ? AS part FROM _part", [source_id, part or ""])
        finally:
            con.unregister("_part")
