"""Check bench/floor.sql against a pipeline build: are its values the published ones, row for row?

    python bench/check_floor.py path/to/heerlen.duckdb [--snapshot-dir data/snapshot] [--keep floor.duckdb]

Runs floor.sql into a temporary DuckDB file (paths relative to the snapshot directory, which must sit two levels
below the repository as data/snapshot does: the script also reads ../../assets/) and compares, for a build of the
bundled snapshot under the default area definition:

- floor_indicator_values with marts.indicator_values as multisets of whole rows (EXCEPT ALL both ways, every
  column), and per key (indicator, area, year) value, numerator, denominator, coverage and status with no
  tolerance (IS DISTINCT FROM);
- floor_programme_values, floor_gaps and floor_gap_verdicts with marts.programme_values, marts.gaps and
  marts.gap_verdicts (EXCEPT ALL both ways), where the warehouse has them.

Prints the counts and exits 1 on any difference. EXCLUDED lists indicators floor.sql leaves out on purpose: none.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
FLOOR_SQL = HERE / "floor.sql"
SNAPSHOT_DIR = HERE.parent / "data" / "snapshot"
# Indicators floor.sql does not compute, with why (their pipeline rows are then left out of the compare). None:
# the live-only ones (LEA-07, WRK-10) are defined in floor.sql and have no rows in a bundled build, as there.
EXCLUDED: dict[str, str] = {}
KEY = ("indicator_id", "area_code", "year")
EXACT = ("value", "numerator", "denominator", "coverage", "status")
# floor table -> the pipeline's mart, compared as multisets besides indicator_values
OTHER_TABLES = {"floor_programme_values": "programme_values", "floor_gaps": "gaps", "floor_gap_verdicts": "gap_verdicts"}


def run_floor(database: Path, snapshot_dir: Path = SNAPSHOT_DIR) -> float:
    """floor.sql into `database`; returns its wall time in seconds."""
    with duckdb.connect(str(database)) as con:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET file_search_path = ?", [str(snapshot_dir)])
        started = time.perf_counter()
        con.execute(FLOOR_SQL.read_text(encoding="utf-8"))
        return time.perf_counter() - started


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]


def compare(floor_db: Path, warehouse: Path) -> dict:
    """The floor's tables against the warehouse's marts (see the module docstring)."""
    with duckdb.connect(str(floor_db), read_only=True) as con:
        con.execute(f"ATTACH '{warehouse}' AS p (READ_ONLY)")
        excluded = list(EXCLUDED)
        kept = f"WHERE NOT list_contains({_sql_list(excluded)}, indicator_id)"
        con.execute(f"CREATE TEMP VIEW f AS SELECT * FROM floor_indicator_values {kept}")
        con.execute(f"CREATE TEMP VIEW pv AS SELECT * FROM p.marts.indicator_values {kept}")
        dup = f"SELECT {', '.join(KEY)} FROM {{}} GROUP BY ALL HAVING count(*) > 1"
        out: dict = {"floor_rows": _count(con, "SELECT * FROM f"), "pipeline_rows": _count(con, "SELECT * FROM pv"),
                     "only_in_floor": _count(con, "SELECT * FROM f EXCEPT ALL SELECT * FROM pv"),
                     "only_in_pipeline": _count(con, "SELECT * FROM pv EXCEPT ALL SELECT * FROM f"),
                     "duplicate_keys": _count(con, dup.format("f")) + _count(con, dup.format("pv"))}
        on = " AND ".join(f"a.{k} = b.{k}" for k in KEY)
        joined = f"SELECT * FROM f a FULL JOIN pv b ON {on}"
        out["unmatched_keys"] = _count(con, f"{joined} WHERE a.indicator_id IS NULL OR b.indicator_id IS NULL")
        for c in EXACT:  # tolerance-free: a NULL against a number, or the last bit of a double, is a difference
            out[f"{c}_differs"] = _count(con, f"{joined} WHERE a.indicator_id IS NOT NULL AND b.indicator_id IS NOT "
                                              f"NULL AND a.{c} IS DISTINCT FROM b.{c}")
        per = con.execute("""SELECT indicator_id, count(*) FILTER (WHERE src = 'f'), count(*) FILTER (WHERE src = 'p')
                             FROM (SELECT indicator_id, 'f' AS src FROM f UNION ALL SELECT indicator_id, 'p' FROM pv)
                             GROUP BY ALL ORDER BY 1""").fetchall()
        out["indicators"] = len(per)
        out["indicator_rows_differ"] = [i for i, a, b in per if a != b]
        out["indicators_without_rows"] = [i for (i,) in con.execute(
            "SELECT indicator_id FROM p.marts.indicators WHERE indicator_id NOT IN (SELECT indicator_id FROM f) "
            "AND indicator_id NOT IN (SELECT indicator_id FROM pv) ORDER BY 1").fetchall()]
        marts = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'p' "
                                           "AND schema_name = 'marts'").fetchall()}
        out["tables"] = {}
        for mine, theirs in OTHER_TABLES.items():
            if theirs not in marts:
                continue
            a, b = f"SELECT * FROM {mine}", f"SELECT * FROM p.marts.{theirs}"
            out["tables"][theirs] = {"rows": _count(con, b), "only_in_floor": _count(con, f"{a} EXCEPT ALL {b}"),
                                     "only_in_pipeline": _count(con, f"{b} EXCEPT ALL {a}")}
    differences = (out["only_in_floor"] + out["only_in_pipeline"] + out["duplicate_keys"] + out["unmatched_keys"]
                   + sum(out[f"{c}_differs"] for c in EXACT) + len(out["indicator_rows_differ"])
                   + sum(t["only_in_floor"] + t["only_in_pipeline"] for t in out["tables"].values()))
    out["excluded"] = excluded
    out["equal"] = differences == 0 and out["pipeline_rows"] > 0
    return out


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + "]::VARCHAR[]"


def report(out: dict) -> str:
    lines = [f"indicator_values: {out['floor_rows']} floor rows, {out['pipeline_rows']} pipeline rows, "
             f"{out['indicators']} indicators; EXCEPT ALL: {out['only_in_floor']} only in the floor, "
             f"{out['only_in_pipeline']} only in the pipeline",
             f"  per key {', '.join(KEY)}: {out['unmatched_keys']} unmatched, {out['duplicate_keys']} duplicate; "
             + ", ".join(f"{c} differs in {out[f'{c}_differs']}" for c in EXACT)]
    if out["indicator_rows_differ"]:
        lines.append(f"  row counts differ for: {', '.join(out['indicator_rows_differ'])}")
    lines.append(f"  excluded from floor.sql: {', '.join(f'{i} ({EXCLUDED[i]})' for i in out['excluded']) or 'none'}")
    if out["indicators_without_rows"]:
        lines.append(f"  no rows in either (live-only inputs): {', '.join(out['indicators_without_rows'])}")
    for t, c in out["tables"].items():
        lines.append(f"{t}: {c['rows']} pipeline rows; EXCEPT ALL: {c['only_in_floor']} only in the floor, "
                     f"{c['only_in_pipeline']} only in the pipeline")
    lines.append("EQUAL" if out["equal"] else "NOT EQUAL")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="a published warehouse (heerlen.duckdb) of the bundled snapshot")
    parser.add_argument("--snapshot-dir", type=Path, default=SNAPSHOT_DIR)
    parser.add_argument("--keep", type=Path, help="write the floor's database here instead of a temporary file")
    args = parser.parse_args()
    if not args.warehouse.is_file():
        raise SystemExit(f"no warehouse at {args.warehouse}")
    with tempfile.TemporaryDirectory(prefix="heerlen-floor-") as tmp:
        database = args.keep or Path(tmp) / "floor.duckdb"
        database.unlink(missing_ok=True)
        seconds = run_floor(database, args.snapshot_dir.resolve())
        out = compare(database, args.warehouse.resolve())
    print(f"floor.sql: {seconds:.2f} s")
    print(report(out))
    sys.exit(0 if out["equal"] else 1)


if __name__ == "__main__":
    main()
