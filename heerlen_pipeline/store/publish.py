"""The atomic publish of the analyst warehouse (and its Parquet twin) from the build database's marts."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import nullcontext
from pathlib import Path

import duckdb

from .. import catalog
from .tables import all_cores, sql_literal, threads

# Analysts' DuckDB tools (CLI, DBeaver) from 1.4 on must be able to open the published file.
STORAGE_VERSION = "v1.4.0"
PUBLISHED_SCHEMA = "marts"


class PublishRefused(RuntimeError):
    """The file at the warehouse path may not be replaced: it is not a warehouse, or someone writes to it."""


def check_target(target: Path) -> None:
    """Refuse to swap a new warehouse over a file that is not one (another DuckDB database, any other file), and
    over one another process holds open read-write: its WAL would no longer match the file swapped in, and every
    later query of that connection would fail. Read-only readers are no obstacle."""
    if not target.exists():
        return
    if not target.is_file():
        raise PublishRefused(f"the warehouse path {target} exists but is not a file; refusing to replace it")
    try:
        with duckdb.connect(str(target), read_only=True) as con:
            foreign = con.execute("SELECT DISTINCT schema_name FROM duckdb_tables() WHERE schema_name <> ?",
                                  [PUBLISHED_SCHEMA]).fetchall()
    except duckdb.Error as e:
        reason = str(e).splitlines()[0]
        if "lock" in reason.lower():
            raise PublishRefused(f"another process has the warehouse {target} open read-write ({reason}); close it "
                                 "and run again. Analysts open it read-only (see the README)") from None
        raise PublishRefused(f"the file at the warehouse path {target} is not a DuckDB warehouse ({reason}); refusing "
                             "to replace it: move it away or choose another --warehouse") from None
    if foreign:
        raise PublishRefused(f"{target} is a DuckDB database with other schemas than {PUBLISHED_SCHEMA} "
                             f"({', '.join(r[0] for r in foreign)}): not a heerlen warehouse; refusing to replace it")


def publish(con: duckdb.DuckDBPyConnection, target: Path) -> dict[str, int]:
    """Copy the marts schema of the build DB (its tables, and its views as tables) into a new file and swap it in
    with one rename.

    Readers that have the old file open keep their consistent snapshot (the old inode); new connections
    see the new file. The Parquet twin is written completely into a directory of its own first, and
    `parquet/` (a symlink) is re-pointed at it with one rename right after the file's. A failure or a kill
    before the file's rename leaves both as they were; a kill between the two renames leaves the file one
    build ahead of its Parquet twin, which `sync_parquet` (run at the start of every `heerlen run`) repairs.
    Publishes are serialised by a lock next to the target, so leftovers of a killed publish are safe to
    remove at the start of the next one.
    """
    from .lock import hold

    target.parent.mkdir(parents=True, exist_ok=True)
    with hold(_lock_path(target), "publish of this warehouse"):
        check_target(target)
        remove_leftovers(target)
        # Views too (marts.indicator_values reads the theme tables): each is published as a table of its rows.
        relations = dict(con.execute(
            "SELECT table_name, false FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $s "
            "UNION ALL SELECT view_name, true FROM duckdb_views() WHERE database_name = current_database() "
            "AND schema_name = $s AND NOT internal ORDER BY 1", {"s": PUBLISHED_SCHEMA}).fetchall())
        tag = uuid.uuid4().hex[:8]
        tmp = target.with_name(f".{target.name}.{tag}.tmp")
        staged = target.parent / f"{PARQUET_PREFIX}{tag}"
        try:
            with all_cores(con):  # copies: the same rows in the same order on any number of threads
                counts = _write_copy(con, relations, tmp, staged)
            os.replace(tmp, target)  # the warehouse: one rename
            link_parquet(staged, target.parent / "parquet")  # its Parquet twin: one rename (of a symlink)
        finally:
            tmp.unlink(missing_ok=True)
            if not _linked(target.parent / "parquet", staged):
                shutil.rmtree(staged, ignore_errors=True)
        remove_leftovers(target)
    return counts


PARQUET_PREFIX = ".parquet-"


def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def _write_copy(con: duckdb.DuckDBPyConnection, relations: dict[str, bool], tmp: Path, parquet: Path) -> dict[str, int]:
    """The new warehouse file `tmp` from the marts (`relations`: name -> is a view), and its Parquet twin in the new
    directory `parquet`, exported from the copy."""
    counts, docs = {}, catalog.load_warehouse_docs()
    con.execute(f"ATTACH {sql_literal(tmp)} AS pub (STORAGE_VERSION {sql_literal(STORAGE_VERSION)})")
    try:
        con.execute(f"CREATE SCHEMA pub.{PUBLISHED_SCHEMA}")
        for t, view in relations.items():
            # A view's UNION ALL keeps the order of its parts on one thread only; a table's rows keep it on any.
            with threads(con, 1) if view else nullcontext():
                con.execute(f"CREATE TABLE pub.{PUBLISHED_SCHEMA}.{t} AS SELECT * FROM {PUBLISHED_SCHEMA}.{t}")
            counts[t] = con.execute(f"SELECT count(*) FROM pub.{PUBLISHED_SCHEMA}.{t}").fetchall()[0][0]
            doc = docs.get(t, {})
            if doc.get("description"):
                con.execute(f"COMMENT ON TABLE pub.{PUBLISHED_SCHEMA}.{t} IS {sql_literal(doc['description'])}")
            for column, text in doc.get("columns", {}).items():
                con.execute(f"COMMENT ON COLUMN pub.{PUBLISHED_SCHEMA}.{t}.{column} IS {sql_literal(text)}")
        export_parquet(con, list(relations), parquet, f"pub.{PUBLISHED_SCHEMA}")
    finally:
        con.execute("DETACH pub")
    return counts


def export_parquet(con: duckdb.DuckDBPyConnection, tables: list[str], directory: Path,
                   schema: str = PUBLISHED_SCHEMA) -> None:
    """Every published table (of `schema`) as <directory>/<table>.parquet, for tools that cannot read DuckDB (R,
    Power BI, Excel). `directory` is new and private until link_parquet points `parquet/` at it."""
    directory.mkdir(parents=True)
    for t in tables:
        con.execute(f"COPY {schema}.{t} TO {sql_literal(directory / f'{t}.parquet')} "
                    "(FORMAT parquet, COMPRESSION zstd)")


def link_parquet(directory: Path, link: Path) -> None:
    """Point `link` (warehouse/parquet) at `directory` with one rename: a reader sees the whole old set or the
    whole new one. A real directory from before exports were symlinked is moved aside once."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.link")
    os.symlink(directory.name, tmp)  # relative: the warehouse directory can be moved
    try:
        previous = os.readlink(link) if link.is_symlink() else None
        if link.is_dir() and not link.is_symlink():
            previous = f"{PARQUET_PREFIX}legacy-{uuid.uuid4().hex[:8]}"
            os.rename(link, link.with_name(previous))
        os.replace(tmp, link)
    finally:
        tmp.unlink(missing_ok=True)
    link.with_name(f".{link.name}.previous").write_text(previous or "", encoding="utf-8")


def _linked(link: Path, directory: Path) -> bool:
    return link.is_symlink() and os.readlink(link) == directory.name


def remove_leftovers(target: Path) -> None:
    """Temp files of killed publishes, and Parquet sets other than the current one and the one it replaced
    (a reader may still be in that one)."""
    directory = target.parent
    for tmp in [*directory.glob(f".{target.name}.*.tmp"), *directory.glob(".parquet.*.link")]:
        tmp.unlink(missing_ok=True)
    link = directory / "parquet"
    keep = {os.readlink(link) if link.is_symlink() else None, _previous_set(link)}
    for old in directory.glob(f"{PARQUET_PREFIX}*"):
        if old.is_dir() and old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _previous_set(link: Path) -> str | None:
    note = link.with_name(f".{link.name}.previous")
    return note.read_text(encoding="utf-8").strip() if note.is_file() else None


def sync_parquet(target: Path) -> bool:
    """Bring the Parquet twin in line with the published file when a killed publish left it one build behind
    (build_info's run_id differs). Returns True when it re-exported."""
    link = target.parent / "parquet"
    if not target.is_file():
        return False
    from .lock import hold

    with hold(_lock_path(target), "publish of this warehouse"):
        try:
            with duckdb.connect(str(target), read_only=True) as con:
                run_id = con.execute(f"SELECT run_id FROM {PUBLISHED_SCHEMA}.build_info").fetchone()
                tables = [r[0] for r in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY table_name",
                    [PUBLISHED_SCHEMA]).fetchall()]
                try:
                    twin = con.execute(f"SELECT run_id FROM read_parquet({sql_literal(link / 'build_info.parquet')})"
                                       ).fetchone()
                except duckdb.Error:
                    twin = None
                if twin == run_id:
                    return False
                remove_leftovers(target)
                staged = target.parent / f"{PARQUET_PREFIX}{uuid.uuid4().hex[:8]}"
                try:
                    export_parquet(con, tables, staged)
                    link_parquet(staged, link)
                finally:
                    if not _linked(link, staged):
                        shutil.rmtree(staged, ignore_errors=True)
                remove_leftovers(target)
        except duckdb.Error:  # a warehouse from before build_info had a run_id: the next publish writes both
            return False
    return True
