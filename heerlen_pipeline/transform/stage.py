"""Staging in the build database: a source's raw tables to long observations (staging.obs__<source>), rejected
cells, measure maps, interval bounds and school placements; the areas; and the views that join every source."""

from __future__ import annotations

import duckdb
import pandas as pd

from .. import catalog
from ..sources.files import raw_table_name
from ..sources.headers import MeasureMatcher
from ..store.tables import read_frame, write_frame, write_part
from .areas import NameResolver, areas_frame, programme_members
from .staging import SCHOOL_COLUMNS, Staged, bound_side, empty_intervals, stage_intervals, stage_source


def stage_part(con: duckdb.DuckDBPyConnection, source: catalog.Source, part: str | None, live: bool, scope: set[str],
               matcher: MeasureMatcher, resolver: NameResolver) -> Staged:
    """Stage one source (or one year of it) from its raw tables into the staging tables; rows of areas
    outside `scope` are counted, not kept."""
    src = source.live_variant() if live else source
    suffix = f"__y{part}" if part else ""
    files = [(f, read_frame(con, f"SELECT * EXCLUDE (_row) FROM raw.{raw_table_name(source.id, f.path)} ORDER BY _row"))
             for f in src.files]
    key_maps = None
    if live:  # columns are OData keys, resolved through DataProperties when fetched
        mapping = con.execute(f"SELECT * FROM raw.odata_measures__{source.id}{suffix}").df()
        used = mapping[mapping.used]
        key_maps = {t: dict(zip(g.key, g.measure, strict=True)) for t, g in used.groupby("table_id")}
    staged = stage_source(src, files, matcher, scope, resolver, key_maps)
    intervals = empty_intervals().assign(bound_title=pd.Series(dtype="object"), side=pd.Series(dtype="object"))
    if live and source.live.intervals:
        titles = dict(con.execute(f"SELECT code, any_value(title) FROM raw.odata_dimensions__{source.id}{suffix} "
                                  "WHERE dimension = ? GROUP BY code", [source.live.intervals]).fetchall())
        intervals = stage_intervals(src, files, source.live.intervals, matcher, scope, resolver, key_maps)
        intervals = intervals.assign(bound_title=intervals.bound.map(titles),
                                     side=[bound_side(c, titles.get(c)) for c in intervals.bound])
    write_part(con, f"staging.intervals__{source.id}", part, intervals)
    placement = con.execute(f"SELECT * FROM raw.school_placement__{source.id}{suffix}").df()
    if len(placement):  # DUO live: schools placed by address, not only by gemeente
        staged.schools = placement[SCHOOL_COLUMNS]
    write_part(con, f"staging.obs__{source.id}", part, staged.observations)
    write_part(con, f"staging.rejected__{source.id}", part, staged.rejected)
    write_part(con, f"staging.measure_map__{source.id}", part, mapping if live else staged.measure_map)
    if len(staged.schools):
        write_part(con, f"staging.schools__{source.id}", part, staged.schools)
    return staged


def stage_areas(con: duckdb.DuckDBPyConnection, spec: dict, other_areas) -> pd.DataFrame:
    """staging.areas (the CBS areas of the scope and the programme areas) and staging.area_members."""
    areas = areas_frame(spec, other_areas)
    write_frame(con, "staging.areas", areas)
    write_frame(con, "staging.area_members", programme_members(spec))
    return areas


def join_sources(con: duckdb.DuckDBPyConnection, source_ids) -> int:
    """staging.observations, staging.intervals and staging.schools: views over every source's staging tables.
    Returns the number of observations."""
    union = " UNION ALL ".join(f"SELECT * FROM staging.obs__{sid}" for sid in source_ids)
    con.execute(f"CREATE OR REPLACE VIEW staging.observations AS {union}")
    intervals = " UNION ALL ".join(f"SELECT * FROM staging.intervals__{sid}" for sid in source_ids)
    con.execute(f"CREATE OR REPLACE VIEW staging.intervals AS {intervals}")
    school_tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'staging' AND table_name LIKE 'schools__%'"
    ).fetchall()]
    schools = " UNION ALL ".join(f"SELECT * FROM staging.{t}" for t in school_tables) or \
        "SELECT NULL::VARCHAR AS area_code, NULL::VARCHAR AS gemeente_code, NULL::VARCHAR AS wijk_code WHERE false"
    con.execute("CREATE OR REPLACE VIEW staging.schools AS SELECT DISTINCT ON (area_code) * "
                f"FROM ({schools}) ORDER BY area_code, wijk_code NULLS LAST")  # the most precise placement
    return con.execute("SELECT count(*) FROM staging.observations").fetchall()[0][0]
