"""Year partitions: a source marked `partitions: year` loads raw and staging one year at a time.

A partition replaces its own rows in the one table of each kind (`part` = '2024' in staging.observations, ...),
so everything downstream reads one table whatever was (re)loaded. Indicators, marts and publish stay whole:
they always read every year.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from .. import catalog

# One run can cover the whole range: `heerlen run` and a UI or CLI backfill of several years load them in
# one step instead of one run per year.
SINGLE_RUN = dg.BackfillPolicy.single_run()
RANGE_START_TAG, RANGE_END_TAG = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def partitions_def(sources: Iterable[catalog.Source]) -> dg.StaticPartitionsDefinition | None:
    keys = catalog.year_keys(sources)
    return dg.StaticPartitionsDefinition(keys) if keys else None


def all_years_tags(sources: Iterable[catalog.Source]) -> dict[str, str]:
    """Run tags that make one run load every year partition (for `heerlen run` and the schedule)."""
    keys = catalog.year_keys(sources)
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
