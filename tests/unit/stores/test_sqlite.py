"""What the SQLite store promises beyond the Store contract: durability settings, files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coreport.ports import StoreError
from coreport.stores.migrations import load_migrations
from coreport.stores.sqlite import SQLiteStore, migrate


async def test_open_creates_the_directory_and_a_wal_file_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "coreport.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        pragmas = await store._call(
            "inspect",
            lambda conn: [
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            ],
        )
        # synchronous=2 is FULL: a commit is on disk before append returns.
        assert pragmas == ["wal", 2, 5000, 1]
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    try:
        versions = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
    finally:
        conn.close()
    # Every migration the release ships, in order (0001 is the update log).
    assert versions == [(m.version, m.name) for m in load_migrations("sqlite")]
    assert versions[0] == (1, "0001_update_log")


async def test_open_fails_with_store_error_where_no_file_can_be(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = SQLiteStore(blocker / "coreport.db")
    with pytest.raises(StoreError) as raised:
        await store.open()
    assert isinstance(raised.value.__cause__, OSError)
    with pytest.raises(StoreError):
        await store.ping()
    await store.close()  # nothing to close: harmless


async def test_open_fails_with_store_error_on_a_file_that_is_not_a_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "coreport.db"
    path.write_bytes(b"this is not an SQLite database, not even its header" * 10)
    with pytest.raises(StoreError) as raised:
        await SQLiteStore(path).open()
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)


async def test_migrate_prepares_a_file_the_store_then_opens(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "coreport.db"
    assert await migrate(path) == [m.name for m in load_migrations("sqlite")]
    store = SQLiteStore(path)
    await store.open()
    try:
        assert await store.append([("reports/r1", b"x")]) == [1]
    finally:
        await store.close()
