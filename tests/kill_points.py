"""Run the real `heerlen` CLI in this process, stopping at a named point so a test can kill it there.

    python tests/kill_points.py --at publish_swap --marker /tmp/m [--pause 3] run --live --force ...

At the point, the marker file is written (the test waits for it), then the process sleeps: for --pause
seconds and carries on, or (default) until it is killed. No hook lives in production code: the point is
a function of the pipeline, wrapped here before the CLI starts; the run executes in-process, so the wrap
applies to it.

points:
  raw            the first raw/<source> step starts reading its source files
  staging        the first staging/<source> step starts turning raw rows into observations
  publish_copy   publish has written the new warehouse file aside, before anything is swapped in
  publish_swap   publish has renamed the new warehouse file into place, before the Parquet twin is re-pointed
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

POINTS = {
    "raw": ("heerlen_pipeline.sources.files", "read_source_files"),
    "staging": ("heerlen_pipeline.transform.staging", "stage_source"),
    "publish_copy": ("heerlen_pipeline.store.publish", "export_parquet"),
    "publish_swap": ("heerlen_pipeline.store.publish", "link_parquet"),
}


def install(point: str, marker: Path, pause: float | None) -> None:
    import importlib

    import heerlen_pipeline.definitions  # noqa: F401 - the graph imports the functions it calls by name

    module_name, name = POINTS[point]
    original = getattr(importlib.import_module(module_name), name)

    def stop(*args, **kwargs):
        if not marker.exists():  # the first time only
            marker.write_text(point)
            time.sleep(3600 if pause is None else pause)
        return original(*args, **kwargs)

    # Every module that holds the function (its own, and those that imported it by name).
    for mod in list(sys.modules.values()):
        if (getattr(mod, "__name__", "") or "").startswith("heerlen_pipeline") and getattr(mod, name, None) is original:
            setattr(mod, name, stop)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at", choices=sorted(POINTS), required=True)
    parser.add_argument("--marker", type=Path, required=True)
    parser.add_argument("--pause", type=float, help="carry on after this many seconds (default: wait to be killed)")
    args, rest = parser.parse_known_args()
    install(args.at, args.marker, args.pause)
    from heerlen_pipeline.cli import main as heerlen

    return heerlen(rest)


if __name__ == "__main__":
    sys.exit(main())
