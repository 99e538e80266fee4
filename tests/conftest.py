"""Shared fixtures. The full pipeline runs once per session on the bundled real snapshot (`warehouse`), for both
xdist workers together."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import BUNDLED_SNAPSHOT_DIR

from .odata_mirror import Mirror, bundled_tables, duo_fixture, mirror_assets
from .runs import cli


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, the tests that read the shared warehouse last, otherwise in the order of the files. xdist
    (--dist loadfile --no-loadscope-reorder) hands out the files in the order of their first test: the files with
    long runs start at once on both workers (faults/test_bad_input.py, first, builds the warehouse while the other
    worker makes the fault matrix's live build, which needs it only after that), and in `-m "not slow"` one worker
    builds the warehouse while the other still has tests that do not need it."""
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, "warehouse" in item.fixturenames))


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    """The published warehouse of a `heerlen run` on the bundled snapshot. Read it, never write it (copy it first):
    under xdist the first worker that needs it builds it in the session's shared temporary directory while holding
    a file lock, and the other worker waits for that build instead of making its own."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # pytest-N/, above each worker's popen-gwN/
    tmp = shared / "warehouse-run"
    with open(shared / "warehouse-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, also when the build fails
        if not (tmp / "built").exists():
            shutil.rmtree(tmp, ignore_errors=True)
            cli("heerlen", "run", "--warehouse", str(tmp / "warehouse" / "heerlen.duckdb"), "--build-dir",
                str(tmp / "build"), "--snapshot-dir", str(BUNDLED_SNAPSHOT_DIR), "--area-definition", "spoorlijn")
            (tmp / "built").touch()
    return tmp / "warehouse" / "heerlen.duckdb"


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
