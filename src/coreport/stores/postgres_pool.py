"""What every PostgreSQL store shares: its own asyncpg pool, opened with migrations and
closed, and driver errors turned into ``StoreError``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg

from coreport.ports import StoreError
from coreport.stores.migrations import apply_postgres

#: What asyncpg raises when the database or the connection to it fails.
DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)

#: Failures of the connection itself (as opposed to errors the server reported): the
#: pool's other idle connections are likely dead too (a restart, a network cut). asyncpg
#: raises InternalClientError ("another operation is in progress") for a statement sent
#: on a connection whose server ended it (an administrator's or a restart's FATAL) before
#: asyncpg had noticed.
CONNECTION_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@asynccontextmanager
async def wrapped(label: str, what: str, pool: Any = None) -> AsyncIterator[None]:
    """Driver errors in the block become :class:`StoreError` ("``label``: cannot
    ``what``: ..."); after a failed connection, ``pool`` replaces its idle ones."""
    # The DSN stays out of messages: it may carry a password.
    try:
        yield
    except DRIVER_ERRORS as exc:
        if pool is not None and isinstance(exc, CONNECTION_ERRORS):
            await pool.expire_connections()
        raise StoreError(f"{label}: cannot {what}: {describe(exc)}") from exc


class PooledStore:
    """Base of a store with its own asyncpg pool on the database named by ``dsn``.

    Each store has its own small pool so that its queries never queue in front of another
    store's (the access checks at connect time, the document appends live editors wait on).
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
                    self._dsn,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    reset=_leave_session_as_is,
                )
            except Exception as exc:
                # Whatever stops the pool from starting (a refused connection, a bad DSN, an
                # out-of-range port) means the same to the caller: the store is unusable.
                raise StoreError(f"{self.label}: cannot connect: {describe(exc)}") from exc
            try:
                async with self._wrapped("migrate the schema"), pool.acquire() as conn:
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
                await self._closing()
                async with self._wrapped("close the pool"):
                    await pool.close()

    async def _closing(self) -> None:
        """Called by :meth:`close` once the pool is no longer handed out, before it closes:
        a subclass lets go of what it holds besides the pool here."""

    def _require_pool(self, what: str) -> Any:
        if self._pool is None:
            raise StoreError(f"cannot {what}: the {self.label} is not open")
        return self._pool

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[Any]:
        """A pooled connection; driver errors in the block become :class:`StoreError`."""
        pool = self._require_pool(what)
        async with self._wrapped(what, pool), pool.acquire() as conn:
            yield conn

    def _wrapped(self, what: str, pool: Any = None) -> AbstractAsyncContextManager[None]:
        return wrapped(self.label, what, pool)


async def _leave_session_as_is(conn: Any) -> None:
    """What a pool does to a connection it takes back, beyond rolling back a transaction
    left open (asyncpg always does that): nothing. Its default reset query (unlock every
    advisory lock, close cursors, UNLISTEN, RESET ALL) is a round trip on every release,
    and a release comes before the call returns: before an append's relay, before an
    access check lets a socket in. The stores leave no session state to undo: their
    advisory locks, and the migrations', are transaction-level, and they declare no
    cursor, LISTEN to nothing and SET nothing. A store that does must reset it itself."""
