"""Versioned SQL migrations: discover them, plan what is pending, apply it.

Migrations are package data, one directory per dialect
(``coreport/stores/migrations/<dialect>/NNNN_name.sql``), applied in version order. Each
database records what it has in ``schema_migrations(version, name, applied_at)``. All pending
migrations are applied in one transaction that first takes the database's write lock (SQLite:
``BEGIN IMMEDIATE``; Postgres: an advisory lock), so processes starting at once apply each
migration exactly once and a failed migration leaves the schema as it was.

Versions recorded in the database that this code does not know are accepted: they were applied
by a newer release during a rolling upgrade, and migrations add to the schema, with one
exception: SQLite's 0006 drops the column through which a release before it numbered updates,
so such a release can read a file migrated past it but no longer append to it (its append
fails without writing; the processes sharing one SQLite file upgrade together).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from coreport.ports import StoreError

DIALECTS = ("sqlite", "postgres")

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<label>[a-z0-9_]+)\.sql$")

_SQLITE_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""

_POSTGRES_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

#: Key of the transaction-level advisory lock that serializes migrations in one Postgres
#: database. Any fixed 64-bit number works; this one is "coreport" in ASCII.
POSTGRES_MIGRATION_LOCK = 0x636F_7265_706F_7274


class MigrationError(StoreError):
    """The migrations shipped with the code and those recorded in the database disagree."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    #: The file name without ``.sql``, e.g. ``0001_update_log``; recorded in the database.
    name: str
    sql: str


def load_migrations(dialect: str, root: Traversable | None = None) -> list[Migration]:
    """The migrations of ``dialect`` in version order.

    ``root`` is the directory holding one folder per dialect; the package's own by default.
    Every ``.sql`` file must be named ``NNNN_name.sql`` with a unique version.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {DIALECTS}")
    base = (root if root is not None else files("coreport.stores") / "migrations") / dialect
    found: dict[int, Migration] = {}
    for entry in base.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        version = int(match["version"])
        if version in found:
            raise MigrationError(f"two {dialect} migrations have version {version:04d}")
        name = entry.name.removesuffix(".sql")
        found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def pending_migrations(
    available: Sequence[Migration], applied: Mapping[int, str]
) -> list[Migration]:
    """The migrations of ``available`` not yet in ``applied`` (version -> name), in order.

    Raises :class:`MigrationError` when a version was applied under another name: the
    database was migrated by code whose history differs from ours.
    """
    for migration in available:
        recorded = applied.get(migration.version)
        if recorded is not None and recorded != migration.name:
            raise MigrationError(
                f"migration {migration.version:04d} is recorded as {recorded!r} "
                f"but this release ships {migration.name!r}"
            )
    return [migration for migration in available if migration.version not in applied]


def apply_sqlite(conn: sqlite3.Connection, root: Traversable | None = None) -> list[str]:
    """Apply the pending SQLite migrations on ``conn``; return the names applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``): the runner opens the
    transaction itself, because ``executescript`` would commit behind its back.
    """
    if conn.isolation_level is not None or conn.in_transaction:
        raise ValueError("apply_sqlite needs an autocommit connection outside a transaction")
    available = load_migrations("sqlite", root)
    # IMMEDIATE takes the write lock before reading schema_migrations, so a second process
    # waits here and then sees what the first one applied.
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_SQLITE_BOOKKEEPING)
        applied = dict(conn.execute("SELECT version, name FROM schema_migrations").fetchall())
        todo = pending_migrations(available, applied)
        for migration in todo:
            for statement in split_sqlite_script(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return [migration.name for migration in todo]


async def apply_postgres(conn: Any, root: Traversable | None = None) -> list[str]:
    """Apply the pending Postgres migrations on the asyncpg connection ``conn``.

    Returns the names applied. Safe when several processes call it at once on one database.
    """
    available = load_migrations("postgres", root)
    async with conn.transaction():
        # Taken before the bookkeeping table is even created: concurrent
        # CREATE TABLE IF NOT EXISTS statements can otherwise fail on the catalog.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", POSTGRES_MIGRATION_LOCK)
        await conn.execute(_POSTGRES_BOOKKEEPING)
        rows = await conn.fetch("SELECT version, name FROM schema_migrations")
        todo = pending_migrations(available, {row["version"]: row["name"] for row in rows})
        for migration in todo:
            # No arguments: asyncpg sends the simple query protocol, which allows a script.
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
    return [migration.name for migration in todo]


def split_sqlite_script(script: str) -> Iterator[str]:
    """The statements of an SQL script, for running them one by one inside a transaction.

    SQLite's own parser (``sqlite3.complete_statement``) decides where a statement ends, so
    semicolons inside strings, comments and trigger bodies do not split it.
    """
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start : index + 1]):
            yield script[start : index + 1].strip()
            start = index + 1
    rest = script[start:].strip()
    if rest:
        # A last statement without ';' (or a trailing comment): SQLite runs either as is.
        yield rest
