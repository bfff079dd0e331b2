"""The Postgres store when the database is not there: every failure is a StoreError."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from coreport.ports import StoreError
from coreport.stores.postgres import PostgresStore, migrate


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
