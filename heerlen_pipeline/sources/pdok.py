"""Place schools in CBS wijken and buurten by their address, with the PDOK Locatieserver.

DUO registers each school location's address; the Locatieserver (BAG-based geocoder) returns the CBS
buurt, wijk and gemeente of an address. We ask for the exact address (postcode + house number) and fall
back to the postcode alone. A school's location is not where its pupils live: indicators built on it say so.
Answers are landed like every other response and re-used within the same year (addresses do not move;
a new wijk indeling is picked up at the next year's lookups).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from typing import TYPE_CHECKING

from .http import HttpClient
from .landing import Landing

if TYPE_CHECKING:  # pandas is imported where it is used: a no-op refresh never needs it
    import pandas as pd

PATH = "/bzk/locatieserver/search/v3_1/free"
PLACEMENT_COLUMNS = ["area_code", "gemeente_code", "wijk_code", "buurt_code", "placed_by", "address"]


def _house_number(text: str) -> str | None:
    m = re.match(r"\s*(\d+)", text or "")
    return m.group(1) if m else None


def _queries(postcode: str, number: str | None) -> list[tuple[str, str]]:
    pc = re.sub(r"\s+", "", postcode or "").upper()
    if not re.fullmatch(r"\d{4}[A-Z]{2}", pc):
        return []
    exact = [(f"postcode:{pc} and huisnummer:{number}", "address")] if number else []
    return exact + [(f"postcode:{pc}", "postcode")]


def place_schools(schools: pd.DataFrame, http: HttpClient | None, base_url: str, landing: Landing) -> pd.DataFrame:
    """schools: area_code, gemeente_code, postcode, house_number -> PLACEMENT_COLUMNS.

    http=None replays landed answers only. A school that cannot be placed keeps its gemeente and gets
    no wijk ('placed_by' says why), so it still counts for the gemeente and NL.
    """
    import pandas as pd
    rows = []
    for s in schools.itertuples(index=False):
        placed = {"area_code": s.area_code, "gemeente_code": s.gemeente_code, "wijk_code": None, "buurt_code": None,
                  "placed_by": "not found", "address": None}
        queries = _queries(s.postcode, _house_number(s.house_number))
        if not queries:
            placed["placed_by"] = f"no usable postcode {s.postcode!r}"
        for q, how in queries:
            doc = _lookup(q, http, base_url, landing)
            if doc and doc.get("wijkcode"):
                gm = f"GM{str(doc.get('gemeentecode', '')).zfill(4)}"
                placed.update(wijk_code=doc["wijkcode"], buurt_code=doc.get("buurtcode"), placed_by=how,
                              address=doc.get("weergavenaam"), gemeente_code=gm if doc.get("gemeentecode") else s.gemeente_code)
                break
        rows.append(placed)
    return pd.DataFrame(rows, columns=PLACEMENT_COLUMNS)


def _lookup(q: str, http: HttpClient | None, base_url: str, landing: Landing) -> dict | None:
    sig = hashlib.sha256(q.encode()).hexdigest()[:12]
    stamp = f"year-{date.today().year}"
    fetch = landing.find("pdok", "locatieserver", sig, None if http is None else stamp)
    if fetch is None:
        if http is None:
            return None  # replay without a landed answer: unplaced, not an error
        resp = http.get(f"{base_url}{PATH}", params={"q": q, "fq": "type:adres", "rows": "1",
                                                      "fl": "weergavenaam,gemeentecode,wijkcode,buurtcode"})
        resp.json()  # validate before landing
        fetch = landing.begin("pdok", "locatieserver", sig, stamp, query={"q": q})
        fetch.add("free", resp)
        fetch.complete()
    docs = fetch.docs("free")[0].get("response", {}).get("docs", [])
    return docs[0] if docs else None
