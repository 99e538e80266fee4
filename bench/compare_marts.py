"""Compare the marts of two published warehouses, table by table: are the published values the same?

    python bench/compare_marts.py before.duckdb after.duckdb

Per table: its columns and types, then its rows as a multiset (EXCEPT ALL both ways). Columns that differ by
construction from build to build (run ids, build times, check timestamps) are left out; everything else,
including every value, status, interval and text, must match. Exit 0 when every table is identical.
"""

from __future__ import annotations

import sys

import duckdb

VOLATILE = {  # differ between any two builds of the same inputs
    "build_info": {"run_id", "built_at", "code_version", "config_fingerprint"},
    "check_results": {"run_id", "checked_at", "observed"},
}


def compare(before: str, after: str) -> list[str]:
    con = duckdb.connect()
    con.execute(f"ATTACH '{before}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{after}' AS b (READ_ONLY)")
    tables = {db: {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND "
                                             "schema_name = 'marts'", [db]).fetchall()} for db in ("a", "b")}
    lines = [f"only in {db}: marts.{t}" for db in ("a", "b") for t in sorted(tables[db] - tables["b" if db == "a" else "a"])]
    for t in sorted(tables["a"] & tables["b"]):
        cols = {db: con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {db}.marts.{t})").fetchall() for db in "ab"}
        if cols["a"] != cols["b"]:
            lines.append(f"marts.{t}: columns differ: -{sorted(set(cols['a']) - set(cols['b']))} "
                         f"+{sorted(set(cols['b']) - set(cols['a']))}")
        shared = [c for c, _ in cols["a"] if (c, _) in cols["b"] and c not in VOLATILE.get(t, set())]
        sel = ", ".join(f'"{c}"' for c in shared)
        gone, new = (con.execute(f"SELECT count(*) FROM (SELECT {sel} FROM {x}.marts.{t} EXCEPT ALL "
                                 f"SELECT {sel} FROM {y}.marts.{t})").fetchone()[0] for x, y in (("a", "b"), ("b", "a")))
        n = con.execute(f"SELECT count(*) FROM b.marts.{t}").fetchone()[0]
        outcome = "identical" if gone == new == 0 else f"{gone} rows only before, {new} only after"
        lines.append(f"marts.{t}: {n} rows, {outcome} ({len(shared)} columns compared)")
    return lines


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report = compare(sys.argv[1], sys.argv[2])
    print("\n".join(report))
    sys.exit(0 if all(line.endswith("columns compared)") and " identical " in line for line in report) else 1)
