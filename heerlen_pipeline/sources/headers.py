"""Map source column headers to stable measure names.

StatLine exports spell the same column in several styles:
  underscore paths  `Bevolking_Aantal_inwoners`            (CSV export via a database)
  slash paths+unit  `Bevolking/Aantal inwoners (aantal)`  (StatLine CSV download)
  R-mangled         `Bevolking.Aantal.inwoners..aantal.`  (read.csv of the above)
  OData keys        `AantalInwoners_5`                    (suffix changes every year)
All of them collapse to the same "squashed" key (lower-case letters and digits only), optionally
followed by the squashed unit. The aliases in assets/measures.csv are squashed the same way.
"""

from __future__ import annotations

import re
import unicodedata

from ..catalog import Measure

_ODATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*?_\d+$")
_PERCENT_WORD = re.compile(r"(?<=\d)proc")  # "40proc" in underscore exports means "40%"


def squash(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _PERCENT_WORD.sub("", text.replace("%", ""))
    return re.sub(r"[^0-9a-z]", "", text)


def header_key(header: str) -> str:
    """Squashed key of a header; OData keys lose their running `_N` suffix first."""
    header = header.strip()
    if " " not in header and _ODATA_KEY.match(header):
        header = re.sub(r"_\d+$", "", header)
    return squash(header)


class MeasureMatcher:
    """Resolves headers to measures; a header's trailing unit, when present, must match."""

    def __init__(self, measures: list[Measure]):
        self.measures = {m.name: m for m in measures}
        self._by_key: dict[str, Measure] = {}
        for m in measures:
            for alias in m.aliases:
                key = squash(alias)
                other = self._by_key.get(key)
                if other is not None and other.name != m.name:
                    raise ValueError(f"alias {alias!r} is claimed by both {other.name} and {m.name}")
                self._by_key[key] = m
        self._longest_first = sorted(self._by_key, key=len, reverse=True)

    def match(self, header: str) -> tuple[Measure | None, str | None]:
        """Return (measure, unit_found_in_header) or (None, None)."""
        key = header_key(header)
        if key in self._by_key:
            return self._by_key[key], None
        # Longest alias that is a prefix; the rest of the key must be the measure's unit.
        for alias_key in self._longest_first:
            if key.startswith(alias_key):
                measure = self._by_key[alias_key]
                rest = key[len(alias_key) :]
                if rest == squash(measure.unit):
                    return measure, rest
                if rest and _looks_like_unit(rest):
                    raise UnitMismatch(header, measure, rest)
        return None, None

    def resolve_column(self, headers: list[str], alias: str) -> str | None:
        """Find the header that spells `alias` (used for region/period columns)."""
        wanted = squash(alias)
        for h in headers:
            key = header_key(h)
            if key == wanted or (key.startswith(wanted) and _looks_like_unit(key[len(wanted) :])):
                return h
        return None


_UNIT_KEYS = {"aantal", "code", "naam", "omschrijving", "x1000euro", "per1000inwoners", "euro", "jaar"}


def _looks_like_unit(rest: str) -> bool:
    return rest in _UNIT_KEYS


class SchemaDriftError(ValueError):
    """A required measure could not be resolved from a source's columns (or resolved twice)."""


class UnitMismatch(ValueError):
    def __init__(self, header: str, measure: Measure, unit_key: str):
        super().__init__(
            f"column {header!r} looks like measure {measure.name!r} but its unit {unit_key!r} "
            f"differs from the expected {measure.unit!r}"
        )
