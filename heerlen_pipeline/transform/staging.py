"""Staging: raw source rows -> typed long observations (area_code, year, measure, value, unit, status).

Rows that cannot be parsed go to `rejected` with the reason; nothing is dropped silently. Rows outside
the scope (other gemeenten in a national file) are counted, not rejected.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace

import pandas as pd

from ..catalog import Source, SourceFile
from ..sources.files import is_footer
from ..sources.headers import MeasureMatcher, SchemaDriftError, UnitMismatch, header_key, squash
from .areas import NameResolver
from .cells import parse_cells

OBS_COLUMNS = ["area_code", "year", "measure", "value", "unit", "status", "symbol", "source_id", "table_id",
               "source_file", "row_nr"]
SCHOOL_COLUMNS = ["area_code", "gemeente_code", "wijk_code"]
REJECT_COLUMNS = ["source_id", "table_id", "source_file", "row_nr", "area", "field", "raw_value", "reason"]
# The published types of the rejected rows and interval bounds: an empty frame would otherwise give NULL-typed columns.
REJECT_TYPES = {**dict.fromkeys(REJECT_COLUMNS, "VARCHAR"), "row_nr": "INTEGER"}
_YEAR_PERIOD = re.compile(r"^(\d{4})(JJ00)?$")


class AreaNotResolved(ValueError):
    pass


@dataclass
class Staged:
    observations: pd.DataFrame
    rejected: pd.DataFrame
    measure_map: pd.DataFrame
    schools: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCHOOL_COLUMNS))
    out_of_scope_rows: int = 0


@dataclass
class _Context:
    source: Source
    file: SourceFile
    matcher: MeasureMatcher
    scope: set[str]
    resolver: NameResolver
    key_map: dict[str, str] | None = None  # live tables: OData key -> measure, resolved from DataProperties

    def where(self) -> str:
        return f"source {self.source.id}, table {self.file.table_id}, file {self.file.path}"

    @property
    def area(self) -> dict:
        return self.source.file_area(self.file)

    @property
    def required(self) -> tuple[str, ...]:
        return self.source.file_required(self.file)


def stage_source(
    source: Source, files: list[tuple[SourceFile, pd.DataFrame]], matcher: MeasureMatcher,
    scope: set[str], resolver: NameResolver, key_maps: dict[str, dict[str, str]] | None = None,
) -> Staged:
    """`key_maps` (table_id -> {key: measure}) is given for live OData tables, whose columns are keys."""
    parts = []
    for f, rows in files:
        ctx = _Context(source, f, matcher, scope, resolver, (key_maps or {}).get(f.table_id))
        reader = {"wide": _read_wide, "statline_export": _read_statline_export}[source.reader]
        parts.append(reader(ctx, rows))
    if not parts:  # a live-only source in a snapshot run
        return Staged(pd.DataFrame(columns=OBS_COLUMNS), pd.DataFrame(columns=REJECT_COLUMNS),
                      pd.DataFrame(columns=["source_column", "measure", "source_id", "table_id", "source_file"]))
    obs = pd.concat([p.observations for p in parts], ignore_index=True)
    dup = obs.duplicated(["area_code", "year", "measure"], keep=False)
    if dup.any():  # two files (or tables) of one source publish the same cell: the indicators would count it twice
        d = obs[dup].sort_values(["area_code", "year", "measure"]).head(2)
        raise SchemaDriftError(
            f"source {source.id}: {d.area_code.iloc[0]} {d.year.iloc[0]} {d.measure.iloc[0]!r} appears more than once "
            f"(in {' and '.join(sorted(set(d.source_file)))})")
    return Staged(
        observations=resolve_empty(obs, source.empty_cells)[OBS_COLUMNS],
        rejected=pd.concat([p.rejected for p in parts], ignore_index=True)[REJECT_COLUMNS],
        measure_map=pd.concat([p.measure_map for p in parts], ignore_index=True),
        schools=pd.concat([p.schools for p in parts], ignore_index=True).drop_duplicates("area_code"),
        out_of_scope_rows=sum(p.out_of_scope_rows for p in parts),
    )


INTERVAL_COLUMNS = ["area_code", "year", "measure", "bound", "value", "status", "source_id", "table_id"]
INTERVAL_TYPES = {**dict.fromkeys(INTERVAL_COLUMNS, "VARCHAR"), "year": "INTEGER", "value": "DOUBLE",
                  "bound_title": "VARCHAR", "side": "VARCHAR"}


def stage_intervals(source: Source, files: list[tuple[SourceFile, pd.DataFrame]], column: str, matcher: MeasureMatcher,
                    scope: set[str], resolver: NameResolver, key_maps: dict[str, dict[str, str]] | None = None,
                    ) -> pd.DataFrame:
    """Interval bounds published next to point estimates (RIVM `Marges`): the rows whose `column` holds
    another code than the point estimate's row_filter, staged the same way, one bound code per row."""
    point = str(source.row_filter[column])
    codes: set[str] = set()
    for _f, rows in files:
        header = [str(h).strip() for h in rows.iloc[0]]
        if column in header:
            codes |= set(rows.iloc[1:, header.index(column)].astype(str).str.strip()) - {point}
    parts = [stage_source(replace(source, row_filter={**source.row_filter, column: code}), files, matcher, scope,
                          resolver, key_maps).observations.assign(bound=code) for code in sorted(codes)]
    return pd.concat(parts, ignore_index=True)[INTERVAL_COLUMNS] if parts else empty_intervals()


def bound_side(code: str, title: str | None) -> str | None:
    """'lower' or 'upper' for an interval bound, from its code (RIVM: MOG… / MBG…) or title (Ondergrens /
    Bovengrens); None for anything else."""
    text = f"{code} {title or ''}".lower()
    if text.startswith("mog") or "ondergrens" in text or "lower" in text:
        return "lower"
    if text.startswith("mbg") or "bovengrens" in text or "upper" in text:
        return "upper"
    return None


def empty_intervals() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "int64" if c == "year" else "object")
                         for c in INTERVAL_COLUMNS})


def _map_headers(ctx: _Context, headers: list[str], skip: set[str]) -> dict[str, str]:
    """header -> measure for every header that names a known measure; fail on missing required ones."""
    mapping: dict[str, str] = {}
    if ctx.key_map is not None:
        mapping = {h: ctx.key_map[h] for h in headers if h in ctx.key_map}
        headers = []  # the key map was checked against DataProperties when the table was fetched
    for h in headers:
        if h in skip or not h.strip():
            continue
        try:
            measure, _unit = ctx.matcher.match(re.sub(r"#\d+$", "", h))
        except UnitMismatch as e:
            raise SchemaDriftError(f"{ctx.where()}: {e}") from None
        if measure is not None:
            mapping[h] = measure.name
    found = set(mapping.values())
    for m in ctx.required:
        if m not in found:
            if ctx.source.period_columns and ctx.source.period_columns.get("measure") == m:
                continue
            labels = ctx.matcher.measures[m].aliases
            by_key = {header_key(h): h for h in headers}
            near = [by_key[k] for k in difflib.get_close_matches(squash(labels[0]), list(by_key), n=3, cutoff=0.5)]
            raise SchemaDriftError(
                f"{ctx.where()}, year {ctx.file.year or '?'}: required measure {m!r} "
                f"(e.g. {labels[0]!r}) not found among {len(headers)} columns; nearest: {near or 'none'}"
            )
    return mapping


def _resolve_area_codes(ctx: _Context, body: pd.DataFrame, headers: list[str]) -> tuple[pd.Series, str]:
    area = ctx.area
    if "name_column" in area:
        col = area["name_column"]
        if col not in headers:
            raise SchemaDriftError(f"{ctx.where()}: region name column {col!r} not found")
        names = body[col].astype(str).tolist()
        codes = pd.Series(ctx.resolver.resolve(names), index=body.index, dtype="object")
        return codes, col
    if "code_columns" in area:  # a code split over columns (DUO before 2021: BRIN_NUMMER + VESTIGINGSNUMMER)
        cols = [ctx.matcher.resolve_column(headers, c) for c in area["code_columns"]]
        if None in cols:
            raise SchemaDriftError(f"{ctx.where()}: region code columns {area['code_columns']} not all found")
        widths = area.get("code_widths", [0] * len(cols))
        parts = [body[c].astype(str).str.strip().str.zfill(w) for c, w in zip(cols, widths, strict=True)]
        return pd.concat(parts, axis=1).agg("".join, axis=1).astype("object"), cols[0]
    col = ctx.matcher.resolve_column(headers, area["code_column"])
    if col is None:
        raise SchemaDriftError(f"{ctx.where()}: region code column {area['code_column']!r} not found")
    codes = body[col].astype(str).str.strip().replace(area.get("code_aliases", {}))
    return codes.astype("object"), col


def _read_wide(ctx: _Context, rows: pd.DataFrame) -> Staged:
    headers = [str(h).strip() for h in rows.iloc[0].tolist()]
    body = rows.iloc[1:].copy()
    body.columns = headers if len(set(headers)) == len(headers) else _dedupe(headers)
    headers = list(body.columns)
    body["row_nr"] = range(2, len(body) + 2)  # 1-based line number in the file
    src = ctx.source
    rejected: list[dict] = []

    # Footer lines such as "Bron: CBS" are part of the export format, not data: one filled cell, in any column.
    body = body[~_footers(body[headers])]

    for col, allowed in src.row_filter.items():
        real = ctx.matcher.resolve_column(headers, col) or col
        if real not in body.columns:
            raise SchemaDriftError(f"{ctx.where()}: filter column {col!r} not found")
        allowed = [str(a) for a in (allowed if isinstance(allowed, list) else [allowed])]
        body = body[body[real].astype(str).str.strip().isin(allowed)]

    codes, area_col = _resolve_area_codes(ctx, body, headers)
    school_level = ctx.area.get("level") == "school"
    unresolved = codes.isna()
    if unresolved.any():
        if ctx.area.get("strict"):
            bad = body.loc[unresolved, area_col].tolist()
            raise AreaNotResolved(f"{ctx.where()}: region names not resolved to CBS codes: {bad}")
    in_scope = codes.notna() & (codes.isin(ctx.scope) | school_level)
    out_of_scope = int((~in_scope).sum())
    body = body[in_scope].assign(area_code=codes[in_scope])

    schools = pd.DataFrame(columns=SCHOOL_COLUMNS)
    if school_level and "gemeente_column" in ctx.area:
        gm = pd.to_numeric(body[ctx.area["gemeente_column"]].str.strip(), errors="coerce")
        schools = pd.DataFrame({"area_code": body.area_code, "gemeente_code": "GM" + gm.astype("Int64").astype(str).str.zfill(4),
                                "wijk_code": None})

    # Period: fixed per file, from a period column, or one column per year.
    skip = {area_col, "row_nr", "area_code", *src.row_filter}
    if src.period_columns:
        pattern = re.compile(src.period_columns["pattern"])
        year_cols = {h: int(m.group(1)) for h in headers if (m := pattern.fullmatch(h))}
        if not year_cols:
            raise SchemaDriftError(f"{ctx.where()}: no column matches the period pattern {pattern.pattern!r}")
        long = body.melt(id_vars=["area_code", "row_nr"], value_vars=list(year_cols), var_name="field", value_name="raw")
        long["year"] = long["field"].map(year_cols)
        long["measure"] = src.period_columns["measure"]
    else:
        if src.period_column:
            pcol = ctx.matcher.resolve_column(headers, src.period_column)
            period = body[pcol].astype(str).str.strip()
            years = period.str.extract(_YEAR_PERIOD)[0]
            for idx in period[years.isna()].index:
                rejected.append(_reject(ctx, body.loc[idx, "row_nr"], body.loc[idx, "area_code"], pcol,
                                        period[idx], "period is not a year code (YYYYJJ00)"))
            body = body[years.notna()].assign(year=years[years.notna()].astype(int))
            skip.add(pcol)
        else:
            body = body.assign(year=ctx.file.year)
        mapping = _map_headers(ctx, headers, skip)
        long = body.melt(id_vars=["area_code", "row_nr", "year"], value_vars=list(mapping), var_name="field", value_name="raw")
        long["measure"] = long["field"].map(mapping)

    staged = _finish(ctx, long, rejected)
    staged.schools = schools
    staged.out_of_scope_rows = out_of_scope
    return staged


def _read_statline_export(ctx: _Context, rows: pd.DataFrame) -> Staged:
    """StatLine 'CSV met metadata': title lines, then Onderwerp / Perioden / unit rows, then one row per region."""
    first = rows["c0"].astype(str).str.strip()
    try:
        topic_i = first[first == "Onderwerp"].index[0]
        period_i = first[first == "Perioden"].index[0]
    except IndexError:
        raise SchemaDriftError(f"{ctx.where()}: no 'Onderwerp'/'Perioden' header rows; not a StatLine export") from None
    unit_i = period_i + 1
    label_col = str(rows.loc[unit_i, "c0"]).strip()
    if label_col != ctx.area["name_column"]:
        raise SchemaDriftError(f"{ctx.where()}: expected region column {ctx.area['name_column']!r}, found {label_col!r}")
    data_cols = [c for c in rows.columns[1:] if str(rows.loc[period_i, c]).strip()]
    columns = {}
    for c in data_cols:
        label = str(rows.loc[topic_i, c]).strip()
        measure, _ = ctx.matcher.match(label)
        unit = str(rows.loc[unit_i, c]).strip()
        if measure is None:
            continue
        if squash(unit) != squash(measure.unit):
            raise SchemaDriftError(f"{ctx.where()}: column {label!r} has unit {unit!r}, expected {measure.unit!r}")
        year = _YEAR_PERIOD.match(str(rows.loc[period_i, c]).strip())
        if not year:
            raise SchemaDriftError(f"{ctx.where()}: period {rows.loc[period_i, c]!r} is not a year")
        columns[c] = (measure.name, int(year.group(1)))
    found = {m for m, _ in columns.values()}
    for m in ctx.required:
        if m not in found:
            raise SchemaDriftError(f"{ctx.where()}: required measure {m!r} not found in the Onderwerp row")
    body = rows.iloc[unit_i + 1 :]
    body = body[~_footers(body)].copy()
    body["row_nr"] = body.index + 1
    names = body["c0"].astype(str).str.strip()
    codes = pd.Series([ctx.resolver.top.get(n) for n in names], index=body.index)
    out_of_scope = int(codes.isna().sum())
    body = body[codes.notna()].assign(area_code=codes[codes.notna()])
    long = body.melt(id_vars=["area_code", "row_nr"], value_vars=list(columns), var_name="field", value_name="raw")
    long["measure"] = long["field"].map(lambda c: columns[c][0])
    long["year"] = long["field"].map(lambda c: columns[c][1])
    long["field"] = long["field"].map(lambda c: f"{rows.loc[topic_i, c]} {rows.loc[period_i, c]}")
    staged = _finish(ctx, long, [])
    staged.out_of_scope_rows = out_of_scope
    return staged


def _finish(ctx: _Context, long: pd.DataFrame, rejected: list[dict]) -> Staged:
    parsed = parse_cells(long["raw"], ctx.file.decimal)
    long = pd.concat([long.reset_index(drop=True), parsed.reset_index(drop=True)], axis=1)
    bad = long[long.status == "error"]
    rejected += [_reject(ctx, r.row_nr, r.area_code, r.field, r.raw, r.error) for r in bad.itertuples()]
    long = long[long.status != "error"]
    # Two headers naming the same measure must agree (the 2024 KWB export repeats 'Aantal inwoners').
    dup = long.duplicated(["area_code", "year", "measure", "row_nr"], keep=False)
    if dup.any():
        clash = long[dup].groupby(["area_code", "year", "measure", "row_nr"])["value"].nunique(dropna=False)
        if (clash > 1).any():
            key = clash[clash > 1].index[0]
            raise SchemaDriftError(f"{ctx.where()}: two columns map to measure {key[2]!r} with different values")
        long = long[~long.duplicated(["area_code", "year", "measure", "row_nr"])]
    units = {m.name: m.unit for m in ctx.matcher.measures.values()}
    obs = pd.DataFrame({
        "area_code": long.area_code.astype(str),
        "year": long.year.astype(int),
        "measure": long.measure,
        "value": long.value,
        "unit": long.measure.map(units),
        "status": long.status,
        "symbol": long.symbol,
        "source_id": ctx.source.id,
        "table_id": ctx.file.table_id,
        "source_file": ctx.file.path,
        "row_nr": long.row_nr.astype(int),
    })
    mm = (long[["field", "measure"]].drop_duplicates()
          .assign(source_id=ctx.source.id, table_id=ctx.file.table_id, source_file=ctx.file.path))
    return Staged(obs, pd.DataFrame(rejected, columns=REJECT_COLUMNS), mm.rename(columns={"field": "source_column"}))


def resolve_empty(obs: pd.DataFrame, reading: str) -> pd.DataFrame:
    """An empty cell is 'missing' when nobody in the file has the measure that year (not (yet) published).
    Otherwise it depends on the file's format (`empty_cells` in sources.yaml): in a StatLine export, which
    prints `.` and `x` where a cell is withheld, an empty cell is 'not_applicable' (the CBS legend); in an
    OData delivery every symbol arrives as null, and a null beside published cells is read as withheld
    ('suppressed'), as CBS does for small areas."""
    published = obs.status.eq("ok").groupby([obs.source_file, obs.year, obs.measure]).transform("any")
    beside = "not_applicable" if reading == "not_applicable" else "suppressed"
    status = obs.status.where(obs.status != "empty", published.map({True: beside, False: "missing"}))
    return obs.assign(status=status)


def _footers(cells: pd.DataFrame) -> pd.Series:
    """Rows shaped like a footer line (raw.is_footer); only rows with one filled cell are looked at closely."""
    out = pd.Series(False, index=cells.index)
    # A row whose first two cells are filled is no footer: only the others (a handful) need every cell looked at.
    first = [cells.iloc[:, i].astype(str).str.strip().ne("") for i in range(min(2, cells.shape[1]))]
    maybe = ~(first[0] & first[1]) if len(first) == 2 else pd.Series(True, index=cells.index)
    text = cells[maybe].astype(str)
    single = text.apply(lambda c: c.str.strip().ne("")).sum(axis=1) == 1
    if single.any():
        out[single[single].index] = [is_footer(r) for r in text[single].itertuples(index=False)]
    return out


def _reject(ctx: _Context, row_nr, area, field_name, raw, reason) -> dict:
    return {"source_id": ctx.source.id, "table_id": ctx.file.table_id, "source_file": ctx.file.path,
            "row_nr": int(row_nr), "area": area, "field": field_name, "raw_value": raw, "reason": reason}


def _dedupe(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(h if n == 0 else f"{h}#{n}")
    return out
