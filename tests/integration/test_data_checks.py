"""The GX suites in data_checks/ are reviewed like code: each names real tables and columns, and says
how severe each expectation is. A suite that drifts from the tables fails here, not in production."""

import json
from pathlib import Path

import duckdb
import pytest

from heerlen_pipeline import catalog
from heerlen_pipeline.settings import DATA_CHECKS_DIR

SUITES = sorted(DATA_CHECKS_DIR.glob("*.json"))


def _tables(pattern: str) -> list[str]:
    if "<source>" in pattern:
        return [pattern.replace("<source>", s) for s in catalog.load_sources()]
    if "<theme>" in pattern:
        return [pattern.replace("<theme>", t) for t in catalog.THEMES]
    return [pattern]


@pytest.fixture(scope="module")
def build_db(warehouse):
    con = duckdb.connect(str(Path(warehouse).parent.parent / "build" / "build.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("path", SUITES, ids=[p.stem for p in SUITES])
def test_suite_names_existing_tables_and_columns(path, build_db):
    suite = json.loads(path.read_text(encoding="utf-8"))
    assert suite["name"] == path.stem
    for table in _tables(suite["meta"]["table"]):
        schema, name = table.split(".")
        columns = {r[0] for r in build_db.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = ? "
                                                  "AND table_name = ?", [schema, name]).fetchall()}
        assert columns, f"{path.name}: table {table} does not exist"
        for e in suite["expectations"]:
            kw = e["kwargs"]
            named = {kw["column"]} if "column" in kw else set(kw.get("column_list", [])) | set(kw.get("column_set", []))
            assert named <= columns, f"{path.name}: {e['type']} names {named - columns}, not in {table}"


@pytest.mark.parametrize("path", SUITES, ids=[p.stem for p in SUITES])
def test_every_expectation_has_a_severity(path):
    for e in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
        assert e.get("meta", {}).get("severity") in ("error", "warn"), e


def test_checks_carry_their_severity_in_dagster(wh):
    """Every check of the last build is recorded, blocking ones with 'error', reporting ones with 'warn'."""
    rows = wh.execute("SELECT severity, count(*) FROM marts.check_results GROUP BY 1").fetchall()
    assert dict(rows).keys() == {"error", "warn"}
