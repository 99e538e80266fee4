"""KWB years as Dagster partitions: a backfill of two years with the Dagster CLI materializes exactly
those partitions, a later single year adds itself without touching them, and the indicator, mart and
publish assets stay whole (unpartitioned)."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from heerlen_pipeline.definitions import make_definitions

from ..runs import cli

KWB_2017 = "SELECT * FROM staging.observations WHERE source_id = 'kwb' AND year = 2017 ORDER BY ALL"

MATERIALIZE = ("asset", "materialize", "-m", "heerlen_pipeline.definitions", "--select")


def _check_results(instance: dg.DagsterInstance) -> list[tuple[str, bool]]:
    out = []
    for record in instance.get_run_records():
        for entry in instance.all_logs(record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            data = entry.dagster_event.event_specific_data
            out.append((data.check_name, data.passed))
    return out


@pytest.mark.slow
def test_backfill_of_two_years_loads_exactly_those_partitions(tmp_path):
    home, build = tmp_path / "dagster_home", tmp_path / "build"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {"DAGSTER_HOME": home, "HEERLEN_BUILD_DIR": build, "HEERLEN_WAREHOUSE": tmp_path / "w.duckdb"}

    cli("dagster", *MATERIALIZE, "staging/areas,raw/kwb,staging/kwb", "--partition-range", "2017...2018", env=env)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for key in (["raw", "kwb"], ["staging", "kwb"]):
            assert instance.get_materialized_partitions(dg.AssetKey(key)) == {"2017", "2018"}
        checks = _check_results(instance)
    # The source's checks ran on what was loaded and passed (not failing on the eight years never loaded).
    assert {"required_measures_present", "counts_reconcile_with_gemeente"} <= {name for name, _ in checks}
    assert all(passed for _, passed in checks)
    with duckdb.connect(str(build / "build.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT year FROM raw.files WHERE source_id = 'kwb' ORDER BY 1").fetchall() == [
            (2017,), (2018,)]
        inhabitants = con.execute("SELECT value FROM staging.observations WHERE source_id = 'kwb' "
                                  "AND area_code = 'GM0917' AND year = 2018 AND measure = 'inhabitants'").fetchall()
        assert inhabitants == [(86762.0,)]  # KWB 2018 (reference R17)
        before = con.execute(KWB_2017).fetchall()

    cli("dagster", *MATERIALIZE, "raw/kwb,staging/kwb", "--partition", "2024", env=env)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_materialized_partitions(dg.AssetKey(["staging", "kwb"])) == {"2017", "2018", "2024"}
    with duckdb.connect(str(build / "build.duckdb"), read_only=True) as con:
        assert con.execute("SELECT DISTINCT year FROM staging.observations WHERE source_id = 'kwb' "
                           "ORDER BY 1").fetchall() == [(2017,), (2018,), (2024,)]
        assert con.execute("SELECT value FROM staging.observations WHERE source_id = 'kwb' AND area_code = 'GM0917' "
                           "AND year = 2024 AND measure = 'inhabitants'").fetchall() == [(87461.0,)]  # KWB 2024, 1 January
        assert con.execute(KWB_2017).fetchall() == before


def test_only_the_source_layers_are_partitioned():
    graph = make_definitions().get_repository_def().asset_graph
    partitioned = {k.to_user_string() for k in graph.materializable_asset_keys if graph.get(k).partitions_def}
    assert partitioned == {"raw/kwb", "staging/kwb"}
    assert graph.get(dg.AssetKey(["raw", "kwb"])).partitions_def.get_partition_keys() == [
        str(y) for y in range(2016, 2026)]
