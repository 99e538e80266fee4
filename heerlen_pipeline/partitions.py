"""Year partitions: a source marked `partitions: year` loads raw and staging one year at a time.

Each partition writes its own tables (`staging.obs__kwb__y2024`, ...), and the source's usual table
name becomes a view over the partitions present, so everything downstream reads one table whatever
was (re)loaded. Indicators, marts and publish stay whole: they always read every year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import dagster as dg
import duckdb

from . import catalog
from .warehouse import write_frame

# One run can cover the whole range: `heerlen run` and a UI or CLI backfill of several years load them in
# one step instead of one run per year.
SINGLE_RUN = dg.BackfillPolicy.single_run()
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def year_keys(sources: Iterable[catalog.Source]) -> list[str]:
    return [str(y) for y in sorted({y for s in sources if s.partitioned for y in s.years()})]


def partitions_def(sources: Iterable[catalog.Source]) -> dg.StaticPartitionsDefinition | None:
    keys = year_keys(sources)
    return dg.StaticPartitionsDefinition(keys) if keys else None


def all_years_tags(sources: Iterable[catalog.Source]) -> dict[str, str]:
    """Run tags that make one run load every year partition (for `heerlen run` and the schedule)."""
    keys = year_keys(sources)
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]} if keys else {}


def run_partitions(context: dg.AssetExecutionContext, source: catalog.Source) -> list[str | None]:
    """The years this step loads: the run's partition (range), or [None] for an unpartitioned source."""
    if not source.partitioned:
        return [None]
    if context.has_partition_key or context.has_partition_key_range:
        return [k for k in context.partition_keys if int(k) in source.years()]
    return [str(y) for y in source.years()]  # a run without partition tags (e.g. an old launch): every year


def unit(source: catalog.Source, part: str | None) -> catalog.Source:
    return source.for_year(int(part)) if part else source


def write_part(con: duckdb.DuckDBPyConnection, table: str, part: str | None, df) -> None:
    """Write `table` (unpartitioned) or its partition table, and keep the view over the partitions current."""
    if part is None:
        write_frame(con, table, df)
        return
    write_frame(con, f"{table}__y{part}", df)
    refresh_view(con, table)


def refresh_view(con: duckdb.DuckDBPyConnection, table: str) -> None:
    schema, name = table.split(".")
    pattern = re.compile(rf"{re.escape(name)}__y\d{{4}}")
    objects = con.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ?",
                          [schema]).fetchall()
    years = set(year_keys(catalog.load_sources().values()))  # a year no longer defined drops out of the view
    parts = sorted(t for t, _ in objects if pattern.fullmatch(t) and t[-4:] in years)
    if (name, "BASE TABLE") in objects:  # a build DB from before partitions kept the whole source in one table
        con.execute(f"DROP TABLE {table}")
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM {schema}.{p}" for p in parts)
    con.execute(f"CREATE OR REPLACE VIEW {table} AS {union}")
