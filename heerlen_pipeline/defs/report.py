"""The report as an asset: report/index, written after every publish."""

import dagster as dg

from ..report.render import NotThisFocusArea, write_report
from .automation import REACT
from .resources import PipelineSettings


@dg.asset(key=["report", "index"], deps=[dg.AssetKey(["publish", "warehouse"])], group_name="marts",
          kinds={"html"}, automation_condition=REACT,
          description="The routekaart report: one self-contained HTML page next to the warehouse.")
def report_index(context: dg.AssetExecutionContext, settings: PipelineSettings):
    try:
        result = write_report(settings.settings.warehouse)
    except NotThisFocusArea as e:  # another focus area's warehouse: its marts are the product, no page is written
        context.log.info(f"no report: {e}")
        return dg.MaterializeResult(metadata={"skipped": str(e)})
    context.log.info(f"wrote {result.path} ({result.indicators} indicators, {result.seconds:.2f}s)")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(result.path)),
                                          "indicators": result.indicators, "bytes": result.bytes,
                                          "seconds": round(result.seconds, 3)})
