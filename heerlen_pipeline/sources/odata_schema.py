"""Schema drift as data: map a CBS table's DataProperties onto the measures in assets/measures.csv.

Measure keys carry a running suffix that changes every edition (`GemiddeldeWoningwaarde_35` in 2018,
`GemiddeldeWOZWaardeVanWoningen_39` in 2024). A Topic is matched by its key stem (suffix removed)
against the measure aliases, or else by its title path through the TopicGroup hierarchy
("Wonen/Gemiddelde WOZ-waarde van woningen", the same labels StatLine exports use). The unit must agree
with the measure's: older editions publish some age groups as % instead of counts, and those must not
be read as counts. Two topics claiming one measure is an error, never a silent choice.

Keys are checked where they enter: a Topic or dimension key must be a plain identifier, because keys go
into the next request's `$select`/`$filter` and become column names downstream. Anything else (quotes,
semicolons, spaces: `Foo"; DROP TABLE x; --`) fails the table, naming it and the key.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .headers import MeasureMatcher, SchemaDriftError, UnitMismatch, squash

if TYPE_CHECKING:  # pandas is imported where it is used: a no-op refresh never needs it
    import pandas as pd

GEO_TYPES = ("GeoDetail", "GeoDimension")
DIMENSION_TYPES = ("Dimension", "TimeDimension", *GEO_TYPES)
PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


class UnsafeKey(SchemaDriftError):
    """A DataProperties key that is not a plain identifier."""


MAPPING_COLUMNS = ["table_id", "year", "key", "measure", "title", "topic_path", "unit", "matched_by", "used"]


@dataclass(frozen=True)
class Resolution:
    key_map: dict[str, str]  # OData key -> measure
    mapping: pd.DataFrame  # MAPPING_COLUMNS, one row per mapped or unit-mismatched topic
    dimensions: list[str]  # keys of the table's dimensions (WijkenEnBuurten, Perioden, …)


def topic_paths(props: list[dict]) -> dict[str, str]:
    """Key -> 'Group/Subgroup/Title' for every Topic."""
    by_id = {p.get("ID"): p for p in props}

    def path(p: dict) -> str:
        parts = [str(p.get("Title", "")).strip()]
        parent = by_id.get(p.get("ParentID"))
        while parent is not None and parent.get("Type") == "TopicGroup":
            parts.append(str(parent.get("Title", "")).strip())
            parent = by_id.get(parent.get("ParentID"))
        return "/".join(reversed(parts))

    return {p["Key"]: path(p) for p in props if p.get("Type") == "Topic"}


def resolve(props: list[dict], matcher: MeasureMatcher, required: tuple[str, ...], table_id: str,
            year: int | None, where: str, rename: dict[str, str] | None = None) -> Resolution:
    """`rename` maps a resolved measure to the one this source means by it (a youth-only filter, …)."""
    import pandas as pd
    check_keys(props, year, where)
    paths = topic_paths(props)
    rows, claims = [], {}
    for p in props:
        if p.get("Type") != "Topic":
            continue
        key, unit = p["Key"], str(p.get("Unit") or "").strip()
        measure, how = _match(matcher, key, paths[key])
        if measure is None:
            continue
        name = (rename or {}).get(measure.name, measure.name)
        row = {"table_id": table_id, "year": year, "key": key, "measure": name, "title": p.get("Title"),
               "topic_path": paths[key], "unit": unit, "matched_by": how, "used": True}
        if unit and squash(unit) != squash(measure.unit):
            rows.append({**row, "matched_by": f"{how}; unit {unit!r} is not {measure.unit!r}", "used": False})
            continue
        rows.append(row)
        claims.setdefault(name, []).append(row)
    for name, claimed in claims.items():
        if len(claimed) > 1:
            stems = [c for c in claimed if c["matched_by"] == "key stem"]
            if len(stems) != 1:
                keys = ", ".join(f"{c['key']} ({c['topic_path']})" for c in claimed)
                raise SchemaDriftError(f"{where}, year {year or '?'}: measure {name!r} is claimed by several topics: "
                                       f"{keys}; make the alias in assets/measures.csv specific (add the topic group)")
            for c in claimed:
                if c is not stems[0]:
                    c.update(used=False, matched_by=c["matched_by"] + "; another key matches the stem")
            claims[name] = stems
    key_map = {c[0]["key"]: name for name, c in claims.items()}
    missing = [m for m in required if m not in claims]
    if missing:
        m = missing[0]
        label = matcher.measures[m].label_nl
        near = difflib.get_close_matches(squash(label), [squash(t) for t in paths.values()], n=1, cutoff=0.6)
        near_keys = [k for k, t in paths.items() if near and squash(t) == near[0]]
        units = [r["matched_by"] for r in rows if r["measure"] == m]
        raise SchemaDriftError(
            f"{where}, year {year or '?'}: required concept {m!r} ({label!r}) does not resolve in DataProperties "
            f"({len(paths)} topics){'; ' + units[0] if units else ''}; nearest topic: "
            f"{', '.join(f'{k} ({paths[k]})' for k in near_keys) or 'none'}. "
            "Add the renamed key stem or title as an alias in assets/measures.csv."
        )
    dims = [p["Key"] for p in props if p.get("Type") in DIMENSION_TYPES]
    return Resolution(key_map, pd.DataFrame(rows, columns=MAPPING_COLUMNS), dims)


def check_keys(props: list[dict], year: int | None, where: str) -> None:
    """Every Topic and dimension key is a plain identifier, or the table fails here."""
    for p in props:
        if p.get("Type") in ("Topic", *DIMENSION_TYPES):
            key = p.get("Key")
            if not isinstance(key, str) or not PLAIN_KEY.fullmatch(key):
                raise UnsafeKey(f"{where}, year {year or '?'}: DataProperties {p.get('Type')} key {str(key)[:80]!r} "
                                "is not a plain identifier (letters, digits, '_'); refusing to build a query or a "
                                "table from it")


def _match(matcher: MeasureMatcher, key: str, path: str):
    for text, how in ((key, "key stem"), (path, "title path")):
        try:
            measure, _ = matcher.match(text)
        except UnitMismatch:
            measure = None
        if measure is not None:
            return measure, how
    return None, None
