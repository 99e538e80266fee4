"""The Dagster graph as a reviewed file: asset keys with group, kind, partitioning and automation condition, checks
(blocking or not), jobs, schedules and sensors with their default status. A change to the graph is a visible diff of
tests/snapshots/definitions.json; after a deliberate change, rewrite it with

    HEERLEN_UPDATE_SNAPSHOT=1 pytest tests/unit/test_definitions_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from heerlen_pipeline.definitions import make_definitions
from heerlen_pipeline.settings import Settings

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "definitions.json"


def describe(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name, "kinds": sorted(node.kinds),
            "observable": node.is_observable, "materializable": node.is_materializable,
            "partitions": node.partitions_def.get_partition_keys() if node.partitions_def else None,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "automation": node.automation_condition.get_label() if node.automation_condition else None,
        }
    specs = [spec for d in [*(defs.assets or []), *(defs.asset_checks or [])] for spec in getattr(d, "check_specs", [])]
    checks = sorted(({"asset": spec.asset_key.to_user_string(), "name": spec.name, "blocking": spec.blocking}
                     for spec in specs), key=lambda c: (c["asset"], c["name"]))  # in an asset's step or their own
    return {
        "assets": assets,
        "checks": checks,
        "jobs": sorted(j.name for j in defs.jobs or []),
        "schedules": {s.name: {"cron": s.cron_schedule, "default_status": s.default_status.value, "job": s.job_name}
                      for s in defs.schedules or []},
        "sensors": {s.name: {"kind": type(s).__name__, "default_status": s.default_status.value}
                    for s in defs.sensors or []},
    }


def test_the_graph_is_the_reviewed_one(tmp_path):
    defs = make_definitions(Settings.from_env(warehouse=tmp_path / "w.duckdb"))
    now = describe(defs)
    if os.environ.get("HEERLEN_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(now, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert now == json.loads(SNAPSHOT.read_text(encoding="utf-8")), "the graph changed: review the diff and " \
        "update tests/snapshots/definitions.json (HEERLEN_UPDATE_SNAPSHOT=1)"
