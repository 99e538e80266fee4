"""Load the declarative half of the graph from assets/: sources, measures, areas, indicators."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .settings import ASSETS_DIR, Settings

# Themes, directions and methods (assets/vocabulary.yaml), with their names and what they imply.
_WORDS = yaml.safe_load((ASSETS_DIR / "vocabulary.yaml").read_text(encoding="utf-8"))
THEMES = tuple(_WORDS["themes"])  # the routekaart's order, then the demographic context
THEME_NAMES = {t: (d["name_nl"], d["name_en"]) for t, d in _WORDS["themes"].items()}
DIRECTIONS = tuple(_WORDS["directions"])
DIRECTION_NAMES = {k: (d["name_nl"], d["name_en"]) for k, d in _WORDS["directions"].items()}
NORMATIVE = tuple(k for k, d in _WORDS["directions"].items() if d["normative"])  # a gap to close
METHODS = tuple(_WORDS["methods"])
COUNT_METHODS = tuple(k for k, d in _WORDS["methods"].items() if not d["comparable"])  # level depends on size
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogError(ValueError):
    pass


@dataclass(frozen=True)
class Provenance:
    """Where a bundled file's bytes came from: `fetched` holds for a file with this sha256 only."""

    sha256: str
    fetched: str  # ISO 8601: when it was downloaded from the publisher (or the latest it can have been)
    basis: str  # how that is known


@dataclass(frozen=True)
class Measure:
    """A measure of assets/measures.csv: what one source column holds, whatever the source calls it."""

    name: str
    unit: str
    label_nl: str
    aliases: tuple[str, ...]
    # A published cell of this measure is a multiple of this (CBS rounds wijk/buurt counts to 5, 10 or 100, and
    # percentages to 0.1 or 1): it bounds the cell's true value, and so the noise of a change (transform/gaps.py).
    rounding: float | None = None


@dataclass(frozen=True)
class SourceFile:
    """One bundled file or one live table; `area` and `required_measures` override the source's."""

    path: str
    table_id: str
    year: int | None = None
    delimiter: str = ","
    area: dict[str, Any] | None = None
    required_measures: tuple[str, ...] | None = None
    decimal: str = "."  # the file's decimal separator: a number written with the other one is rejected
    provenance: Provenance | None = None


@dataclass(frozen=True)
class LiveSpec:
    """How `heerlen run --live` fetches a source from a CBS OData v3 catalogue (see sources.yaml)."""

    catalogue: str  # opendata | dataderden (CBS OData) | duo (CSV files)
    tables: tuple[SourceFile, ...]
    register: str | None = None  # duo: the school-location register used to place schools
    geo: tuple[str, ...] = ()  # area-code prefixes to fetch; empty = every area
    area: dict[str, Any] = field(default_factory=lambda: {"code_column": "WijkenEnBuurten"})
    period_column: str | None = None
    dimensions: dict[str, dict[str, str]] = field(default_factory=dict)  # {dim: {key: …} or {title: …}}
    row_filter: dict[str, Any] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)  # resolved measure -> this source's measure
    intervals: str | None = None  # a dimension whose other codes are interval bounds of the row_filter's point


@dataclass(frozen=True)
class ReferencePeriod:
    """The period a source's measures describe when it is not the table's year: `period` is a text with
    {year} (the table's year) and {previous} (the year before), e.g. '1 januari {year}'."""

    measures: tuple[str, ...]
    period: str
    note: str = ""

    def text(self, year: int) -> str:
        return self.period.format(year=year, previous=year - 1)


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    publisher: str
    licence: str
    attribution: str
    theme: str
    reader: str
    files: tuple[SourceFile, ...]
    area: dict[str, Any]
    required_measures: tuple[str, ...]
    period_column: str | None = None
    period_columns: dict[str, str] | None = None
    row_filter: dict[str, Any] = field(default_factory=dict)
    live: LiveSpec | None = None
    partitioned: bool = False  # `partitions: year`: raw and staging load (and backfill) one year at a time
    empty_cells: str = "withheld"  # how an empty cell reads beside published ones: withheld | not_applicable
    model_estimate: bool = False  # values are model estimates: their uncertainty is the source's interval
    reference_periods: tuple[ReferencePeriod, ...] = ()

    def years(self) -> tuple[int, ...]:
        """Every year a file or live table of this source covers."""
        tables = self.files + (self.live.tables if self.live else ())
        return tuple(sorted({t.year for t in tables if t.year is not None}))

    def for_year(self, year: int) -> Source:
        """This source restricted to the files and live tables of one year (one partition)."""
        live = self.live and replace(self.live, tables=tuple(t for t in self.live.tables if t.year == year))
        return replace(self, files=tuple(f for f in self.files if f.year == year), live=live)

    def file_area(self, f: SourceFile) -> dict[str, Any]:
        return f.area or self.area

    def file_required(self, f: SourceFile) -> tuple[str, ...]:
        return self.required_measures if f.required_measures is None else f.required_measures

    def live_variant(self) -> Source:
        """This source as fetched live: one 'file' per OData table, read by the same staging code."""
        if self.live is None:
            return self
        live = self.live
        # OData delivers every legend symbol as null, so an empty cell there is never "not applicable" for sure.
        return replace(self, reader="wide", files=live.tables, area=live.area, period_column=live.period_column,
                       period_columns=None, row_filter=live.row_filter, empty_cells="withheld")


@dataclass(frozen=True)
class MeasureRef:
    """A measure, optionally pinned to one source (`source.measure`) when several publish it."""

    measure: str
    source: str | None = None

    @classmethod
    def parse(cls, text: str) -> MeasureRef:
        source, _, measure = text.rpartition(".")
        return cls(measure=measure, source=source or None)


@dataclass(frozen=True)
class Indicator:
    id: str
    theme: str
    name_nl: str
    name_en: str
    definition: str
    unit: str
    direction: str
    youth_focus: bool
    method: str
    decimals: int
    value_range: tuple[float, float]
    numerator: tuple[MeasureRef, ...] = ()
    denominator: tuple[MeasureRef, ...] = ()
    measure: MeasureRef | None = None
    weight: tuple[MeasureRef, ...] = ()
    scale: float = 1.0
    series_breaks: tuple[tuple[int, str], ...] = ()  # (first year of the new definition, why)
    max_change: float | None = None  # relative year-over-year change above which a WARN check fires

    def measure_refs(self) -> list[MeasureRef]:
        refs = [*self.numerator, *self.denominator, *self.weight]
        return refs + ([self.measure] if self.measure else [])


def _refs(value: Any) -> tuple[MeasureRef, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(MeasureRef.parse(str(v)) for v in items)


@lru_cache(maxsize=4)
def load_measures(assets_dir: Path = ASSETS_DIR) -> tuple[Measure, ...]:
    with open(assets_dir / "measures.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    measures = []
    for row in rows:
        if not _NAME.match(row["measure"]):
            raise CatalogError(f"measures.csv: bad measure name {row['measure']!r}")
        aliases = tuple(a for a in row["aliases"].split("|") if a)
        rounding = float(row["rounding"]) if row.get("rounding") else None
        measures.append(Measure(row["measure"], row["unit"], row["label_nl"], aliases, rounding))
    return tuple(measures)


@lru_cache(maxsize=4)
def load_sources(assets_dir: Path = ASSETS_DIR) -> dict[str, Source]:
    spec = yaml.safe_load((assets_dir / "sources.yaml").read_text(encoding="utf-8"))
    known = {m.name for m in load_measures(assets_dir)}
    sources = {}
    for sid, s in spec["sources"].items():
        files = tuple(_source_file(f) for f in s["files"])
        required = tuple(s.get("required_measures", ()))
        live = _live_spec(sid, s["live"]) if s.get("live") else None
        for f in files + (live.tables if live else ()):
            unknown = [m for m in required + (f.required_measures or ()) if m not in known]
            if unknown:
                raise CatalogError(f"sources.yaml: source {sid} requires unknown measures {unknown}")
        sources[sid] = Source(
            id=sid,
            title=s["title"],
            publisher=s["publisher"],
            licence=s["licence"],
            attribution=s["attribution"],
            theme=s["theme"],
            reader=s["reader"],
            files=files,
            area=s["area"],
            required_measures=required,
            period_column=s.get("period_column"),
            period_columns=s.get("period_columns"),
            row_filter=s.get("row_filter", {}),
            live=live,
            partitioned=_partitioned(sid, s, files + (live.tables if live else ())),
            empty_cells=_choice(sid, "empty_cells", s.get("empty_cells", "withheld"), ("withheld", "not_applicable")),
            model_estimate=bool(s.get("model_estimate", False)),
            reference_periods=tuple(_reference_period(sid, r, known) for r in s.get("reference_periods", ())),
        )
    return sources


def _choice(sid: str, key: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise CatalogError(f"sources.yaml: source {sid}: {key} must be one of {allowed}, not {value!r}")
    return value


def _reference_period(sid: str, spec: dict[str, Any], known: set[str]) -> ReferencePeriod:
    measures = tuple(spec["measures"])
    unknown = [m for m in measures if m not in known]
    if unknown:
        raise CatalogError(f"sources.yaml: source {sid}: reference_periods name unknown measures {unknown}")
    try:
        spec["period"].format(year=2000, previous=1999)
    except (KeyError, IndexError, ValueError) as e:
        raise CatalogError(f"sources.yaml: source {sid}: bad reference period {spec['period']!r} ({e})") from None
    return ReferencePeriod(measures, spec["period"], spec.get("note", ""))


def _partitioned(sid: str, spec: dict[str, Any], tables: tuple[SourceFile, ...]) -> bool:
    kind = spec.get("partitions")
    if kind not in (None, "year"):
        raise CatalogError(f"sources.yaml: source {sid}: partitions must be 'year' (or absent), not {kind!r}")
    undated = [t.path for t in tables if t.year is None]
    if kind and undated:
        raise CatalogError(f"sources.yaml: source {sid} is partitioned by year, but {undated} have no year")
    return kind == "year"


def _source_file(spec: dict[str, Any]) -> SourceFile:
    req, prov = spec.get("required_measures"), spec.get("provenance")
    return SourceFile(**{**spec, "required_measures": tuple(req) if req is not None else None,
                         "provenance": Provenance(**prov) if prov else None})


def _live_spec(sid: str, spec: dict[str, Any]) -> LiveSpec:
    if spec.get("catalogue") not in ("opendata", "dataderden", "duo"):
        raise CatalogError(f"sources.yaml: source {sid}: live.catalogue must be opendata, dataderden or duo")
    tables = tuple(_source_file({"path": f"{spec['catalogue']}/{t['table_id']}", **t}) for t in spec["tables"])
    extra = {k: spec[k] for k in ("area", "period_column", "dimensions", "row_filter", "rename", "register",
                                  "intervals") if k in spec}
    return LiveSpec(catalogue=spec["catalogue"], tables=tables, geo=tuple(spec.get("geo", ())), **extra)


def year_keys(sources: Iterable[Source]) -> list[str]:
    """The years of the partitioned sources, as partition keys."""
    return [str(y) for y in sorted({y for s in sources if s.partitioned for y in s.years()})]


@lru_cache(maxsize=4)
def load_warehouse_docs(assets_dir: Path = ASSETS_DIR) -> dict[str, dict[str, Any]]:
    """The published tables' descriptions: {table: {description, columns: {column: text}}} (warehouse.yaml)."""
    with open(assets_dir / "warehouse.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)["tables"]


@lru_cache(maxsize=4)
def load_indicators(assets_dir: Path = ASSETS_DIR) -> tuple[Indicator, ...]:
    known = {m.name for m in load_measures(assets_dir)}
    sources = load_sources(assets_dir)
    indicators: list[Indicator] = []
    for path in sorted((assets_dir / "indicators").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        theme = spec["theme"]
        if theme not in THEMES:
            raise CatalogError(f"{path.name}: unknown theme {theme!r}")
        for d in spec["indicators"]:
            where = f"{path.name}: indicator {d.get('id')}"
            if d["direction"] not in DIRECTIONS or d["method"] not in METHODS:
                raise CatalogError(f"{where}: bad direction or method")
            ind = Indicator(
                id=d["id"],
                theme=theme,
                name_nl=d["name_nl"],
                name_en=d["name_en"],
                definition=" ".join(str(d["definition"]).split()),
                unit=d["unit"],
                direction=d["direction"],
                youth_focus=bool(d.get("youth_focus", False)),
                method=d["method"],
                decimals=int(d.get("decimals", 1)),
                value_range=tuple(d.get("range", (float("-inf"), float("inf")))),
                numerator=_refs(d.get("numerator")),
                denominator=_refs(d.get("denominator")),
                measure=(_refs(d.get("measure")) or (None,))[0],
                weight=_refs(d.get("weight")),
                scale=float(d.get("scale", 1)),
                series_breaks=tuple((int(b["year"]), str(b["note"])) for b in d.get("series_breaks", ())),
                max_change=float(d["max_change"]) if "max_change" in d else None,
            )
            needs = {
                "ratio": ("numerator", "denominator"),
                "school_ratio": ("numerator", "denominator"),
                "weighted_mean": ("measure", "weight"),
                "sum": ("measure",),
                "school_sum": ("measure",),
            }[ind.method]
            for attr in needs:
                if not getattr(ind, attr):
                    raise CatalogError(f"{where}: method {ind.method} needs {attr}")
            for ref in ind.measure_refs():
                if ref.measure not in known:
                    raise CatalogError(f"{where}: unknown measure {ref.measure!r}")
                if ref.source and ref.source not in sources:
                    raise CatalogError(f"{where}: unknown source {ref.source!r}")
            indicators.append(ind)
    ids = [i.id for i in indicators]
    if len(ids) != len(set(ids)):
        raise CatalogError(f"duplicate indicator ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return tuple(indicators)


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    name_en: str


@dataclass(frozen=True)
class FocusArea:
    """assets/areas/focus_areas/<id>.yaml: the programme area (`focus`), the rest of its gemeente, the gemeente and
    the country it is compared with, and its definitions (named wijk lists)."""

    id: str
    focus: Area
    rest: Area
    gemeente: Area
    nation: Area
    default: str
    definitions: dict[str, dict[str, Any]]  # name -> {description, wijken}


DEFAULT_FOCUS_AREA = Settings.focus_area  # heerlen-noord


@lru_cache(maxsize=4)
def load_focus_area(focus_id: str = DEFAULT_FOCUS_AREA, assets_dir: Path = ASSETS_DIR) -> FocusArea:
    path = assets_dir / "areas" / "focus_areas" / f"{focus_id}.yaml"
    if not path.is_file():
        raise CatalogError(f"no focus area {focus_id!r}: {path} does not exist")
    d = yaml.safe_load(path.read_text(encoding="utf-8"))
    return FocusArea(id=d["id"], focus=Area(d["code"], d["name"], d["name_en"]), rest=Area(**d["rest"]),
                     gemeente=Area(**d["gemeente"]), nation=Area(**d["nation"]), default=d["default"],
                     definitions=d["definitions"])


@lru_cache(maxsize=4)
def focus_area_ids(assets_dir: Path = ASSETS_DIR) -> tuple[str, ...]:
    """Read once: Settings checks the focus area every time a step asks for its settings."""
    return tuple(sorted(p.stem for p in (assets_dir / "areas" / "focus_areas").glob("*.yaml")))


@lru_cache(maxsize=4)
def load_cbs_names(assets_dir: Path = ASSETS_DIR) -> tuple[dict[str, str], ...]:
    """Nederland, Heerlen and its wijken and buurten by CBS code and name (areas/cbs_areas.csv): the bundled
    KWB 2016-2020 files name their rows, and these names resolve them, whatever the focus area."""
    with open(assets_dir / "areas" / "cbs_areas.csv", newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


@lru_cache(maxsize=8)
def load_area_spec(assets_dir: Path = ASSETS_DIR, focus_id: str = DEFAULT_FOCUS_AREA) -> dict[str, Any]:
    """The focus area as the area builders read it, with the CBS areas of its gemeente: from cbs_areas.csv where
    that lists them (Heerlen, with its buurten), else the gemeente and its wijken from national_areas.csv."""
    focus = load_focus_area(focus_id, assets_dir)
    spec: dict[str, Any] = {
        "focus": focus, "default": focus.default, "gemeente": focus.gemeente.code,
        "definitions": {name: {"description": d["description"], "noord": d["wijken"]}
                        for name, d in focus.definitions.items()},
        "programme_areas": {focus.focus.code: focus.focus.name, focus.rest.code: focus.rest.name},
    }
    named = [dict(a) for a in load_cbs_names(assets_dir)]
    if any(a["area_code"] == focus.gemeente.code for a in named):
        spec["cbs_areas"] = named
    else:
        own = [dict(a) for a in load_national_areas(assets_dir)
               if focus.gemeente.code in (a["area_code"], a["parent_code"])]
        spec["cbs_areas"] = [a for a in named if a["area_code"] == focus.nation.code] + own
    wijken = {a["area_code"] for a in spec["cbs_areas"] if a["level"] == "wijk"}
    for name, d in spec["definitions"].items():
        unknown = set(d["noord"]) - wijken
        if unknown:
            raise CatalogError(f"focus area {focus.id}: definition {name} names unknown wijken {sorted(unknown)}")
    return spec


@lru_cache(maxsize=4)
def load_national_areas(assets_dir: Path = ASSETS_DIR) -> tuple[dict[str, str], ...]:
    """Every other gemeente and wijk (areas/national_areas.csv), for `--scope national`."""
    path = assets_dir / "areas" / "national_areas.csv"
    if not path.is_file():
        raise CatalogError(f"the national scope needs {path} (see scripts/national_areas.py)")
    with open(path, newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


def scope_areas(scope: str, assets_dir: Path = ASSETS_DIR, focus_id: str = DEFAULT_FOCUS_AREA) -> list[dict[str, str]]:
    """The CBS areas a run computes indicators for: the focus area's gemeente (with NL), plus the rest under
    `national`."""
    return load_area_spec(assets_dir, focus_id)["cbs_areas"] + other_areas(scope, assets_dir, focus_id)


def other_areas(scope: str, assets_dir: Path = ASSETS_DIR, focus_id: str = DEFAULT_FOCUS_AREA) -> list[dict[str, str]]:
    """The areas outside the focus area's gemeente in the scope: none, or every other gemeente and wijk."""
    if scope == "heerlen":
        return []
    known = {a["area_code"] for a in load_area_spec(assets_dir, focus_id)["cbs_areas"]}
    # national_areas.csv leaves out Heerlen's areas (cbs_areas.csv has them): another focus area's build needs them
    everywhere = {a["area_code"]: a for a in (*load_national_areas(assets_dir), *load_cbs_names(assets_dir))
                  if a["level"] != "land"}
    return [a for code, a in everywhere.items() if code not in known]


@dataclass(frozen=True)
class Programme:
    """One of the routekaart's interventions (assets/programmes.yaml): shown as a dated marker on its theme."""

    id: str
    theme: str
    name_nl: str
    name_en: str
    description: str
    areas: str
    start_year: int | None  # the year it started, when a public source gives one
    marker_year: int  # where the charts place it: the start year, or the year it had started by
    start_text: str  # as the source says it: "2021", or "uiterlijk 2022"
    source: str


_BY_YEAR = re.compile(r"^by (\d{4})$")


@lru_cache(maxsize=4)
def load_programmes(assets_dir: Path = ASSETS_DIR) -> tuple[Programme, ...]:
    path = assets_dir / "programmes.yaml"
    if not path.is_file():
        return ()
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for p in spec.get("programmes", ()):
        where = f"programmes.yaml: {p.get('id')}"
        if p.get("theme") not in THEMES:
            raise CatalogError(f"{where}: unknown theme {p.get('theme')!r}")
        start = str(p["start"])
        if start.isdigit() and len(start) == 4:
            year, marker, text = int(start), int(start), start
        elif m := _BY_YEAR.match(start):
            year, marker, text = None, int(m.group(1)), f"uiterlijk {m.group(1)}"
        else:
            raise CatalogError(f"{where}: start must be a year or 'by <year>', not {start!r}")
        out.append(Programme(p["id"], p["theme"], p["name_nl"], p["name_en"], " ".join(str(p["description"]).split()),
                             p["areas"], year, marker, text, " ".join(str(p.get("source") or spec["source"]).split())))
    return tuple(out)
