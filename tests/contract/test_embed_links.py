"""Embed links in the AccessStore contract, on SQLite and on PostgreSQL: stored with their
scope, kept read-only by the schema, and added by a migration that keeps existing links."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from importlib.resources import as_file, files
from pathlib import Path

import asyncpg
import pytest

from coreport.access.model import EmbedScope, ReportEntry, Role, ShareLink, User
from coreport.access.ports import AccessStore
from coreport.ports import StoreError
from coreport.stores.migrations import apply_postgres, apply_sqlite, load_migrations
from coreport.stores.postgres_access import PostgresAccessStore
from coreport.stores.sqlite_access import SQLiteAccessStore
from tests.support.access_stores import opened
from tests.support.postgres import scratch_database

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
#: The last migration before embed links existed.
BEFORE_EMBEDS = 4


async def with_report(store: AccessStore) -> None:
    await store.create_user(User("u_ada", "Ada", None, "#123456", False, NOW))
    await store.register_report(ReportEntry("r1", "p", "u_ada", NOW))


async def test_embed_links_keep_their_scope(access_store: AccessStore) -> None:
    await with_report(access_store)
    panel = ShareLink("cse_00000001", "r1", Role.VIEWER, "u_ada", NOW, embed=EmbedScope("p1"))
    report = ShareLink("cse_00000002", "r1", Role.VIEWER, "u_ada", NOW, NOW, embed=EmbedScope())
    share = ShareLink("csl_00000003", "r1", Role.COMMENTER, "u_ada", NOW)
    for link in (panel, report, share):
        assert await access_store.create_link(link, b"d" * 32)
    assert await access_store.get_link("cse_00000001") == (panel, b"d" * 32)
    assert await access_store.get_link("cse_00000002") == (report, b"d" * 32)
    assert await access_store.list_links("r1") == [panel, report, share]
    revoked = await access_store.revoke_link("cse_00000001", NOW)
    assert revoked is not None
    assert revoked.embed == EmbedScope("p1")
    assert not revoked.usable_at(NOW)


async def test_the_schema_keeps_embed_links_read_only(access_store: AccessStore) -> None:
    await with_report(access_store)
    commenting = ShareLink("cse_00000001", "r1", Role.COMMENTER, None, NOW, embed=EmbedScope())
    with pytest.raises(StoreError):
        await access_store.create_link(commenting, b"d" * 32)
    assert await access_store.list_links("r1") == []


def migrations_before_embeds(root: Path) -> Path:
    with as_file(files("coreport.stores") / "migrations") as shipped:
        for dialect in ("sqlite", "postgres"):
            (root / dialect).mkdir(parents=True)
            for migration in load_migrations(dialect):
                if migration.version <= BEFORE_EMBEDS:
                    shutil.copy(Path(shipped) / dialect / f"{migration.name}.sql", root / dialect)
    return root


async def test_sqlite_links_of_the_previous_schema_survive_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "coreport.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        applied = apply_sqlite(conn, migrations_before_embeds(tmp_path / "migrations"))
        assert applied[-1] == "0004_reports"
        conn.execute("INSERT INTO users VALUES ('u_ada', 'Ada', NULL, '#123456', 0, ?)", (_ts(),))
        conn.execute("INSERT INTO reports VALUES ('r1', 'p', 'u_ada', ?, NULL)", (_ts(),))
        conn.execute(
            "INSERT INTO share_links (prefix, report_id, role, digest, created_by, created_at) "
            "VALUES ('csl_00000001', 'r1', 'commenter', ?, 'u_ada', ?)",
            (b"d" * 32, _ts()),
        )
    finally:
        conn.close()
    async with opened(SQLiteAccessStore(path)) as store:
        assert await store.list_links("r1") == [
            ShareLink("csl_00000001", "r1", Role.COMMENTER, "u_ada", NOW)
        ]


@pytest.mark.postgres
async def test_postgres_links_of_the_previous_schema_survive_the_upgrade(tmp_path: Path) -> None:
    async with scratch_database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            applied = await apply_postgres(conn, migrations_before_embeds(tmp_path / "migrations"))
            assert applied[-1] == "0004_reports"
            await conn.execute(
                "INSERT INTO users VALUES ('u_ada', 'Ada', NULL, '#1', false, $1)", NOW
            )
            await conn.execute("INSERT INTO reports VALUES ('r1', 'p', 'u_ada', $1, NULL)", NOW)
            await conn.execute(
                "INSERT INTO share_links (prefix, report_id, role, digest, created_by, created_at) "
                "VALUES ('csl_00000001', 'r1', 'commenter', $1, 'u_ada', $2)",
                b"d" * 32,
                NOW,
            )
        finally:
            await conn.close()
        async with opened(PostgresAccessStore(dsn)) as store:
            assert await store.list_links("r1") == [
                ShareLink("csl_00000001", "r1", Role.COMMENTER, "u_ada", NOW)
            ]


def _ts() -> str:
    return NOW.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
