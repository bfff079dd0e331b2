"""The PostgreSQL stores when the database is not there or fails: every failure is a
StoreError that names the store."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import asyncpg
import pytest

from coreport.ports import StoreError
from coreport.stores.postgres import PostgresStore, migrate
from coreport.stores.postgres_access import PostgresAccessStore
from coreport.stores.postgres_pool import PooledStore, wrapped
from coreport.stores.postgres_reports import PostgresReportStore
from coreport.stores.postgres_runs import PostgresRunStore
from tests.support.postgres import scratch_database


@pytest.fixture
def refused_dsn() -> Iterator[str]:
    """A DSN whose port refuses connections: bound by this test, but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        yield f"postgresql://coreport:secret@127.0.0.1:{port}/coreport"


async def test_open_fails_with_store_error_and_leaves_the_store_closed(refused_dsn: str) -> None:
    store = PostgresStore(refused_dsn)
    with pytest.raises(StoreError) as raised:
        await store.open()
    assert isinstance(raised.value.__cause__, OSError)
    assert "secret" not in str(raised.value), "the password stays out of error messages"
    with pytest.raises(StoreError):
        await store.ping()
    with pytest.raises(StoreError):
        await store.append([("reports/r1", b"x")])
    await store.close()


async def test_migrate_fails_with_store_error(refused_dsn: str) -> None:
    with pytest.raises(StoreError):
        await migrate(refused_dsn)


class _Pool:
    """Records what :func:`wrapped` asks of the pool: a real one adds nothing here."""

    def __init__(self) -> None:
        self.expired = 0

    async def expire_connections(self) -> None:
        self.expired += 1


async def test_a_failed_connection_expires_the_pools_others_and_names_the_store() -> None:
    pool = _Pool()
    with pytest.raises(StoreError, match=r"^PostgreSQL run store: cannot list runs: OSError"):
        async with wrapped("PostgreSQL run store", "list runs", pool):
            raise OSError("connection reset")
    assert pool.expired == 1


async def test_an_error_the_server_reported_keeps_the_pools_connections() -> None:
    pool = _Pool()
    with pytest.raises(StoreError, match="UniqueViolationError") as raised:
        async with wrapped("PostgreSQL access store", "create a user", pool):
            raise asyncpg.UniqueViolationError("duplicate key")
    assert isinstance(raised.value.__cause__, asyncpg.UniqueViolationError)
    assert pool.expired == 0


@pytest.mark.postgres
@pytest.mark.parametrize(
    "make", [PostgresStore, PostgresAccessStore, PostgresRunStore, PostgresReportStore]
)
async def test_a_connection_goes_back_to_the_pool_without_a_reset_round_trip(
    make: type[PooledStore],
) -> None:
    """asyncpg's default reset (RESET ALL and three more statements) would undo this
    SET: its absence shows the pool takes the connection back as it is."""
    async with scratch_database() as dsn:
        store = make(dsn, 1, 1)  # one connection: the second block gets the first's
        await store.open()
        try:
            async with store._connection("set") as conn:
                await conn.execute("SET application_name = 'kept'")
            async with store._connection("read") as conn:
                assert await conn.fetchval("SHOW application_name") == "kept"
        finally:
            await store.close()
