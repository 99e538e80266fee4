"""How the tests run the pipeline: one helper for the command lines, one for a few assets.

`cli("heerlen", "run", ...)` and `cli("dagster", "asset", "materialize", ...)` run a command line as a person
types it and return a `subprocess.CompletedProcess` (exit code, stdout, stderr) either way:

- `heerlen` runs in this process by default (Dagster is imported once per xdist worker, and GX once, in the GX
  worker the runs share), its output captured; `process=True` starts it as its own process, which a test needs
  for a HEERLEN_ASSETS_DIR of its own (read when the package is imported) and for kill -9 and signals.
  `dagster` always runs as its own process.
- `env` is laid over the environment for that run only; a name mapped to None is removed. `cwd` likewise.
- `expect` is the exit code the run must end with (None: any); otherwise the test fails with the end of stderr.
- `timeout` (seconds) applies to a separate process.
- `at` stops the process at a kill point (tests/kill_points.py), writing `marker` there, sleeping `pause`
  seconds or until killed; `background` (a path prefix for its output files) starts it and returns `Started`.

`materialize(settings, "raw/kwb", "staging/kwb", ...)` runs only the assets a case needs, with their checks,
selected by key out of the whole graph (never by the Python object that defines them): every KWB year in one
run as `heerlen run` does, or with `partition="2018"` that year only, as the automation refreshes a changed year;
`problems(result)` is what its failed steps and failed ERROR checks said.

`shared_warehouse(directory)` is the `heerlen run` on the bundled snapshot that many tests read, built once in a
directory the xdist workers share: whoever takes its file lock first builds it, the others wait for that build.
`python -m tests.runs <directory>` builds it so in the background (tests/conftest.py starts it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class Started:
    """A run started in the background, its output going to files (a pipe could fill and block it)."""

    proc: subprocess.Popen
    out: Path
    err: Path
    expect: int | None = None

    def finish(self, timeout: float = 300) -> subprocess.CompletedProcess:
        self.proc.wait(timeout=timeout)
        done = subprocess.CompletedProcess(self.proc.args, self.proc.returncode, self.out.read_text(),
                                           self.err.read_text())
        _check(done, self.expect)
        return done

    def kill9(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the run and anything it started
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL, self.proc.returncode

    def wait_for(self, marker: Path, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended before {marker.name}: {self.err.read_text()[-3000:]}")
            assert time.monotonic() < deadline, f"no {marker.name} after {timeout}s"
            time.sleep(0.1)


def cli(program: str, *args: str, env: Mapping[str, str | os.PathLike | None] | None = None, process: bool = False,
        expect: int | None = 0, timeout: float = 300, cwd: Path | None = None, at: str | None = None,
        marker: Path | None = None, pause: float | None = None,
        background: Path | None = None) -> subprocess.CompletedProcess | Started:
    env = dict(env or {})
    if program not in ("heerlen", "dagster"):
        raise ValueError(f"cli() runs heerlen or dagster, not {program!r}")
    if process or program == "dagster" or at or background:
        return _in_a_process(program, args, env, expect, timeout, cwd, at, marker, pause, background)
    if "HEERLEN_ASSETS_DIR" in env:
        raise ValueError("HEERLEN_ASSETS_DIR is read when the package is imported: run with process=True")
    from heerlen_pipeline.cli import main
    from heerlen_pipeline.quality import gx_worker

    gx_worker.start()  # one GX worker (and GX import) for all of this process's runs, not one per run
    out, err = io.StringIO(), io.StringIO()
    with _environment(env, cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    done = subprocess.CompletedProcess(["heerlen", *args], code, out.getvalue(), err.getvalue())
    _check(done, expect)
    return done


def _in_a_process(program, args, env, expect, timeout, cwd, at, marker, pause, background):
    if program == "dagster":
        cmd = [str(Path(sys.executable).parent / "dagster"), *args]
    elif at:
        cmd = [sys.executable, str(ROOT / "tests" / "kill_points.py"), "--at", at, "--marker", str(marker),
               *(["--pause", str(pause)] if pause is not None else []), *args]
    else:
        cmd = [sys.executable, "-m", "heerlen_pipeline.cli", *args]
    full = {**os.environ, **{k: str(v) for k, v in env.items() if v is not None}}
    for name in [k for k, v in env.items() if v is None]:
        full.pop(name, None)
    cwd = cwd or ROOT
    if background is None:
        done = subprocess.run(cmd, env=full, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        _check(done, expect)
        return done
    out, err = background.with_suffix(".out"), background.with_suffix(".err")
    with open(out, "w") as o, open(err, "w") as e:
        proc = subprocess.Popen(cmd, env=full, cwd=cwd, stdout=o, stderr=e, text=True, start_new_session=True)
    return Started(proc, out, err, expect)


def _check(done: subprocess.CompletedProcess, expect: int | None) -> None:
    if expect is not None and done.returncode != expect:
        raise AssertionError(f"{' '.join(map(str, done.args))[:300]}\nended with {done.returncode}, not {expect}:\n"
                             f"{done.stderr[-3000:]}")


@contextlib.contextmanager
def _environment(env: Mapping[str, str | os.PathLike | None], cwd: Path | None) -> Iterator[None]:
    saved, here = {k: os.environ.get(k) for k in env}, os.getcwd()
    try:
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = str(value)
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(here)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def materialize(settings, *keys: str, partition: str | None = None, raise_on_error: bool = False,
                tags: dict[str, str] | None = None):
    import dagster as dg

    from heerlen_pipeline import catalog
    from heerlen_pipeline.defs.assets import all_assets
    from heerlen_pipeline.defs.partitions import all_years_tags
    from heerlen_pipeline.defs.resources import build_resources

    selection = dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in keys))
    years = {"partition_key": partition, "tags": tags or {}} if partition else \
        {"tags": {**all_years_tags(catalog.load_sources().values()), **(tags or {})}}
    return dg.materialize(all_assets(), selection=selection, resources=build_resources(settings),
                          raise_on_error=raise_on_error, **years)


def problems(result) -> list[str]:
    """The user's error of each failed step (not Dagster's wrapper around it) and the description of each failed
    ERROR check."""
    import dagster as dg

    said = []
    for event in result.all_events:
        if event.is_step_failure:
            err = event.step_failure_data.error
            while err.cause is not None:
                err = err.cause
            said.append(err.message)
    return said + [ev.description or "" for ev in result.get_asset_check_evaluations()
                   if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR]


def build_once(root: Path, done: str, build: Callable[[], None]) -> None:
    """`build` into `root` unless `root/done` says a build finished there: whoever takes the lock first builds, the
    other xdist workers wait for it (and rebuild if it failed)."""
    with open(root.with_name(f"{root.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, also when the build fails
        if not (root / done).exists():
            shutil.rmtree(root, ignore_errors=True)
            build()


def shared_warehouse(shared: Path) -> Path:
    from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR

    tmp = shared / "warehouse-run"

    def build() -> None:
        cli("heerlen", "run", "--warehouse", str(tmp / "warehouse" / "heerlen.duckdb"), "--build-dir",
            str(tmp / "build"), "--snapshot-dir", str(BUNDLED_SNAPSHOT_DIR), "--area-definition", "spoorlijn")
        (tmp / "built").touch()

    build_once(tmp, "built", build)
    return tmp / "warehouse" / "heerlen.duckdb"


if __name__ == "__main__":
    shared_warehouse(Path(sys.argv[1]))
