"""Benchmark of `heerlen run` on the bundled data: wall and CPU time, peak memory, time per layer, the
no-op refresh, and the analysts' trend query. Writes bench/results.json and bench/RESULTS.md.

    python bench/run_bench.py [--runs 5]

Each measurement is the median of `--runs` runs, with min and max. Runs are separate processes (the
real command). Wall, CPU and memory are of the default path (a temporary Dagster instance); the time per
layer comes from a second run that keeps its history (DAGSTER_HOME with the project's dagster.yaml), whose
wall time is reported too: writing run history to SQLite is part of what an operator pays.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAYERS = ("raw", "staging", "checks", "indicators", "marts", "publish", "report")
TREND_SQL = ("SELECT year, noord, zuid, nederland FROM marts.gaps WHERE indicator_id = 'WRK-01' ORDER BY year")
TARGETS = {"bundled_wall_s": 10, "bundled_peak_rss_mb": 600, "noop_wall_s": 3, "trend_query_ms": 20}


def _run(args: list[str], env: dict[str, str]) -> dict:
    """Run a command; wall time, CPU time and peak resident memory of the process (os.wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "started": time.time() - wall}


def _layers(dagster_home: Path, process_started: float) -> dict[str, float]:
    """Seconds per layer from the run's step statistics; start-up = process start to the first step."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs(limit=1)
    stats = instance.get_run_step_stats(run.run_id)
    out = dict.fromkeys(LAYERS, 0.0)
    for s in stats:
        layer = "checks" if s.step_key.endswith("__checks") else s.step_key.split("__", 1)[0]
        if layer in out:
            out[layer] += s.end_time - s.start_time
    out["startup"] = min(s.start_time for s in stats) - process_started
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def bench(runs: int) -> dict:
    heerlen = [sys.executable, "-m", "heerlen_pipeline.cli", "run"]
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
        env = {**base, "HEERLEN_WAREHOUSE": f"{tmp}/w/heerlen.duckdb", "HEERLEN_ALERT_LOG": f"{tmp}/alerts.jsonl"}
        for i in range(runs):
            r = _run([*heerlen, "--force"], env)
            for k in ("wall_s", "cpu_s", "peak_rss_mb"):
                samples.setdefault(f"bundled_{k}", []).append(r[k])
            noop = _run(heerlen, env)  # nothing changed: must stop early
            samples.setdefault("noop_wall_s", []).append(noop["wall_s"])
            home = Path(tmp) / f"home{i}"
            home.mkdir()
            shutil.copy(HERE.parent / "dagster_home" / "dagster.yaml", home)
            kept = _run([*heerlen, "--force"], {**env, "DAGSTER_HOME": str(home)})
            samples.setdefault("bundled_wall_with_history_s", []).append(kept["wall_s"])
            for layer, seconds in _layers(home, kept["started"]).items():
                samples.setdefault(f"layer_{layer}_s", []).append(seconds)
        import duckdb

        with duckdb.connect(f"{tmp}/w/heerlen.duckdb", read_only=True) as con:
            con.execute(TREND_SQL).fetchall()  # warm
            for _ in range(max(runs, 5) * 20):
                t = time.perf_counter()
                con.execute(TREND_SQL).fetchall()
                samples.setdefault("trend_query_ms", []).append((time.perf_counter() - t) * 1000)
    return {k: _summary(v) for k, v in samples.items()}


def machine() -> dict:
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    return {"cpus": os.cpu_count(), "memory_mb": mem, "platform": platform.platform(),
            "python": platform.python_version(),
            **{pkg: version(pkg) for pkg in ("dagster", "duckdb", "pandas", "great-expectations", "pyarrow")}}


def markdown(result: dict) -> str:
    m, r = result["machine"], result["results"]
    lines = [f"# Benchmark ({result['measured_at'][:10]}, {result['runs']} runs each)", "",
             f"Machine: {m['cpus']} cores, {m['memory_mb']} MB, Python {m['python']}, dagster {m['dagster']}, "
             f"duckdb {m['duckdb']}, pandas {m['pandas']}, great-expectations {m['great-expectations']}.", "",
             "| measure | median | min | max | target |", "|---|---|---|---|---|"]
    for k, v in r.items():
        target = TARGETS.get(k)
        lines.append(f"| {k} | {v['median']} | {v['min']} | {v['max']} | {'≤ ' + str(target) if target else ''} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result = {"measured_at": datetime.now(UTC).isoformat(), "runs": args.runs, "machine": machine(),
              "results": bench(args.runs), "targets": TARGETS}
    (HERE / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (HERE / "RESULTS.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
