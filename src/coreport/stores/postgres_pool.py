"""The connection pool the PostgreSQL stores of the domains (runs, reports, access) share
the lifecycle of: open with migrations, close, and driver errors as ``StoreError``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg

from coreport.ports import StoreError
from coreport.stores.migrations import apply_postgres
from coreport.stores.postgres import _DRIVER_ERRORS, _describe


class PooledStore:
    """Base of a store with its own asyncpg pool on the database named by ``dsn``.

    Each domain store has its own small pool so that its queries never queue in front of
    the document appends live editors wait on.
    """

    #: How messages name the store, e.g. "PostgreSQL run store".
    label = "PostgreSQL store"

    def __init__(self, dsn: str, min_size: int = 1, max_size: int = 4) -> None:
        self._dsn = dsn
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None
        self._lifecycle = asyncio.Lock()

    async def open(self) -> None:
        """Connect the pool and apply pending migrations. Idempotent."""
        async with self._lifecycle:
            if self._pool is not None:
                return
            try:
                pool = await asyncpg.create_pool(
                    self._dsn, min_size=self._min_size, max_size=self._max_size
                )
            except Exception as exc:  # any failure to start the pool means: unusable
                raise StoreError(f"{self.label}: cannot connect: {_describe(exc)}") from exc
            try:
                with self._wrapped("migrate the schema"):
                    async with pool.acquire() as conn:
                        await apply_postgres(conn)
            except BaseException:
                pool.terminate()
                raise
            self._pool = pool

    async def close(self) -> None:
        """Close the pool once every call in progress has released its connection."""
        async with self._lifecycle:
            pool, self._pool = self._pool, None
            if pool is not None:
                with self._wrapped("close the pool"):
                    await pool.close()

    def _require_pool(self, what: str) -> Any:
        if self._pool is None:
            raise StoreError(f"cannot {what}: the {self.label} is not open")
        return self._pool

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[Any]:
        """A pooled connection; driver errors in the block become :class:`StoreError`."""
        pool = self._require_pool(what)
        with self._wrapped(what):
            async with pool.acquire() as conn:
                yield conn

    @contextmanager
    def _wrapped(self, what: str) -> Iterator[None]:
        # The DSN stays out of messages: it may carry a password.
        try:
            yield
        except _DRIVER_ERRORS as exc:
            raise StoreError(f"{self.label}: cannot {what}: {_describe(exc)}") from exc
