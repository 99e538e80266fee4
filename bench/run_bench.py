"""Benchmark of `heerlen run` against plain-SQL floors, of the no-op refresh and of the test suite.

The bundled data against bench/floor.sql, the national scale (SYNTHETIC input) against bench/baseline.sql, the
no-op refresh and the test suite's duration. Writes bench/results.json and bench/RESULTS.md.

    python bench/run_bench.py [--runs 5] [--suite-runs 1] [--only bundled|national|suite]

Each measurement is the median of `--runs` runs, with min and max. Runs are separate processes (the real
command). The time targets are ratios to a floor measured in the same iterations, interleaved (floor, pipeline,
floor, pipeline, ...), so that a busy or slower machine moves both sides.

Bundled: bench/floor.sql (one DuckDB script doing the bundled run's data work: every bundled file read and
parsed, every measure unpivoted, the programme areas summed, every indicator, the gaps; no orchestration, no
checks) against `heerlen run --force-checks` on the bundled snapshot (all the work: every GX suite validated
again); `bundled_vs_floor_ratio` is pipeline wall / floor wall per iteration. Wall, CPU and memory are of the
default path (a temporary Dagster instance); then `heerlen run --force` (the same inputs rebuilt: the suites'
passing results are re-used, `bundled_reuse_*`) and the no-op refresh (`heerlen run` again with nothing changed);
the time per layer comes from one more run (the first iteration's) that keeps its history (DAGSTER_HOME with the
project's dagster.yaml), whose wall time is reported too: writing run history to SQLite is part of what an
operator pays. After the runs the floor's values are checked against the pipeline's
warehouse (bench/check_floor.py). The live no-op refresh runs against the tests' local mirror of the
CBS/DUO/PDOK APIs (tests/odata_mirror.py) and counts the requests and the bytes it was sent besides the
TableInfos stamps; the analysts' trend query is timed on the published warehouse.

National: `heerlen run --scope national --force-checks` on the SYNTHETIC input of bench/synth_national.py (every
gemeente, wijk and buurt x 10 KWB years; generated once into bench/.synthetic/, git-ignored) with its own
assets copy, warehouse and build dir in a temporary directory, and in the same iteration bench/baseline.sql
(one DuckDB script, no orchestration, no checks) on the same files: national_vs_baseline_ratio is pipeline wall
/ baseline wall per iteration; one extra pipeline run keeps its history for the time per layer. After the runs
the baseline's values are compared with the pipeline's marts.indicator_values.

Suite: `pytest` (the project's addopts: two workers) from the repository root, `--suite-runs` times (one run
takes minutes). Its exit status and summary line are recorded; a failing suite is reported, not hidden.

Peak RSS is ru_maxrss of os.wait4 on the command's process. When the process started children (seen by polling
/proc during the run) that figure is the largest single process of the tree, not the sum: RESULTS.md says so.
`--only` keeps the other groups' results already in results.json.
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
import threading
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SNAPSHOT_DIR = REPO / "data" / "snapshot"
# Steps by the first part of their key: ingest/<source> (raw, staging and checks), staging/areas, indicators/<theme>
# (with checks), marts, publish, report.
LAYERS = ("ingest", "staging", "indicators", "marts", "publish", "report")
TREND_SQL = ("SELECT year, noord, zuid, nederland FROM marts.gaps WHERE indicator_id = 'WRK-01' ORDER BY year")
TARGETS = {
    "bundled_vs_floor_ratio": 8,  # pipeline wall / bench/floor.sql wall
    "bundled_peak_rss_mb": 450,
    "noop_wall_s": 1,
    "national_vs_baseline_ratio": 5,  # pipeline wall / bench/baseline.sql wall
    "national_peak_rss_mb": 1500,
    "suite_wall_s": 240,
    # kept from the earlier benchmark: the live no-op must not download data, and the analysts' query stays fast
    "live_noop_wall_s": 3, "live_noop_data_bytes": 0, "trend_query_ms": 20,
}
BASELINE_SQL = HERE / "baseline.sql"
GROUPS = ("bundled", "national", "suite")


class _Children(threading.Thread):
    """Polls /proc for the descendants of a process while it runs: how many were alive at once, at most."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.most, self._done = pid, 0, threading.Event()  # not _stop: Thread has one

    def _descendants(self) -> set[int]:
        seen, todo = set(), [self.pid]
        while todo:
            pid = todo.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    kids = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                except OSError:
                    continue
                for k in map(int, kids):
                    if k not in seen:
                        seen.add(k)
                        todo.append(k)
        return seen

    def run(self) -> None:
        while not self._done.wait(0.1):
            self.most = max(self.most, len(self._descendants()))

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.most


def _run(args: list[str], env: dict[str, str], cwd: Path | None = None, check: bool = True) -> dict:
    """Run a command; wall time, CPU time and peak resident memory of the process (os.wait4), the most child
    processes seen alive at once, its exit status and the tail of its output (kept in a file, not a pipe,
    so that a talkative process cannot block on a full pipe)."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        watcher = _Children(proc.pid)
        watcher.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        children = watcher.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(max(0, out.seek(0, os.SEEK_END) - 4000))
        tail = out.read().decode(errors="replace")
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {tail[-2000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024,
            "started": time.time() - wall, "children": children, "returncode": proc.returncode, "tail": tail}


def _layers(dagster_home: Path, process_started: float) -> dict[str, float]:
    """Seconds per layer from the run's step statistics; start-up = process start to the first step."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs(limit=1)
    stats = instance.get_run_step_stats(run.run_id)
    out = dict.fromkeys(LAYERS, 0.0)
    for s in stats:
        layer = s.step_key.split("__", 1)[0]
        if layer in out:
            out[layer] += s.end_time - s.start_time
    out["startup"] = min(s.start_time for s in stats) - process_started
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def _clean_env() -> dict[str, str]:
    """The caller's environment without a Dagster home or HEERLEN_* settings: every run reads the bundled
    snapshot and assets unless told otherwise."""
    return {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and not k.startswith("HEERLEN_")}


def _record(samples: dict[str, list[float]], prefix: str, r: dict) -> None:
    for k in ("wall_s", "cpu_s", "peak_rss_mb"):
        samples.setdefault(f"{prefix}_{k}", []).append(r[k])


# ---------------------------------------------------------------- bundled data against bench/floor.sql

def bench_bundled(runs: int) -> tuple[dict, dict]:
    sys.path.insert(0, str(HERE))
    from check_floor import compare as compare_floor

    heerlen = [sys.executable, "-m", "heerlen_pipeline.cli", "run"]
    samples: dict[str, list[float]] = {}
    children = 0
    with tempfile.TemporaryDirectory(prefix="heerlen-bench-bundled-") as tmp:
        base = _clean_env()
        warehouse = Path(tmp) / "w" / "heerlen.duckdb"
        env = {**base, "HEERLEN_WAREHOUSE": str(warehouse), "HEERLEN_ALERT_LOG": f"{tmp}/alerts.jsonl"}
        floor_db = Path(tmp) / "floor.duckdb"
        floor = [sys.executable, str(Path(__file__).resolve()), "--floor-run", str(SNAPSHOT_DIR), str(floor_db)]
        for i in range(runs):
            floor_db.unlink(missing_ok=True)
            f = _run(floor, base)  # floor first, then the pipeline: interleaved, iteration by iteration
            _record(samples, "floor", f)
            # All the work: every suite validated again (--force-checks), as in a first build.
            r = _run([*heerlen, "--force-checks"], env)
            _record(samples, "bundled", r)
            samples.setdefault("bundled_vs_floor_ratio", []).append(r["wall_s"] / f["wall_s"])
            # A forced rebuild of the same inputs: the suites' passing results are re-used.
            reuse = _run([*heerlen, "--force"], env)
            samples.setdefault("bundled_reuse_wall_s", []).append(reuse["wall_s"])
            samples.setdefault("bundled_reuse_vs_floor_ratio", []).append(reuse["wall_s"] / f["wall_s"])
            noop = _run(heerlen, env)  # nothing changed: must stop early
            samples.setdefault("noop_wall_s", []).append(noop["wall_s"])
            if i == 0:  # where the time goes: one run that keeps its history (one sample)
                home = Path(tmp) / "home"
                home.mkdir()
                shutil.copy(REPO / "dagster_home" / "dagster.yaml", home)
                kept = _run([*heerlen, "--force-checks"], {**env, "DAGSTER_HOME": str(home)})
                samples["bundled_wall_with_history_s"] = [kept["wall_s"]]
                for layer, seconds in _layers(home, kept["started"]).items():
                    samples[f"layer_{layer}_s"] = [seconds]
            children = max(children, r["children"], reuse["children"], noop["children"])
            print(f"bundled run {i + 1}/{runs}: pipeline {r['wall_s']:.1f} s (re-using suite results "
                  f"{reuse['wall_s']:.1f} s), floor {f['wall_s']:.2f} s, no-op {noop['wall_s']:.2f} s", file=sys.stderr)
        check = compare_floor(floor_db, warehouse)
        import duckdb

        with duckdb.connect(str(warehouse), read_only=True) as con:
            con.execute(TREND_SQL).fetchall()  # warm
            for _ in range(max(runs, 5) * 20):
                t = time.perf_counter()
                con.execute(TREND_SQL).fetchall()
                samples.setdefault("trend_query_ms", []).append((time.perf_counter() - t) * 1000)
    floor_check = {k: check[k] for k in ("equal", "floor_rows", "pipeline_rows", "indicators", "only_in_floor",
                                         "only_in_pipeline", "excluded", "indicators_without_rows", "tables")}
    summary = {k: _summary(v) for k, v in {**samples, **bench_live_noop(runs)}.items()}
    return summary, {"check": floor_check, "children": children}


def bench_live_noop(runs: int) -> dict[str, list[float]]:
    """`heerlen run --live` with nothing changed, against the tests' local CBS/DUO/PDOK mirror (127.0.0.1, the
    upstream response shapes): wall time, requests, and the bytes of every answer other than the TableInfos
    stamps (data pages, DataProperties, dimension lists, DUO files, PDOK): those must be zero."""
    sys.path.insert(0, str(REPO))
    from tests.odata_mirror import Mirror, bundled_tables, duo_fixture, mirror_assets

    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, Mirror(bundled_tables(), duo=duo_fixture()) as mirror:
        env = {**_clean_env(), **mirror.env(), "HEERLEN_ASSETS_DIR": str(mirror_assets(Path(tmp) / "assets")),
               "HEERLEN_WAREHOUSE": f"{tmp}/w/heerlen.duckdb", "HEERLEN_ALERT_LOG": f"{tmp}/alerts.jsonl"}
        heerlen = [sys.executable, "-m", "heerlen_pipeline.cli", "run", "--live"]
        _run(heerlen, env)  # the first live refresh downloads everything
        for _ in range(runs):
            seen = len(mirror.log)
            r = _run(heerlen, env)
            answers = mirror.log[seen:]
            samples.setdefault("live_noop_wall_s", []).append(r["wall_s"])
            samples.setdefault("live_noop_requests", []).append(len(answers))
            samples.setdefault("live_noop_data_bytes", []).append(
                sum(a["bytes"] for a in answers if not a["path"].endswith("/TableInfos")))
    return samples


def run_floor(snapshot_dir: Path, database: Path) -> None:
    """bench/floor.sql into `database` (the timed floor process)."""
    sys.path.insert(0, str(HERE))
    from check_floor import run_floor as floor

    floor(database, snapshot_dir)


# ---------------------------------------------------------------- national scale (SYNTHETIC input)

def _heerlen_supports_scope() -> bool:
    out = subprocess.run([sys.executable, "-m", "heerlen_pipeline.cli", "run", "--help"], capture_output=True,
                         text=True, check=True).stdout
    return "--scope" in out


def run_baseline(snapshot_dir: Path, database: Path) -> None:
    """bench/baseline.sql into `database`, paths relative to the synthetic snapshot directory."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET file_search_path = ?", [str(snapshot_dir)])
        con.execute(BASELINE_SQL.read_text(encoding="utf-8"))


def compare(warehouse: Path, baseline_db: Path, scope: str) -> dict:
    """The baseline's values against the pipeline's marts.indicator_values, for the baseline's indicators
    (and, in Heerlen scope, the pipeline's areas only), on (indicator_id, area_code, year): equal when no row is
    on one side only, no status or NULL differs and value, numerator, denominator and coverage differ by at most
    1e-9 (the pipeline publishes full precision: a baseline that rounds to `decimals` is not equal). Rows of
    pipeline indicators the baseline does not compute are not compared; they are counted in
    `pipeline_rows_other_indicators`, which is 0 when the baseline covers every indicator of the build."""
    import duckdb

    with duckdb.connect(str(baseline_db), read_only=True) as con:
        con.execute(f"ATTACH '{warehouse}' AS pipeline (READ_ONLY)")
        in_scope = "" if scope == "national" else \
            "WHERE area_code IN (SELECT DISTINCT area_code FROM pipeline.marts.indicator_values)"
        row = con.execute(f"""
            WITH b AS (SELECT * FROM baseline_indicator_values {in_scope}),
                 p AS (SELECT * FROM pipeline.marts.indicator_values
                       WHERE indicator_id IN (SELECT DISTINCT indicator_id FROM baseline_indicator_values)),
                 j AS (SELECT p.status AS p_status, b.status AS b_status, p.value AS p_value, b.value AS b_value,
                              p.numerator AS p_num, b.numerator AS b_num, p.denominator AS p_den,
                              b.denominator AS b_den, p.coverage AS p_cov, b.coverage AS b_cov,
                              p.indicator_id IS NOT NULL AS in_p, b.indicator_id IS NOT NULL AS in_b
                       FROM p FULL JOIN b USING (indicator_id, area_code, year))
            SELECT count(*) FILTER (WHERE in_p), count(*) FILTER (WHERE in_b), count(*) FILTER (WHERE in_p AND in_b),
                   count(*) FILTER (WHERE in_p AND NOT in_b), count(*) FILTER (WHERE in_b AND NOT in_p),
                   count(*) FILTER (WHERE in_p AND in_b AND p_status IS DISTINCT FROM b_status),
                   count(*) FILTER (WHERE in_p AND in_b AND (p_value IS NULL) <> (b_value IS NULL)),
                   count(*) FILTER (WHERE in_p AND in_b AND p_value IS NOT NULL),
                   coalesce(max(abs(p_value - b_value)), 0), coalesce(max(abs(p_num - b_num)), 0),
                   coalesce(max(abs(p_den - b_den)), 0), coalesce(max(abs(p_cov - b_cov)), 0),
                   (SELECT count(DISTINCT indicator_id) FROM p), (SELECT count(DISTINCT area_code) FROM p)
            FROM j""").fetchall()[0]
        other = con.execute("""SELECT count(*) FROM pipeline.marts.indicator_values WHERE indicator_id NOT IN
                               (SELECT DISTINCT indicator_id FROM baseline_indicator_values)""").fetchall()[0][0]
    keys = ("pipeline_rows", "baseline_rows", "matched_rows", "only_in_pipeline", "only_in_baseline",
            "status_mismatches", "null_mismatches", "values_compared", "max_abs_diff_value",
            "max_abs_diff_numerator", "max_abs_diff_denominator", "max_abs_diff_coverage", "indicators", "areas")
    out = {"scope": scope, **dict(zip(keys, row, strict=True)), "pipeline_rows_other_indicators": other}
    out["equal"] = bool(out["only_in_pipeline"] == out["only_in_baseline"] == out["status_mismatches"]
                        == out["null_mismatches"] == 0 and out["matched_rows"] > 0
                        and max(out[k] for k in keys if k.startswith("max_abs")) <= 1e-9)
    return out


def bench_national(runs: int, synthetic_dir: Path, scope: str) -> tuple[dict, dict]:
    sys.path.insert(0, str(HERE))
    from synth_national import MARK, generate

    manifest = generate(synthetic_dir)
    snapshot, assets = synthetic_dir / manifest["snapshot_dir"], synthetic_dir / manifest["assets_dir"]
    if scope == "national" and not _heerlen_supports_scope():
        raise SystemExit("heerlen run has no --scope option yet; `--scope heerlen` runs the same harness on "
                         "Heerlen's areas of the synthetic input")
    samples: dict[str, list[float]] = {}
    children = 0
    with tempfile.TemporaryDirectory(prefix="heerlen-bench-national-") as tmp:
        warehouse, build = Path(tmp) / "w" / "heerlen.duckdb", Path(tmp) / "build"
        heerlen = [sys.executable, "-m", "heerlen_pipeline.cli", "run", "--force-checks", "--snapshot-dir", str(snapshot),
                   "--warehouse", str(warehouse), "--build-dir", str(build)]
        if scope == "national":
            heerlen[4:4] = ["--scope", "national"]
        base = _clean_env()
        env = {**base, "HEERLEN_ASSETS_DIR": str(assets), "HEERLEN_ALERT_LOG": f"{tmp}/alerts.jsonl"}
        baseline_db = Path(tmp) / "baseline.duckdb"
        baseline = [sys.executable, str(Path(__file__).resolve()), "--baseline-run", str(snapshot), str(baseline_db)]
        for i in range(runs):
            baseline_db.unlink(missing_ok=True)
            b = _run(baseline, base)  # the floor first, then the pipeline: interleaved
            _record(samples, "baseline", b)
            r = _run(heerlen, env)
            _record(samples, "national", r)
            children = max(children, r["children"])
            samples.setdefault("national_vs_baseline_ratio", []).append(r["wall_s"] / b["wall_s"])
            print(f"national run {i + 1}/{runs}: pipeline {r['wall_s']:.1f} s, baseline {b['wall_s']:.1f} s",
                  file=sys.stderr)
        check = compare(warehouse, baseline_db, scope)
        # Where the time goes: one more pipeline run that keeps its history (one sample, not a median).
        home = Path(tmp) / "home"
        home.mkdir()
        shutil.copy(REPO / "dagster_home" / "dagster.yaml", home)
        kept = _run(heerlen, {**env, "DAGSTER_HOME": str(home)})
        for layer, seconds in _layers(home, kept["started"]).items():
            samples[f"national_layer_{layer}_s"] = [seconds]
    files = [synthetic_dir / p for p in manifest["files"] if p.startswith(manifest["snapshot_dir"] + "/")]
    input_info = {"synthetic": MARK, "generator": manifest["generator"], "seed": manifest["seed"],
                  "areas": manifest["areas"], "years": len(manifest["years"]), "measures": len(manifest["measures"]),
                  "rows_per_file": manifest["rows_per_file"], "files": len(files),
                  "megabytes": round(sum(f.stat().st_size for f in files) / 1e6, 1), "scope": scope}
    return {k: _summary(v) for k, v in samples.items()}, {"input": input_info, "check": check, "children": children}


# ---------------------------------------------------------------- the test suite

def bench_suite(runs: int) -> tuple[dict, dict]:
    """`pytest` from the repository root with the project's options; its wall time per run."""
    walls, codes, summary, children = [], [], "", 0
    for i in range(runs):
        r = _run([sys.executable, "-m", "pytest", "-q"], _clean_env(), cwd=REPO, check=False)
        walls.append(r["wall_s"])
        codes.append(r["returncode"])
        children = max(children, r["children"])
        lines = [ln.strip() for ln in r["tail"].splitlines() if ln.strip()]
        summary = lines[-1] if lines else ""
        print(f"suite run {i + 1}/{runs}: {r['wall_s']:.0f} s, exit {r['returncode']}: {summary}", file=sys.stderr)
    return {"suite_wall_s": _summary(walls)}, {"exit_codes": codes, "summary": summary, "children": children}


# ---------------------------------------------------------------- report

def machine() -> dict:
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    return {"cpus": os.cpu_count(), "memory_mb": mem, "platform": platform.platform(),
            "python": platform.python_version(),
            **{pkg: version(pkg) for pkg in ("dagster", "duckdb", "pandas", "great-expectations", "pyarrow")}}


def _group(key: str) -> str:
    if key.startswith(("national_", "baseline_")):
        return "national"
    return "suite" if key.startswith("suite_") else "bundled"


def _met(value: float, target: float) -> str:
    return "yes" if value <= target else "no"


def markdown(result: dict) -> str:
    m, r, groups = result["machine"], result["results"], result["groups"]
    when = "; ".join(f"{g}: {groups[g]['measured_at'][:10]}, {groups[g]['runs']} runs" for g in GROUPS if g in groups)
    lines = [f"# Benchmark ({when})", "",
             f"Machine: {m['cpus']} cores, {m['memory_mb']} MB, Python {m['python']}, dagster {m['dagster']}, "
             f"duckdb {m['duckdb']}, pandas {m['pandas']}, great-expectations {m['great-expectations']}.", "",
             "Targets:", ""]
    names = {"bundled_vs_floor_ratio": "bundled run wall / bench/floor.sql wall",
             "bundled_peak_rss_mb": "bundled run peak RSS (MB)", "noop_wall_s": "no-op refresh (s)",
             "national_vs_baseline_ratio": "national run wall / bench/baseline.sql wall",
             "national_peak_rss_mb": "national run peak RSS (MB)", "suite_wall_s": "test suite, pytest wall (s)",
             "live_noop_wall_s": "live no-op refresh (s)", "live_noop_data_bytes": "live no-op data bytes",
             "trend_query_ms": "trend query (ms)"}
    lines += ["| target | ≤ | measured (median) | met |", "|---|---|---|---|"]
    harness_only = result.get("national", {}).get("input", {}).get("scope", "national") != "national"
    for k, target in TARGETS.items():
        if k not in r:
            lines.append(f"| {names.get(k, k)} | {target} | not measured | |")
            continue
        met = "n/a: Heerlen scope" if harness_only and _group(k) == "national" else _met(r[k]["median"], target)
        lines.append(f"| {names.get(k, k)} | {target} | {r[k]['median']} | {met} |")
    lines += ["", "All measurements (seconds, MB, ms as named):", "",
              "| measure | median | min | max | target | met |", "|---|---|---|---|---|---|"]
    for k, v in r.items():
        target = TARGETS.get(k)
        met = "" if target is None else _met(v["median"], target)
        if target is not None and harness_only and _group(k) == "national":
            met = "n/a: Heerlen scope"
        lines.append(f"| {k} | {v['median']} | {v['min']} | {v['max']} | {'' if target is None else '≤ ' + str(target)} "
                     f"| {met} |")
    bundled = result.get("bundled")
    if bundled:
        c = bundled["check"]
        lines += ["", "Bundled: `heerlen run --force-checks` (every suite validated again) on the bundled snapshot "
                  "against `bench/floor.sql`, one DuckDB "
                  "script doing the same data work (every bundled file read and parsed, every measure unpivoted, the "
                  "programme areas summed under both definitions, every indicator, the gaps and verdicts; no "
                  "orchestration, no checks, no report), run as its own process in the same iterations (floor, "
                  "pipeline, floor, pipeline, ...); `bundled_vs_floor_ratio` is pipeline wall / floor wall per "
                  "iteration. `bundled_reuse_*` is `heerlen run --force` right after it: the same inputs, so the suites' "
                  "passing results are re-used. `noop_wall_s` is `heerlen run` again with nothing changed; `layer_*` "
                  "are from one extra run (the first iteration's) that keeps its Dagster history; the checks run "
                  "inside their assets' steps.", "",
                  f"Floor vs pipeline: {'equal' if c['equal'] else 'NOT EQUAL'} — {c['floor_rows']} floor rows, "
                  f"{c['pipeline_rows']} pipeline rows of marts.indicator_values ({c['indicators']} indicators), "
                  f"{c['only_in_floor']} only in the floor, {c['only_in_pipeline']} only in the pipeline (whole rows, "
                  "no tolerance); "
                  + "; ".join(f"{t}: {x['only_in_floor'] + x['only_in_pipeline']} differing rows"
                              for t, x in c["tables"].items())
                  + f". Excluded from the floor: {', '.join(c['excluded']) or 'none'}"
                  + (f"; no rows in either (live-only inputs): {', '.join(c['indicators_without_rows'])}."
                     if c["indicators_without_rows"] else ".")]
    national = result.get("national")
    if national:
        i, c = national["input"], national["check"]
        a = i["areas"]
        lines += ["", f"National scale: {i['synthetic']} input from `{i['generator']}` (seed {i['seed']}): NL00, "
                  f"{a['gemeente']} gemeenten, {a['wijk']} wijken and {a['buurt']} buurten ({i['rows_per_file']} "
                  f"areas) x {i['years']} KWB years x {i['measures']} measures ({i['files']} files, {i['megabytes']} "
                  f"MB), `heerlen run{' --scope national' if i['scope'] == 'national' else ''} --force-checks` against "
                  "`bench/baseline.sql` (one DuckDB script, no orchestration, no checks) on the same files, "
                  "interleaved; `national_vs_baseline_ratio` is pipeline wall / baseline wall per iteration; "
                  "`national_layer_*` are from one extra run that keeps its Dagster history."
                  + (" **Heerlen scope: a test of the harness (only Heerlen's areas are computed), not the national "
                     "measurement.**" if harness_only else ""), "",
                  f"Baseline vs pipeline ({c['scope']} scope): {'equal' if c['equal'] else 'NOT EQUAL'} — "
                  f"{c['matched_rows']} of {c['pipeline_rows']} pipeline rows matched ({c['indicators']} indicators, "
                  f"{c['areas']} areas), {c['only_in_pipeline']} only in the pipeline, {c['only_in_baseline']} only "
                  f"in the baseline, {c['status_mismatches']} status and {c['null_mismatches']} NULL mismatches, "
                  f"max |difference| {c['max_abs_diff_value']} (value), {c['max_abs_diff_numerator']} (numerator), "
                  f"{c['max_abs_diff_denominator']} (denominator), {c['max_abs_diff_coverage']} (coverage)."]
    suite = result.get("suite")
    if suite:
        failed = [c for c in suite["exit_codes"] if c != 0]
        lines += ["", f"Suite: `pytest -q` from the repository root with the project's options (pyproject.toml: two "
                  f"workers), {len(suite['exit_codes'])} run(s); last summary: `{suite['summary']}`"
                  + (f". **The suite failed (exit codes {suite['exit_codes']}).**" if failed else ".")]
    rss = [f"{g} ({result[g]['children']} at most)" for g in ("bundled", "national")
           if result.get(g, {}).get("children")]
    lines += ["", "Peak RSS is `ru_maxrss` of `os.wait4` on the command's own process."
              + (" The pipeline process started child processes in: " + ", ".join(rss) + "; there `ru_maxrss` of "
                 "wait4 is the maximum over the process tree (the largest single process among it and the children it "
                 "waited for), not the sum."
                 if rss else " The pipeline ran as one process (no child processes seen), so it is the run's peak.")]
    return "\n".join(lines) + "\n"


def _previous(results_dir: Path) -> dict:
    """results.json as committed, with per-group dates (older files had one date for everything)."""
    path = results_dir / "results.json"
    if not path.exists():
        return {"results": {}, "groups": {}}
    old = json.loads(path.read_text(encoding="utf-8"))
    old.setdefault("groups", {g: {"measured_at": old["measured_at"], "runs": old["runs"]}
                              for g in {_group(k) for k in old.get("results", {})}})
    return old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement of the bundled and national groups")
    parser.add_argument("--suite-runs", type=int, default=1, help="runs of the test suite (one takes minutes)")
    parser.add_argument("--only", choices=GROUPS, help="measure one group; keep the others' results")
    parser.add_argument("--synthetic-dir", type=Path, default=HERE / ".synthetic" / "national",
                        help="where bench/synth_national.py writes (or has written) the SYNTHETIC national input")
    parser.add_argument("--scope", choices=("national", "heerlen"), default="national",
                        help="national: `heerlen run --scope national`; heerlen: without --scope (Heerlen's areas "
                             "of the synthetic input only), to test the harness")
    parser.add_argument("--results-dir", type=Path, default=HERE,
                        help="where results.json and RESULTS.md are read and written [bench/]")
    parser.add_argument("--baseline-run", nargs=2, metavar=("SNAPSHOT_DIR", "DATABASE"), help=argparse.SUPPRESS)
    parser.add_argument("--floor-run", nargs=2, metavar=("SNAPSHOT_DIR", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_run:  # the timed baseline process
        run_baseline(Path(args.baseline_run[0]), Path(args.baseline_run[1]))
        return
    if args.floor_run:  # the timed floor process
        run_floor(Path(args.floor_run[0]), Path(args.floor_run[1]))
        return
    now = datetime.now(UTC).isoformat()
    result = _previous(args.results_dir)
    groups = [args.only] if args.only else list(GROUPS)
    for g in groups:
        result["results"] = {k: v for k, v in result["results"].items() if _group(k) != g}
        result["groups"][g] = {"measured_at": now, "runs": args.suite_runs if g == "suite" else args.runs}
    if "bundled" in groups:
        measured, result["bundled"] = bench_bundled(args.runs)
        result["results"].update(measured)
    if "national" in groups:
        measured, result["national"] = bench_national(args.runs, args.synthetic_dir.resolve(), args.scope)
        result["results"].update(measured)
    if "suite" in groups:
        measured, result["suite"] = bench_suite(args.suite_runs)
        result["results"].update(measured)
    order = {g: i for i, g in enumerate(GROUPS)}
    result = {"measured_at": now, "runs": args.runs, "groups": result["groups"], "machine": machine(),
              "results": dict(sorted(result["results"].items(), key=lambda kv: order[_group(kv[0])])),
              "targets": TARGETS, **{g: result[g] for g in GROUPS if result.get(g)}}
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (args.results_dir / "RESULTS.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
