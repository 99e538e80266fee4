"""The verdict: oriented index, baselines per target, the noise of the sources, and closing / widening / no clear
change / not yet measurable. Real values are recomputed by hand from the bundled files; the outcome tests run the
marts' SQL on small series made up here (MADE-UP, never Heerlen figures)."""

import math

import duckdb
import pandas as pd
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.catalog import Indicator, MeasureRef
from heerlen_pipeline.transform.gaps import gaps_sql, verdicts_sql
from heerlen_pipeline.transform.indicators import build_indicator_values


def _one(con, sql, params=()):
    rows = con.execute(sql, list(params)).fetchall()
    assert len(rows) == 1, rows
    return rows[0]


# ---------------------------------------------------------------- the bundled real data, by hand

def test_values_are_unrounded_and_the_index_is_oriented(wh):
    # WRK-01 2019 (KWB 2019): the 13 Noord wijken with a published bijstand count add up to 3,070 recipients and
    # 53,265 inhabitants (De Hei is withheld); NL: 431,360 / 17,282,163.
    noord, nl = 3070 / 53265 * 1000, 431360 / 17282163 * 1000     # 57.6363..., 24.9598...
    value, num, den = _one(wh, "SELECT value, numerator, denominator FROM marts.indicator_values WHERE indicator_id = "
                               "'WRK-01' AND area_code = 'HEERLEN-NOORD' AND year = 2019")
    assert (num, den) == (3070, 53265) and value == pytest.approx(noord, abs=1e-9)  # not 57.6
    index = _one(wh, "SELECT index_noord_nl FROM marts.gaps WHERE indicator_id = 'WRK-01' AND year = 2019")[0]
    assert index == pytest.approx(100 * noord / nl, abs=1e-9) and round(index, 1) == 230.9  # 230.4 from rounded values
    # LEA-06 (higher is better) 2019: Noord 6,310 of 41,700 with a known level are hbo/wo; NL 3,988,760 of 13,210,360.
    # Noord is about half of NL: 100 * NL / Noord is about 200, as a doubling is on a lower-is-better indicator.
    lea = 100 * (3988760 / 13210360) / (6310 / 41700)              # 199.54
    assert _one(wh, "SELECT index_noord_nl FROM marts.gaps WHERE indicator_id = 'LEA-06' AND year = 2019")[0] \
        == pytest.approx(lea, abs=1e-9) and round(lea, 1) == 199.5
    # Context indicators get no index, closure, trajectory or verdict.
    assert wh.execute("SELECT count(*) FROM marts.gaps g JOIN marts.indicators i USING (indicator_id) "
                      "WHERE i.direction = 'context' AND (index_noord_nl IS NOT NULL OR closure_since_baseline IS NOT NULL "
                      "OR trajectory_target IS NOT NULL OR on_track IS NOT NULL OR on_track_zuid IS NOT NULL)").fetchone()[0] == 0
    assert _one(wh, "SELECT count(*) FROM marts.gaps WHERE indicator_id = 'HOU-02' AND index_noord_nl IS NOT NULL")[0] == 0
    assert _one(wh, "SELECT count(*) FROM marts.gap_verdicts v JOIN marts.indicators i USING (indicator_id) "
                    "WHERE i.direction = 'context'")[0] == 0


def test_one_baseline_rule_for_both_targets(wh):
    rows = dict(((i, t), (b, lt)) for i, t, b, lt in wh.execute(
        "SELECT indicator_id, target, baseline_year, latest_year FROM marts.gap_verdicts").fetchall())
    # WRK-01: NL has a KWB row in 2017 and 2019 only, so the latest year up to 2018 with both is 2017; Zuid has 2018.
    assert rows[("WRK-01", "nederland")] == (2017, 2019)
    assert rows[("WRK-01", "zuid")] == (2018, 2020)
    # HLT-03 (RIVM 2012/2016/2020): no Noord value in 2012 (no KWB weights), so 2016; compared with 2020.
    assert rows[("HLT-03", "nederland")] == (2016, 2020)
    # LEA-03: education levels from KWB 2019 only: no year up to 2018, so the earliest later one, and nothing after.
    assert rows[("LEA-03", "nederland")] == (2019, None)
    gaps = {y: (t, o) for y, t, o in wh.execute("SELECT year, trajectory_target, on_track FROM marts.gaps "
                                                 "WHERE indicator_id = 'WRK-01' ORDER BY year").fetchall()}
    # on_track is NULL on and before the baseline year, and the path starts at the baseline gap
    assert gaps[2016] == (None, None) and gaps[2017][1] is None
    base_gap = 3520 / 53740 * 1000 - 471190 / 17081507 * 1000      # 37.9158
    assert gaps[2017][0] == pytest.approx(base_gap) and gaps[2019] == (pytest.approx(base_gap * 28 / 30), True)


def test_wrk01_closes_on_nl_by_more_than_the_rounding_noise(wh):
    v = dict(zip(["baseline_gap", "latest_gap", "change", "noise", "verdict", "noise_basis", "closure"], _one(
        wh, "SELECT baseline_gap, latest_gap, change, noise, verdict, noise_basis, closure FROM marts.gap_verdicts "
            "WHERE indicator_id = 'WRK-01' AND target = 'nederland'"), strict=True))

    def half(num, den, a, b):  # the widest side of [ (num-a)/(den+b), (num+a)/(den-b) ] around num/den, per 1,000
        value = num / den
        return max(value - (num - a) / (den + b), (num + a) / (den - b) - value) * 1000

    # Bijstand is rounded to 10 (+-5 per wijk), inhabitants to 5 (+-2.5). Noord 2017: 14 wijken; 2019: 13 (De Hei
    # withheld). NL counts: 471,190 and 431,360 are multiples of 10 (+-5); 17,081,507 and 17,282,163 are not rounded.
    noise = (half(3520, 53740, 14 * 5, 14 * 2.5) + half(471190, 17081507, 5, 0)
             + half(3070, 53265, 13 * 5, 13 * 2.5) + half(431360, 17282163, 5, 0))   # 2.603
    change = (3070 / 53265 - 431360 / 17282163) * 1000 - (3520 / 53740 - 471190 / 17081507) * 1000   # -5.239
    assert v["noise"] == pytest.approx(noise, rel=1e-9) and round(noise, 2) == 2.60
    assert v["change"] == pytest.approx(change, rel=1e-9) and v["closure"] == pytest.approx(-change / v["baseline_gap"])
    assert (v["verdict"], v["noise_basis"]) == ("closing", "rounding")
    # Against Zuid the change (-1.7) stays inside the noise of two small areas' rounding: no clear change.
    assert _one(wh, "SELECT verdict FROM marts.gap_verdicts WHERE indicator_id = 'WRK-01' AND target = 'zuid'")[0] \
        == "no clear change"


def test_rivm_estimates_without_their_interval_are_not_judged(wh):
    # The bundled RIVM copy has point estimates only: the uncertainty of a change is unknown, not zero.
    rows = wh.execute("SELECT DISTINCT v.verdict, v.noise IS NULL FROM marts.gap_verdicts v JOIN marts.indicators i "
                      "USING (indicator_id) WHERE i.model_estimate AND v.latest_year IS NOT NULL").fetchall()
    assert rows == [("not yet measurable", True)]
    assert _one(wh, "SELECT uncertainty, value_lower FROM marts.indicator_values WHERE indicator_id = 'HLT-03' "
                    "AND area_code = 'HEERLEN-NOORD' AND year = 2020") == ("unknown", None)


def test_reference_periods_and_the_cbs_legend(wh):
    period = dict(((i, a, y), p) for i, a, y, p in wh.execute(
        "SELECT indicator_id, area_code, year, reference_period FROM marts.indicator_values WHERE area_code = 'GM0917' "
        "AND year = 2018 AND indicator_id IN ('SAF-02', 'DEM-01', 'WRK-01', 'HLT-01')").fetchall())
    assert period[("SAF-02", "GM0917", 2018)] == "2017"              # KWB crime: the year before the edition
    assert period[("DEM-01", "GM0917", 2018)] == "1 januari 2018"
    assert period[("WRK-01", "GM0917", 2018)] is None                # the table's year
    # NL crime rates are '.' in the KWB 2017 NL row: withheld, and the symbol is kept.
    assert _one(wh, "SELECT status, symbol, value FROM marts.indicator_values WHERE indicator_id = 'SAF-02' "
                    "AND area_code = 'NL00' AND year = 2017") == ("suppressed", ".", None)


def test_working_age_benefit_rates(wh):
    # WRK-11 2019: 3,070 bijstand recipients / 35,215 Noord inhabitants aged 15-65 (15-25 + 25-45 + 45-65, the 13
    # wijken with a published bijstand count) x 1,000; WRK-01 stays per inhabitant.
    value, den = _one(wh, "SELECT value, denominator FROM marts.indicator_values WHERE indicator_id = 'WRK-11' "
                          "AND area_code = 'HEERLEN-NOORD' AND year = 2019")
    assert den == 35215 and value == pytest.approx(3070 / 35215 * 1000)
    assert _one(wh, "SELECT value FROM marts.indicator_values WHERE indicator_id = 'WRK-12' AND area_code = 'NL00' "
                    "AND year = 2019")[0] == pytest.approx(230180 / (2131944 + 4255450 + 4840946) * 1000)


def test_coverage_is_counted_in_people(wh):
    # WRK-01 Noord 2019: De Hei's bijstand count is withheld; its 50 inhabitants of Noord's 53,315 are not covered.
    assert _one(wh, "SELECT coverage, status FROM marts.indicator_values WHERE indicator_id = 'WRK-01' "
                    "AND area_code = 'HEERLEN-NOORD' AND year = 2019") == (pytest.approx(53265 / 53315), "ok")


def test_programmes_are_published_with_their_source(wh):
    rows = wh.execute("SELECT theme, start_year, start_text, marker_year, source FROM marts.programmes").fetchall()
    assert {r[0] for r in rows} == {"leren", "werken", "gezondheid", "wonen", "veiligheid"}
    assert all(r[1:4] == (None, "uiterlijk 2022", 2022) and "Routekaart Heerlen-Noord" in r[4] for r in rows)


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
