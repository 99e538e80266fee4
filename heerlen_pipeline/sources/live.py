"""Live sources: fetch a source's CBS tables (or read them back from the landing) as raw rows.

Per table: TableInfos gives the `Modified` stamp. When a complete landed fetch exists for that stamp
and the same query, nothing is downloaded. Otherwise DataProperties is fetched and resolved first (a
required measure that does not resolve fails before any data is downloaded), then the dimension lists
the filter needs, then the TypedDataSet pages with `$filter` (areas, dimension codes) and `$select`
(the measures used), every page landed as received.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ..catalog import Source, SourceFile, load_area_spec, load_measures
from ..settings import ASSETS_DIR, Settings
from .duo import fetch_duo, file_stamp
from .files import RawFile, text_frame
from .headers import MeasureMatcher
from .http import HttpClient, HttpConfig
from .landing import LandedFetch, Landing
from .odata import ODataClient
from .odata_schema import GEO_TYPES, MAPPING_COLUMNS, Resolution, resolve

if TYPE_CHECKING:  # pandas is imported where it is used: a no-op refresh never needs it
    import pandas as pd

DATA_ENTITY = "TypedDataSet"
Progress = Callable[[str, str, int, int], None]  # (table_id, entity, pages, rows)


class LiveSourceError(ValueError):
    """A live table that cannot be used: nothing landed to replay, unknown dimension code, no rows."""


@dataclass(frozen=True)
class LiveTable:
    file: SourceFile
    rows: pd.DataFrame  # text, c0..cN, the header row (OData keys, or a CSV's own header) first
    resolution: Resolution | None  # OData tables: DataProperties mapped onto measures
    fetch: LandedFetch
    downloaded: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256("".join(p["sha256"] for p in self.fetch.manifest["pages"]).encode()).hexdigest()

    def raw_file(self, source_id: str) -> RawFile:
        return RawFile(source_id, self.file, self.fetch.dir, self.sha256, self.fetch.manifest["completed_at"], self.rows)


@lru_cache(maxsize=1)
def _measures_digest() -> str:
    """The measure list shapes every $select: read once per process, not once per table."""
    return hashlib.sha256((ASSETS_DIR / "measures.csv").read_bytes()).hexdigest()


def query_signature(source: Source, table: SourceFile) -> str:
    """Identifies what is asked of a table: a different filter or measure list is a different landing."""
    live = source.live
    assert live is not None
    spec = {"geo": live.geo, "dimensions": live.dimensions, "required": source.file_required(table), "v": 1,
            "intervals": live.intervals,
            "rename": live.rename,
            "measures": _measures_digest()}
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=list).encode()).hexdigest()[:12]


def fetch_source(source: Source, client: ODataClient | None, landing: Landing, matcher: MeasureMatcher,
                 progress: Progress | None = None) -> list[LiveTable]:
    """All tables of a live source. client=None replays the newest landed fetch of each table."""
    live = source.live
    if live is None:
        raise LiveSourceError(f"source {source.id} has no live form in assets/sources.yaml")
    out = []
    for table in live.tables:
        where = f"source {source.id}, table {table.table_id}"
        sig = query_signature(source, table)
        if client is None:
            fetch = landing.find(live.catalogue, table.table_id, sig)
            if fetch is None:
                raise LiveSourceError(f"{where}: nothing landed under {landing.root} to replay; "
                                      "run `heerlen run --live` with network first")
            downloaded = False
        else:
            fetch = landing.find(live.catalogue, table.table_id, sig, client.modified(live.catalogue, table.table_id))
            downloaded = fetch is None
            if fetch is None:
                fetch = _download(source, table, sig, client, landing, matcher, progress)
        resolution = resolve(fetch.rows("DataProperties"), matcher, source.file_required(table), table.table_id,
                             table.year, where, live.rename)
        data = fetch.rows(DATA_ENTITY)
        if not data:
            raise LiveSourceError(f"{where}: {DATA_ENTITY} returned no rows for {fetch.manifest['query']}; "
                                  "expected at least the national row")
        out.append(LiveTable(table, _frame(data, resolution), resolution, fetch, downloaded))
    return out


def _download(source: Source, table: SourceFile, sig: str, client: ODataClient, landing: Landing,
              matcher: MeasureMatcher, progress: Progress | None) -> LandedFetch:
    live = source.live
    assert live is not None
    cat, tid = live.catalogue, table.table_id
    where = f"source {source.id}, table {tid}"
    info_resp, info = client.table_info(cat, tid)
    fetch = landing.begin(cat, tid, sig, str(info["Modified"]), query={})
    try:
        fetch.add("TableInfos", info_resp)
        for resp, _ in client.get_pages(cat, tid, "DataProperties"):
            fetch.add("DataProperties", resp)
        props = fetch.rows("DataProperties")
        resolution = resolve(props, matcher, source.file_required(table), tid, table.year, where, live.rename)
        terms = []
        geo = [p["Key"] for p in props if p.get("Type") in GEO_TYPES]
        if live.geo:
            if not geo:
                raise LiveSourceError(f"{where}: no GeoDetail dimension in DataProperties to filter areas on")
            terms.append(" or ".join(f"startswith({geo[0]},'{prefix}')" for prefix in live.geo))
        for dim in [*live.dimensions, *([live.intervals] if live.intervals else [])]:
            for resp, _ in client.get_pages(cat, tid, dim):
                fetch.add(dim, resp)
            if dim in live.dimensions:
                terms.append(f"{dim} eq '{_dimension_code(fetch.rows(dim), dim, live.dimensions[dim], where)}'")
        params = {"$select": ",".join(["ID", *resolution.dimensions, *resolution.key_map])}
        if terms:
            params["$filter"] = " and ".join(f"({t})" for t in terms)
        fetch.manifest["query"] = params
        hook = (lambda entity, pages, rows: progress(tid, entity, pages, rows)) if progress else None
        for resp, _ in client.get_pages(cat, tid, DATA_ENTITY, params, on_page=hook):
            fetch.add(DATA_ENTITY, resp)
        fetch.complete()
    except BaseException:
        fetch.abandon()
        raise
    return fetch


def _dimension_code(rows: list[dict], dim: str, wanted: dict[str, str], where: str) -> str:
    """The code as the table spells it (padded), found by code or by title."""
    field, value = next(iter(wanted.items()))
    attr = {"key": "Key", "title": "Title"}[field]
    for r in rows:
        if str(r.get(attr, "")).strip().casefold() == value.strip().casefold():
            return str(r["Key"])
    shown = ", ".join(f"{str(r.get('Key')).strip()}={r.get('Title')!r}" for r in rows[:12])
    raise LiveSourceError(f"{where}: dimension {dim} has no {field} {value!r}; it has {shown}")


def _frame(data: list[dict], resolution: Resolution) -> pd.DataFrame:
    columns = ["ID", *resolution.dimensions, *resolution.key_map]
    present = [c for c in columns if c in data[0]]
    return text_frame([present] + [[_cell(row.get(c)) for c in present] for row in data])


def _cell(value: object) -> str:
    if value is None:  # OData null: withheld or not published; staging decides which
        return ""
    return value.strip() if isinstance(value, str) else str(value)  # codes are space-padded


@dataclass(frozen=True)
class LiveResult:
    tables: list[LiveTable]
    schools: pd.DataFrame | None = None  # DUO: where each school is (area_code, gemeente_code, wijk_code, …)
    register_stamp: str | None = None

    @property
    def version(self) -> str:
        """The same string versions.source_version() gives for this state upstream."""
        stamps = [f"{t.file.table_id}@{t.fetch.manifest['modified']}" for t in self.tables]
        return ";".join(stamps + ([f"register@{self.register_stamp}"] if self.register_stamp else []))


def fetch_live(source: Source, settings: Settings, progress: Progress | None = None,
               http_config: HttpConfig | None = None) -> LiveResult:
    """`http_config`: the run's limits (the Dagster `limits` resource); the environment's when not given."""
    assert source.live is not None
    landing = Landing(settings.landing_dir)
    http = None if settings.replay else HttpClient(http_config)
    if source.live.catalogue == "duo":
        spec = load_area_spec(focus_id=settings.focus_area)
        gemeenten = {a["area_code"] for a in spec["cbs_areas"] if a["level"] == "gemeente"}
        files, schools, stamp = fetch_duo(source, http, settings.duo_url, settings.pdok_url, landing, gemeenten)
        return LiveResult([LiveTable(f, frame, None, fetch, new) for f, fetch, new, frame in files], schools, stamp)
    client = None if http is None else ODataClient(http, settings.catalogue_urls)
    matcher = MeasureMatcher(list(load_measures()))
    return LiveResult(fetch_source(source, client, landing, matcher, progress))


def live_version(source: Source, settings: Settings, client: ODataClient | None) -> str:
    """A live source's version upstream: its tables' Modified stamps (the DUO files' ETags)."""
    live = source.live
    landing = Landing(settings.landing_dir)
    stamps = []
    files = [*live.tables, SourceFile(live.register, "register")] if live.register else live.tables
    for table in files:
        if live.catalogue == "duo":
            stamp = file_stamp(table.path, f"{settings.duo_url}/{table.path}",
                               None if settings.replay else (client.http if client else HttpClient()), landing)
        elif settings.replay:
            fetch = landing.find(live.catalogue, table.table_id, query_signature(source, table))
            stamp = fetch.manifest["modified"] if fetch else "not landed"
        else:
            client = client or ODataClient(HttpClient(), settings.catalogue_urls)
            stamp = client.modified(live.catalogue, table.table_id)
        stamps.append(f"{table.table_id}@{stamp}")
    return ";".join(stamps)


def live_pages(source_id: str, tables: list[LiveTable]) -> pd.DataFrame:
    """Every landed response behind the live tables: the audit trail of a refresh."""
    import pandas as pd
    rows = [{"source_id": source_id, "table_id": t.file.table_id, "modified": t.fetch.manifest["modified"],
             "downloaded_this_run": t.downloaded, **page, "landed_file": str(t.fetch.dir / page["file"])}
            for t in tables for page in t.fetch.manifest["pages"]]
    cols = ["source_id", "table_id", "modified", "downloaded_this_run", "entity", "url", "status", "fetched_at",
            "bytes", "sha256", "landed_file"]
    return pd.DataFrame(rows, columns=cols)


def live_dimensions(source_id: str, tables: list[LiveTable]) -> pd.DataFrame:
    """The dimension lists fetched with each table (codes as the table spells them, stripped, and titles)."""
    import pandas as pd
    rows = [{"source_id": source_id, "table_id": t.file.table_id, "dimension": p["entity"], "code": str(r["Key"]).strip(),
             "title": r.get("Title")}
            for t in tables for p in t.fetch.manifest["pages"] if p["entity"] not in _OWN_ENTITIES
            for r in t.fetch.rows(p["entity"])]
    return pd.DataFrame(rows, columns=["source_id", "table_id", "dimension", "code", "title"]).drop_duplicates()


_OWN_ENTITIES = {"TableInfos", "DataProperties", DATA_ENTITY, "file"}


def live_mappings(source_id: str, tables: list[LiveTable]) -> pd.DataFrame:
    import pandas as pd
    frames = [t.resolution.mapping for t in tables if t.resolution is not None]
    mapping = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=MAPPING_COLUMNS)
    return mapping.assign(source_id=source_id).astype({"used": bool})
