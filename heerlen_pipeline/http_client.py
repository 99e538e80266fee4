"""HTTP for the live sources: one requests.Session with urllib3 Retry, timeouts and a size cap.

urllib3 retries what fails before a response arrives (connection errors, read timeouts while waiting)
and the retryable statuses 429/5xx, honouring Retry-After with exponential backoff and jitter. A body
that breaks off half-way (connection reset, incomplete read) is fetched again here, because requests
streams bodies outside urllib3's retry loop. Everything else is permanent and raises `HttpError` naming
the URL and the status.

Redirects are followed only to the host that was asked (http -> https, and its www. name, are fine): a
redirect to any other host is refused before a request is made to it. A password in a URL's userinfo is shown as
`***` in every URL this module hands out (responses, errors), so it never reaches logs or the landing.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from . import __version__

USER_AGENT = f"heerlen-pipeline/{__version__} (+https://github.com/heerlen-pipeline; open-data refresh)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_REDIRECTS = 5


class HttpError(RuntimeError):
    """A download that failed for good; the message names the URL and what came back."""


@dataclass(frozen=True)
class HttpConfig:
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retries: int = 5
    backoff: float = 0.5  # seconds; doubles per retry, plus up to the same again as jitter
    max_bytes: int = 256 * 1024 * 1024

    @classmethod
    def from_env(cls) -> HttpConfig:
        env = os.environ
        return cls(
            connect_timeout=float(env.get("HEERLEN_HTTP_CONNECT_TIMEOUT", cls.connect_timeout)),
            read_timeout=float(env.get("HEERLEN_HTTP_READ_TIMEOUT", cls.read_timeout)),
            retries=int(env.get("HEERLEN_HTTP_RETRIES", cls.retries)),
            backoff=float(env.get("HEERLEN_HTTP_BACKOFF", cls.backoff)),
            max_bytes=int(env.get("HEERLEN_HTTP_MAX_BYTES", cls.max_bytes)),
        )


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    body: bytes
    fetched_at: str
    content_type: str

    def json(self) -> dict:
        text = self.body.decode("utf-8-sig", errors="replace")
        if text.lstrip()[:1] == "<":
            kind = "an HTML page" if "html" in text[:500].lower() else "XML (Atom?)"
            raise HttpError(f"GET {self.url}: HTTP {self.status} but the body is {kind}, not JSON: {_snippet(text)}")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise HttpError(f"GET {self.url}: malformed JSON ({e.msg} at char {e.pos} of {len(text)}): "
                            f"{_snippet(text[max(0, e.pos - 60):e.pos])}") from None
        if not isinstance(doc, dict):
            raise HttpError(f"GET {self.url}: expected a JSON object, got {type(doc).__name__}")
        return doc


def redact(url: str) -> str:
    """The URL with the password of its userinfo (user:password@host) replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def same_host(origin: str, target: str) -> bool:
    """May a request for `origin` be sent on to `target`? Same host and port; http -> https is fine, and so
    is the host's own www. name (duo.nl sends its files on from www.duo.nl)."""
    a, b = urlsplit(origin), urlsplit(target)
    if b.scheme not in ("http", "https") or _bare(a.hostname) != _bare(b.hostname):
        return False
    default = {"http": 80, "https": 443}
    if a.scheme == b.scheme:
        return (a.port or default[a.scheme]) == (b.port or default[b.scheme])
    return a.scheme == "http" and b.scheme == "https" and a.port is None and b.port is None


def _bare(host: str | None) -> str:
    return (host or "").lower().removeprefix("www.")


def _snippet(text: str, n: int = 160) -> str:
    return repr(" ".join(text.split())[:n])


class HttpClient:
    def __init__(self, config: HttpConfig | None = None):
        self.config = config or HttpConfig.from_env()
        self.session = make_session(self.config)
        self.requests = 0
        self.bytes = 0

    def get(self, url: str, params: dict[str, str] | None = None) -> Response:
        cfg = self.config
        for attempt in range(1, cfg.retries + 2):
            resp = self._send("GET", url, params)
            with resp:
                if resp.status_code >= 400:
                    retried = " after retries" if resp.status_code in RETRY_STATUSES else ""
                    raise HttpError(f"GET {redact(resp.url)}: HTTP {resp.status_code} {resp.reason}{retried}: "
                                    f"{_snippet(resp.text)}")
                try:
                    body = self._read(resp)
                except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as e:
                    if attempt > cfg.retries:
                        raise HttpError(f"GET {redact(resp.url)}: body broke off ({_reason(e)}) "
                                        f"{attempt} times") from None
                    time.sleep(cfg.backoff * 2 ** (attempt - 1) * (1 + random.random()))
                    continue
            self.bytes += len(body)
            return Response(redact(resp.url), resp.status_code, body, datetime.now(UTC).isoformat(),
                            resp.headers.get("Content-Type", ""))
        raise AssertionError("unreachable")

    def version_stamp(self, url: str) -> str | None:
        """ETag or Last-Modified from a HEAD request: a file's version without downloading it (None: unknown)."""
        with self._send("HEAD", url) as resp:
            if resp.status_code in (405, 501):  # HEAD not supported: the caller downloads and compares checksums
                return None
            if resp.status_code >= 400:
                raise HttpError(f"HEAD {redact(resp.url)}: HTTP {resp.status_code} {resp.reason}")
            return resp.headers.get("ETag") or resp.headers.get("Last-Modified")

    def _send(self, method: str, url: str, params: dict[str, str] | None = None) -> requests.Response:
        """One request (urllib3 retries included), following redirects only on the host asked."""
        cfg = self.config
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                resp = self.session.request(method, url, params=params, timeout=(cfg.connect_timeout, cfg.read_timeout),
                                            stream=method == "GET", allow_redirects=False)
            except requests.RequestException as e:  # urllib3 has already retried these
                raise HttpError(f"{method} {redact(url)}: {_reason(e)} (after {cfg.retries} retries)") from None
            self.requests += 1
            if not resp.is_redirect:
                return resp
            target = urljoin(resp.url, resp.headers["Location"])
            resp.close()
            if not same_host(resp.url, target):
                raise HttpError(f"{method} {redact(resp.url)}: HTTP {resp.status_code} redirects to another host "
                                f"({redact(target)}); refused, nothing was requested there. If the source moved, "
                                "point its HEERLEN_*_URL at the new location")
            url, params = target, None
        raise HttpError(f"{method} {redact(url)}: more than {MAX_REDIRECTS} redirects")

    def _read(self, resp: requests.Response) -> bytes:
        declared = int(resp.headers.get("Content-Length") or 0)
        if declared > self.config.max_bytes:
            raise HttpError(f"GET {redact(resp.url)}: response of {declared} bytes exceeds the cap of "
                            f"{self.config.max_bytes} (HEERLEN_HTTP_MAX_BYTES)")
        chunks, size = [], 0
        for chunk in resp.iter_content(chunk_size=1 << 16):
            size += len(chunk)
            if size > self.config.max_bytes:
                raise HttpError(f"GET {redact(resp.url)}: response exceeds the cap of {self.config.max_bytes} bytes "
                                "(HEERLEN_HTTP_MAX_BYTES)")
            chunks.append(chunk)
        return b"".join(chunks)


def make_session(config: HttpConfig) -> requests.Session:
    retry = Retry(
        total=config.retries, connect=config.retries, read=config.retries, status=config.retries, other=0,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "HEAD"}),
        backoff_factor=config.backoff, backoff_jitter=config.backoff, backoff_max=60,
        respect_retry_after_header=True, retry_after_max=300, raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip, deflate"})
    return session


def _reason(e: Exception) -> str:
    inner = e.args[0] if e.args else e
    reason = getattr(inner, "reason", None)
    return f"{type(e).__name__}: {reason or inner}"
