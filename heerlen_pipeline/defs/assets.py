"""The asset graph, assembled from assets/ definitions: per source raw and staging, per theme its indicators,
then the marts, the published warehouse and the report, each with its data checks."""

from __future__ import annotations

import warnings

import dagster as dg

from .. import catalog
from .marts import indicator_values_asset, marts_gaps, marts_national_rank, publish_asset
from .partitions import SINGLE_RUN, partitions_def
from .report import report_index
from .sources import build_source_assets
from .transform import build_theme_asset, staging_areas


def all_assets() -> list:
    """Every asset; each carries its checks (they run in its step)."""
    sources, indicators = catalog.load_sources(), catalog.load_indicators()
    themes = [t for t in catalog.THEMES if any(i.theme == t for i in indicators)]
    years = partitions_def(sources.values())  # the KWB years; None when no source is partitioned
    assets: list = [staging_areas, indicator_values_asset(sources, indicators, themes),
                    marts_gaps, marts_national_rank, publish_asset(sources)]
    for source in sources.values():
        assets += build_source_assets(source, years)
    for theme in themes:
        assets.append(build_theme_asset(theme, [i for i in indicators if i.theme == theme], list(sources)))
    assets.append(report_index)
    # Any range of years runs as one run (`--partition-range`, a backfill from the UI), every asset once in it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = [a.with_attributes(backfill_policy=SINGLE_RUN) if isinstance(a, dg.AssetsDefinition) else a
                  for a in assets]
    return assets
