"""Identical history reads that wait for their turn are done once, and never one that has
begun: SharedReads itself, then the SQLite reading thread and the PostgreSQL pool."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from coreport.runs.ports import CodeRef, HistoryRow, Run, RunStore
from coreport.stores.postgres_runs import PostgresRunStore
from coreport.stores.shared_reads import Begun, SharedReads
from coreport.stores.sqlite_runs import SQLiteRunStore
from tests.support.postgres import scratch_database

_T0 = datetime(2025, 1, 1, tzinfo=UTC)


class _Reads:
    """A read per call of :meth:`start`, each held before it begins until let go."""

    def __init__(self) -> None:
        self.started = 0
        self.go: list[asyncio.Event] = []
        self.begun: list[Begun] = []

    async def start(self, begun: Begun) -> list[int]:
        self.started += 1
        number = self.started
        go = asyncio.Event()
        self.go.append(go)
        self.begun.append(begun)
        await go.wait()
        begun()
        return [number]


async def _settle() -> None:
    """Let the tasks made so far run up to where they wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_asks_before_the_read_begins_share_it() -> None:
    reads, shared = _Reads(), SharedReads[str, list[int]]()
    asks = [asyncio.create_task(shared.read("a", reads.start)) for _ in range(10)]
    other = asyncio.create_task(shared.read("b", reads.start))
    await _settle()
    assert reads.started == 2
    assert shared.waiting() == 2
    for go in reads.go:
        go.set()
    results = await asyncio.gather(*asks)
    assert results == [[1]] * 10
    assert all(result is results[0] for result in results)
    assert await other == [2]
    assert shared.waiting() == 0


async def test_an_ask_after_the_read_began_reads_again() -> None:
    reads, shared = _Reads(), SharedReads[str, list[int]]()
    first = asyncio.create_task(shared.read("a", reads.start))
    await _settle()
    reads.begun[0]()  # the store took its snapshot: what is written from now on is not in it
    second = asyncio.create_task(shared.read("a", reads.start))
    await _settle()
    assert reads.started == 2
    for go in reads.go:
        go.set()
    assert (await first, await second) == ([1], [2])


async def test_a_read_that_begins_on_another_thread_is_not_joined_after() -> None:
    shared = SharedReads[str, int]()
    began, go_on = threading.Event(), threading.Event()
    calls = 0

    async def start(begun: Begun) -> int:
        nonlocal calls
        calls += 1
        number = calls

        def work() -> int:  # as a store's thread runs a read
            begun()
            began.set()
            assert go_on.wait(5)
            return number

        return await asyncio.to_thread(work)

    first = asyncio.create_task(shared.read("a", start))
    assert await asyncio.to_thread(began.wait, 5)
    second = asyncio.create_task(shared.read("a", start))
    await _settle()
    go_on.set()
    assert (await first, await second) == (1, 2)


async def test_a_failed_read_fails_every_asker_and_is_not_joined_after() -> None:
    shared = SharedReads[str, int]()
    go = asyncio.Event()
    calls = 0

    async def failing(begun: Begun) -> int:
        nonlocal calls
        calls += 1
        await go.wait()
        raise RuntimeError("the store is closed")

    asks = [asyncio.create_task(shared.read("a", failing)) for _ in range(3)]
    await _settle()
    go.set()
    for outcome in await asyncio.gather(*asks, return_exceptions=True):
        assert isinstance(outcome, RuntimeError)
    with pytest.raises(RuntimeError):
        await shared.read("a", failing)  # it never began, yet it is over: a read of its own
    assert calls == 2
    assert shared.waiting() == 0


async def test_an_asker_that_goes_away_leaves_the_read_to_the_others() -> None:
    reads, shared = _Reads(), SharedReads[str, list[int]]()
    leaving = asyncio.create_task(shared.read("a", reads.start))
    staying = asyncio.create_task(shared.read("a", reads.start))
    await _settle()
    leaving.cancel()
    await _settle()
    reads.go[0].set()
    assert await staying == [1]
    assert leaving.cancelled()


async def test_drained_waits_for_a_read_whose_askers_all_left() -> None:
    reads, shared = _Reads(), SharedReads[str, list[int]]()
    ask = asyncio.create_task(shared.read("a", reads.start))
    await _settle()
    ask.cancel()
    drained = asyncio.create_task(shared.drained())
    await _settle()
    assert not drained.done()  # the read goes on without anyone waiting for it
    reads.go[0].set()
    await drained
    assert reads.started == 1


# The stores: reads asked while the store is busy wait in line, and share.


async def _fill(store: RunStore) -> None:
    code = CodeRef(None, None, None)
    await store.create_run(Run("r1", "p", "r1", "running", {}, {}, (), code, _T0, _T0))
    rows = [HistoryRow(step, 1.0, {"loss": 1.0 / (step + 1)}) for step in range(50)]
    await store.append_history("r1", rows, _T0)


async def _while_held(
    store: RunStore,
    writer: RunStore,
    hold: Callable[[], AsyncIterator[None]],
    shared: SharedReads[Any, Any],
) -> None:
    """Ten asks for one series while ``store`` can begin none; one more after ``writer``
    appended a row: all eleven get one read, begun after the append, so it has the row."""
    held = hold()
    await anext(held)
    asks = [
        asyncio.create_task(store.read_history("r1", ["loss"], max_points=20)) for _ in range(10)
    ]
    await _settle()
    assert shared.waiting() == 1
    await writer.append_history("r1", [HistoryRow(50, 1.0, {"loss": 0.5})], _T0)
    asks.append(asyncio.create_task(store.read_history("r1", ["loss"], max_points=20)))
    await _settle()
    assert shared.waiting() == 1
    await anext(held, None)
    results = await asyncio.gather(*asks)
    assert all(result is results[0] for result in results)
    assert results[0]["loss"].stored == 51
    assert results[0]["loss"].points.steps[-1] == 50
    assert shared.waiting() == 0


async def test_sqlite_reads_waiting_for_the_reading_thread_share_one(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "coreport.db")
    await store.open()
    try:
        await _fill(store)
        release = threading.Event()

        def blocker(started: threading.Event) -> Callable[[sqlite3.Connection], None]:
            def block(conn: sqlite3.Connection) -> None:
                started.set()
                assert release.wait(5)

            return block

        async def hold() -> AsyncIterator[None]:
            # Every reading thread: a read goes to the least busy one.
            started = [threading.Event() for _ in store._readers]
            blocking = [asyncio.create_task(store._read("hold", blocker(e))) for e in started]
            for event in started:
                assert await asyncio.to_thread(event.wait, 5)
            yield
            release.set()
            await asyncio.gather(*blocking)

        await _while_held(store, store, hold, store._history_reads)
    finally:
        await store.close()


async def test_postgres_reads_waiting_for_a_connection_share_one() -> None:
    async with scratch_database() as dsn:
        # The row comes from another instance: this one's only connection is held.
        store, other = PostgresRunStore(dsn, max_size=1), PostgresRunStore(dsn)
        await store.open()
        await other.open()
        try:
            await _fill(store)

            async def hold() -> AsyncIterator[None]:
                async with store._connection("hold"):
                    yield

            await _while_held(store, other, hold, store._history_reads)
        finally:
            await other.close()
            await store.close()


async def test_postgres_history_reads_leave_connections_to_appends_and_lookups() -> None:
    async with scratch_database() as dsn:
        store = PostgresRunStore(dsn, max_size=3, history_readers=1)
        await store.open()
        try:
            await _fill(store)
            async with store._readers:  # as a long read of history would
                reads = [
                    asyncio.create_task(store.read_history("r1", [key], max_points=20))
                    for key in ("loss", "acc", "lr", "loss")
                ]
                await _settle()
                # A training job's rows and a request's run lookup go on meanwhile.
                await store.append_history("r1", [HistoryRow(60, 1.0, {"loss": 0.1})], _T0)
                assert (await store.get_run("r1")).id == "r1"
                assert not any(read.done() for read in reads)
            results = await asyncio.gather(*reads)
            assert results[0] is results[3]
            assert results[0]["loss"].points.steps[-1] == 60
        finally:
            await store.close()
