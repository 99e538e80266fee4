"""Staging in the build database: a source's raw rows to long observations (staging.observations), rejected
cells, measure maps, interval bounds and school placements, each one table for every source; and the areas."""

from __future__ import annotations

import duckdb
import pandas as pd

from .. import catalog
from ..sources.headers import MeasureMatcher
from ..store.layout import replace_part
from ..store.tables import all_cores, read_frame, sql_literal, write_frame
from .areas import NameResolver, areas_frame, programme_members
from .staging import OBS_COLUMNS, SCHOOL_COLUMNS, Staged, bound_side, stage_intervals, stage_source


def stage_part(con: duckdb.DuckDBPyConnection, source: catalog.Source, part: str | None, live: bool, scope: set[str],
               matcher: MeasureMatcher, resolver: NameResolver, landed: dict[str, pd.DataFrame] | None = None) -> Staged:
    """Stage one source (or one year of it) from its raw rows into the staging tables; rows of areas
    outside `scope` are counted, not kept. `landed` ({file path: rows}) are the rows the same step has just
    written to raw.rows: the same frames that reading them back would give."""
    src = source.live_variant() if live else source
    of_part = "source_id = ? AND part = ?"
    key = [source.id, part or ""]
    landed = landed or {}
    widths = dict(con.execute("SELECT source_file, width FROM raw.files WHERE source_id = ?", [source.id]).fetchall())
    files = [(f, landed[f.path] if f.path in landed else raw_rows(con, source.id, f.path, widths[f.path]))
             for f in src.files]
    key_maps = None
    if live:  # columns are OData keys, resolved through DataProperties when fetched
        mapping = read_frame(con, f"SELECT table_id, key, measure FROM raw.odata_measures WHERE {of_part} AND used", key)
        key_maps = {t: dict(zip(g.key, g.measure, strict=True)) for t, g in mapping.groupby("table_id")}
    staged = stage_source(src, files, matcher, scope, resolver, key_maps, con)
    replace_part(con, "staging.observations", source.id, part)
    if staged.observations_sql:  # staged in this connection: written from there, no frame in between
        # A copy: the same rows in the same order on any number of threads (every core unless years of the source
        # are staged side by side: 254,040 DUO rows in 0.14 s instead of 0.25 s).
        with all_cores(con):
            con.execute(f"INSERT INTO staging.observations BY NAME SELECT *, ? AS part FROM ({staged.observations_sql})",
                        [part or ""])  # observations_sql names the source already
        con.execute("DROP TABLE _obs")  # the next part stages into a new one; from now on they are read from here:
        staged.observations_sql = (f"SELECT {', '.join(OBS_COLUMNS)} FROM staging.observations "
                                   f"WHERE source_id = {sql_literal(source.id)} AND part = {sql_literal(part or '')}")
    intervals = None
    if live and source.live.intervals:
        titles = dict(con.execute(f"SELECT code, any_value(title) FROM raw.odata_dimensions WHERE {of_part} "
                                  "AND dimension = ? GROUP BY code", [*key, source.live.intervals]).fetchall())
        intervals = stage_intervals(src, files, source.live.intervals, matcher, scope, resolver, key_maps)
        intervals = intervals.assign(bound_title=intervals.bound.map(titles),
                                     side=[bound_side(c, titles.get(c)) for c in intervals.bound])
    replace_part(con, "staging.intervals", source.id, part, intervals)
    placement = read_frame(con, f"SELECT {', '.join(SCHOOL_COLUMNS)} FROM raw.school_placement WHERE {of_part}", key)
    if len(placement):  # DUO live: schools placed by address, not only by gemeente
        staged.schools = placement
    replace_part(con, "staging.rejected", source.id, part, staged.rejected)
    replace_part(con, "staging.measure_map", source.id, part,
                 mapping.rename(columns={"key": "source_column"}) if live else staged.measure_map)
    replace_part(con, "staging.school_places", source.id, part, staged.schools)
    return staged


def raw_rows(con: duckdb.DuckDBPyConnection, source_id: str, source_file: str, width: int) -> pd.DataFrame:
    """A landed file's rows as text columns c0..c<width-1>, in the order received."""
    cols = ", ".join(f"cells[{i + 1}] AS c{i}" for i in range(width))
    return read_frame(con, f"SELECT {cols} FROM raw.rows WHERE source_id = ? AND source_file = ? ORDER BY _row",
                      [source_id, source_file])


def stage_areas(con: duckdb.DuckDBPyConnection, spec: dict, other_areas) -> pd.DataFrame:
    """staging.areas (the CBS areas of the scope and the programme areas) and staging.area_members."""
    areas = areas_frame(spec, other_areas)
    write_frame(con, "staging.areas", areas)
    write_frame(con, "staging.area_members", programme_members(spec))
    return areas
