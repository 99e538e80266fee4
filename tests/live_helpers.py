"""Fetching from the local mirror in-process: the live-source code under test, pointed at 127.0.0.1."""

from __future__ import annotations

import dataclasses

from heerlen_pipeline import catalog
from heerlen_pipeline.sources.headers import MeasureMatcher
from heerlen_pipeline.sources.http import HttpClient, HttpConfig
from heerlen_pipeline.sources.landing import Landing
from heerlen_pipeline.sources.live import fetch_source
from heerlen_pipeline.sources.odata import ODataClient

from .odata_mirror import Mirror

FAST = HttpConfig(connect_timeout=2, read_timeout=1.0, retries=3, backoff=0.01)  # faults retried in milliseconds


def client(mirror: Mirror, config: HttpConfig = FAST) -> ODataClient:
    return ODataClient(HttpClient(config), {"opendata": f"{mirror.url}/opendata", "dataderden": f"{mirror.url}/dataderden"})


def fetch(source, mirror, tmp_path, odata: ODataClient | None = None):
    matcher = MeasureMatcher(list(catalog.load_measures()))
    return fetch_source(source, odata or client(mirror), Landing(tmp_path / "landing"), matcher)


def only(source, *table_ids):
    """The source with only the given live tables."""
    live = dataclasses.replace(source.live, tables=tuple(t for t in source.live.tables if t.table_id in table_ids))
    return dataclasses.replace(source, live=live)
