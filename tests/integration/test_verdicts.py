"""The verdict on the bundled real data: oriented index, baselines per target, the noise of the sources. Real values
are recomputed by hand from the bundled files (tests/unit/test_verdict_rules.py runs each outcome on MADE-UP
series)."""

import pytest


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
