"""Upgrade safety: a database written by the previous release (only migration 0001 applied:
the update log, snapshots and document rows) opens and serves after upgrading, on SQLite and
PostgreSQL. The current server applies the remaining migrations when it starts."""

from __future__ import annotations

import shutil
import sqlite3
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText

from coreport.stores.migrations import apply_postgres, apply_sqlite, load_migrations
from tests.support.postgres import scratch_database
from tests.support.server import ServerProcess
from tests.support.yclient import synced_doc, wait_until

PREVIOUS = 1  # the previous release shipped migrations up to this version


def previous_release_migrations(root: Path) -> Path:
    """A migrations tree holding only what the previous release shipped."""
    with as_file(files("coreport.stores") / "migrations") as shipped:
        for dialect in ("sqlite", "postgres"):
            (root / dialect).mkdir(parents=True)
            for migration in load_migrations(dialect):
                if migration.version <= PREVIOUS:
                    source = Path(shipped) / dialect / f"{migration.name}.sql"
                    shutil.copy(source, root / dialect)
    return root


def old_documents() -> dict[str, list[bytes]]:
    """Two documents as the previous release stored them: a log of updates each."""
    report: Doc[Any] = Doc()
    report["title"] = Text("Quarterly")
    first = report.get_update()
    state = report.get_state()
    body = report.get("body", type=XmlFragment)
    body.children.append(XmlElement("paragraph", {}, [XmlText("written before the upgrade")]))
    second = report.get_update(state)
    other: Doc[Any] = Doc()
    other["title"] = Text("Other")
    return {"reports/old": [first, second], "reports/other": [other.get_update()]}


async def check_served(server: ServerProcess) -> None:
    async with synced_doc(server.ws_base, "old") as doc:
        assert str(doc.get("title", type=Text)) == "Quarterly"
        assert "written before the upgrade" in str(doc.get("body", type=XmlFragment))
        doc.get("title", type=Text).insert(0, "New ")  # and it takes new edits
    async with synced_doc(server.ws_base, "other") as other:
        assert str(other.get("title", type=Text)) == "Other"
    async with synced_doc(server.ws_base, "old") as fresh:
        await wait_until(fresh, lambda: str(fresh.get("title", type=Text)) == "New Quarterly")


async def test_sqlite_database_of_the_previous_release_serves_after_upgrade(
    tmp_path: Path,
) -> None:
    root = previous_release_migrations(tmp_path / "migrations")
    data = tmp_path / "data"
    data.mkdir()
    path = data / "coreport.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert apply_sqlite(conn, root) == ["0001_update_log"]
        for name, updates in old_documents().items():
            conn.execute(
                "INSERT INTO documents (name, last_seq) VALUES (?, ?)", (name, len(updates))
            )
            for seq, update in enumerate(updates, 1):
                conn.execute(
                    "INSERT INTO updates (doc, seq, data) VALUES (?, ?, ?)", (name, seq, update)
                )
    finally:
        conn.close()
    with ServerProcess(data) as server:
        await check_served(server)
    conn = sqlite3.connect(path)
    try:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()
    assert sorted(versions) == [m.version for m in load_migrations("sqlite")]


@pytest.mark.postgres
async def test_postgres_database_of_the_previous_release_serves_after_upgrade(
    tmp_path: Path,
) -> None:
    root = previous_release_migrations(tmp_path / "migrations")
    async with scratch_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            assert await apply_postgres(conn, root) == ["0001_update_log"]
            for name, updates in old_documents().items():
                await conn.execute(
                    "INSERT INTO documents (name, last_seq) VALUES ($1, $2)", name, len(updates)
                )
                for seq, update in enumerate(updates, 1):
                    await conn.execute(
                        "INSERT INTO updates (doc, seq, data) VALUES ($1, $2, $3)",
                        name,
                        seq,
                        update,
                    )
        finally:
            await conn.close()
        with ServerProcess(tmp_path / "data", env={"COREPORT_DATABASE_URL": dsn}) as server:
            await check_served(server)
        conn = await asyncpg.connect(dsn)
        try:
            versions = [row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")]
        finally:
            await conn.close()
        assert sorted(versions) == [m.version for m in load_migrations("postgres")]
