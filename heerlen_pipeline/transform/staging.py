"""Staging: raw source rows -> typed long observations (area_code, year, measure, value, unit, status).

Rows that cannot be parsed go to `rejected` with the reason; nothing is dropped silently. Rows outside
the scope (other gemeenten in a national file) are counted, not rejected.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from functools import cached_property

import duckdb
import pandas as pd

from ..catalog import Source, SourceFile
from ..sources.files import is_footer
from ..sources.headers import MeasureMatcher, SchemaDriftError, UnitMismatch, header_key, squash
from ..store.layout import OBS_TYPES
from ..store.tables import column_defs, sql_array, sql_literal
from .areas import NameResolver
from .cells import cell_sql, clean_sql, status_sql

OBS_COLUMNS = list(OBS_TYPES)
SCHOOL_COLUMNS = ["area_code", "gemeente_code", "wijk_code"]
REJECT_COLUMNS = ["source_id", "table_id", "source_file", "row_nr", "area", "field", "raw_value", "reason"]
# The published types of the rejected rows and interval bounds: an empty frame would otherwise give NULL-typed columns.
REJECT_TYPES = {**dict.fromkeys(REJECT_COLUMNS, "VARCHAR"), "row_nr": "INTEGER"}
_YEAR_PERIOD = re.compile(r"^(\d{4})(JJ00)?$")


class AreaNotResolved(ValueError):
    pass


@dataclass
class Staged:
    rejected: pd.DataFrame
    measure_map: pd.DataFrame
    schools: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCHOOL_COLUMNS))
    out_of_scope_rows: int = 0
    # The observations stay in DuckDB: a query (OBS_COLUMNS) on the connection `con`.
    observations_sql: str | None = None
    con: duckdb.DuckDBPyConnection | None = None

    @cached_property
    def observations(self) -> pd.DataFrame:
        """The observations as a frame (for tests and small sources; stage_part writes them by SQL)."""
        if self.observations_sql is None:
            return pd.DataFrame(columns=OBS_COLUMNS)
        return self.con.sql(self.observations_sql).to_arrow_table().to_pandas()


@dataclass
class _Context:
    source: Source
    file: SourceFile
    matcher: MeasureMatcher
    scope: set[str]
    resolver: NameResolver
    key_map: dict[str, str] | None = None  # live tables: OData key -> measure, resolved from DataProperties
    con: duckdb.DuckDBPyConnection | None = None  # where the cells are unpivoted and parsed (see _finish)
    n: int = 0  # the file's place among the source's files (`_f` of its cells)

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
    con: duckdb.DuckDBPyConnection | None = None,
) -> Staged:
    """`key_maps` (table_id -> {key: measure}) is given for live OData tables, whose columns are keys.

    The rows are read in pandas (headers, footers, filters, areas: work per row); their cells are unpivoted,
    parsed and resolved by DuckDB (work per cell, see _finish) in the temporary table `_obs` of `con` (a
    connection of its own when not given), where the observations stay: see Staged.observations_sql."""
    con = con or duckdb.connect()
    con.execute(f"CREATE OR REPLACE TEMP TABLE _obs ({column_defs(OBS_TYPES)}, field VARCHAR, raw VARCHAR, error VARCHAR, "
                "_f INTEGER, _pos INTEGER, _i BIGINT)")
    units = {m.name: m.unit for m in matcher.measures.values()}
    con.register("_units", pd.DataFrame({"measure": list(units), "unit": list(units.values())}))
    parts = []
    for n, (f, rows) in enumerate(files):
        ctx = _Context(source, f, matcher, scope, resolver, (key_maps or {}).get(f.table_id), con, n)
        reader = {"wide": _read_wide, "statline_export": _read_statline_export}[source.reader]
        parts.append(reader(ctx, rows))
    con.unregister("_units")
    if not parts:  # a live-only source in a snapshot run
        return Staged(pd.DataFrame(columns=REJECT_COLUMNS),
                      pd.DataFrame(columns=["source_column", "measure", "source_id", "table_id", "source_file"]))
    kept = "(SELECT * FROM _obs WHERE status <> 'error')"
    con.execute(resolve_empty_sql("_obs", source.empty_cells, file_key="_f"))
    dup = con.execute(f"SELECT area_code, year, measure FROM {kept} GROUP BY ALL HAVING count(*) > 1 "
                      "ORDER BY ALL LIMIT 1").fetchall()
    paths = [f.path for f, _rows in files]
    if dup:  # two files (or tables) of one source publish the same cell: the indicators would count it twice
        area, year, measure = dup[0]
        in_files = con.execute(f"SELECT _f FROM {kept} WHERE area_code = ? AND year = ? AND measure = ? "
                               "ORDER BY _f, _pos, _i LIMIT 2", dup[0]).fetchall()
        raise SchemaDriftError(f"source {source.id}: {area} {year} {measure!r} appears more than once "
                               f"(in {' and '.join(sorted({paths[f] for (f,) in in_files}))})")
    # A file's source, table and path, by its number: the same on each of its cells, so not stored on each
    per_file = {"source_id": sql_literal(source.id),
                "table_id": f"{sql_array([f.table_id for f, _rows in files])}[_f + 1]",
                "source_file": f"{sql_array(paths)}[_f + 1]"}
    return Staged(
        rejected=pd.concat([p.rejected for p in parts], ignore_index=True)[REJECT_COLUMNS],
        measure_map=pd.concat([p.measure_map for p in parts], ignore_index=True),
        schools=pd.concat([p.schools for p in parts], ignore_index=True).drop_duplicates("area_code"),
        out_of_scope_rows=sum(p.out_of_scope_rows for p in parts),
        # In the order _finish wrote them, not sorted back into melt order: for a national KWB's millions of cells
        # that costs seconds and changes no published value (every use aggregates or orders them itself).
        observations_sql=f"SELECT {', '.join(f'{per_file[c]} AS {c}' if c in per_file else c for c in OBS_COLUMNS)} "
                         f"FROM {kept}",
        con=con,
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
        columns = [(h, h, src.period_columns["measure"], y) for h, y in year_cols.items()]
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
        columns = [(h, h, m, None) for h, m in _map_headers(ctx, headers, skip).items()]

    staged = _finish(ctx, body, columns, rejected)
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
    fields = [(c, f"{rows.loc[topic_i, c]} {rows.loc[period_i, c]}", *columns[c]) for c in columns]
    staged = _finish(ctx, body, fields, [])
    staged.out_of_scope_rows = out_of_scope
    return staged


def _finish(ctx: _Context, body: pd.DataFrame, columns: list[tuple[str, str, str, int | None]],
            rejected: list[dict]) -> Staged:
    """The cells of `body`'s value columns, unpivoted and parsed by DuckDB into `_obs` in one statement.

    `body` has one row per source row (row_nr, area_code, and year unless every column has its own); `columns`
    are (column of body, field as named in the measure map, measure, year or None). Cells that are no number go
    to `rejected`. `_pos` and `_i` keep melt order (column by column, rows in file order)."""
    con, n = ctx.con, ctx.n
    names = [f"v{k}" for k in range(len(columns))]
    # .array keeps pandas' Arrow-backed text as it is: no Python object per cell on the way into DuckDB.
    con.register("_body", pd.DataFrame({
        "_i": range(len(body)), "row_nr": body["row_nr"].to_numpy(), "area_code": body["area_code"].astype(str).array,
        "year": body["year"].to_numpy() if "year" in body else None,
        **{v: body[c].array for v, (c, *_rest) in zip(names, columns, strict=True)}}))
    con.register("_cols", pd.DataFrame({"col": names, "_pos": range(len(columns)), "field": [c[1] for c in columns],
                                        "measure": [c[2] for c in columns],
                                        "col_year": pd.array([c[3] for c in columns], dtype="Int64")}))
    # Unpivot as unnest of two lists: NULLs kept (an absent cell is resolved like an empty one), and no columns
    # at all (a file without a known measure) is an empty list, where UNPIVOT refuses.
    unpivot = (f"SELECT _i, row_nr, area_code, year::BIGINT AS year, unnest({[*names]}::VARCHAR[]) AS col, "
               f"unnest([{', '.join(f'{v}::VARCHAR' for v in names)}]::VARCHAR[]) AS raw FROM _body")
    cells = cell_sql("text", "status", ctx.file.decimal)
    con.execute(f"""INSERT INTO _obs BY NAME
        SELECT area_code, year, measure, unit, status, row_nr, _pos, _i,
               -- kept for a rejected cell only: on millions of cells the field's name and text were most of _obs
               CASE WHEN status = 'error' THEN field END AS field, CASE WHEN status = 'error' THEN raw END AS raw,
               {', '.join(f'{e} AS {c}' for c, e in cells.items())}, ? AS _f
        FROM (SELECT *, {status_sql('text', ctx.file.decimal)} AS status
              FROM (SELECT l._i, l.row_nr, l.area_code, coalesce(c.col_year, l.year) AS year, c.measure, u.unit,
                           c.field, c._pos, l.raw, {clean_sql('l.raw')} AS text
                    FROM ({unpivot}) l JOIN _cols c USING (col) LEFT JOIN _units u USING (measure)))""",
                [n])  # the file's source, table and path are looked up by _f when the rows are read (stage_source)
    con.unregister("_body")
    bad = con.execute("SELECT row_nr, area_code, field, raw, error FROM _obs WHERE _f = ? AND status = 'error' "
                      "ORDER BY _pos, _i", [n]).fetchall()
    rejected += [_reject(ctx, *r) for r in bad]
    if len({(c[2], c[3]) for c in columns}) < len(columns):
        # Two headers naming the same measure must agree (the 2024 KWB export repeats 'Aantal inwoners').
        clash = con.execute("""SELECT measure FROM _obs WHERE _f = ? AND status <> 'error'
                               GROUP BY area_code, year, measure, row_nr
                               HAVING count(DISTINCT value) + (count(value) < count(*))::INTEGER > 1
                               ORDER BY area_code, year, measure, row_nr LIMIT 1""", [n]).fetchall()
        if clash:
            raise SchemaDriftError(f"{ctx.where()}: two columns map to measure {clash[0][0]!r} with different values")
        con.execute("""DELETE FROM _obs o WHERE _f = ? AND status <> 'error' AND EXISTS (
                           SELECT 1 FROM _obs p WHERE p._f = o._f AND p.status <> 'error' AND p.area_code = o.area_code
                           AND p.year = o.year AND p.measure = o.measure AND p.row_nr = o.row_nr AND p._pos < o._pos)""",
                    [n])
    mm = con.sql("SELECT field AS source_column, measure FROM _cols WHERE _pos IN (SELECT _pos FROM _obs WHERE _f = ? "
                 "AND status <> 'error') GROUP BY field, measure ORDER BY min(_pos)", params=[n]).to_arrow_table().to_pandas()
    con.unregister("_cols")
    mm = mm.assign(source_id=ctx.source.id, table_id=ctx.file.table_id, source_file=ctx.file.path)
    return Staged(pd.DataFrame(rejected, columns=REJECT_COLUMNS), mm)


def resolve_empty_sql(table: str, reading: str, file_key: str = "source_file") -> str:
    """An UPDATE that resolves the empty cells of `table` (with `file_key`, year, measure, status) in place.

    An empty cell is 'missing' when nobody in the file has the measure that year (not (yet) published).
    Otherwise it depends on the file's format (`empty_cells` in sources.yaml): in a StatLine export, which
    prints `.` and `x` where a cell is withheld, an empty cell is 'not_applicable' (the CBS legend); in an
    OData delivery every symbol arrives as null, and a null beside published cells is read as withheld
    ('suppressed'), as CBS does for small areas. In place, so the rows keep their order: a join would return
    them in another order on every run once it runs on more than one thread."""
    beside = "not_applicable" if reading == "not_applicable" else "suppressed"
    return f"""UPDATE {table} SET status = CASE WHEN p.published THEN '{beside}' ELSE 'missing' END
               FROM (SELECT {file_key}, year, measure, bool_or(status = 'ok') AS published
                     FROM {table} GROUP BY ALL) p
               WHERE {table}.status = 'empty' AND {table}.{file_key} = p.{file_key} AND {table}.year = p.year
                 AND {table}.measure = p.measure"""


def resolve_empty(obs: pd.DataFrame, reading: str) -> pd.DataFrame:
    """resolve_empty_sql over a frame of observations."""
    con = duckdb.connect()
    con.register("_frame", obs.assign(_i=range(len(obs)))[["_i", "source_file", "year", "measure", "status"]])
    con.execute("CREATE TABLE _o AS SELECT * FROM _frame")
    con.execute(resolve_empty_sql("_o", reading))
    resolved = con.execute("SELECT status FROM _o ORDER BY _i").fetchall()
    return obs.assign(status=[s for (s,) in resolved])


def _footers(cells: pd.DataFrame) -> pd.Series:
    """Rows shaped like a footer line (raw.is_footer); only rows with one filled cell are looked at closely."""
    out = pd.Series(False, index=cells.index)
    # A row whose first two cells are filled is no footer: only the others (a handful) need every cell looked at.
    first = [cells.iloc[:, i].astype(str).str.strip().ne("") for i in range(min(2, cells.shape[1]))]
    maybe = ~(first[0] & first[1]) if len(first) == 2 else pd.Series(True, index=cells.index)
    # Row by row in Python: they are few, and pandas' work per column cost 0.1 s for a 100-column KWB file.
    if maybe.any():
        out[maybe] = [is_footer([str(v) for v in row]) for row in cells[maybe].to_numpy(dtype=object)]
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
