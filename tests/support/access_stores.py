"""Access stores for tests: opened on fresh storage of either backend, closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from coreport.access.ports import AccessStore
from coreport.stores.postgres_access import PostgresAccessStore
from coreport.stores.sqlite_access import SQLiteAccessStore
from tests.support.postgres import scratch_database

#: Parameters for a fixture that runs its tests once on each backend.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

S = TypeVar("S", bound=AccessStore)


@asynccontextmanager
async def opened(store: S) -> AsyncIterator[S]:
    """Open ``store``; close it when the block ends."""
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def fresh_access_store(backend: str, directory: Path) -> AsyncIterator[AccessStore]:
    """An opened access store on new storage: a SQLite file under ``directory`` (in a
    folder that does not exist yet), or a scratch PostgreSQL database, dropped afterwards."""
    if backend == "sqlite":
        async with opened(SQLiteAccessStore(directory / "data" / "coreport.sqlite3")) as store:
            yield store
        return
    async with scratch_database() as dsn, opened(PostgresAccessStore(dsn)) as store:
        yield store
