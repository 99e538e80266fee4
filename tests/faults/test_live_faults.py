"""Live sources under HTTP faults, against the local CBS OData mirror (tests/odata_mirror.py) on 127.0.0.1: each
fault at the fetch level, in this process; the whole pipeline live; hosts that cannot be reached; the time budget of
one source. The client itself is tested in tests/unit/test_live_sources.py.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.sources.http import HttpError, Response

from ..live_helpers import FAST, client, fetch, only
from ..odata_mirror import Fault
from ..runs import cli

# ---------------------------------------------------------------- HTTP faults

@pytest.mark.parametrize("fault", [
    Fault("TypedDataSet", "status", status=503, retry_after="1"),
    Fault("TypedDataSet", "status", status=429, times=2),
    Fault("DataProperties", "status", status=500),
    Fault("TypedDataSet", "slow", seconds=2.5),  # longer than the 1 s read timeout
    Fault("TypedDataSet", "truncate"),
    Fault("TableInfos", "reset"),
], ids=["503-retry-after", "429-twice", "500", "read-timeout", "truncated-body", "connection-reset"])
def test_transient_faults_recover_with_the_same_rows(sources, mirror, tmp_path, fault):
    source = only(sources["kwb"], "84583NED")
    (clean,) = fetch(source, mirror, tmp_path / "clean")
    mirror.log.clear()
    mirror.faults.append(fault)
    started = time.perf_counter()
    (table,) = fetch(source, mirror, tmp_path / "faulty")
    assert fault.times == 0  # the fault really happened
    assert table.rows.equals(clean.rows)  # nothing lost, nothing doubled
    if fault.retry_after:
        assert time.perf_counter() - started >= 1.0  # Retry-After was honoured


@pytest.mark.parametrize("fault, words", [
    (Fault("TypedDataSet", "status", status=503, times=99), ["HTTP 503", "(after 4 attempts)"]),  # 1 + 3 retries
    (Fault("DataProperties", "status", status=404), ["HTTP 404", "DataProperties"]),
    (Fault("TypedDataSet", "html"), ["HTML page", "not JSON"]),
    (Fault("TypedDataSet", "malformed"), ["malformed JSON"]),
    (Fault("TypedDataSet", "truncate", times=99), ["broke off"]),
    (Fault("TypedDataSet", "loop"), ["already fetched"]),
], ids=["503-forever", "404", "html-200", "malformed-json", "truncated-forever", "nextlink-loop"])
def test_permanent_faults_fail_clearly_and_land_nothing(sources, mirror, tmp_path, fault, words):
    mirror.faults.append(fault)
    with pytest.raises(HttpError) as err:
        fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path)
    msg = str(err.value)
    assert mirror.url in msg and "84583NED" in msg
    for w in words:
        assert w in msg
    assert not list((tmp_path / "landing").rglob("manifest.json"))


@pytest.mark.parametrize("value", ["soon", "-5"])
def test_an_invalid_retry_after_counts_as_absent(sources, mirror, tmp_path, value):
    # urllib3 gave up at once on a Retry-After it could not parse (and the message claimed retries)
    mirror.faults.append(Fault("TypedDataSet", "status", status=503, retry_after=value))
    (table,) = fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path)
    assert len(table.rows) > 1 and [r["fault"] for r in mirror.log if r["fault"]] == ["status"]


def test_a_retry_after_past_the_request_budget_is_given_up_at_once(sources, mirror, tmp_path):
    # A server asking to come back in 100,000 s (or at a date far off) would hold the run: refused at once.
    mirror.faults.append(Fault("TypedDataSet", "status", status=503, retry_after="100000"))
    started = time.perf_counter()
    with pytest.raises(HttpError) as err:
        fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path,
              client(mirror, dataclasses.replace(FAST, budget=5)))
    assert time.perf_counter() - started < 3
    assert "asks to retry after 100000s, past this request's budget of 5s (HEERLEN_HTTP_BUDGET)" in str(err.value)
    assert "84583NED" in str(err.value) and "given up after 1 attempt" in str(err.value)


def test_json_nested_too_deeply_is_refused_naming_the_url():
    deep = Response("http://127.0.0.1:1/x/TypedDataSet", 200, b"[" * 200_000 + b"]" * 200_000, "now", "application/json")
    with pytest.raises(HttpError, match=r"http://127.0.0.1:1/x/TypedDataSet: JSON nested too deeply to read"):
        deep.json()


def test_response_over_the_size_cap_is_refused(sources, mirror, tmp_path):
    with pytest.raises(HttpError, match="exceeds the cap"):
        fetch(only(sources["kwb"], "84583NED"), mirror, tmp_path,
               client(mirror, dataclasses.replace(FAST, max_bytes=2_000)))


# ---------------------------------------------------------------- the whole pipeline, live

def _heerlen(tmp: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`heerlen run` as its own process (HEERLEN_ASSETS_DIR points at the mirror's copy of assets/)."""
    return cli("heerlen", "run", *args, process=True, expect=None, env={
        **env, "HEERLEN_WAREHOUSE": tmp / "warehouse" / "heerlen.duckdb", "HEERLEN_BUILD_DIR": tmp / "build",
        "HEERLEN_LANDING_DIR": tmp / "landing", "HEERLEN_HTTP_BACKOFF": "0.01", "DAGSTER_HOME": None})


def _values(path: Path):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT indicator_id, area_code, year, value, status FROM marts.indicator_values").df()


def test_live_run_matches_the_snapshot_run(warehouse, mirror, duo, assets_dir, tmp_path):
    env = {**mirror.env(), "HEERLEN_ASSETS_DIR": str(assets_dir)}
    started = time.perf_counter()
    run = _heerlen(tmp_path, env, "--live")
    elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stderr[-3000:]
    live = _values(tmp_path / "warehouse" / "heerlen.duckdb")
    snap = _values(warehouse)
    both = snap.merge(live, on=["indicator_id", "area_code", "year"], suffixes=("_snap", "_live"))
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
    with duckdb.connect(str(tmp_path / "warehouse" / "heerlen.duckdb"), read_only=True) as con:
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
    lea07 = live.set_index(["indicator_id", "area_code", "year"]).value
    assert len(usable) >= 5 and lea07[("LEA-07", "HEERLEN-NOORD", 2023)] == pytest.approx(havo_plus / advised * 100)
    requests = len(mirror.log)
    Path(tmp_path / "live_run.json").write_text(json.dumps({"requests": requests, "seconds": elapsed}))
    print(f"\nlive run against the local mirror: {requests} HTTP requests, {elapsed:.1f}s wall")

    # Nothing changed upstream: the next refresh stops after one TableInfos per table and a HEAD per file.
    mirror.log.clear()
    again = _heerlen(tmp_path, env, "--live")
    assert again.returncode == 0 and "nothing changed upstream" in again.stdout
    assert all(r["method"] == "HEAD" or r["path"].endswith("/TableInfos") for r in mirror.log)
    assert sum(r["bytes"] for r in mirror.log if r["method"] == "HEAD") == 0

    # Replay from the landing with no server at all gives the same warehouse values.
    offline = {**env, "HEERLEN_CBS_ODATA_URL": "http://127.0.0.1:9", "HEERLEN_CBS_DATADERDEN_URL": "http://127.0.0.1:9"}
    replay = _heerlen(tmp_path, offline, "--replay", "--force")
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert _values(tmp_path / "warehouse" / "heerlen.duckdb").equals(live)

    # CBS re-publishes 2018 but the download keeps failing: the run fails naming the URL, nothing is lost.
    published = (tmp_path / "warehouse" / "heerlen.duckdb").read_bytes()
    mirror.tables[("opendata", "84286NED")].modified = "2026-01-01T00:00:00"
    mirror.faults.append(Fault("84286NED/TypedDataSet", "status", status=404, times=99))
    failed = _heerlen(tmp_path, env, "--live")
    assert failed.returncode == 1
    assert "HTTP 404" in failed.stderr and f"{mirror.url}/opendata/ODataFeed/odata/84286NED/TypedDataSet" in failed.stderr
    assert (tmp_path / "warehouse" / "heerlen.duckdb").read_bytes() == published


def test_a_live_run_without_reachable_hosts_fails_at_once_naming_them(tmp_path, monkeypatch, capsys):
    """No network (a name that does not resolve: `.invalid` never does) or a port nobody listens on: the run stops in
    seconds, before any work, naming each host; nothing is created."""
    import socket

    from heerlen_pipeline.cli import UNREACHABLE_EXIT, main
    from heerlen_pipeline.sources.http import HttpClient

    with socket.socket() as s:  # a free port on 127.0.0.1, closed again: connections to it are refused
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("HEERLEN_CBS_ODATA_URL", "http://opendata.heerlen-test.invalid")
    monkeypatch.setenv("HEERLEN_CBS_DATADERDEN_URL", f"http://127.0.0.1:{closed}")
    started = time.perf_counter()
    code = main(["run", "--live", "--warehouse", str(tmp_path / "w" / "heerlen.duckdb")])
    took = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == UNREACHABLE_EXIT and took < 10, (took, err)
    assert "opendata.heerlen-test.invalid:80: the name does not resolve" in err
    assert f"127.0.0.1:{closed}: connection refused" in err
    assert not (tmp_path / "w").exists()
    # Inside a run the client gives up on a name that does not resolve at once, without retries.
    started = time.perf_counter()
    with pytest.raises(HttpError, match=r"opendata.heerlen-test.invalid.*\(after 1 attempt\)"):
        HttpClient().get("http://opendata.heerlen-test.invalid/ODataFeed/odata/84286NED/TableInfos")
    assert time.perf_counter() - started < 5


def test_one_source_never_takes_longer_than_its_budget(tmp_path, monkeypatch):
    """HEERLEN_SOURCE_BUDGET: all requests of one source together (one client per source). Each answer takes 0.4 s
    here and the source may take 1 s: the third answer ends past the budget and is refused, and no fourth request
    is made."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from heerlen_pipeline.sources.http import HttpClient, HttpConfig

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            time.sleep(0.4)
            body = b'{"value": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = HttpClient(HttpConfig(read_timeout=5, retries=0, source_budget=1.0))
        url = f"http://127.0.0.1:{server.server_port}/ODataFeed/odata/84286NED/TypedDataSet"
        started = time.perf_counter()
        answered = 0
        with pytest.raises(HttpError) as err:
            for _ in range(10):
                client.get(url)
                answered += 1
        took = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    assert answered == 2 and took < 1.5, (answered, took)
    assert "HEERLEN_SOURCE_BUDGET" in str(err.value)
