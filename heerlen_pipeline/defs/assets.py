"""The asset graph, assembled from assets/ definitions: per source raw and staging, per theme its indicators,
then the marts, the published warehouse and the report, with the data checks of each."""

from __future__ import annotations

import warnings

import dagster as dg

from .. import catalog
from .checks import areas_checks, source_checks, theme_checks
from .marts import indicator_values_asset, marts_gaps, marts_national_rank, publish_asset
from .partitions import SINGLE_RUN, partitions_def
from .report import report_index
from .sources import build_source_assets
from .transform import build_theme_asset, staging_areas


def all_assets_and_checks() -> tuple[list, list]:
    sources, indicators = catalog.load_sources(), catalog.load_indicators()
    themes = [t for t in catalog.THEMES if any(i.theme == t for i in indicators)]
    years = partitions_def(sources.values())  # the KWB years; None when no source is partitioned
    assets: list = [staging_areas, indicator_values_asset(sources, indicators, themes),
                    marts_gaps, marts_national_rank, publish_asset(sources)]
    checks: list = [areas_checks()]
    for source in sources.values():
        assets += build_source_assets(source, years)
        checks.append(source_checks(source))
    for theme in themes:
        inds = [i for i in indicators if i.theme == theme]
        assets.append(build_theme_asset(theme, inds, list(sources)))
        checks.append(theme_checks(theme, inds))
    assets.append(report_index)
    # Any range of years runs as one run (`--partition-range`, a backfill from the UI), every asset once in it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = [a.with_attributes(backfill_policy=SINGLE_RUN) if isinstance(a, dg.AssetsDefinition) else a
                  for a in assets]
    return assets, checks
