"""Benchmark of `heerlen run`: the bundled data (wall and CPU time, peak memory, time per layer, the no-op
refresh, the analysts' trend query) and the national scale on SYNTHETIC input against a plain-SQL baseline.
Writes bench/results.json and bench/RESULTS.md.

    python bench/run_bench.py [--runs 5] [--only bundled|national]

Each measurement is the median of `--runs` runs, with min and max. Runs are separate processes (the
real command). Wall, CPU and memory are of the default path (a temporary Dagster instance); the time per
layer comes from a second run that keeps its history (DAGSTER_HOME with the project's dagster.yaml), whose
wall time is reported too: writing run history to SQLite is part of what an operator pays. The live no-op
refresh runs against the tests' local mirror of the CBS/DUO/PDOK APIs (tests/odata_mirror.py) and counts the
requests and the bytes it was sent besides the TableInfos stamps.

National: `heerlen run --scope national --force` on the SYNTHETIC input of bench/synth_national.py (every
gemeente, wijk and buurt x 10 KWB years; generated once into bench/.synthetic/, git-ignored) with its own
assets copy, warehouse and build dir in a temporary directory, and in the same iteration bench/baseline.sql
(one DuckDB script, no orchestration, no checks) on the same files: pipeline/baseline is the ratio of the two
wall times per iteration; one extra pipeline run keeps its history for the time per layer. After the runs
the baseline's values are compared with the pipeline's marts.indicator_values (counts, statuses, max absolute
difference). `--only` keeps the other measurements already in results.json.
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
TARGETS = {"bundled_wall_s": 10, "bundled_peak_rss_mb": 600, "noop_wall_s": 3, "live_noop_wall_s": 3,
           "live_noop_data_bytes": 0, "trend_query_ms": 20,
           "national_wall_s": 60, "national_vs_baseline_ratio": 3}
BASELINE_SQL = HERE / "baseline.sql"
GROUPS = ("bundled", "national")


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


def bench_bundled(runs: int) -> dict:
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
    return {k: _summary(v) for k, v in {**samples, **bench_live_noop(runs)}.items()}


def bench_live_noop(runs: int) -> dict[str, list[float]]:
    """`heerlen run --live` with nothing changed, against the tests' local CBS/DUO/PDOK mirror (127.0.0.1, the
    upstream response shapes): wall time, requests, and the bytes of every answer other than the TableInfos
    stamps (data pages, DataProperties, dimension lists, DUO files, PDOK): those must be zero."""
    sys.path.insert(0, str(HERE.parent))
    from tests.odata_mirror import Mirror, bundled_tables, duo_fixture, mirror_assets

    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, Mirror(bundled_tables(), duo=duo_fixture()) as mirror:
        base = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
        env = {**base, **mirror.env(), "HEERLEN_ASSETS_DIR": str(mirror_assets(Path(tmp) / "assets")),
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
    (and, in Heerlen scope, the pipeline's areas only)."""
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
    with tempfile.TemporaryDirectory(prefix="heerlen-bench-national-") as tmp:
        warehouse, build = Path(tmp) / "w" / "heerlen.duckdb", Path(tmp) / "build"
        heerlen = [sys.executable, "-m", "heerlen_pipeline.cli", "run", "--force", "--snapshot-dir", str(snapshot),
                   "--warehouse", str(warehouse), "--build-dir", str(build)]
        if scope == "national":
            heerlen[4:4] = ["--scope", "national"]
        base = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and not k.startswith("HEERLEN_")}
        env = {**base, "HEERLEN_ASSETS_DIR": str(assets), "HEERLEN_ALERT_LOG": f"{tmp}/alerts.jsonl"}
        baseline_db = Path(tmp) / "baseline.duckdb"
        baseline = [sys.executable, str(Path(__file__).resolve()), "--baseline-run", str(snapshot), str(baseline_db)]
        for i in range(runs):
            r = _run(heerlen, env)
            for k in ("wall_s", "cpu_s", "peak_rss_mb"):
                samples.setdefault(f"national_{k}", []).append(r[k])
            baseline_db.unlink(missing_ok=True)
            b = _run(baseline, base)
            for k in ("wall_s", "cpu_s", "peak_rss_mb"):
                samples.setdefault(f"baseline_{k}", []).append(b[k])
            samples.setdefault("national_vs_baseline_ratio", []).append(r["wall_s"] / b["wall_s"])
            print(f"national run {i + 1}/{runs}: pipeline {r['wall_s']:.1f} s, baseline {b['wall_s']:.1f} s",
                  file=sys.stderr)
        check = compare(warehouse, baseline_db, scope)
        # Where the time goes: one more pipeline run that keeps its history (one sample, not a median).
        home = Path(tmp) / "home"
        home.mkdir()
        shutil.copy(HERE.parent / "dagster_home" / "dagster.yaml", home)
        kept = _run(heerlen, {**env, "DAGSTER_HOME": str(home)})
        for layer, seconds in _layers(home, kept["started"]).items():
            samples[f"national_layer_{layer}_s"] = [seconds]
    files = [synthetic_dir / p for p in manifest["files"] if p.startswith(manifest["snapshot_dir"] + "/")]
    input_info = {"synthetic": MARK, "generator": manifest["generator"], "seed": manifest["seed"],
                  "areas": manifest["areas"], "years": len(manifest["years"]), "measures": len(manifest["measures"]),
                  "rows_per_file": manifest["rows_per_file"], "files": len(files),
                  "megabytes": round(sum(f.stat().st_size for f in files) / 1e6, 1), "scope": scope}
    return {k: _summary(v) for k, v in samples.items()}, {"input": input_info, "check": check}


def machine() -> dict:
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    return {"cpus": os.cpu_count(), "memory_mb": mem, "platform": platform.platform(),
            "python": platform.python_version(),
            **{pkg: version(pkg) for pkg in ("dagster", "duckdb", "pandas", "great-expectations", "pyarrow")}}


def _group(key: str) -> str:
    return "national" if key.startswith(("national_", "baseline_")) else "bundled"


def markdown(result: dict) -> str:
    m, r, groups = result["machine"], result["results"], result["groups"]
    when = "; ".join(f"{g}: {groups[g]['measured_at'][:10]}, {groups[g]['runs']} runs" for g in GROUPS if g in groups)
    lines = [f"# Benchmark ({when})", "",
             f"Machine: {m['cpus']} cores, {m['memory_mb']} MB, Python {m['python']}, dagster {m['dagster']}, "
             f"duckdb {m['duckdb']}, pandas {m['pandas']}, great-expectations {m['great-expectations']}.", "",
             "| measure | median | min | max | target | met |", "|---|---|---|---|---|---|"]
    harness_only = result.get("national", {}).get("input", {}).get("scope", "national") != "national"
    for k, v in r.items():
        target = TARGETS.get(k)
        met = "" if target is None else ("yes" if v["median"] <= target else "no")
        if target is not None and harness_only and _group(k) == "national":
            met = "n/a: Heerlen scope"
        lines.append(f"| {k} | {v['median']} | {v['min']} | {v['max']} | {'' if target is None else '≤ ' + str(target)} "
                     f"| {met} |")
    national = result.get("national")
    if national:
        i, c = national["input"], national["check"]
        a = i["areas"]
        lines += ["", f"National scale: {i['synthetic']} input from `{i['generator']}` (seed {i['seed']}): NL00, "
                  f"{a['gemeente']} gemeenten, {a['wijk']} wijken and {a['buurt']} buurten ({i['rows_per_file']} "
                  f"areas) x {i['years']} KWB years x {i['measures']} measures ({i['files']} files, {i['megabytes']} "
                  f"MB), `heerlen run{' --scope national' if i['scope'] == 'national' else ''} --force` against "
                  "`bench/baseline.sql` (one DuckDB script, no orchestration, no checks) on the same files; "
                  "`national_vs_baseline_ratio` is pipeline wall / baseline wall per iteration; `national_layer_*` "
                  "are from one extra run that keeps its Dagster history."
                  + (" **Heerlen scope: a test of the harness (only Heerlen's areas are computed), not the national "
                     "measurement.**" if harness_only else ""), "",
                  f"Baseline vs pipeline ({c['scope']} scope): {'equal' if c['equal'] else 'NOT EQUAL'} — "
                  f"{c['matched_rows']} of {c['pipeline_rows']} pipeline rows matched ({c['indicators']} indicators, "
                  f"{c['areas']} areas), {c['only_in_pipeline']} only in the pipeline, {c['only_in_baseline']} only "
                  f"in the baseline, {c['status_mismatches']} status and {c['null_mismatches']} NULL mismatches, "
                  f"max |difference| {c['max_abs_diff_value']} (value), {c['max_abs_diff_numerator']} (numerator), "
                  f"{c['max_abs_diff_denominator']} (denominator), {c['max_abs_diff_coverage']} (coverage)."]
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
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=GROUPS, help="measure one group; keep the other's results")
    parser.add_argument("--synthetic-dir", type=Path, default=HERE / ".synthetic" / "national",
                        help="where bench/synth_national.py writes (or has written) the SYNTHETIC national input")
    parser.add_argument("--scope", choices=("national", "heerlen"), default="national",
                        help="national: `heerlen run --scope national`; heerlen: without --scope (Heerlen's areas "
                             "of the synthetic input only), to test the harness")
    parser.add_argument("--results-dir", type=Path, default=HERE,
                        help="where results.json and RESULTS.md are read and written [bench/]")
    parser.add_argument("--baseline-run", nargs=2, metavar=("SNAPSHOT_DIR", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_run:  # the timed baseline process
        run_baseline(Path(args.baseline_run[0]), Path(args.baseline_run[1]))
        return
    now = datetime.now(UTC).isoformat()
    result = _previous(args.results_dir)
    groups = [args.only] if args.only else list(GROUPS)
    for g in groups:
        result["results"] = {k: v for k, v in result["results"].items() if _group(k) != g}
        result["groups"][g] = {"measured_at": now, "runs": args.runs}
    if "bundled" in groups:
        result["results"].update(bench_bundled(args.runs))
    if "national" in groups:
        measured, result["national"] = bench_national(args.runs, args.synthetic_dir.resolve(), args.scope)
        result["results"].update(measured)
    order = {g: i for i, g in enumerate(GROUPS)}
    result = {"measured_at": now, "runs": args.runs, "groups": result["groups"], "machine": machine(),
              "results": dict(sorted(result["results"].items(), key=lambda kv: order[_group(kv[0])])),
              "targets": TARGETS, **({"national": result["national"]} if result.get("national") else {})}
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (args.results_dir / "RESULTS.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
