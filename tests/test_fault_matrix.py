"""The fault matrix (issue 7): faults and hostile input against the live-source code, on loopback only.

The local CBS/DUO/PDOK mirror (tests/odata_mirror.py) injects the faults; a second server stands for
"another host" and records whatever reaches it. Single faults already covered at the fetch level in
test_live_sources.py are not repeated here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.alerts import Alert, AlertSink
from heerlen_pipeline.headers import MeasureMatcher
from heerlen_pipeline.http_client import HttpClient, HttpConfig, HttpError
from heerlen_pipeline.landing import Landing, UnsafePath
from heerlen_pipeline.live import fetch_source
from heerlen_pipeline.odata import ODataClient, ODataError
from heerlen_pipeline.odata_schema import UnsafeKey

from .odata_mirror import Fault, Mirror, Recorder, bundled_tables, duo_fixture, mirror_assets

FAST = HttpConfig(connect_timeout=2, read_timeout=1.0, retries=2, backoff=0.01)
ROOT = Path(__file__).resolve().parent.parent
SECRET = "SECRET123"  # the token in the webhook URL's path, as Slack and Teams put it
PASSWORD = "PASSWORD-XYZ"  # a password in a base URL's userinfo


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
def elsewhere():
    with Recorder() as r:
        yield r


def _client(mirror: Mirror, config: HttpConfig = FAST) -> ODataClient:
    return ODataClient(HttpClient(config), {"opendata": f"{mirror.url}/opendata",
                                            "dataderden": f"{mirror.url}/dataderden"})


def _fetch(source, mirror, tmp_path, client=None):
    matcher = MeasureMatcher(list(catalog.load_measures()))
    return fetch_source(source, client or _client(mirror), Landing(tmp_path / "landing"), matcher)


def _only(source, *table_ids):
    live = dataclasses.replace(source.live, tables=tuple(t for t in source.live.tables if t.table_id in table_ids))
    return dataclasses.replace(source, live=live)


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
    client = _client(mirror, dataclasses.replace(FAST, max_bytes=1_000_000))
    with pytest.raises(HttpError) as err:
        _fetch(_only(sources["kwb"], "84583NED"), mirror, tmp_path, client)
    msg = str(err.value)
    assert "84583NED" in msg and mirror.url in msg
    for w in words:
        assert w in msg
    assert fault.times == 0 and not _landed(tmp_path)


# ---------------------------------------------------------------- hostile input

def test_redirect_to_another_host_is_refused_before_any_request_there(sources, mirror, elsewhere, tmp_path):
    mirror.faults.append(Fault("TypedDataSet", "redirect", location=elsewhere.url))
    with pytest.raises(HttpError) as err:
        _fetch(_only(sources["kwb"], "84583NED"), mirror, tmp_path)
    msg = str(err.value)
    assert "redirects to another host" in msg and elsewhere.url in msg and "84583NED" in msg
    assert elsewhere.log == [] and not _landed(tmp_path)


def test_redirect_on_the_same_host_is_followed(sources, mirror, tmp_path):
    source = _only(sources["kwb"], "84583NED")
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


def test_next_link_to_another_host_is_refused(sources, mirror, elsewhere, tmp_path):
    mirror.faults.append(Fault("TypedDataSet", "offsite_next", location=elsewhere.url))
    with pytest.raises(ODataError) as err:
        _fetch(_only(sources["kwb"], "84583NED"), mirror, tmp_path)
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
        _fetch(_only(sources["kwb"], "84583NED"), m, tmp_path)
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
        (fetched,) = _fetch(_only(sources["kwb"], "84583NED"), m, tmp_path)
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
