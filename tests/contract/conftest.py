"""Store fixtures: every contract test runs once on SQLite and once on PostgreSQL.

A test gets a :class:`Backend`: a way to make several stores on the same storage (one SQLite
file, or one scratch Postgres database), which is how the tests stand for several server
instances. Every store made is closed when the test ends; the scratch database is dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from coreport.access.ports import AccessStore
from coreport.ports import Store
from coreport.stores import postgres, sqlite
from tests.support.access_stores import BACKENDS, fresh_access_store
from tests.support.postgres import scratch_database


@dataclass
class Backend:
    name: str
    make: Callable[[], Store]
    #: The backend's module-level ``migrate``, bound to the same storage.
    migrate: Callable[[], Awaitable[list[str]]]
    made: list[Store] = field(default_factory=list)

    def new(self) -> Store:
        """A store on this backend's storage, not yet opened."""
        store = self.make()
        self.made.append(store)
        return store

    async def opened(self) -> Store:
        store = self.new()
        await store.open()
        return store

    async def close_all(self) -> None:
        for store in self.made:
            await store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        # A directory that does not exist yet: opening creates it.
        path = tmp_path / "data" / "coreport.db"
        chosen = Backend("sqlite", lambda: sqlite.SQLiteStore(path), lambda: sqlite.migrate(path))
        try:
            yield chosen
        finally:
            await chosen.close_all()
        return
    async with scratch_database() as dsn:
        chosen = Backend(
            "postgres", lambda: postgres.PostgresStore(dsn), lambda: postgres.migrate(dsn)
        )
        try:
            yield chosen
        finally:
            await chosen.close_all()


@pytest.fixture
async def store(store_backend: Backend) -> Store:
    """One opened store."""
    return await store_backend.opened()


@pytest.fixture(params=BACKENDS)
async def access_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AccessStore]:
    """One opened access store."""
    async with fresh_access_store(request.param, tmp_path) as store:
        yield store
