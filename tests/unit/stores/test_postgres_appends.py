"""The PostgreSQL store's appends run on a connection of their own (see its docstring):
what happens when that connection is busy, dies, or the store closes around it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from coreport.ports import StoredUpdate, StoreError
from coreport.stores.postgres import PostgresStore
from tests.support.postgres import scratch_database
from tests.support.services import POSTGRES_URL

pytestmark = pytest.mark.postgres

DOC = "reports/r1"


@pytest.fixture
async def store() -> AsyncIterator[PostgresStore]:
    async with scratch_database() as dsn:
        opened = PostgresStore(dsn, max_size=3)
        await opened.open()
        try:
            yield opened
        finally:
            await opened.close()


async def until_blocked(conn: asyncpg.Connection, pid: int, seconds: float = 5.0) -> None:
    """Ask the database until backend ``pid`` waits for a lock another backend holds.
    Bounded polling of the database, which announces no such wait."""
    for _ in range(int(seconds / 0.01)):
        if await conn.fetchval("SELECT cardinality(pg_blocking_pids($1)) > 0", pid):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} did not wait for a lock within {seconds} s")


def appender_pid(store: PostgresStore) -> int:
    assert store._appender is not None
    pid: int = store._appender.get_server_pid()
    return pid


async def admin_value(query: str, *args: object) -> Any:
    """One value from the test server's own database (``pg_stat_activity`` and
    ``pg_terminate_backend`` reach every database's backends)."""
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        return await admin.fetchval(query, *args)
    finally:
        await admin.close()


@asynccontextmanager
async def blocked_append(
    store: PostgresStore, data: bytes
) -> AsyncIterator[asyncio.Task[list[int]]]:
    """An append of ``data`` to DOC on the appends' connection, started while another
    connection holds DOC's row lock and yielded once the database reports it waiting for
    that lock; the lock is let go when the block ends."""
    pid = appender_pid(store)
    holder = await asyncpg.connect(store._dsn)
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM documents WHERE name = $1 FOR UPDATE", DOC)
            appending = asyncio.create_task(store.append([(DOC, data)]))
            await until_blocked(holder, pid)
            yield appending
    finally:
        await holder.close()


async def test_appends_share_one_connection_of_their_own(store: PostgresStore) -> None:
    assert await store.append([(DOC, b"a")]) == [1]
    pid = appender_pid(store)
    assert await store.append([(DOC, b"b"), ("reports/r2", b"c")]) == [2, 1]
    assert appender_pid(store) == pid
    # Not one of the pool's: a pool query runs on another backend.
    assert await store._pool.fetchval("SELECT pg_backend_pid()") != pid


async def test_appends_at_once_take_the_pool_while_it_is_busy(store: PostgresStore) -> None:
    assert await store.append([(DOC, bytes([i])) for i in range(3)]) == [1, 2, 3]
    together = await asyncio.gather(*(store.append([(DOC, bytes([i]))]) for i in range(8)))
    # One gapless sequence, whichever connection each append ran on.
    assert sorted(seq for (seq,) in together) == list(range(4, 12))
    state = await store.load(DOC)
    assert [u.seq for u in state.updates] == list(range(1, 12))


async def test_a_terminated_appends_connection_is_replaced_and_nothing_is_lost(
    store: PostgresStore,
) -> None:
    assert await store.append([(DOC, b"before")]) == [1]
    killed = appender_pid(store)
    assert await admin_value("SELECT pg_terminate_backend($1)", killed)
    # The database closed it while idle (a restart, an administrator): the next append
    # fails on it, drops it, and commits on a new one.
    assert await store.append([(DOC, b"after")]) == [2]
    assert appender_pid(store) != killed
    state = await store.load(DOC)
    assert state.updates == (StoredUpdate(1, b"before"), StoredUpdate(2, b"after"))


async def test_a_refused_append_keeps_the_connection(store: PostgresStore) -> None:
    assert await store.append([(DOC, b"kept")]) == [1]
    pid = appender_pid(store)
    refused: list[tuple[str, Any]] = [(DOC, "not bytes")]
    with pytest.raises(StoreError):
        await store.append(refused)
    assert appender_pid(store) == pid
    assert await store.append([(DOC, b"next")]) == [2]


async def test_a_cancelled_append_drops_the_connection(store: PostgresStore) -> None:
    assert await store.append([(DOC, b"first")]) == [1]
    pid = appender_pid(store)
    # Cancelled while its statement waits for a row lock that another transaction holds:
    # where the statement stands is unknown, so the connection is not used again.
    async with blocked_append(store, b"cancelled") as blocked:
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
    assert store._appender is None
    seqs = await store.append([(DOC, b"third")])
    assert appender_pid(store) != pid
    # The cancelled statement either committed before the cancel reached the
    # database or not at all; the next one follows it either way, without a gap.
    assert seqs in ([2], [3])
    state = await store.load(DOC)
    assert [u.seq for u in state.updates] == list(range(1, seqs[0] + 1))


async def test_close_waits_for_the_append_in_progress_and_closes_its_connection(
    store: PostgresStore,
) -> None:
    assert await store.append([(DOC, b"a")]) == [1]
    pid = appender_pid(store)
    async with blocked_append(store, b"b") as appending:
        closing = asyncio.create_task(store.close())
        for _ in range(5):  # let close() run up to its first wait
            await asyncio.sleep(0)
        assert store._pool is None  # close() has begun: no new call gets in...
        assert not closing.done()  # ...and it waits for the append, blocked on the lock
    assert await appending == [2]
    await closing
    # A later append is refused, and opens no connection.
    with pytest.raises(StoreError):
        await store.append([(DOC, b"c")])
    assert store._appender is None
    assert not await admin_value("SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1", pid)
