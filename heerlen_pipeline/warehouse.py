"""The private build database and the atomic publish of the analyst warehouse."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import pandas as pd

# Analysts' DuckDB 1.x tools (CLI, DBeaver) must be able to open the published file.
STORAGE_VERSION = "v1.4.0"
PUBLISHED_SCHEMA = "marts"

TABLE_COMMENTS = {
    "areas": "Areas (CBS codes and the programme areas) per area definition; 'cbs' rows do not depend on one.",
    "indicators": "Indicator catalogue: definition, unit, direction and source of every indicator.",
    "indicator_values": "Indicator values per area and year; programme areas under the area definition in build_info.",
    "programme_values": "Heerlen-Noord and Heerlen-Zuid values under every area definition.",
    "gaps": "Noord vs NL and Zuid per indicator and year, oriented index (NL = 100, above 100 is worse), "
    "closure since the baseline and the straight 2047 trajectory.",
    "estimate_intervals": "Interval bounds the source publishes next to a model estimate (RIVM Marges), per "
    "area, year and measure; the point estimate is in the indicator values.",
    "series_breaks": "Years from which an indicator's source definition changed: do not compare across them.",
    "sources": "Source tables and files behind this build, with licence, attribution and checksum.",
    "check_results": "Outcome of every data check of the build.",
    "build_info": "Code version, area definition and source versions of this build.",
    "rejected_rows": "Source cells that could not be parsed, with the reason. Nothing is dropped silently.",
}


def write_frame(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame) -> None:
    schema = table.split(".")[0]
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_frame", df)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame")
    finally:
        con.unregister("_frame")


def publish(con: duckdb.DuckDBPyConnection, target: Path) -> dict[str, int]:
    """Copy the marts schema of the build DB into a new file and swap it in with one rename.

    Readers that have the old file open keep their consistent snapshot (the old inode); new connections
    see the new file. A failure before the rename leaves the published file untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ? "
        "ORDER BY table_name", [PUBLISHED_SCHEMA]).fetchall()]
    counts = {}
    try:
        con.execute(f"ATTACH '{tmp}' AS pub (STORAGE_VERSION '{STORAGE_VERSION}')")
        try:
            con.execute(f"CREATE SCHEMA pub.{PUBLISHED_SCHEMA}")
            for t in tables:
                con.execute(f"CREATE TABLE pub.{PUBLISHED_SCHEMA}.{t} AS SELECT * FROM {PUBLISHED_SCHEMA}.{t}")
                counts[t] = con.execute(f"SELECT count(*) FROM pub.{PUBLISHED_SCHEMA}.{t}").fetchall()[0][0]
                if t in TABLE_COMMENTS:
                    comment = TABLE_COMMENTS[t].replace("'", "''")
                    con.execute(f"COMMENT ON TABLE pub.{PUBLISHED_SCHEMA}.{t} IS '{comment}'")
        finally:
            con.execute("DETACH pub")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return counts
