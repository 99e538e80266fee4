"""Live sources under HTTP faults, against the local CBS OData mirror (tests/odata_mirror.py) on 127.0.0.1: each
fault at the fetch level, in this process; hosts that cannot be reached; the time budget of one source. The client
itself is tested in tests/unit/test_live_sources.py, the whole pipeline live in tests/faults/test_fault_matrix.py
(one live build, shared by its process cases).
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from heerlen_pipeline.sources.http import HttpError, Response

from ..live_helpers import FAST, client, fetch, only
from ..odata_mirror import Fault

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


# ---------------------------------------------------------------- hosts that cannot be reached, a source's budget

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
