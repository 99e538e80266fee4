"""Shared fixtures. The full pipeline runs once per session on the bundled real snapshot (`warehouse`), and once
live through the local mirror (`live_build`), each for both xdist workers together."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR

from .live_build import LiveBuild, shared_live_build
from .odata_mirror import Mirror, bundled_tables, duo_fixture, mirror_assets
from .runs import ROOT, shared_warehouse

# The files with the longest runs, longest first, so each worker starts on one and the shorter files fill in after:
# the process faults build the session's live build and then kill and rebuild copies of it; the national scope needs
# neither shared build; the bad-input runs read the shared warehouse (built in the background meanwhile); the fault
# matrix reads the live build (ready by then). --dist loadfile hands a worker its next file when its current one is
# nearly done, in this order.
LONGEST_FIRST = ("faults/test_process_faults.py", "integration/test_national_scope.py", "faults/test_bad_input.py",
                 "faults/test_fault_matrix.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The LONGEST_FIRST files first, in that order; then the other slow tests, in the order of their files (a file's
    slow tests may rely on it: the fault matrix's); then the others that do not read the shared warehouse, then those
    that do. xdist (--dist loadfile --no-loadscope-reorder) hands out the files in the order of their first test: the
    files with long runs start at once on both workers, and the warehouse, built in the background from the start, is
    ready before most tests need it."""
    def rank(item: pytest.Item) -> tuple[int, int]:
        path = item.path.as_posix()
        first = next((i for i, name in enumerate(LONGEST_FIRST) if path.endswith("tests/" + name)), len(LONGEST_FIRST))
        if item.get_closest_marker("slow"):
            return first, 0
        return first, 2 if "warehouse" in item.fixturenames else 1

    items.sort(key=rank)  # stable


def _shared_dir(basetemp: Path) -> Path:
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp  # pytest-N/, above popen-gwN/


_background: list[subprocess.Popen] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under xdist, when any selected test reads the shared warehouse, the first worker starts building it in the
    background (python -m tests.runs) as soon as the tests are known: no worker idles waiting for it later."""
    if os.environ.get("PYTEST_XDIST_WORKER") != "gw0" or not any("warehouse" in i.fixturenames for i in session.items):
        return
    shared = _shared_dir(Path(session.config.option.basetemp))
    shared.mkdir(parents=True, exist_ok=True)
    with open(shared / "warehouse-run.log", "w") as log:
        _background.append(subprocess.Popen([sys.executable, "-m", "tests.runs", str(shared)], cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True))


def pytest_sessionfinish(session: pytest.Session) -> None:
    for proc in _background:  # still building when the session ends early (-x, Ctrl-C)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    """The published warehouse of a `heerlen run` on the bundled snapshot. Read it, never write it (copy it first).
    Built once for both xdist workers, in the session's shared temporary directory (tests/runs.py)."""
    return shared_warehouse(_shared_dir(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="session")
def live_build(tmp_path_factory) -> LiveBuild:
    """The live refresh through the local mirror with a transient fault on six tables (tests/live_build.py). Copy its
    build before running on it. Built once for both xdist workers, by whichever needs it first."""
    return shared_live_build(_shared_dir(tmp_path_factory.getbasetemp()))


@pytest.fixture
def wh(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


# The local CBS/DUO/PDOK mirror (tests/odata_mirror.py) and the definitions pointed at it.

@pytest.fixture(scope="module")
def tables():
    return bundled_tables()


@pytest.fixture(scope="module")
def duo():
    return duo_fixture()


@pytest.fixture(scope="module")
def assets_dir(tmp_path_factory) -> Path:
    return mirror_assets(tmp_path_factory.mktemp("assets") / "assets")


@pytest.fixture(scope="module")
def sources(assets_dir):
    return catalog.load_sources(assets_dir)


@pytest.fixture
def mirror(tables, duo):
    with Mirror(tables, duo=duo) as m:
        yield m


@pytest.fixture
def snapshot_copy(tmp_path) -> Path:
    """A writable copy of the bundled snapshot, for tests that corrupt it."""
    dst = tmp_path / "snapshot"
    shutil.copytree(BUNDLED_SNAPSHOT_DIR, dst)
    return dst
