"""CBS OData v3 client for both catalogues (opendata.cbs.nl and dataderden.cbs.nl).

Always the bulk "Feed" flavour (the API flavour refuses results over 10,000 rows) and `$format=json`
(dataderden answers Atom/XML otherwise). Pages are followed through `odata.nextLink` until it is absent.

What comes back is checked before anything is built from it: a nextLink must stay under the configured
catalogue URL (no request goes anywhere else), an entity set the pipeline reads must have rows, and a
dimension code must be a plain code (it goes into the next request's `$filter`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .http import HttpClient, HttpError, Response, redact, same_host

MAX_PAGES = 10_000
# Entity sets that are not dimension lists; every other entity set read is one (Perioden, SoortMisdrijf, …).
NOT_DIMENSIONS = {"TableInfos", "DataProperties", "TypedDataSet", "UntypedDataSet", "CategoryGroups"}
DATA = "TypedDataSet"  # the entity set of the figures themselves
# A dimension code as CBS spells it ('GM0363    ', '0.0.0 ', 'T001038 ', '2012JJ00'): nothing that could
# end a quoted string in $filter, or add a clause to it.
PLAIN_CODE = re.compile(r"[A-Za-z0-9_.\- ]+")


class ODataError(HttpError):
    """An answer that is well-formed HTTP but cannot be used: empty, off-host link, unsafe code."""
PageHook = Callable[[str, int, int], None]  # (entity, pages so far, rows so far)


class ODataClient:
    def __init__(self, http: HttpClient, base_urls: dict[str, str]):
        self.http = http
        self.base_urls = base_urls
        self._infos: dict[tuple[str, str], tuple[Response, dict]] = {}

    def entity_url(self, catalogue: str, table_id: str, entity: str) -> str:
        segment = "odata" if catalogue == "opendata" else "OData"  # the spelling each catalogue uses
        return f"{self.base_urls[catalogue]}/ODataFeed/{segment}/{table_id}/{entity}"

    def get_pages(self, catalogue: str, table_id: str, entity: str, params: dict[str, str] | None = None,
                  on_page: PageHook | None = None, allow_empty: bool = False) -> list[tuple[Response, dict]]:
        """Every page of an entity set as (response, parsed JSON), following odata.nextLink.

        An entity set with no rows at all is an error unless allow_empty."""
        base = self.base_urls[catalogue]
        url: str | None = _with_query(self.entity_url(catalogue, table_id, entity), {**(params or {}), "$format": "json"})
        pages: list[tuple[Response, dict]] = []
        seen: set[str] = set()
        rows = 0
        # Every row of every page has the same keys: those asked for in $select, or else those of the first row.
        keys: frozenset[str] | None = frozenset(params["$select"].split(",")) if params and "$select" in params else None
        while url is not None:
            resp = self.http.get(url)
            page_id = _canonical(resp.url)
            if page_id in seen:
                raise HttpError(f"GET {resp.url}: odata.nextLink points back to a page already fetched "
                                f"(table {table_id}, {entity}, page {len(pages) + 1})")
            seen.add(page_id)
            doc = resp.json()
            if not isinstance(doc.get("value"), list):
                raise HttpError(f"GET {resp.url}: no 'value' list in the OData answer (keys: {sorted(doc)[:8]})")
            pages.append((resp, doc))
            rows += len(doc["value"])
            if on_page:
                on_page(entity, len(pages), rows)
            if len(pages) >= MAX_PAGES:
                raise HttpError(f"GET {resp.url}: more than {MAX_PAGES} pages; refusing to follow odata.nextLink further")
            if entity not in NOT_DIMENSIONS:
                _check_codes(doc["value"], resp.url, table_id, entity)
            if entity == DATA:  # metadata entities mix row shapes (topics and dimensions) by design
                keys = _check_keys(doc["value"], keys, resp.url, table_id, entity, len(pages))
            link = doc.get("odata.nextLink")
            if link is not None and not _under(str(link), base):
                raise ODataError(f"GET {resp.url}: odata.nextLink points outside {redact(base)} "
                                 f"({redact(str(link))[:200]!r}; table {table_id}, {entity}); refused, "
                                 "nothing was requested there")
            url = _with_query(link, {"$format": "json"}, keep=True) if link else None
        if rows == 0 and not allow_empty:
            raise ODataError(f"GET {pages[0][0].url}: table {table_id} {entity} returned no rows; every table this "
                             "pipeline reads has at least the national row, so an empty answer is refused")
        return pages

    def table_info(self, catalogue: str, table_id: str) -> tuple[Response, dict]:
        """TableInfos (cached per client, so a run asks once per table) and its row."""
        key = (catalogue, table_id)
        if key not in self._infos:
            (resp, doc), *_ = self.get_pages(catalogue, table_id, "TableInfos")
            info = doc["value"][0] if doc["value"] else {}
            if not info.get("Modified"):
                raise HttpError(f"GET {resp.url}: no Modified stamp in TableInfos")
            self._infos[key] = (resp, info)
        return self._infos[key]

    def modified(self, catalogue: str, table_id: str) -> str:
        return str(self.table_info(catalogue, table_id)[1]["Modified"])


def _under(link: str, base: str) -> bool:
    """Is `link` on the configured catalogue's host (http -> https allowed) and beneath its path?"""
    if not same_host(base, link):
        return False
    prefix = urlsplit(base).path.rstrip("/") + "/"
    path = urlsplit(link).path or "/"
    return path.startswith(prefix) and ".." not in unquote(path).split("/")


def _check_keys(rows: list[dict], expected: frozenset[str] | None, url: str, table_id: str, entity: str,
                page: int) -> frozenset[str] | None:
    """Fail a page whose rows lack a key, or carry one, that the query asked for (or that page 1 had): a key
    dropped or renamed half-way through the paging would otherwise leave its column empty for the later pages."""
    for row in rows:
        got = frozenset(k for k in row if not k.startswith("odata."))
        if expected is None:
            expected = got
        if got != expected:
            missing, extra = sorted(expected - got), sorted(got - expected)
            raise ODataError(f"GET {url}: table {table_id} {entity} page {page}: a row "
                             + (f"lacks {missing}" if missing else "") + (" and " if missing and extra else "")
                             + (f"has unexpected keys {extra}" if extra else "")
                             + "; the table changed shape while it was paged, so none of it is used")
    return expected


def _check_codes(rows: list[dict], url: str, table_id: str, entity: str) -> None:
    for r in rows:
        code = str(r.get("Key", ""))
        if not PLAIN_CODE.fullmatch(code):
            raise ODataError(f"GET {url}: table {table_id}, dimension {entity}: code {code[:80]!r} is not a plain "
                             "code (letters, digits, '_', '.', '-', spaces); refusing to build a query from it")


def _canonical(url: str) -> str:
    """The same page however its query is ordered or encoded."""
    parts = urlsplit(url)
    return f"{parts.path.lower()}?{sorted(parse_qsl(parts.query, keep_blank_values=True))}"


def _with_query(url: str, params: dict[str, str], keep: bool = False) -> str:
    """Add query parameters, spaces as %20 (OData servers do not all read '+' as a space).
    keep=True leaves parameters the URL already has (a nextLink's own $skip/$format) as they are."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query = {**params, **query} if keep else {**query, **params}
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="$',()")))
