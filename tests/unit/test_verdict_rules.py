"""The verdict's rules: closing / widening / no clear change / not yet measurable, the noise of the sources and
coverage in people. The outcome tests run the marts' SQL on small series made up here (MADE-UP, never Heerlen
figures); tests/integration/test_verdicts.py recomputes the real values by hand."""

import math

import duckdb
import pandas as pd
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.catalog import Indicator, MeasureRef
from heerlen_pipeline.transform.gaps import gaps_sql, verdicts_sql
from heerlen_pipeline.transform.indicators import Facts, build_indicator_values, measure_sql


def _one(con, sql, params=()):
    rows = con.execute(sql, list(params)).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


# ---------------------------------------------------------------- each outcome on a MADE-UP series

def _marts(values: list[tuple], direction: str = "lower_is_better", breaks: list[tuple] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory marts schema with one MADE-UP indicator X: values are (area, year, value, half, kind, status)."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(f"CREATE TABLE marts.indicators AS SELECT 'X' AS indicator_id, '{direction}' AS direction, "
                "'ratio' AS method")
    frame = pd.DataFrame([{"indicator_id": "X", "area_code": a, "year": y, "value": v, "status": s,
                           "value_lower": None if k == "unknown" else v - h, "value_upper": None if k == "unknown" else v + h,
                           "uncertainty": k} for a, y, v, h, k, s in values])
    con.register("frame", frame)
    con.execute("CREATE TABLE marts.indicator_values AS SELECT * FROM frame")
    con.execute("CREATE TABLE marts.series_breaks (indicator_id VARCHAR, year INTEGER, note VARCHAR)")
    for year, note in breaks:
        con.execute("INSERT INTO marts.series_breaks VALUES ('X', ?, ?)", [year, note])
    con.execute(gaps_sql(catalog.load_focus_area()))
    con.execute(verdicts_sql(catalog.load_focus_area()))
    return con


def _series(noord: dict, nl: dict, half: float = 0.5, kind: str = "rounding", status: dict | None = None) -> list[tuple]:
    status = status or {}
    return ([("HEERLEN-NOORD", y, v, half, kind, status.get(y, "ok")) for y, v in noord.items()]
            + [("NL00", y, v, half, kind, "ok") for y, v in nl.items()])


def _verdict(con, target="nederland") -> dict:
    cur = con.execute("SELECT * FROM marts.gap_verdicts WHERE target = ?", [target])
    return dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))


@pytest.mark.parametrize("noord_2020, expected", [
    (25.0, "closing"),            # gap 10 -> 5: change -5, noise 4 x 0.5 = 2
    (35.0, "widening"),           # gap 10 -> 15
    (28.5, "no clear change"),    # gap 10 -> 8.5: the change (-1.5) is inside the rounding noise (2)
    (28.0, "no clear change"),    # exactly the noise: not more than it
])
def test_verdict_outcomes_against_rounding_noise(noord_2020, expected):
    v = _verdict(_marts(_series({2018: 30.0, 2020: noord_2020}, {2018: 20.0, 2020: 20.0})))
    assert (v["baseline_year"], v["latest_year"], v["noise"], v["verdict"]) == (2018, 2020, 2.0, expected)
    assert v["change"] == pytest.approx(noord_2020 - 30.0)


def test_higher_is_better_closes_when_noord_rises_towards_the_target():
    v = _verdict(_marts(_series({2016: 60.0, 2020: 66.0}, {2016: 75.0, 2020: 75.0}), "higher_is_better"))
    assert (v["change"], v["verdict"]) == (6.0, "closing")
    index = dict(_marts(_series({2016: 60.0, 2020: 66.0}, {2016: 75.0, 2020: 75.0}), "higher_is_better").execute(
        "SELECT year, index_noord_nl FROM marts.gaps").fetchall())
    assert index[2016] == pytest.approx(125.0)   # 100 * 75 / 60: above 100 is worse, whatever the wording


def test_intervals_add_in_quadrature_and_unknown_intervals_are_not_judged():
    # MADE-UP 95% intervals: +-2 around Noord's estimates, +-0.1 around NL's.
    values = [("HEERLEN-NOORD", 2016, 30.0, 2.0, "interval", "ok"), ("HEERLEN-NOORD", 2020, 24.0, 2.0, "interval", "ok"),
              ("NL00", 2016, 20.0, 0.1, "interval", "ok"), ("NL00", 2020, 19.0, 0.1, "interval", "ok")]
    v = _verdict(_marts(values))
    assert v["noise"] == pytest.approx(math.sqrt(2 * 2.0 ** 2 + 2 * 0.1 ** 2)) and v["noise_basis"] == "interval"
    assert (v["change"], v["verdict"]) == (-5.0, "closing")          # 5 > 2.83
    unknown = [(a, y, val, 0.0, "unknown", s) for a, y, val, _h, _k, s in values]
    v = _verdict(_marts(unknown))
    assert (v["noise"], v["verdict"]) == (None, "not yet measurable") and "unknown" in v["reason"]


def test_not_yet_measurable_without_a_later_year_or_across_a_series_break():
    v = _verdict(_marts(_series({2019: 30.0}, {2019: 20.0})))
    assert (v["baseline_year"], v["latest_year"], v["verdict"]) == (2019, None, "not yet measurable")
    v = _verdict(_marts(_series({2018: 30.0, 2024: 20.0}, {2018: 20.0, 2024: 20.0}), breaks=[(2024, "new definition")]))
    assert v["verdict"] == "not yet measurable" and "2024" in v["reason"]


def test_a_low_coverage_value_is_kept_out_of_the_verdict():
    # Noord 2020 rests on too few of its people: published, but not compared.
    con = _marts(_series({2018: 30.0, 2020: 10.0}, {2018: 20.0, 2020: 20.0}, status={2020: "low_coverage"}))
    v = _verdict(con)
    assert (v["latest_year"], v["verdict"]) == (None, "not yet measurable")
    assert _one(con, "SELECT noord, gap_noord_nl FROM marts.gaps WHERE year = 2020") == (None, None)


def test_both_targets_have_their_own_baseline():
    values = _series({2017: 30.0, 2018: 29.0, 2020: 24.0}, {2017: 20.0, 2020: 20.0}) + [
        ("HEERLEN-ZUID", y, v, 0.5, "rounding", "ok") for y, v in {2018: 22.0, 2020: 23.0}.items()]
    con = _marts(values)
    assert (_verdict(con)["baseline_year"], _verdict(con, "zuid")["baseline_year"]) == (2017, 2018)
    assert _verdict(con, "zuid")["change"] == pytest.approx((24 - 23) - (29 - 22))


# ---------------------------------------------------------------- coverage in people, on MADE-UP staging rows

def test_programme_coverage_in_people_and_low_coverage():
    """Three MADE-UP wijken of Noord (8,000 / 1,000 / 1,000 inhabitants). With the large one withheld the value rests
    on 20% of the people: low_coverage, value shown; with a small one withheld, 90%: ok."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    obs = []
    for year, withheld in ((2018, "WK000001"), (2019, "WK000002")):
        for wijk, people in (("WK000001", 8000), ("WK000002", 1000), ("WK000003", 1000)):
            obs.append((wijk, year, "inhabitants", float(people), "ok"))
            obs.append((wijk, year, "bijstand_recipients", None if wijk == withheld else people / 20, "ok"
                        if wijk != withheld else "suppressed"))
    frame = pd.DataFrame(obs, columns=["area_code", "year", "measure", "value", "status"]).assign(
        unit="aantal", symbol=None, source_id="kwb", table_id="T", source_file="made-up", row_nr=0)
    con.register("frame", frame)
    con.execute("CREATE TABLE staging.observations AS SELECT * FROM frame")
    con.execute("CREATE TABLE staging.areas AS SELECT * FROM (VALUES ('WK000001'), ('WK000002'), ('WK000003')) t(area_code)")
    con.execute("CREATE TABLE staging.area_members AS SELECT 'd' AS definition, 'HEERLEN-NOORD' AS area_code, area_code "
                "AS wijk_code FROM staging.areas")
    con.execute("CREATE TABLE staging.intervals (area_code VARCHAR, year INTEGER, measure VARCHAR, value DOUBLE, "
                "status VARCHAR, source_id VARCHAR, side VARCHAR)")
    ind = Indicator(id="X", theme="werken", name_nl="x", name_en="x", definition="x", unit="x", direction="lower_is_better",
                    youth_focus=False, method="ratio", decimals=1, value_range=(0, 1000),
                    numerator=(MeasureRef("bijstand_recipients"),), denominator=(MeasureRef("inhabitants"),), scale=1000)
    con.execute("CREATE SCHEMA indicators")
    build_indicator_values(con, [ind], "indicators.t")
    rows = {y: r for y, *r in con.execute("SELECT year, value, coverage, status FROM indicators.t "
                                          "WHERE area_code = 'HEERLEN-NOORD'").fetchall()}
    assert rows[2018] == [50.0, pytest.approx(0.2), "low_coverage"]   # 100 / 2,000 x 1,000 on 20% of the people
    assert rows[2019] == [50.0, pytest.approx(0.9), "ok"]


def test_rivm_intervals_become_value_bounds_and_programme_bounds_are_weighted():
    """Two MADE-UP wijken of Noord with RIVM-style estimates and 95% bounds (as a live RIVM build lands them):
    a wijk's bounds are its interval; Noord's are the population-weighted means of the wijk bounds."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    obs = [("WK000001", 2020, "good_health_pct", 60.0, "rivm_health"), ("WK000002", 2020, "good_health_pct", 70.0, "rivm_health"),
           ("WK000001", 2020, "inhabitants", 3000.0, "kwb"), ("WK000002", 2020, "inhabitants", 1000.0, "kwb")]
    frame = pd.DataFrame(obs, columns=["area_code", "year", "measure", "value", "source_id"]).assign(
        status="ok", unit="x", symbol=None, table_id="T", source_file="made-up", row_nr=0)
    con.register("frame", frame)
    con.execute("CREATE TABLE staging.observations AS SELECT area_code, year, measure, value, unit, status, symbol, "
                "source_id, table_id, source_file, row_nr FROM frame")
    con.execute("CREATE TABLE staging.intervals AS SELECT * FROM (VALUES "
                "('WK000001', 2020, 'good_health_pct', 57.0, 'ok', 'rivm_health', 'lower'), "
                "('WK000001', 2020, 'good_health_pct', 63.0, 'ok', 'rivm_health', 'upper'), "
                "('WK000002', 2020, 'good_health_pct', 65.0, 'ok', 'rivm_health', 'lower'), "
                "('WK000002', 2020, 'good_health_pct', 74.0, 'ok', 'rivm_health', 'upper')) "
                "t(area_code, year, measure, value, status, source_id, side)")
    con.execute("CREATE TABLE staging.areas AS SELECT * FROM (VALUES ('WK000001'), ('WK000002')) t(area_code)")
    con.execute("CREATE TABLE staging.area_members AS SELECT 'd' AS definition, 'HEERLEN-NOORD' AS area_code, area_code "
                "AS wijk_code FROM staging.areas")
    ind = Indicator(id="H", theme="gezondheid", name_nl="h", name_en="h", definition="h", unit="%",
                    direction="higher_is_better", youth_focus=False, method="weighted_mean", decimals=1,
                    value_range=(0, 100), measure=MeasureRef("good_health_pct"), weight=(MeasureRef("inhabitants"),))
    con.execute("CREATE SCHEMA indicators")
    build_indicator_values(con, [ind], "indicators.t")
    rows = {a: r for a, *r in con.execute("SELECT area_code, value, value_lower, value_upper, uncertainty "
                                          "FROM indicators.t").fetchall()}
    assert rows["WK000002"] == [70.0, 65.0, 74.0, "interval"]
    # Noord: (3,000 x 60 + 1,000 x 70) / 4,000 = 62.5; bounds (3,000 x 57 + 1,000 x 65) / 4,000 = 59.0 and
    # (3,000 x 63 + 1,000 x 74) / 4,000 = 65.75, widened by the weights' rounding: inhabitants are multiples of 5
    # (+-2.5 each): (|60 - 62.5| x 2.5 + |70 - 62.5| x 2.5) / (4,000 - 5) = 25 / 3,995.
    spread = (2.5 * 2.5 + 7.5 * 2.5) / 3995
    assert rows["HEERLEN-NOORD"] == [62.5, pytest.approx(59.0 - spread), pytest.approx(65.75 + spread), "interval"]


def test_a_sum_over_two_tables_names_both_and_a_sum_from_one_names_it():
    """MADE-UP: measure a comes from table T2 and b from T1 for one wijk; the other wijk has both in T1. The sum
    names its tables in text order ('T1 + T2'), and a single table by itself; a NULL table id names nothing."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.observations AS SELECT * FROM (VALUES "
                "('WK1', 2020, 'a', 10.0, 'ok', NULL, 'kwb', 'T2'), ('WK1', 2020, 'b', 5.0, 'ok', NULL, 'kwb', 'T1'), "
                "('WK2', 2020, 'a', 7.0, 'ok', NULL, 'kwb', 'T1'), ('WK2', 2020, 'b', 1.0, 'ok', NULL, 'kwb', 'T1'), "
                "('WK3', 2020, 'a', 2.0, 'ok', NULL, 'kwb', NULL), ('WK3', 2020, 'b', 3.0, 'suppressed', 'x', 'kwb', NULL)) "
                "t(area_code, year, measure, value, status, symbol, source_id, table_id)")
    refs = (MeasureRef("a"), MeasureRef("b"))
    facts = Facts(rounding={}, estimates=frozenset(), sources={})
    rows = {a: r for a, *r in con.execute(f"SELECT area_code, value, status, symbol, tables FROM ({measure_sql(refs, facts)})")
            .fetchall()}
    assert rows == {"WK1": [15.0, "ok", None, "T1 + T2"],  # 10 + 5
                    "WK2": [8.0, "ok", None, "T1"],  # 7 + 1
                    "WK3": [None, "suppressed", "x", None]}
