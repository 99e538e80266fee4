"""Area tables (CBS areas + programme areas under every definition) and name-to-code resolution."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .. import catalog


def compared(focus: catalog.FocusArea) -> tuple[str, str, str, str]:
    """The codes of the four compared areas, by role: the focus area, the rest of its gemeente, the gemeente and the
    country (in the marts' column names: noord, zuid, heerlen, nederland)."""
    return focus.focus.code, focus.rest.code, focus.gemeente.code, focus.nation.code


_WIJK_LABEL = re.compile(r"^Wijk \d+ ")
CBS_DEFINITION = "cbs"  # marts.areas.definition of an area that no programme-area definition changes


class AreaResolutionError(ValueError):
    pass


def areas_frame(spec: dict[str, Any], others: list[dict[str, str]] = ()) -> pd.DataFrame:
    """marts.areas: one row per area and definition ('cbs' for areas that do not depend on one); `others`
    are the areas outside Heerlen of a national run."""
    rows = [{**a, "definition": CBS_DEFINITION} for a in others]
    for a in spec["cbs_areas"]:
        if a["level"] != "wijk":
            rows.append({**a, "parent_code": a["parent_code"] or None, "definition": CBS_DEFINITION})
    for name, members in programme_members(spec).groupby("definition"):
        side = dict(zip(members.wijk_code, members.area_code, strict=True))
        for a in spec["cbs_areas"]:
            if a["level"] == "wijk":
                rows.append({**a, "parent_code": side[a["area_code"]], "definition": name})
        for code, label in spec["programme_areas"].items():
            rows.append(
                {"area_code": code, "area_name": label, "level": "programma", "parent_code": spec["gemeente"],
                 "definition": name}
            )
    return pd.DataFrame(rows, columns=["area_code", "area_name", "level", "parent_code", "definition"])


def programme_members(spec: dict[str, Any]) -> pd.DataFrame:
    """(definition, area_code, wijk_code): Noord is the listed wijken, Zuid every other wijk."""
    wijken = [a["area_code"] for a in spec["cbs_areas"] if a["level"] == "wijk"]
    focus: catalog.FocusArea = spec["focus"]
    rows = []
    for name, d in spec["definitions"].items():
        noord = set(d["noord"])
        rows += [(name, focus.focus.code if w in noord else focus.rest.code, w) for w in wijken]
    return pd.DataFrame(rows, columns=["definition", "area_code", "wijk_code"])


class NameResolver:
    """Resolve StatLine region names to CBS codes.

    KWB exports list the gemeente, then each wijk ("Wijk 12 Hoensbroek-De Dem") followed by its buurten.
    Wijken are matched by name (the number in the label is not trusted: the 2016 export calls De Beitel
    "Wijk 41"); a buurt is looked up among the buurten of the wijk above it, so equal names in different
    wijken cannot be confused.
    """

    def __init__(self, areas: Iterable[dict[str, str]]):
        """`areas`: CBS areas with code, name, level and parent (catalog.load_cbs_names())."""
        areas = list(areas)
        self.top = {a["area_name"]: a["area_code"] for a in areas if a["level"] in ("land", "gemeente")}
        self.wijken = {a["area_name"]: a["area_code"] for a in areas if a["level"] == "wijk"}
        self.buurten: dict[tuple[str, str], str] = {
            (a["parent_code"], a["area_name"]): a["area_code"] for a in areas if a["level"] == "buurt"
        }

    def resolve(self, names: list[str]) -> list[str | None]:
        codes: list[str | None] = []
        wijk = None
        for raw in names:
            name = raw.strip()
            if name in self.top and not _WIJK_LABEL.match(name):
                codes.append(self.top[name])
                wijk = None
            elif _WIJK_LABEL.match(name):
                wijk = self.wijken.get(_WIJK_LABEL.sub("", name))
                codes.append(wijk)
            else:
                codes.append(self.buurten.get((wijk, name)) if wijk else None)
        return codes
