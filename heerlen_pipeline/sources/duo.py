"""DUO open onderwijsdata, live: CSV files per school year, the school register, and school placement.

Files are fetched from HEERLEN_DUO_URL + their path. A file's version is its ETag/Last-Modified (a HEAD
request); an unchanged file is read back from the landing instead of downloaded. Schools of the gemeenten
in scope are placed in wijken through their registered address (pdok.py); the others keep the gemeente
DUO registers, so national totals stay complete.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..catalog import Source, SourceFile
from .files import decode_csv
from .http import HttpClient
from .landing import LandedFetch, Landing
from .pdok import place_schools

if TYPE_CHECKING:  # pandas is imported where it is used: a no-op refresh never needs it
    import pandas as pd

ENCODINGS = ("utf-8-sig", "cp1252")  # DUO switched encodings over the years


def fetch_file(name: str, url: str, http: HttpClient | None, landing: Landing) -> tuple[LandedFetch, bool]:
    """(landed copy, downloaded now). http=None replays the newest landed copy."""
    table, sig = _landing_key(name)
    if http is None:
        fetch = landing.find("duo", table, sig)
        if fetch is None:
            raise FileNotFoundError(f"{name}: nothing landed under {landing.root} to replay; run once with network")
        return fetch, False
    stamp = http.version_stamp(url)
    if stamp is not None and (fetch := landing.find("duo", table, sig, stamp)) is not None:
        return fetch, False
    resp = http.get(url)
    stamp = stamp or "sha256:" + hashlib.sha256(resp.body).hexdigest()[:16]
    if (fetch := landing.find("duo", table, sig, stamp)) is not None:
        return fetch, False  # no validator upstream, but the same bytes as last time
    fetch = landing.begin("duo", table, sig, stamp, query={"url": url})
    fetch.add("file", resp)
    fetch.complete()
    return fetch, True


def file_stamp(name: str, url: str, http: HttpClient | None, landing: Landing) -> str:
    """The file's version upstream (ETag/Last-Modified), or of its newest landed copy when replaying."""
    if http is not None:
        return http.version_stamp(url) or "unknown"
    fetch = landing.find("duo", *_landing_key(name))
    return fetch.manifest["modified"] if fetch else "not landed"


def _landing_key(name: str) -> tuple[str, str]:
    """(table, signature) under which a DUO file is landed: its file name, and a digest of its path."""
    return name.rsplit("/", 1)[-1].removesuffix(".csv"), hashlib.sha256(name.encode()).hexdigest()[:12]


def file_frame(fetch: LandedFetch, delimiter: str) -> pd.DataFrame:
    page = fetch.manifest["pages"][0]
    return decode_csv(fetch.body(page), delimiter, ENCODINGS)


def register_schools(register: pd.DataFrame, gemeenten: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(schools to place: in the gemeenten in scope, the rest with their registered gemeente)."""
    import pandas as pd
    frame = register.iloc[1:].set_axis([str(h).strip() for h in register.iloc[0]], axis=1)
    missing = [c for c in ("VESTIGINGSCODE", "POSTCODE", "HUISNUMMER-TOEVOEGING", "GEMEENTENUMMER") if c not in frame]
    if missing:
        raise ValueError(f"DUO vestigingen register: columns {missing} not found (has {list(frame.columns)[:12]}…)")
    schools = pd.DataFrame({
        "area_code": frame["VESTIGINGSCODE"].str.strip(),
        "gemeente_code": "GM" + frame["GEMEENTENUMMER"].str.strip().str.zfill(4),
        "postcode": frame["POSTCODE"].str.strip(),
        "house_number": frame["HUISNUMMER-TOEVOEGING"].str.strip(),
    })
    local = schools.gemeente_code.isin(gemeenten) if gemeenten else pd.Series(True, index=schools.index)
    return schools[local], schools[~local]


def fetch_duo(source: Source, http: HttpClient | None, duo_url: str, pdok_url: str, landing: Landing,
              gemeenten: set[str]) -> tuple[list[tuple[SourceFile, LandedFetch, bool, pd.DataFrame]], pd.DataFrame, str]:
    """(advice files, school placement, the register's version stamp)."""
    import pandas as pd
    live = source.live
    assert live is not None and live.register
    files = []
    for f in live.tables:
        fetch, downloaded = fetch_file(f.path, f"{duo_url}/{f.path}", http, landing)
        files.append((f, fetch, downloaded, file_frame(fetch, f.delimiter)))
    reg_fetch, _ = fetch_file(live.register, f"{duo_url}/{live.register}", http, landing)
    local, elsewhere = register_schools(file_frame(reg_fetch, ";"), gemeenten)
    placed = place_schools(local, http, pdok_url, landing)
    rest = elsewhere.assign(wijk_code=None, buurt_code=None, placed_by="gemeente (DUO register)", address=None)
    return files, pd.concat([placed, rest[placed.columns]], ignore_index=True), reg_fetch.manifest["modified"]
