"""The observation suite on covering rows, suite results re-used across runs, and GX in a worker process.

The small frames here are made up for the test; the equivalence test uses the bundled files' staged rows."""

import duckdb
import pandas as pd
import pytest

from heerlen_pipeline.defs.checks import FORCE_CHECKS_TAG
from heerlen_pipeline.quality import compact, gx_worker
from heerlen_pipeline.quality.suites import load_suite, validate_frame
from heerlen_pipeline.settings import Settings

from ..runs import materialize

OBS = ["area_code", "year", "measure", "value", "unit", "status", "symbol", "source_id", "table_id", "source_file",
       "row_nr"]


def _frame(rows) -> pd.DataFrame:
    """Made-up observations: (area_code, year, measure, value, unit, status, symbol)."""
    return pd.DataFrame([(*r, "test", "T1", "made-up.csv", i) for i, r in enumerate(rows)], columns=OBS)


def test_covering_rows_keep_every_area_and_each_groups_extremes():
    con = duckdb.connect()
    con.register("obs", _frame([
        ("GM0001", 2020, "inhabitants", 500.0, "aantal", "ok", None),   # 0: GM0001 first, and the group's minimum
        ("GM0001", 2020, "inhabitants", 700.0, "aantal", "ok", None),   # 1: not picked (a second GM0001, in between)
        ("WK000101", 2020, "inhabitants", 900.0, "aantal", "ok", None),  # 2: WK000101 first, the group's maximum
        ("WK000102", 2020, "inhabitants", 600.0, "aantal", "ok", None),  # 3: WK000102 first
        ("GM0001", 2020, "inhabitants", 800.0, "aantal", "ok", None),   # 4: not picked
        ("GM0001", 2021, "inhabitants", None, "aantal", "suppressed", "."),  # 5: its group's only row (missing value)
    ]))
    cover = compact.covering(load_suite("staging_observations"))
    picked = con.execute(f"SELECT row_nr FROM ({compact.covering_rows('SELECT * FROM obs', cover)})").fetchall()
    assert [r for (r,) in picked] == [0, 2, 3, 5]


def test_which_suites_can_run_on_covering_rows():
    assert compact.covering(load_suite("staging_observations"))["distinct"] == "area_code"
    assert compact.covering(load_suite("indicator_values"))["keys"] == ["indicator_id", "status", "uncertainty"]
    assert compact.covering(load_suite("staging_areas")) is None  # declares none: every row

    def suite(*expectations):
        return {"meta": {"covering": {"keys": ["unit"], "distinct": "area_code", "extremes": ["value"]}},
                "expectations": list(expectations)}

    assert compact.covering(suite({"type": "expect_column_values_to_be_between",
                                   "kwargs": {"column": "value", "max_value": 1, "row_condition": 'unit=="%"'}}))
    assert not compact.covering(suite(  # a key must be unique: every row counts
        {"type": "expect_compound_columns_to_be_unique", "kwargs": {"column_list": ["area_code", "unit"]}}))
    assert not compact.covering(suite(  # source_file is not covered: its values may be skipped
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "source_file"}}))
    assert not compact.covering(suite(  # a condition on a column whose values may be skipped
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "value", "max_value": 1, "row_condition": 'table_id=="T1"', "condition_parser": "pandas"}}))
    assert not compact.covering(suite(  # a pair needs its difference among the extremes
        {"type": "expect_column_pair_values_a_to_be_greater_than_b", "kwargs": {"column_A": "value", "column_B": "lo"}}))


def _same_verdicts(frames: dict[str, pd.DataFrame], suite: dict) -> None:
    cover = compact.covering(suite)
    mem = duckdb.connect()
    for name, frame in frames.items():
        mem.register("f", frame)
        covering = mem.execute(compact.covering_rows("SELECT * FROM f", cover)).df()
        assert len(covering) < len(frame) or len(frame) < 50, name
        full = {o.label(): o.passed for o in validate_frame(frame, suite)}
        small = {o.label(): o.passed for o in validate_frame(covering, suite)}
        assert small == full, name


@pytest.mark.slow
def test_covering_rows_give_the_full_verdicts(warehouse):
    """On every bundled source's staged rows and every theme's indicator values, and on rows made bad by hand in
    the middle of them (DUO: one count of 254,040 made negative; an indicator value below its lower bound): the
    suites' verdict per expectation is the same on the covering rows as on all rows."""
    build = warehouse.parent.parent / "build" / "build.duckdb"
    with duckdb.connect(str(build), read_only=True) as con:
        obs = con.execute(f"SELECT {', '.join(OBS)} FROM staging.observations").df()
        themes = {t: con.execute(f"SELECT * FROM indicators.{t}").df() for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'indicators'").fetchall()}
    duo = obs[obs.source_id == "duo_pupils"].reset_index(drop=True)
    assert len(duo) == 254_040
    bad = duo.copy()
    bad.loc[bad.index[(bad.unit == "aantal") & (bad.value > 0)][len(bad) // 3], "value"] = -3.0
    suite = load_suite("staging_observations")
    _same_verdicts({sid: g.reset_index(drop=True) for sid, g in obs.groupby("source_id")} | {"duo_negative": bad},
                   suite)
    assert not all(o.passed for o in validate_frame(bad, suite))
    werken = themes["werken"].copy()
    bounded = werken.index[werken.value_lower.notna()]
    werken.loc[bounded[len(bounded) // 2], "value"] = werken.value_lower[bounded[len(bounded) // 2]] - 0.001
    suite = load_suite("indicator_values")
    _same_verdicts(themes | {"werken_below_bound": werken}, suite)
    assert not all(o.passed for o in validate_frame(werken, suite))


POLITIE = ("raw/politie_nl", "staging/areas", "staging/politie_nl")


def _checks(build: str, run_id: str) -> list[tuple]:
    with duckdb.connect(build, read_only=True) as con:
        return con.execute("SELECT check_name, passed, reused_from_run FROM audit.check_results WHERE run_id = ? "
                           "AND asset = 'staging/politie_nl' AND check_name LIKE 'expect_%' ORDER BY 1",
                           [run_id]).fetchall()


@pytest.mark.slow
def test_a_suite_result_is_reused_only_for_the_same_content(tmp_path):
    settings = Settings.from_env(warehouse=tmp_path / "w" / "heerlen.duckdb")
    build = str(settings.build_db)
    def run(**tags):
        result = materialize(settings, *POLITIE, raise_on_error=True, tags=tags)
        return result.run_id

    first = run()
    validated = _checks(build, first)
    assert len(validated) == 14 and all(passed and reused is None for _, passed, reused in validated)
    second = run()
    assert {(name, reused) for name, _, reused in _checks(build, second)} == {(n, first) for n, _, _ in validated}
    forced = run(**{FORCE_CHECKS_TAG: "true"})
    assert all(reused is None for _, _, reused in _checks(build, forced))
    suite = load_suite("staging_observations")
    rows = f"SELECT {', '.join(OBS)} FROM staging.observations WHERE source_id = 'politie_nl'"
    with duckdb.connect(build) as con:  # other content: one staged value changed by hand finds no earlier result
        same = compact.result_key(suite, compact.content_hash(con, rows))
        assert compact.reused_result(con, same)[1] == forced  # the latest validation
        con.execute(f"UPDATE staging.observations SET value = value + 1 WHERE source_id = 'politie_nl' "
                    f"AND row_nr = (SELECT min(row_nr) FROM ({rows}))")
        assert compact.reused_result(con, compact.result_key(suite, compact.content_hash(con, rows))) is None


@pytest.mark.slow
def test_the_worker_gives_the_same_outcomes():
    frame = _frame([("GM0001", 2020, "inhabitants", -1.0, "aantal", "ok", None),
                    ("GM0001", 2020, "share", 50.0, "%", "ok", None)])
    suite = load_suite("staging_observations")
    here = validate_frame(frame, suite)
    gx_worker.start()
    try:
        there = gx_worker.validate(frame, suite)
    finally:
        gx_worker.stop()
    assert there == here
    failed = [o.label() for o in there if not o.passed]
    assert failed == ["expect_column_values_to_be_between(value)"]  # the count of -1


def test_force_checks_reaches_the_run(tmp_path, monkeypatch):
    """`heerlen run --force-checks` rebuilds (even when nothing changed) and tags the run so no result is re-used."""
    import heerlen_pipeline.defs.run as run_module
    from heerlen_pipeline.cli import main

    seen = {}

    def fake_refresh(settings, verbose=False, force_checks=False):
        seen["force_checks"] = force_checks
        raise SystemExit(0)

    monkeypatch.setattr(run_module, "refresh", fake_refresh)
    with pytest.raises(SystemExit):
        main(["run", "--force-checks", "--warehouse", str(tmp_path / "w" / "heerlen.duckdb")])
    assert seen == {"force_checks": True}
