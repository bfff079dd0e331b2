"""The migration runner: discovery, planning, and all-or-nothing application."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from coreport.stores.migrations import (
    DIALECTS,
    Migration,
    MigrationError,
    apply_postgres,
    apply_sqlite,
    load_migrations,
    pending_migrations,
    split_sqlite_script,
)
from tests.support.postgres import scratch_database


def write(root: Path, dialect: str, files: dict[str, str]) -> Path:
    folder = root / dialect
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return root


def test_shipped_migrations_are_numbered_from_one_and_match_across_dialects() -> None:
    names = {dialect: [m.name for m in load_migrations(dialect)] for dialect in DIALECTS}
    assert names["sqlite"][0] == "0001_update_log"
    assert names["sqlite"] == names["postgres"], "every schema change exists for both dialects"
    versions = [m.version for m in load_migrations("sqlite")]
    assert versions == list(range(1, len(versions) + 1))


def test_load_orders_by_version_and_ignores_other_files(tmp_path: Path) -> None:
    files = {"0002_b.sql": "SELECT 2;", "0010_c.sql": "SELECT 10;", "0001_a.sql": "SELECT 1;"}
    root = write(tmp_path, "sqlite", files | {"README.md": "notes"})
    assert load_migrations("sqlite", root) == [
        Migration(1, "0001_a", "SELECT 1;"),
        Migration(2, "0002_b", "SELECT 2;"),
        Migration(10, "0010_c", "SELECT 10;"),
    ]


@pytest.mark.parametrize(
    "files",
    [
        {"1_short.sql": "SELECT 1;"},
        {"0001_Capitals.sql": "SELECT 1;"},
        {"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"},
    ],
    ids=["short version", "bad name", "duplicate version"],
)
def test_load_rejects_badly_named_files(tmp_path: Path, files: dict[str, str]) -> None:
    with pytest.raises(MigrationError):
        load_migrations("sqlite", write(tmp_path, "sqlite", files))


def test_load_rejects_an_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="dialect"):
        load_migrations("oracle")


def test_pending_skips_applied_versions_and_tolerates_newer_ones() -> None:
    available = [Migration(1, "0001_a", ""), Migration(2, "0002_b", "")]
    assert pending_migrations(available, {}) == available
    assert pending_migrations(available, {1: "0001_a"}) == available[1:]
    # Version 3 came from a newer release during a rolling upgrade.
    assert pending_migrations(available, {1: "0001_a", 2: "0002_b", 3: "0003_c"}) == []


def test_pending_refuses_a_version_applied_under_another_name() -> None:
    with pytest.raises(MigrationError, match="0001_other"):
        pending_migrations([Migration(1, "0001_a", "")], {1: "0001_other"})


def test_split_sqlite_script_follows_sqlite_parser() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT ';');
    CREATE TRIGGER t_copy AFTER INSERT ON t BEGIN
        INSERT INTO t (x) SELECT 'copy;' WHERE 0;
    END;
    INSERT INTO t (x) VALUES ('a'); INSERT INTO t (x) VALUES ('b')
    """
    statements = list(split_sqlite_script(script))
    assert len(statements) == 4
    assert statements[0].endswith("DEFAULT ';');")
    assert statements[1].endswith("END;")
    assert statements[3] == "INSERT INTO t (x) VALUES ('b')"


def sqlite_versions(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()


def test_apply_sqlite_is_all_or_nothing(tmp_path: Path) -> None:
    root = write(
        tmp_path / "migrations",
        "sqlite",
        {"0001_a.sql": "CREATE TABLE a (x INTEGER);", "0002_b.sql": "CREATE TABLE b (x BROKEN("},
    )
    conn = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            apply_sqlite(conn, root)
        tables = conn.execute("SELECT name FROM sqlite_master WHERE name = 'a'").fetchall()
        assert tables == [], "the first migration was rolled back with the second"
        assert not conn.in_transaction

        write(root, "sqlite", {"0002_b.sql": "CREATE TABLE b (x INTEGER);"})
        assert apply_sqlite(conn, root) == ["0001_a", "0002_b"]
        assert apply_sqlite(conn, root) == []
        assert sqlite_versions(conn) == [(1, "0001_a"), (2, "0002_b")]
    finally:
        conn.close()


def test_apply_sqlite_needs_an_autocommit_connection(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite")
    try:
        with pytest.raises(ValueError, match="autocommit"):
            apply_sqlite(conn)
    finally:
        conn.close()


@pytest.mark.postgres
async def test_apply_postgres_is_all_or_nothing(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        "postgres",
        {"0001_a.sql": "CREATE TABLE a (x integer);", "0002_b.sql": "CREATE TABLE b (x broken);"},
    )
    async with scratch_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            with pytest.raises(asyncpg.PostgresError):
                await apply_postgres(conn, root)
            assert await conn.fetchval("SELECT to_regclass('a')") is None
            assert await conn.fetchval("SELECT to_regclass('schema_migrations')") is None

            write(root, "postgres", {"0002_b.sql": "CREATE TABLE b (x integer);"})
            assert await apply_postgres(conn, root) == ["0001_a", "0002_b"]
            assert await apply_postgres(conn, root) == []
        finally:
            await conn.close()
