"""The real `heerlen run` as its own process against the local mirror, and the live build the process cases start
from: a full live refresh through the mirror with a transient fault on six tables.

That build is made once per session, for both xdist workers (tests/faults/test_fault_matrix.py reads it and the
mirror's log of it; tests/faults/test_process_faults.py kills and interrupts runs on copies of it): whoever takes its
file lock first builds it with a mirror of its own, the other waits. The build's directory is the record; the
mirror's log, the faults as they were left and the run's output are kept beside it (live-run/record.json), so a test
on the other worker reads the same facts. A later test that needs a server again starts its own mirror of the same
tables: it serves the same rows, Modified stamps and ETags (the ETag is a checksum of the body).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import duckdb

from .odata_mirror import Fault, Mirror, bundled_tables, duo_fixture, mirror_assets
from .runs import Started, build_once, cli

# Columns that legitimately differ between two builds of the same inputs: when it ran and which run it was
# (and, in build_info, the code it ran: the same in CI, but other people's edits change it between runs here).
VOLATILE = {"build_info": {"run_id", "built_at", "code_version", "config_fingerprint"}, "sources": {"fetched_at"},
            "check_results": {"run_id", "checked_at", "reused_from_run"}}  # the earlier run whose suite result it is
MART_KEYS = {"indicator_values": "indicator_id, area_code, year", "gaps": "indicator_id, year",
             "programme_values": "definition, indicator_id, area_code, year", "areas": "area_code, definition",
             "indicators": "indicator_id", "sources": "source_id, source_file"}


def _table_hashes(con: duckdb.DuckDBPyConnection, relations: dict[str, str]) -> dict[str, str]:
    """sha256 of each table's sorted rows, the VOLATILE columns left out."""
    out = {}
    for table, rel in relations.items():
        cols = [c for c in con.execute(f"SELECT * FROM {rel} LIMIT 0").fetchdf().columns
                if c not in VOLATILE.get(table, set())]
        rows = sorted(repr(r) for r in con.execute(f"SELECT {', '.join(cols)} FROM {rel}").fetchall())
        out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def mart_hashes(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
        return _table_hashes(con, {t: f"marts.{t}" for t in tables})


def parquet_hashes(directory: Path) -> dict[str, str]:
    with duckdb.connect() as con:
        return _table_hashes(con, {p.stem: f"read_parquet('{p}')" for p in sorted(directory.glob("*.parquet"))})


def build_info(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT * FROM marts.build_info").fetchdf().iloc[0].to_dict()


def assert_no_duplicate_keys(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, key in MART_KEYS.items():
            dup = con.execute(f"SELECT {key}, count(*) FROM marts.{table} GROUP BY ALL HAVING count(*) > 1").fetchall()
            assert dup == [], f"marts.{table}: duplicate {key}: {dup[:3]}"


@dataclasses.dataclass
class Build:
    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "heerlen.duckdb"

    @property
    def parquet(self) -> Path:
        return self.root / "warehouse" / "parquet"

    def copy(self, dst: Path) -> Build:
        shutil.copytree(self.root, dst, symlinks=True)  # parquet/ is a (relative) symlink
        return Build(dst)


def run_env(build: Build, urls: dict[str, str], assets_dir: Path, **extra: str) -> dict[str, str | None]:
    """What a `heerlen run` of these tests sees: the mirror's (or no) URLs and assets, the build's directories;
    no DAGSTER_HOME, webhook, alert log or lock timeout but those given."""
    unset = {name: None for name in ("DAGSTER_HOME", "HEERLEN_ALERT_WEBHOOK_URL", "HEERLEN_ALERT_LOG", "HEERLEN_LOCK_TIMEOUT")}
    return {**unset, **urls, "HEERLEN_ASSETS_DIR": str(assets_dir), "HEERLEN_WAREHOUSE": str(build.warehouse),
            "HEERLEN_BUILD_DIR": str(build.root / "build"), "HEERLEN_LANDING_DIR": str(build.root / "landing"),
            "HEERLEN_HTTP_BACKOFF": "0.01", "HEERLEN_HTTP_RETRIES": "3", **extra}


def heerlen(env: dict[str, str | None], *args: str, **how) -> subprocess.CompletedProcess | Started:
    """`heerlen run` as its own process (see tests/runs.py for `at`, `marker`, `pause`, `background`)."""
    return cli("heerlen", "run", *args, env=env, process=True, expect=how.pop("expect", None), **how)


OFFLINE = {"HEERLEN_CBS_ODATA_URL": "http://127.0.0.1:9", "HEERLEN_CBS_DATADERDEN_URL": "http://127.0.0.1:9",
           "HEERLEN_DUO_URL": "http://127.0.0.1:9", "HEERLEN_PDOK_URL": "http://127.0.0.1:9"}

TRANSIENT = [  # one per table, all in one run
    Fault("83487NED/TypedDataSet", "status", status=503, retry_after="1"),
    Fault("84286NED/DataProperties", "status", status=500),
    Fault("50090NED/TypedDataSet", "status", status=429, times=2),
    Fault("84583NED/TypedDataSet", "reset"),
    Fault("84799NED/TypedDataSet", "slow", seconds=2.5),  # over the 1 s read timeout of that run
    Fault("85984NED/TypedDataSet", "truncate"),
]


@dataclasses.dataclass
class LiveBuild:
    """The live build (read it, never write it: copy it first) and what its run and its mirror recorded."""

    build: Build  # the last good warehouse every later process case starts from (a copy of it)
    run: subprocess.CompletedProcess
    seconds: float
    faults: list[Fault]  # TRANSIENT as the run left them (`times` counts down as a fault is served)
    log: list[dict]  # the mirror's log of the run: one entry per request
    hashes: dict[str, str]  # mart_hashes of its warehouse


def shared_live_build(shared: Path) -> LiveBuild:
    root = shared / "live-run"
    build_once(root, "record.json", lambda: _build(root))
    doc = json.loads((root / "record.json").read_text())
    return LiveBuild(Build(root / "live"), subprocess.CompletedProcess(doc["args"], doc["returncode"], doc["stdout"],
                                                                       doc["stderr"]),
                     doc["seconds"], [dataclasses.replace(f, times=t) for f, t in zip(TRANSIENT, doc["times"], strict=True)],
                     doc["log"], doc["hashes"])


def _build(root: Path) -> None:
    build, assets = Build(root / "live"), mirror_assets(root / "assets")
    build.root.mkdir(parents=True)
    with Mirror(bundled_tables(), duo=duo_fixture()) as m:
        faults = [dataclasses.replace(f) for f in TRANSIENT]
        m.faults.extend(faults)
        started = time.perf_counter()
        run = heerlen(run_env(build, m.env(), assets, HEERLEN_HTTP_READ_TIMEOUT="1"), "--live", expect=0)
        seconds = time.perf_counter() - started
        log = list(m.log)
    record = {"args": [str(a) for a in run.args], "returncode": run.returncode, "stdout": run.stdout,
              "stderr": run.stderr, "seconds": seconds, "times": [f.times for f in faults], "log": log,
              "hashes": mart_hashes(build.warehouse)}
    (root / "record.json").write_text(json.dumps(record))  # written last: there when the build is complete
