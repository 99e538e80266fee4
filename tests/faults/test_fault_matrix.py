"""The fault matrix (issue 7): faults and hostile input, on loopback only.

The local CBS/DUO/PDOK mirror (tests/odata_mirror.py) injects the faults; a second server stands for
"another host" and records whatever reaches it; tests/webhook_receiver.py takes the alerts. Fetch-level
cases run in-process. The rest runs the real `heerlen run` as a subprocess, the HEERLEN_*_URL variables
pointing at the mirror, in as few runs as the cases allow:

- one live refresh with a transient fault on each of six tables (500, 503 + Retry-After, 429, connection
  reset, read timeout, truncated body), the session's live build (tests/live_build.py): it succeeds, every
  landed row is exactly what the server holds, and its values are the snapshot run's wherever both have them;
  a refresh after it downloads nothing, and one whose re-published table keeps failing keeps the warehouse;
- one live refresh on a copy of that build with a permanent fault in each of the five live sources (empty
  result, nextLink loop, HTML with 200, 401, a response far over the cap), the webhook set and a password
  in a base URL: it fails naming each, the last good warehouse stays byte for byte, and no secret is in its
  output, alert log, build DB, warehouse, landing or Dagster's run storage.

Process faults on copies of the same live build (kill -9, Ctrl-C and SIGTERM, the run lock, a damaged build
database, idempotency) are in test_process_faults.py: another file, so the other xdist worker runs them meanwhile.

Single faults already covered at the fetch level in test_live_sources.py are not repeated here (503 forever,
404, HTML, malformed JSON, truncated forever, nextLink loop, size cap on a normal page).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
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

from .. import live_helpers
from ..live_build import Build, LiveBuild, assert_no_duplicate_keys, heerlen, parquet_hashes, run_env
from ..live_helpers import client, fetch, only
from ..odata_mirror import Fault, Mirror, Recorder, parse_filter
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

@dataclasses.dataclass
class Live(LiveBuild):
    mirror: Mirror  # this module's mirror of the tables the live build was fetched from, for the runs after it


@pytest.fixture(scope="module")
def live(live_build, tables, duo):
    """The session's live build (tests/live_build.py: a full live refresh through a mirror of these tables, with a
    transient fault on six of them), and this module's mirror, serving the same rows, stamps and ETags."""
    with Mirror(tables, duo=duo) as m:
        yield Live(**vars(live_build), mirror=m)


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
    follows: the same landed rows make the same marts (the idempotency check in test_process_faults.py
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
    sequence's last run in test_process_faults.py checks that.)"""
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
    env = run_env(build, m.env(), assets_dir)
    m.log.clear()
    again = heerlen(env, "--live", expect=0)
    assert "nothing changed upstream" in again.stdout
    assert all(r["method"] == "HEAD" or r["path"].endswith("/TableInfos") for r in m.log)
    assert sum(r["bytes"] for r in m.log if r["method"] == "HEAD") == 0

    # CBS re-publishes 2018 but the download keeps failing: the run fails naming the URL, nothing is lost.
    published, table = build.warehouse.read_bytes(), m.tables[("opendata", "84286NED")]
    stamp, table.modified = table.modified, "2026-01-01T00:00:00"
    m.faults.append(Fault("84286NED/TypedDataSet", "status", status=404, times=99))
    try:
        failed = heerlen(env, "--live", expect=1)
    finally:
        table.modified = stamp
        m.faults.clear()
        m.log.clear()
    assert "HTTP 404" in failed.stderr and f"{m.url}/opendata/ODataFeed/odata/84286NED/TypedDataSet" in failed.stderr
    assert build.warehouse.read_bytes() == published


NEW_STAMP = "2026-01-01T00:00:00"  # CBS re-published: the run must download again


@pytest.fixture(scope="module")
def failed_run_started(live, assets_dir, tmp_path_factory):
    """A live run on a copy of the live build with a permanent fault in each of the five live sources, the
    webhook set (its token in the path) and a password in the CBS base URL; Dagster keeps its run history
    (DAGSTER_HOME) so the secrets test can search it."""
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
        env = run_env(build, urls, assets_dir, HEERLEN_HTTP_MAX_BYTES="1000000", DAGSTER_HOME=str(home),
                   HEERLEN_ALERT_WEBHOOK_URL=webhook)
        started = heerlen(env, "--live", background=tmp / "run")
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
