"""The plain SQL checks of quality/checks.py on tables made up here (no source's data: the codes are invented)."""

from __future__ import annotations

import duckdb

from heerlen_pipeline.catalog import Indicator, MeasureRef
from heerlen_pipeline.quality.checks import programme_wijken_complete


def _indicator(id_: str, method: str, *, numerator=(), denominator=(), measure=None) -> Indicator:
    refs = lambda names: tuple(MeasureRef(n) for n in names)  # noqa: E731
    return Indicator(id=id_, theme="t", name_nl=id_, name_en=id_, definition="", unit="%", direction="higher_is_better",
                     youth_focus=False, method=method, decimals=1, value_range=(0, 100), numerator=refs(numerator),
                     denominator=refs(denominator), measure=MeasureRef(measure) if measure else None)


def test_programme_wijken_complete_names_each_absent_wijk_per_indicator_that_uses_the_measure():
    """Programme area P (definition d) has wijken W1 and W2. W1 has m1 in 2020 and 2021 and m2 in 2020; W2 has m1
    and m2 in 2020 only. So the area has m1 in 2021 through W1 while W2 lacks it: one absence, (d, P, W2, 2021, m1).
    Indicators A (m1 / m2) and B (m1) both use m1, so it is listed once for each, A first (catalogue order); the
    school indicator S is placed by address and not looked at; m1 of gemeente G in 2022 is no wijk's row."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.area_members AS SELECT * FROM (VALUES ('d', 'P', 'W1'), ('d', 'P', 'W2')) "
                "t(definition, area_code, wijk_code)")
    con.execute("CREATE TABLE staging.observations AS SELECT * FROM (VALUES ('W1', 2020, 'm1'), ('W1', 2021, 'm1'), "
                "('W1', 2020, 'm2'), ('W2', 2020, 'm1'), ('W2', 2020, 'm2'), ('G', 2022, 'm1')) t(area_code, year, measure)")
    indicators = [_indicator("A", "ratio", numerator=["m1"], denominator=["m2"]), _indicator("B", "value", measure="m1"),
                  _indicator("S", "school_share", numerator=["m1"], denominator=["m2"])]

    outcome = programme_wijken_complete(con, indicators)

    assert not outcome.passed and outcome.severity == "warn"
    assert outcome.summary == "2 programme-area inputs lack a member wijk's row"
    assert outcome.sample.values.tolist() == [["A", "d", "P", "W2", 2021, "m1"], ["B", "d", "P", "W2", 2021, "m1"]]

    con.execute("INSERT INTO staging.observations VALUES ('W2', 2021, 'm1')")  # W2's row found: nothing absent
    assert programme_wijken_complete(con, indicators).passed
