"""The fault matrix (issue 7): faults, hostile input and process faults, on loopback only.

The local CBS/DUO/PDOK mirror (tests/odata_mirror.py) injects the faults; a second server stands for
"another host" and records whatever reaches it; tests/webhook_receiver.py takes the alerts. Fetch-level
cases run in-process. The rest runs the real `heerlen run` as a subprocess, the HEERLEN_*_URL variables
pointing at the mirror, in as few runs as the cases allow:

- one live refresh with a transient fault on each of six tables (500, 503 + Retry-After, 429, connection
  reset, read timeout, truncated body): it succeeds, every landed row is exactly what the server holds, and
  its values are the snapshot run's wherever both have them; a refresh after it downloads nothing, and one
  whose re-published table keeps failing keeps the warehouse;
- one live refresh on a copy of that build with a permanent fault in each of the five live sources (empty
  result, nextLink loop, HTML with 200, 401, a response far over the cap), the webhook set and a password
  in a base URL: it fails naming each, the last good warehouse stays byte for byte, and no secret is in its
  output, alert log, build DB, warehouse, landing or Dagster's run storage;
- kill -9 in staging and in publish (tests/kill_points.py stops the real CLI there), a run refused and one
  waiting on the run lock, and a rebuild whose marts equal the first build's (idempotency).

Single faults already covered at the fetch level in test_live_sources.py are not repeated here (503 forever,
404, HTML, malformed JSON, truncated forever, nextLink loop, size cap on a normal page).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.quality.alerts import Alert, AlertSink
from heerlen_pipeline.sources.http import HttpClient, HttpError, same_host
from heerlen_pipeline.sources.landing import Landing, LandingCorrupt, UnsafePath
from heerlen_pipeline.sources.odata import ODataError
from heerlen_pipeline.sources.odata_schema import UnsafeKey
from heerlen_pipeline.store.build_db import set_aside_if_damaged

from .. import live_helpers
from ..live_helpers import client, fetch, only
from ..odata_mirror import Fault, Mirror, Recorder, parse_filter
from ..runs import Started, cli, materialize
from ..webhook_receiver import WebhookReceiver

FAST = dataclasses.replace(live_helpers.FAST, retries=2)
SECRET = "SECRET123"  # the token in the webhook URL's path, as Slack and Teams put it
PASSWORD = "PASSWORD-XYZ"  # a password in a base URL's userinfo


@pytest.fixture
def elsewhere():
    with Recorder() as r:
        yield r


def _fetch(source, mirror, tmp_path, odata=None):
    return fetch(source, mirror, tmp_path, odata or client(mirror, FAST))


def _landed(tmp_path: Path) -> list[Path]:
    return list((tmp_path / "landing").rglob("manifest.json"))


# ---------------------------------------------------------------- permanent faults not covered elsewhere

@pytest.mark.parametrize("fault, words", [
    (Fault("DataProperties", "status", status=401), ["HTTP 401", "DataProperties"]),
    (Fault("TypedDataSet", "empty"), ["table 84583NED TypedDataSet returned no rows"]),
    (Fault("TypedDataSet", "huge", size=3_000_000), ["exceeds the cap of 1000000", "HEERLEN_HTTP_MAX_BYTES"]),
    (Fault("TypedDataSet", "huge", size=3_000_000, declared=False), ["exceeds the cap of 1000000"]),
], ids=["401", "empty-result", "over-cap-declared", "over-cap-streamed"])
def test_permanent_faults_fail_naming_the_table_and_land_nothing(sources, mirror, tmp_path, fault, words):
    mirror.faults.append(fault)
    odata = client(mirror, dataclasses.replace(FAST, max_bytes=1_000_000))
    with pytest.raises(HttpError) as err:
        _fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path, odata)
    msg = str(err.value)
    assert "84583NED" in msg and mirror.url in msg
    for w in words:
        assert w in msg
    assert fault.times == 0 and not _landed(tmp_path)


# ---------------------------------------------------------------- hostile input

def test_redirect_to_another_host_is_refused_before_any_request_there(sources, mirror, elsewhere, tmp_path):
    mirror.faults.append(Fault("TypedDataSet", "redirect", location=elsewhere.url))
    with pytest.raises(HttpError) as err:
        _fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path)
    msg = str(err.value)
    assert "redirects to another host" in msg and elsewhere.url in msg and "84583NED" in msg
    assert elsewhere.log == [] and not _landed(tmp_path)


def test_redirect_on_the_same_host_is_followed(sources, mirror, tmp_path):
    source = only(sources["kwb"], "84583NED")
    (clean,) = _fetch(source, mirror, tmp_path / "clean")
    mirror.faults.append(Fault("TypedDataSet", "redirect", status=301, location=mirror.url))
    (table,) = _fetch(source, mirror, tmp_path / "redirected")
    assert mirror.faults[0].times == 0 and table.rows.equals(clean.rows)


def test_duo_head_redirect_to_another_host_is_refused(sources, mirror, elsewhere, tmp_path):
    path = sources["duo_school_advice"].live.tables[0].path
    mirror.faults.append(Fault(path, "redirect", method="HEAD", location=elsewhere.url))
    with pytest.raises(HttpError, match="redirects to another host"):
        HttpClient(FAST).version_stamp(f"{mirror.url}/duo/{path}")
    assert elsewhere.log == []


@pytest.mark.parametrize("origin, target, allowed", [
    ("https://duo.nl/a.csv", "https://duo.nl/b.csv", True),
    ("http://opendata.cbs.nl/x", "https://opendata.cbs.nl/x", True),  # upgrade to https on the same host
    ("https://duo.nl/a.csv", "https://www.duo.nl/a.csv", True),  # the host's own www. name
    ("https://opendata.cbs.nl/x", "http://opendata.cbs.nl/x", False),  # no downgrade
    ("https://opendata.cbs.nl/x", "https://opendata.cbs.nl.evil.example/x", False),
    ("https://opendata.cbs.nl/x", "https://dataderden.cbs.nl/x", False),  # another host, even of CBS
    ("http://127.0.0.1:8080/x", "http://127.0.0.1:8081/x", False),  # another port
    ("https://duo.nl/a.csv", "ftp://duo.nl/a.csv", False),
])
def test_which_redirects_may_be_followed(origin, target, allowed):
    assert same_host(origin, target) is allowed


def test_next_link_to_another_host_is_refused(sources, mirror, elsewhere, tmp_path):
    mirror.faults.append(Fault("TypedDataSet", "offsite_next", location=elsewhere.url))
    with pytest.raises(ODataError) as err:
        _fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path)
    msg = str(err.value)
    assert "odata.nextLink points outside" in msg and f"{mirror.url}/opendata" in msg and elsewhere.url in msg
    assert "84583NED" in msg and elsewhere.log == [] and not _landed(tmp_path)


HOSTILE_KEY = 'Foo"; DROP TABLE x; --'


@pytest.mark.parametrize("prop_type", ["Topic", "GeoDetail"])
def test_a_key_that_is_not_a_plain_identifier_fails_the_table(sources, tables, tmp_path, prop_type):
    """A DataProperties key goes into $select/$filter and becomes a column name: only identifiers pass."""
    table = next(t for t in tables if t.table_id == "84583NED")
    if prop_type == "Topic":  # a topic that even maps onto a required measure (by its title)
        props = [{**p, "Key": HOSTILE_KEY} if str(p.get("Key", "")).startswith("AantalInwoners") else p
                 for p in table.properties]
    else:
        props = [{**p, "Key": HOSTILE_KEY} if p.get("Type") == "GeoDetail" else p for p in table.properties]
    with Mirror([dataclasses.replace(table, properties=props)]) as m, pytest.raises(UnsafeKey) as err:
        _fetch(only(sources["kwb"], "84583NED"), m, tmp_path)
    msg = str(err.value)
    assert "84583NED" in msg and repr(HOSTILE_KEY) in msg and "not a plain identifier" in msg
    assert not m.requests_to("TypedDataSet") and not _landed(tmp_path)  # failed before any data request


def test_a_dimension_code_that_is_not_plain_is_refused(sources, tables, tmp_path):
    police = next(t for t in tables if t.table_id == "47018NED")
    codes = [*police.dimensions["SoortMisdrijf"], {"Key": "0.0.0' or Perioden eq '2012JJ00", "Title": "x"}]
    hostile = dataclasses.replace(police, dimensions={**police.dimensions, "SoortMisdrijf": codes})
    with Mirror([hostile]) as m, pytest.raises(ODataError) as err:
        _fetch(sources["politie_nl"], m, tmp_path)
    msg = str(err.value)
    assert "47018NED" in msg and "SoortMisdrijf" in msg and "not a plain code" in msg
    assert not m.requests_to("TypedDataSet") and not _landed(tmp_path)


def test_landing_paths_stay_inside_the_landing(sources, tables, tmp_path):
    """No source ships archives (nothing is unpacked); the one place upstream text becomes a path is the
    landing: a table id or query key with a separator or '..' is refused, a Modified stamp is slugged."""
    landing = Landing(tmp_path / "landing")
    for bad in ("..", "../../etc", "a/b", "a\\b", ""):
        with pytest.raises(UnsafePath):
            landing.begin("opendata", bad, "sig", "2024", query={})
        with pytest.raises(UnsafePath):
            landing.find("opendata", "84583NED", bad)
    table = next(t for t in tables if t.table_id == "84583NED")
    with Mirror([dataclasses.replace(table, modified="../../../../escaped")]) as m:
        (fetched,) = _fetch(only(sources["kwb"], "84583NED"), m, tmp_path)
    assert fetched.fetch.dir.resolve().is_relative_to((tmp_path / "landing").resolve())
    assert fetched.fetch.dir.name == "escaped" and not (tmp_path / "escaped").exists()


# ---------------------------------------------------------------- secrets, in-process

def test_credentials_in_urls_are_redacted(mirror):
    user_url = mirror.url.replace("http://", f"http://heerlen:{PASSWORD}@")
    resp = HttpClient(FAST).get(f"{user_url}/opendata/ODataFeed/odata/84583NED/TableInfos", {"$format": "json"})
    assert PASSWORD not in resp.url and "heerlen:***@" in resp.url
    with pytest.raises(HttpError) as err:
        HttpClient(FAST).get(f"{user_url}/opendata/ODataFeed/odata/NOPE/TableInfos", {"$format": "json"})
    assert "HTTP 404" in str(err.value) and PASSWORD not in str(err.value)


def test_an_unreachable_webhook_does_not_write_its_url_to_the_alert_log(tmp_path):
    sink = AlertSink(tmp_path / "alerts.jsonl", f"http://127.0.0.1:9/hooks/T000/{SECRET}")
    (record,) = sink.send([Alert("run-3", "run_failed", "error", "raw/kwb failed")])
    assert record["delivered"].startswith("failed: ConnectionError")
    assert SECRET not in (tmp_path / "alerts.jsonl").read_text()


def test_the_webhook_is_not_followed_to_another_host(tmp_path, elsewhere):
    # A 307 re-POSTs: the alert, and the token in the URL's path, would go to whoever the webhook points at.
    with WebhookReceiver(redirect_to=elsewhere.url) as hook:
        sink = AlertSink(tmp_path / "alerts.jsonl", f"{hook.url}/{SECRET}")
        (record,) = sink.send([Alert("run-4", "run_failed", "error", "raw/kwb failed")])
    assert elsewhere.log == [] and hook.received == []
    assert record["delivered"].startswith("failed: HTTP 307 redirects to another host") and "not followed" in record["delivered"]
    assert SECRET not in (tmp_path / "alerts.jsonl").read_text()


def test_a_key_dropped_on_page_2_of_the_paging_fails_the_table(sources, mirror, tmp_path):
    # 84286NED pages 25 rows at a time; on the second page one measure key comes back under another name
    mirror.faults.append(Fault("84286NED/TypedDataSet", "key_drift", query="$skip=25"))
    with pytest.raises(ODataError) as err:
        _fetch(only(sources["kwb"], "84286NED"), mirror, tmp_path)
    msg = str(err.value)
    assert "84286NED TypedDataSet page 2: a row lacks ['" in msg and "changed shape while it was paged" in msg
    assert not _landed(tmp_path)


def test_a_landed_page_changed_after_it_landed_is_refused_on_replay(sources, mirror, tmp_path):
    source = only(sources["kwb"], "84286NED")
    (table,) = _fetch(source, mirror, tmp_path)  # landed
    (manifest,) = _landed(tmp_path)
    doc = json.loads(manifest.read_text())
    page = next(p for p in doc["pages"] if p["entity"] == "TypedDataSet")
    edited = json.loads(gzip.decompress((manifest.parent / page["file"]).read_bytes()))
    # one changed cell, as in the finding: a value edited in a landed page, the page otherwise intact
    edited["value"][0] = {k: (999999 if k.startswith("AantalInwoners") else v) for k, v in edited["value"][0].items()}
    (manifest.parent / page["file"]).write_bytes(gzip.compress(json.dumps(edited).encode()))
    mirror.log.clear()
    with pytest.raises(LandingCorrupt, match="no longer matches the sha256 in its manifest"):
        _fetch(source, mirror, tmp_path)  # the Modified stamp is unchanged: read from the landing
    assert mirror.requests_to("TypedDataSet") == []  # refused from the landing, not fetched again silently


def test_a_webhook_that_never_answers_holds_no_run(tmp_path):
    # It takes the alert and says nothing: one delivery waits its read timeout, the next ones are not tried.
    alerts = [Alert(f"run-6-{i}", "run_failed", "error", "raw/kwb failed") for i in range(3)]
    with WebhookReceiver(hang=30) as hook:
        started = time.monotonic()
        records = AlertSink(tmp_path / "alerts.jsonl", hook.url, timeout=(1, 1)).send(alerts)
    assert time.monotonic() - started < 3
    assert records[0]["delivered"].startswith("failed: ReadTimeout")
    assert [r["delivered"] for r in records[1:]] == ["not posted: the webhook did not answer an earlier alert in time"] * 2
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 3  # all of them logged


def test_an_alert_log_that_cannot_be_written_does_not_stop_the_alerts(tmp_path):
    log = tmp_path / "alerts.jsonl"
    log.mkdir()  # a directory where the log should be: every write fails
    with WebhookReceiver() as hook:
        (record,) = AlertSink(log, hook.url).send([Alert("run-7", "run_failed", "error", "raw/kwb failed")])
    assert record["delivered"] == "ok" and [a["run_id"] for a in hook.received] == ["run-7"]
    assert record["logged"].startswith(f"not written to {log}")


def test_a_body_that_trickles_in_is_cut_off_at_the_request_budget(sources, mirror, tmp_path):
    # 100 bytes every 0.1 s: each read arrives well within the 1 s read timeout, so only a budget stops it
    mirror.faults.append(Fault("TypedDataSet", "trickle", seconds=0.1))
    started = time.monotonic()
    with pytest.raises(HttpError, match=r"the body took longer than this request's budget of 2s"):
        _fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path, client(mirror, dataclasses.replace(FAST, budget=2)))
    assert time.monotonic() - started < 5 and not _landed(tmp_path)


# ---------------------------------------------------------------- the real process

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


def _env(build: Build, urls: dict[str, str], assets_dir: Path, **extra: str) -> dict[str, str | None]:
    """What a `heerlen run` of these tests sees: the mirror's (or no) URLs and assets, the build's directories;
    no DAGSTER_HOME, webhook, alert log or lock timeout but those given."""
    unset = {name: None for name in ("DAGSTER_HOME", "HEERLEN_ALERT_WEBHOOK_URL", "HEERLEN_ALERT_LOG", "HEERLEN_LOCK_TIMEOUT")}
    return {**unset, **urls, "HEERLEN_ASSETS_DIR": str(assets_dir), "HEERLEN_WAREHOUSE": str(build.warehouse),
            "HEERLEN_BUILD_DIR": str(build.root / "build"), "HEERLEN_LANDING_DIR": str(build.root / "landing"),
            "HEERLEN_HTTP_BACKOFF": "0.01", "HEERLEN_HTTP_RETRIES": "3", **extra}


def _heerlen(env: dict[str, str | None], *args: str, **how) -> subprocess.CompletedProcess | Started:
    """`heerlen run` as its own process (see tests/runs.py for `at`, `marker`, `pause`, `background`)."""
    return cli("heerlen", "run", *args, env=env, process=True, expect=how.pop("expect", None), **how)


TRANSIENT = [  # one per table, all in one run
    Fault("83487NED/TypedDataSet", "status", status=503, retry_after="1"),
    Fault("84286NED/DataProperties", "status", status=500),
    Fault("50090NED/TypedDataSet", "status", status=429, times=2),
    Fault("84583NED/TypedDataSet", "reset"),
    Fault("84799NED/TypedDataSet", "slow", seconds=2.5),  # over the 1 s read timeout of that run
    Fault("85984NED/TypedDataSet", "truncate"),
]


@dataclasses.dataclass
class Live:
    mirror: Mirror
    build: Build  # the last good warehouse every later process case starts from (a copy of it)
    run: subprocess.CompletedProcess
    seconds: float
    faults: list[Fault]
    log: list[dict]
    hashes: dict[str, str]


@pytest.fixture(scope="module")
def live(tables, duo, assets_dir, tmp_path_factory):
    """The module's mirror, and a full live refresh through it with a transient fault on six tables."""
    with Mirror(tables, duo=duo) as m:
        build = Build(tmp_path_factory.mktemp("live"))
        faults = [dataclasses.replace(f) for f in TRANSIENT]
        m.faults.extend(faults)
        started = time.perf_counter()
        run = _heerlen(_env(build, m.env(), assets_dir, HEERLEN_HTTP_READ_TIMEOUT="1"), "--live", expect=0)
        seconds = time.perf_counter() - started
        log = list(m.log)
        m.faults.clear()
        m.log.clear()
        yield Live(m, build, run, seconds, faults, log, mart_hashes(build.warehouse))


def _landed_vs_served(build: Build, mirror: Mirror) -> dict[str, tuple[int, int]]:
    """table -> (rows landed, rows the mirror serves for the same $filter/$select), over every TypedDataSet
    fetched; asserts the rows themselves are equal, in order: nothing lost, nothing twice."""
    out = {}
    for manifest in (build.root / "landing").rglob("manifest.json"):
        doc = json.loads(manifest.read_text())
        if doc["catalogue"] not in ("opendata", "dataderden"):
            continue
        landed = [row for p in doc["pages"] if p["entity"] == "TypedDataSet"
                  for row in json.loads(gzip.decompress((manifest.parent / p["file"]).read_bytes()))["value"]]
        served = mirror.tables[(doc["catalogue"], doc["table_id"])].rows
        query = doc["query"]
        if "$filter" in query:
            served = [r for r in served if parse_filter(query["$filter"])(r)]
        served = [{k: r[k] for k in query["$select"].split(",")} for r in served]
        assert landed == served, f"{doc['table_id']}: landed rows differ from the served ones"
        out[f"{doc['table_id']} {query.get('$filter', '')[:40]}"] = (len(landed), len(served))
    return out


@pytest.mark.slow
def test_transient_faults_recover_in_the_real_process_with_no_duplicate_rows(live):
    """500, 503 + Retry-After, 429 twice, connection reset, read timeout and a truncated body, each on
    another table of one live run: the run succeeds, every landed row is exactly what the server holds
    (none lost, none twice), and the marts have no duplicate keys. That a clean run gives the same marts
    follows: the same landed rows make the same marts (the idempotency check in the process test below
    rebuilds from this very landing and compares every table)."""
    assert [f.times for f in live.faults] == [0] * len(live.faults)  # every fault really happened
    faulted = {r["fault"] for r in live.log if r["fault"]}
    assert faulted == {"status", "reset", "slow", "truncate"}
    hit = [r for r in live.log if r["path"].endswith("83487NED/TypedDataSet")]
    assert hit[0]["fault"] == "status" and hit[1]["t"] - hit[0]["t"] >= 1.0  # Retry-After: 1 was honoured
    tables = _landed_vs_served(live.build, live.mirror)
    assert len(tables) == 9 and all(n > 0 for n, _ in tables.values())  # 6 KWB, RIVM, 2 x police
    assert "heerlen run OK" in live.run.stdout
    assert_no_duplicate_keys(live.build.warehouse)
    with duckdb.connect(str(live.build.warehouse), read_only=True) as con:
        mode, = con.execute("SELECT source_mode FROM marts.build_info").fetchone()
        noord = con.execute("SELECT value FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                            "AND area_code = 'HEERLEN-NOORD' AND year = 2018").fetchone()
    # bijstand per 1,000: 3,310 / 53,385 (62.0, the reference value of the snapshot run)
    assert mode == "live" and noord == (pytest.approx(3310 / 53385 * 1000),)


def _values(path: Path):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT indicator_id, area_code, year, value, status FROM marts.indicator_values").df()


@pytest.mark.slow
def test_the_live_build_matches_the_snapshot_run_and_refreshes_only_what_changed(live, warehouse, duo, assets_dir,
                                                                                   tmp_path):
    """The mirror serves the bundled real data in the exact v3 shapes, so the live build (its six transient faults
    recovered, as above) gives the snapshot run's values wherever both have them. A refresh right after it downloads
    nothing; CBS re-publishing 2018 while its download keeps failing fails the run, naming the URL, and keeps the
    warehouse. (A replay of this landing with no server at all gives the same marts, table for table: the kill
    sequence's last run and the damaged-build-database run below both check that.)"""
    assert not live.mirror.faults, "runs before the permanent-fault run sets its faults on the mirror"
    values = _values(live.build.warehouse)
    snap = _values(warehouse)
    both = snap.merge(values, on=["indicator_id", "area_code", "year"], suffixes=("_snap", "_live"))
    both = both[both.value_snap.notna() & both.value_live.notna()]
    assert len(both) > 1000
    # SAF-01 NL 2024 differs by source, not by code: the snapshot takes NL's registered crimes from the StatLine
    # gemeente export (805,559), a live run from the wijk/buurt table 47018NED (805,327). Both are real; unrounded
    # values show the 0.013 per 1,000 that rounding to 0.1 hid.
    other_table = (both.indicator_id == "SAF-01") & (both.area_code == "NL00") & (both.year == 2024)
    assert both[other_table].value_snap.tolist() == [pytest.approx(805559 / 17942942 * 1000)]
    assert both[other_table].value_live.tolist() == [pytest.approx(805327 / 17942942 * 1000)]
    assert (both.value_snap - both.value_live)[~other_table].abs().max() < 1e-9
    assert (both.status_snap == both.status_live).all()
    key = both.set_index(["indicator_id", "area_code", "year"]).value_live
    assert key[("WRK-01", "HEERLEN-NOORD", 2018)] == pytest.approx(3310 / 53385 * 1000)  # bijstand per 1,000 (62.0)
    assert key[("HLT-01", "NL00", 2020)] == pytest.approx(78.4, abs=0.05) or ("HLT-01", "NL00", 2020) not in key
    # Live brings what the bundle lacks: police counts per Heerlen wijk are fetched, not only the gemeente.
    with duckdb.connect(str(live.build.warehouse), read_only=True) as con:
        mode = con.execute("SELECT source_mode FROM marts.build_info").fetchone()[0]
        # OData carries typed numbers and nulls: not one cell of a live build is rejected
        assert con.execute("SELECT count(*) FROM marts.rejected_rows").fetchone()[0] == 0
        origins = con.execute("SELECT count(*) FROM marts.sources WHERE source_file LIKE 'opendata/%'").fetchone()[0]
    assert mode == "live" and origins == 6
    # School advice (made-up fixture counts) aggregated over the schools placed in Noord's wijken.
    noord = set(catalog.load_area_spec()["definitions"]["spoorlijn"]["noord"])
    usable = [n for code, n in duo.advice[2023].items() if None not in n.values() and duo.school_wijk.get(code) in noord]
    havo_plus = sum(n["HAVO"] + n["HAVO_VWO"] + n["VWO"] for n in usable)
    advised = sum(v for n in usable for k, v in n.items() if k != "ADVIES_NIET_MOGELIJK")
    lea07 = values.set_index(["indicator_id", "area_code", "year"]).value
    assert len(usable) >= 5 and lea07[("LEA-07", "HEERLEN-NOORD", 2023)] == pytest.approx(havo_plus / advised * 100)
    print(f"\nlive run against the local mirror, six transient faults: {len(live.log)} HTTP requests, "
          f"{live.seconds:.1f}s wall")

    # Nothing changed upstream: the next refresh stops after one TableInfos per table and a HEAD per file.
    m, build = live.mirror, live.build.copy(tmp_path / "build")
    env = _env(build, m.env(), assets_dir)
    m.log.clear()
    again = _heerlen(env, "--live", expect=0)
    assert "nothing changed upstream" in again.stdout
    assert all(r["method"] == "HEAD" or r["path"].endswith("/TableInfos") for r in m.log)
    assert sum(r["bytes"] for r in m.log if r["method"] == "HEAD") == 0

    # CBS re-publishes 2018 but the download keeps failing: the run fails naming the URL, nothing is lost.
    published, table = build.warehouse.read_bytes(), m.tables[("opendata", "84286NED")]
    stamp, table.modified = table.modified, "2026-01-01T00:00:00"
    m.faults.append(Fault("84286NED/TypedDataSet", "status", status=404, times=99))
    try:
        failed = _heerlen(env, "--live", expect=1)
    finally:
        table.modified = stamp
        m.faults.clear()
        m.log.clear()
    assert "HTTP 404" in failed.stderr and f"{m.url}/opendata/ODataFeed/odata/84286NED/TypedDataSet" in failed.stderr
    assert build.warehouse.read_bytes() == published


OFFLINE = {"HEERLEN_CBS_ODATA_URL": "http://127.0.0.1:9", "HEERLEN_CBS_DATADERDEN_URL": "http://127.0.0.1:9",
           "HEERLEN_DUO_URL": "http://127.0.0.1:9", "HEERLEN_PDOK_URL": "http://127.0.0.1:9"}


def _state(build: Build) -> dict:
    """What a reader sees: the warehouse's build and marts, and its Parquet twin's build and tables."""
    info = build_info(build.warehouse)
    with duckdb.connect() as con:
        twin_run = con.execute(f"SELECT run_id FROM read_parquet('{build.parquet / 'build_info.parquet'}')").fetchone()[0]
    return {"run_id": info["run_id"], "definition": info["area_definition"], "marts": mart_hashes(build.warehouse),
            "twin": parquet_hashes(build.parquet), "twin_run_id": twin_run}


@pytest.mark.slow
def test_kill_9_in_staging_and_in_publish_and_two_runs_at_once(live, assets_dir, tmp_path, request):
    """Runs rebuild from the landing (--replay: no network), on a copy of the live build (S0)."""
    if any("failed_run" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("failed_run_started")  # the permanent-fault run, on the other core meanwhile
    build = live.build.copy(tmp_path / "build")
    env = _env(build, OFFLINE, assets_dir)
    s0 = _state(build)
    assert s0["twin"] == s0["marts"] and s0["twin_run_id"] == s0["run_id"]
    published = build.warehouse.read_bytes()
    molenberg = ("--replay", "--force", "--area-definition", "molenberg")  # S1: other values than S0

    # 1. kill -9 while staging: the published warehouse and its twin are untouched.
    run = _heerlen(env, *molenberg, at="staging", marker=tmp_path / "staging", background=tmp_path / "k1")
    run.wait_for(tmp_path / "staging")
    run.kill9()
    assert build.warehouse.read_bytes() == published and _state(build) == s0

    # 2. A run stopped in publish, after the new file was renamed in and before its Parquet twin is
    # re-pointed (the one moment the two differ). Meanwhile another run, with a 1 s lock timeout, refuses
    # with exit 75 and says why. Then kill -9: each of file and twin is still one complete build (S1, S0).
    run = _heerlen(env, *molenberg, at="publish_swap", marker=tmp_path / "publish", background=tmp_path / "k2")
    run.wait_for(tmp_path / "publish")
    refused = _heerlen({**env, "HEERLEN_LOCK_TIMEOUT": "1"}, "--replay")
    assert refused.returncode == 75, refused.stderr[-2000:]
    assert f"another heerlen run holds {build.root / 'build' / 'run.lock'} (pid {run.proc.pid}" in refused.stderr
    assert "after 1s; nothing was changed" in refused.stderr
    run.kill9()
    s1 = _state(build)
    assert s1["definition"] == "molenberg" and s1["run_id"] != s0["run_id"] and set(s1["marts"]) >= set(s0["marts"])
    assert s1["marts"]["indicator_values"] != s0["marts"]["indicator_values"]  # a different build indeed
    assert s1["twin"] == s0["twin"] and s1["twin_run_id"] == s0["run_id"]

    # 3. The next run brings the twin in line, then rebuilds S0's inputs (it stops at staging for a moment to
    # signal it holds the lock). A third run started meanwhile waits for it, then finds nothing changed.
    run = _heerlen(env, "--replay", at="staging", marker=tmp_path / "again", pause=0, background=tmp_path / "r3")
    run.wait_for(tmp_path / "again")
    waiter = _heerlen(env, "--replay", background=tmp_path / "waiter")
    done, waited = run.finish(), waiter.finish()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "was a build behind it; re-exported" in done.stderr and "heerlen run OK" in done.stdout
    assert re.search(r"\n\d\d:\d\d:\d\d  (\d+) of \1  OK +report/index +\d+\.\d\ds\n", done.stderr)  # a line per step
    assert waited.returncode == 0, waited.stderr[-3000:]
    assert "another heerlen run holds" in waited.stderr and "waiting up to 3600s" in waited.stderr
    assert "nothing changed upstream" in waited.stdout
    # Idempotency: rebuilt from the same inputs as the live build, the marts are the same, table for table
    # (sorted rows hashed; VOLATILE columns aside). The twin is in line with the file.
    final = _state(build)
    assert final["marts"] == live.hashes and final["twin"] == final["marts"]
    assert final["definition"] == "spoorlijn" and final["twin_run_id"] == final["run_id"] != s0["run_id"]
    assert_no_duplicate_keys(build.warehouse)
    # Killed publishes leave nothing behind once a publish has run again: the set in use and the one before.
    assert not list(build.warehouse.parent.glob(".*.tmp")) and len(list(build.warehouse.parent.glob(".parquet-*"))) == 2


@pytest.mark.slow
def test_ctrl_c_and_sigterm_end_the_run_at_once_and_a_damaged_build_database_is_rebuilt(live, assets_dir, tmp_path):
    """SIGINT (a person at a terminal) in a raw step and SIGTERM (a scheduler, systemd, `timeout`) in staging: each
    run ends within seconds with exit 130, publishes nothing and frees the run lock. Before, the raw steps'
    RetryPolicy retried the interrupt and the run published anyway. Then the private build database is overwritten:
    the next run moves it aside with a one-line message and rebuilds it (here from the landing), where before every
    step waited out dagster-duckdb's ~100 s connection backoff."""
    build = live.build.copy(tmp_path / "build")
    env = _env(build, OFFLINE, assets_dir)
    published = build.warehouse.read_bytes()
    log = build.warehouse.parent / "alerts.jsonl"
    logged_before = len(log.read_text().splitlines()) if log.exists() else 0
    for sig, point in ((signal.SIGINT, "raw"), (signal.SIGTERM, "staging")):
        run = _heerlen(env, "--replay", "--force", at=point, marker=tmp_path / point, background=tmp_path / point)
        run.wait_for(tmp_path / point)
        sent = time.monotonic()
        os.kill(run.proc.pid, sig)
        done = run.finish(60)
        assert time.monotonic() - sent < 10, sig
        assert done.returncode == 130 and "heerlen run INTERRUPTED" in done.stderr, done.stderr[-3000:]
        assert build.warehouse.read_bytes() == published
    alerts = [json.loads(line) for line in log.read_text().splitlines()[logged_before:]]
    assert ["interrupted (Ctrl-C or SIGTERM); nothing was published" in a["summary"] for a in alerts] == [True, True]

    db = build.root / "build" / "build.duckdb"
    db.write_bytes(b"\x00not a database" * 4096)
    started = time.monotonic()
    # The lock is free again: a run that would give up after 1 s of waiting for it gets it at once.
    again = _heerlen({**env, "HEERLEN_LOCK_TIMEOUT": "1"}, "--replay")
    assert again.returncode == 0, again.stderr[-3000:]
    assert time.monotonic() - started < 120
    assert "could not be opened (IO Error" in again.stderr and "moved it aside to build.duckdb.damaged-" in again.stderr
    assert len(list(db.parent.glob("build.duckdb.damaged-*"))) == 1
    assert mart_hashes(build.warehouse) == live.hashes  # the same marts as before, rebuilt


@pytest.mark.parametrize("damage", ["overwritten", "truncated", "empty"])
def test_what_counts_as_a_damaged_build_database(tmp_path, damage):
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS n FROM range(200000)")
    assert set_aside_if_damaged(db) is None  # a good one stays
    data = db.read_bytes()
    db.write_bytes({"overwritten": b"garbage" * 1000, "truncated": data[: len(data) // 3], "empty": b""}[damage])
    message = set_aside_if_damaged(db)
    assert message and "moved it aside" in message and not db.exists()
    assert len(list(tmp_path.glob("build.duckdb.damaged-*"))) == 1
    with duckdb.connect(str(tmp_path / "held.duckdb")) as held:  # held by another connection: not damage
        held.execute("SELECT 1")
        assert set_aside_if_damaged(tmp_path / "held.duckdb") is None


NEW_STAMP = "2026-01-01T00:00:00"  # CBS re-published: the run must download again


@pytest.fixture(scope="module")
def failed_run_started(live, assets_dir, tmp_path_factory):
    """A live run on a copy of the live build with a permanent fault in each of the five live sources, the
    webhook set (its token in the path) and a password in the CBS base URL; Dagster keeps its run history
    (DAGSTER_HOME) so the secrets test can search it. Started in the background: the kill sequence runs
    offline meanwhile, so the two use both cores."""
    m, tmp = live.mirror, tmp_path_factory.mktemp("failed")
    build = live.build.copy(tmp / "build")
    before = {"warehouse": build.warehouse.read_bytes(), "parquet": parquet_hashes(build.parquet),
              "link": os.readlink(build.parquet)}
    stamps, duo = {k: t.modified for k, t in m.tables.items()}, m.duo
    for key in [("opendata", "84286NED"), ("dataderden", "50090NED"), ("dataderden", "47018NED")]:
        m.tables[key].modified = NEW_STAMP
    advice = catalog.load_sources(assets_dir)["duo_school_advice"].live.tables[-1].path
    m.duo = dataclasses.replace(duo, files={**duo.files, advice: duo.files[advice] + b"\r\n"})  # a new ETag
    faults = [
        Fault("84286NED/TypedDataSet", "empty", times=99),  # kwb 2018: zero rows where rows must be
        Fault("50090NED/TypedDataSet", "loop", times=99),  # rivm_health: page 2 links back to page 1
        Fault("47018NED/TypedDataSet", "html", query="'NL00'))", times=99),  # politie_nl: maintenance page, 200
        Fault("47018NED/TypedDataSet", "status", status=401, query="'GM0917'", times=99),  # politie_gemeente
        Fault(advice, "huge", method="GET", size=5_000_000, declared=False, times=99),  # duo: 5 MB, cap 1 MB
    ]
    m.faults[:] = faults
    home = tmp / "dagster_home"
    home.mkdir()
    with WebhookReceiver() as receiver:
        webhook = receiver.url.replace("/hooks/alerts", f"/hooks/T000/{SECRET}")
        urls = {**m.env(), "HEERLEN_CBS_ODATA_URL": m.env()["HEERLEN_CBS_ODATA_URL"].replace(
            "http://", f"http://heerlen:{PASSWORD}@")}
        env = _env(build, urls, assets_dir, HEERLEN_HTTP_MAX_BYTES="1000000", DAGSTER_HOME=str(home),
                   HEERLEN_ALERT_WEBHOOK_URL=webhook)
        started = _heerlen(env, "--live", background=tmp / "run")
        yield {"started": started, "build": build, "before": before, "home": home, "received": receiver.received,
               "faults": faults, "advice": advice}
        if started.proc.poll() is None:  # only when the tests reading it were deselected
            started.kill9()
    m.faults.clear()
    m.log.clear()
    for k, stamp in stamps.items():
        m.tables[k].modified = stamp
    m.duo = duo


@pytest.fixture(scope="module")
def failed_run(failed_run_started):
    return {**failed_run_started, "run": failed_run_started["started"].finish()}


@pytest.mark.slow
def test_permanent_faults_fail_each_source_cleanly_and_keep_the_last_good_warehouse(failed_run, live):
    run, build = failed_run["run"], failed_run["build"]
    assert run.returncode == 1
    err = run.stderr
    assert "heerlen run FAILED" in err and "was left as it was" in err
    assert "table 84286NED TypedDataSet returned no rows" in err, err[-4000:]  # empty result, named
    assert "odata.nextLink points back to a page already fetched (table 50090NED" in err
    assert "HTML page, not JSON" in err and "47018NED" in err
    assert "HTTP 401 Unauthorized" in err
    assert "exceeds the cap of 1000000 bytes" in err and failed_run["advice"] in err
    assert all(f.times < 99 for f in failed_run["faults"])  # each fault was met
    # The last good warehouse is still published, byte for byte, with its Parquet twin.
    before = failed_run["before"]
    assert build.warehouse.read_bytes() == before["warehouse"]
    assert os.readlink(build.parquet) == before["link"] and parquet_hashes(build.parquet) == before["parquet"]
    # Nothing of the failed downloads was landed as complete, and no partial fetch was left behind.
    stamps = [json.loads(p.read_text())["modified"] for p in (build.root / "landing").rglob("manifest.json")]
    assert NEW_STAMP not in stamps and not list((build.root / "landing").rglob(".partial-*"))
    # The failure reached a person: one run_failed alert naming the failed sources.
    failed = [a for a in failed_run["received"] if a["kind"] == "run_failed"]
    assert len(failed) == 1 and "84286NED" in failed[0]["summary"] and "47018NED" in failed[0]["summary"]


def _files_with(root: Path, needle: str) -> list[str]:
    """Every file under root whose bytes (gunzipped for .gz) or, for DuckDB and SQLite files, any text
    value in any table holds `needle`."""
    import sqlite3

    hits = []
    for path in [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        if needle.encode() in data:
            hits.append(str(path))
        elif path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as con:
                cols = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                                   "WHERE data_type = 'VARCHAR' AND NOT internal").fetchall()
                for schema, table, col in cols:
                    if con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{col}" LIKE ?',
                                   [f"%{needle}%"]).fetchone()[0]:
                        hits.append(f"{path}:{schema}.{table}.{col}")
        elif data[:16] == b"SQLite format 3\x00":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                if any(needle in line for line in con.iterdump()):
                    hits.append(str(path))
    return hits


@pytest.mark.slow
def test_secrets_never_reach_logs_run_storage_or_the_warehouse(failed_run):
    run, build, home = failed_run["run"], failed_run["build"], failed_run["home"]
    assert failed_run["received"], "the webhook was used (so its URL was in play)"
    assert "posted to the webhook (ok)" in run.stderr
    assert "heerlen:***@" in run.stderr  # the URL is shown, its password is not
    for secret in (SECRET, PASSWORD):
        assert secret not in run.stdout and secret not in run.stderr
        hits = _files_with(build.root, secret) + _files_with(home, secret)  # alert log, build DB, warehouse,
        assert hits == [], f"{secret} found in {hits}"  # Parquet, landing; Dagster's run and event storage
    assert list(home.rglob("*.db")), "Dagster wrote its run storage under DAGSTER_HOME"


def test_a_dagster_run_started_outside_the_cli_takes_the_same_run_lock(tmp_path, monkeypatch):
    """A run from the UI, schedule or sensor waits for (here: gives up on) a `heerlen run` holding the lock."""
    import dagster as dg

    from heerlen_pipeline.settings import Settings

    settings = Settings.from_env(warehouse=tmp_path / "w.duckdb", build_dir=tmp_path / "build")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from heerlen_pipeline.store.lock import hold; p = Path(sys.argv[1])\n"
                               "with hold(p):\n    print('held', flush=True); time.sleep(30)",
                               str(settings.build_dir / "run.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("HEERLEN_LOCK_TIMEOUT", "0.5")
        with pytest.raises(dg.DagsterResourceFunctionError) as failed:
            materialize(settings, "staging/areas", raise_on_error=True)
        assert re.search(r"another run still holds .*run\.lock \(pid \d+ since", str(failed.value.__cause__))
    finally:
        holder.kill()
        holder.wait()
    assert materialize(settings, "staging/areas", raise_on_error=True).success  # free again
