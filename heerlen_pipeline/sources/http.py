"""HTTP for the live sources: one requests.Session with urllib3 Retry, timeouts and a size cap.

urllib3 retries what fails before a response arrives (connection errors, read timeouts while waiting)
and the retryable statuses 429/5xx, honouring Retry-After with exponential backoff and jitter. A Retry-After
that is not a valid delay counts as absent, and no wait may run past the request's time budget
(HEERLEN_HTTP_BUDGET): a server asking for longer is given up on at once. A body that breaks off half-way
(connection reset, incomplete read) is fetched again here, because requests streams bodies outside urllib3's
retry loop. Everything else is permanent and raises `HttpError` naming the URL, the status and the attempts made.

Redirects are followed only to the host that was asked (http -> https, and its www. name, are fine): a
redirect to any other host is refused before a request is made to it. A password in a URL's userinfo is shown as
`***` in every URL this module hands out (responses, errors), so it never reaches logs or the landing.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, NameResolutionError
from urllib3.util import Retry

from .. import __version__
from ..settings import Limits

USER_AGENT = f"heerlen-pipeline/{__version__} (+https://github.com/heerlen-pipeline; open-data refresh)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_REDIRECTS = 5
READ_CHUNK = 1024  # a body is read in chunks this small, so a slow one is caught soon after its budget runs out


class HttpError(RuntimeError):
    """A download that failed for good; the message names the URL and what came back."""


@dataclass(frozen=True)
class HttpConfig:
    """The client's share of the Limits (settings.py, where each is described), under shorter names."""

    connect_timeout: float = Limits.http_connect_timeout
    read_timeout: float = Limits.http_read_timeout
    retries: int = Limits.http_retries
    backoff: float = Limits.http_backoff
    max_bytes: int = Limits.http_max_bytes
    budget: float = Limits.http_budget
    source_budget: float = Limits.source_budget  # one client per source: all its requests together

    @classmethod
    def from_limits(cls, limits: Limits) -> HttpConfig:
        """From the Limits, or anything with their field names (the Dagster `limits` resource)."""
        return cls(connect_timeout=limits.http_connect_timeout, read_timeout=limits.http_read_timeout,
                   retries=limits.http_retries, backoff=limits.http_backoff, max_bytes=limits.http_max_bytes,
                   budget=limits.http_budget, source_budget=limits.source_budget)

    @classmethod
    def from_env(cls) -> HttpConfig:
        return cls.from_limits(Limits.from_env())


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
        except RecursionError:  # a hostile body: [[[[… many thousands deep
            raise HttpError(f"GET {self.url}: JSON nested too deeply to read ({len(text)} characters); refused") from None
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
        # One client per source (fetch_live): its requests share this deadline, so no source holds a run for longer.
        self._source_deadline = time.monotonic() + self.config.source_budget
        self._budget_text = ""

    def get(self, url: str, params: dict[str, str] | None = None) -> Response:
        cfg = self.config
        for attempt in range(1, cfg.retries + 2):
            resp = self._send("GET", url, params)
            with resp:
                if resp.status_code >= 400:
                    raise HttpError(f"GET {redact(resp.url)}: HTTP {resp.status_code} {resp.reason}"
                                    f" ({_attempts(_tries(resp))}): {_snippet(resp.text)}")
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
                self._start_budget()
                resp = self.session.request(method, url, params=params, timeout=(cfg.connect_timeout, cfg.read_timeout),
                                            stream=method == "GET", allow_redirects=False)
            except requests.RequestException as e:  # urllib3 has already retried these
                tries = getattr(e.args[0] if e.args else None, "attempts", None)
                raise HttpError(f"{method} {redact(url)}: {_reason(e)}" + (f" ({_attempts(tries)})" if tries else "")
                                ) from None
            except BudgetExceeded as e:
                raise HttpError(f"{method} {redact(url)}: {e}") from None
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

    def _start_budget(self) -> None:
        """A fresh time budget for the next request, carried by the Retry object urllib3 uses for it (and checked
        while the body is read: a read timeout is per read, so a body trickling in would never time out). It is the
        request's own budget, or what is left of the source's when that is less."""
        cfg, now = self.config, time.monotonic()
        left = self._source_deadline - now
        if left <= 0:
            raise BudgetExceeded(f"this source's time budget of {cfg.source_budget:g}s (HEERLEN_SOURCE_BUDGET) is spent "
                                 f"after {self.requests} requests; given up")
        budget = min(cfg.budget, left)
        self._budget_text = (f"this request's budget of {budget:g}s (HEERLEN_HTTP_BUDGET)" if budget == cfg.budget else
                             f"what was left of this source's budget, {budget:.3g}s (HEERLEN_SOURCE_BUDGET)")
        self._deadline = now + budget
        for adapter in self.session.adapters.values():
            adapter.max_retries = adapter.max_retries.new(deadline=self._deadline, budget=self._budget_text, history=())

    def _read(self, resp: requests.Response) -> bytes:
        declared = int(resp.headers.get("Content-Length") or 0)
        if declared > self.config.max_bytes:
            raise HttpError(f"GET {redact(resp.url)}: response of {declared} bytes exceeds the cap of "
                            f"{self.config.max_bytes} (HEERLEN_HTTP_MAX_BYTES)")
        chunks, size = [], 0
        for chunk in resp.iter_content(chunk_size=READ_CHUNK):
            if time.monotonic() > self._deadline:
                raise HttpError(f"GET {redact(resp.url)}: the body took longer than {self._budget_text} after "
                                f"{size} bytes; refused")
            size += len(chunk)
            if size > self.config.max_bytes:
                raise HttpError(f"GET {redact(resp.url)}: response exceeds the cap of {self.config.max_bytes} bytes "
                                "(HEERLEN_HTTP_MAX_BYTES)")
            chunks.append(chunk)
        return b"".join(chunks)


class BudgetExceeded(RuntimeError):
    """A wait before the next retry would run past the request's time budget."""


class BudgetRetry(Retry):
    """urllib3's Retry with three changes. An invalid Retry-After ("soon", "-5") counts as absent, so the backoff
    applies (urllib3 gives up at once on it). No wait may run past the request's deadline: a server asking for a
    longer one is given up on at once, instead of holding the run. The attempts made are kept on the error it gives
    up with, so the message can say how many there really were."""

    def __init__(self, *args, deadline: float | None = None, budget: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline, self.budget = deadline, budget

    def new(self, **kw) -> BudgetRetry:
        return super().new(**{"deadline": self.deadline, "budget": self.budget, **kw})

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            return super().parse_retry_after(retry_after)
        except InvalidHeader:
            return 0.0  # falsy: sleep() falls back to the exponential backoff

    def sleep(self, response=None) -> None:
        asked = self.get_retry_after(response) if (self.respect_retry_after_header and response) else None
        wait = asked or self.get_backoff_time()
        if self.deadline is not None and time.monotonic() + wait > self.deadline:
            what = f"the server asks to retry after {asked:g}s" if asked else f"the next retry would wait {wait:g}s"
            raise BudgetExceeded(f"HTTP {response.status if response else 'error'}: {what}, past {self.budget}; "
                                 f"given up {_attempts(len(self.history))}")
        super().sleep(response)

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None) -> BudgetRetry:
        if isinstance(error, NameResolutionError):  # a name that does not resolve will not in a second: no retries
            e = MaxRetryError(_pool, url, error)
            e.attempts = len(self.history) + 1
            raise e from error
        try:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as e:
            e.attempts = len(self.history) + 1  # the retries made, and the first try
            raise


def _tries(resp: requests.Response) -> int:
    retries = getattr(resp.raw, "retries", None)
    return len(retries.history) + 1 if retries is not None else 1


def _attempts(n: int) -> str:
    return "after 1 attempt" if n == 1 else f"after {n} attempts"


def make_session(config: HttpConfig) -> requests.Session:
    retry = BudgetRetry(
        total=config.retries, connect=config.retries, read=config.retries, status=config.retries, other=0,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET", "HEAD"}),
        backoff_factor=config.backoff, backoff_jitter=config.backoff, backoff_max=60,
        # Retry-After is capped by the request's budget (BudgetRetry.sleep), not silently shortened here.
        respect_retry_after_header=True, retry_after_max=10**9, raise_on_status=False,
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
