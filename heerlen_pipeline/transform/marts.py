"""The marts built in the build database from the staged and indicator tables: the catalogue tables
(indicators, programmes, series breaks, areas), the indicator values under the build's area definition and the
programme values under every definition, and the audit marts (sources, rejected rows, intervals, checks, build)."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd

from .. import catalog
from ..store.tables import sql_list, sql_literal, write_frame
from .indicators import VALUE_COLUMNS
from .staging import INTERVAL_TYPES, REJECT_TYPES


def indicator_catalogue(sources: dict[str, catalog.Source], indicators, published: dict[str, set[str]]) -> pd.DataFrame:
    """marts.indicators; `published` maps each source to the measures it actually delivered."""

    declared = {sid: set(s.required_measures) for sid, s in sources.items()}

    def find(ref: catalog.MeasureRef) -> tuple[set[str], set[str]]:
        """The sources that delivered `ref` in this build, and (if none) those that would deliver it."""
        delivered = {ref.source} if ref.source else {s for s, ms in published.items() if ref.measure in ms}
        # Not delivered in this build (a live-only source in a snapshot run): name where it would come from.
        return delivered, set() if delivered else {s for s, ms in declared.items() if ref.measure in ms}

    def attribution(ind: catalog.Indicator) -> str:
        found, absent = set(), set()
        for ref in ind.measure_refs():
            delivered, would = find(ref)
            found, absent = found | delivered, absent | would
        text = "; ".join(sources[s].attribution for s in sorted(found | absent))
        return text + (" (niet alle bronnen in deze build)" if absent else "")

    def licence(ind: catalog.Indicator) -> str:
        return ", ".join(sorted({sources[s].licence for ref in ind.measure_refs() for s in set().union(*find(ref))}))

    def estimate(ind: catalog.Indicator) -> bool:
        """The value itself (not its base or weight) is a model estimate."""
        refs = (ind.measure,) if ind.measure else ind.numerator
        return any(sources[s].model_estimate for r in refs for s in set().union(*find(r)))

    return pd.DataFrame([{
        "indicator_id": i.id, "theme": i.theme, "name_nl": i.name_nl, "name_en": i.name_en,
        "definition": i.definition, "unit": i.unit, "direction": i.direction, "method": i.method,
        "source": attribution(i),
        "licence": licence(i), "youth_focus": i.youth_focus, "decimals": i.decimals, "model_estimate": estimate(i),
    } for i in indicators])


def programmes_frame() -> pd.DataFrame:
    """marts.programmes: the routekaart's interventions (assets/programmes.yaml)."""
    columns = ["programme_id", "theme", "name_nl", "name_en", "description", "areas", "start_year", "start_text",
               "marker_year", "source"]
    return pd.DataFrame([{"programme_id": p.id, "theme": p.theme, "name_nl": p.name_nl, "name_en": p.name_en,
                          "description": p.description, "areas": p.areas, "start_year": p.start_year,
                          "start_text": p.start_text, "marker_year": p.marker_year, "source": p.source}
                         for p in catalog.load_programmes()], columns=columns).astype({"start_year": "Int64"})

def build_value_marts(con: duckdb.DuckDBPyConnection, definition: str, sources: dict[str, catalog.Source],
                      indicators, themes: list[str]) -> int:
    """marts.indicators, programmes, series_breaks, areas, indicator_values and programme_values from the theme
    tables `indicators.<theme>`. Returns the number of indicator values."""
    cols = ", ".join(c for c in VALUE_COLUMNS if c != "definition")
    published = {sid: set(ms) for sid, ms in con.execute(
        "SELECT source_id, list(DISTINCT measure) FROM staging.observations WHERE status = 'ok' GROUP BY 1").fetchall()}
    write_frame(con, "marts.indicators", indicator_catalogue(sources, indicators, published))
    write_frame(con, "marts.programmes", programmes_frame())
    write_frame(con, "marts.series_breaks", pd.DataFrame(
        [{"indicator_id": i.id, "year": y, "note": note} for i in indicators for y, note in i.series_breaks],
        columns=["indicator_id", "year", "note"]))
    con.execute("CREATE OR REPLACE TABLE marts.areas AS SELECT * FROM staging.areas ORDER BY definition, level, area_code")
    union = " UNION ALL ".join(f"SELECT * FROM indicators.{t}" for t in themes)
    con.execute(f"CREATE OR REPLACE TEMP VIEW all_values AS {union}")
    # A view, not a copy: the theme tables hold their values in published order (indicator_id, area_code, year;
    # indicators.build_indicator_values), so reading them theme by theme in the order of their indicators gives the
    # mart in that order, and publish writes its 3.9 million national rows once, into the analysts' warehouse.
    theme_of = {iid: t for t in themes for (iid,) in con.execute(f"SELECT DISTINCT indicator_id FROM indicators.{t}")
                .fetchall()}
    runs = [f"SELECT {cols} FROM indicators.{theme} WHERE indicator_id IN {sql_list(ids)} "
            f"AND (definition IS NULL OR definition = {sql_literal(definition)})" for theme, ids in _theme_runs(theme_of)]
    con.execute("CREATE OR REPLACE VIEW marts.indicator_values AS "
                + (" UNION ALL ".join(runs) or f"SELECT {cols} FROM indicators.{themes[0]} WHERE false"))
    con.execute(f"CREATE OR REPLACE TABLE marts.programme_values AS SELECT definition, {cols} FROM all_values "
                "WHERE definition IS NOT NULL ORDER BY definition, indicator_id, area_code, year")
    return con.execute("SELECT count(*) FROM marts.indicator_values").fetchall()[0][0]


def _theme_runs(theme_of: dict[str, str]) -> list[tuple[str, list[str]]]:
    """The indicators in code-point order (as SQL's ORDER BY on text), as runs of consecutive ones that lie in one
    theme table: one run per theme while their indicator ids do not interleave."""
    runs: list[tuple[str, list[str]]] = []
    for iid in sorted(theme_of):
        if runs and runs[-1][0] == theme_of[iid]:
            runs[-1][1].append(iid)
        else:
            runs.append((theme_of[iid], [iid]))
    return runs


def _typed(types: dict[str, str]) -> str:
    """Every column with its declared type, so a table that is empty in this build is typed all the same."""
    return ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types.items())


def build_audit_marts(con: duckdb.DuckDBPyConnection, sources: dict[str, catalog.Source], run_id: str,
                      build: dict) -> None:
    """marts.sources, rejected_rows, estimate_intervals, check_results (this run's) and build_info (`build`: the
    code version and stamp of this build)."""
    con.execute("""CREATE OR REPLACE TABLE marts.sources AS
        SELECT f.source_id, f.table_id, f.year, f.source_file, NULL::VARCHAR AS title, NULL::VARCHAR AS publisher,
               NULL::VARCHAR AS licence, NULL::VARCHAR AS attribution, f.fetched_at, f.fetched_basis, f.sha256, f.rows
        FROM raw.files f WHERE list_contains(?, f.source_id)  -- a build DB may remember retired sources
        ORDER BY source_id, source_file""", [list(sources)])
    for sid, src in sources.items():
        con.execute("UPDATE marts.sources SET title = ?, publisher = ?, licence = ?, attribution = ? WHERE source_id = ?",
                    [src.title, src.publisher, src.licence, src.attribution, sid])
    con.execute(f"CREATE OR REPLACE TABLE marts.rejected_rows AS SELECT {_typed(REJECT_TYPES)} FROM staging.rejected "
                "WHERE list_contains(?, source_id) ORDER BY source_id, source_file, row_nr", [list(sources)])
    con.execute(f"CREATE OR REPLACE TABLE marts.estimate_intervals AS SELECT {_typed(INTERVAL_TYPES)} "
                "FROM staging.intervals WHERE list_contains(?, source_id) ORDER BY measure, area_code, year, bound",
                [list(sources)])
    con.execute("CREATE OR REPLACE TABLE marts.check_results AS SELECT * FROM audit.check_results "
                "WHERE run_id = ? ORDER BY asset, check_name", [run_id])
    write_frame(con, "marts.build_info", pd.DataFrame([{**build, "run_id": run_id, "built_at": datetime.now(UTC),
                                                         "attribution": attribution(sources.values())}]))


def attribution(sources) -> str:
    """"Bron: CBS; RIVM/CBS; …" with the licence(s): every publisher once, in the order of sources.yaml."""
    publishers = dict.fromkeys(s.publisher for s in sources)
    licences = dict.fromkeys(s.licence for s in sources)
    return f"Bron: {'; '.join(publishers)} ({', '.join(licences)})"
