"""Appends to the SQLite run store share commits: what comes while one is committed goes
together in the next transaction, each append keeping its own outcome."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coreport.ports import StoreError
from coreport.runs.ports import CodeRef, HistoryRow, LogLine, Run, RunNotFound
from coreport.stores.sqlite_runs import SQLiteRunStore
from coreport.stores.sqlite_shared import Failed, SharedCommits, each_alone

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _run(run_id: str) -> Run:
    return Run(
        id=run_id,
        project="p",
        name=run_id,
        state="running",
        config={},
        summary={},
        tags=(),
        code=CodeRef(None, None, None),
        created_at=T0,
        updated_at=T0,
    )


def _rows(step: int, metrics: int = 1) -> list[HistoryRow]:
    return [HistoryRow(step, 1.0, {f"m{k}": float(step) for k in range(metrics)})]


async def _opened(path: Path, *runs: str, busy_timeout: float = 5.0) -> SQLiteRunStore:
    store = SQLiteRunStore(path, busy_timeout=busy_timeout)
    await store.open()
    for run_id in runs:
        await store.create_run(_run(run_id))
    return store


def _commits(store: SQLiteRunStore) -> list[str]:
    """Every COMMIT the store's connection runs from now on (one entry each)."""
    worker = store._worker
    assert worker is not None
    conn = worker._conn
    assert conn is not None
    commits: list[str] = []
    conn.set_trace_callback(
        lambda statement: commits.append(statement) if statement == "COMMIT" else None
    )
    return commits


async def _held(store: SQLiteRunStore) -> tuple[threading.Event, asyncio.Future[None]]:
    """Hold the store's worker until the returned event is set."""
    started, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        started.set()
        release.wait(10)

    held = asyncio.ensure_future(store._call("hold", hold))
    await asyncio.to_thread(started.wait, 10)
    return release, held


async def test_appends_that_come_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    store = await _opened(tmp_path / "c.db", *(f"r{i}" for i in range(6)))
    try:
        commits = _commits(store)
        release, held = await _held(store)
        # The first goes to the worker at once (behind the held call); the other five
        # come while it waits, and wait for it.
        appends = [asyncio.ensure_future(store.append_history("r0", _rows(1), T0))]
        await asyncio.sleep(0)
        appends += [
            asyncio.ensure_future(store.append_history(f"r{i}", _rows(1), T0)) for i in range(1, 6)
        ]
        await asyncio.sleep(0)  # one turn: each append is handed over
        # The worker is held, so nothing can finish: the first is in its queue, the other
        # five wait for the commit after it.
        assert len(store._history._waiting) == 5
        assert not any(a.done() for a in appends)
        release.set()
        await held
        await asyncio.gather(*appends)
        assert len(commits) == 2
        # Alone, an append commits at once, on its own.
        await store.append_history("r0", _rows(2), T0)
        assert len(commits) == 3
        for i in range(6):
            assert (await store.read_history(f"r{i}", ["m0"]))["m0"].points.steps == (
                [1, 2] if i == 0 else [1]
            )
    finally:
        await store.close()


async def test_an_append_that_fails_in_a_shared_commit_fails_alone(tmp_path: Path) -> None:
    store = await _opened(tmp_path / "c.db", "r1", "r2")
    try:
        release, held = await _held(store)
        first = asyncio.ensure_future(store.append_history("r1", _rows(0), T0))
        await asyncio.sleep(0)
        later = T0.replace(hour=13)
        good = asyncio.ensure_future(store.append_history("r1", _rows(1), later))
        missing = asyncio.ensure_future(store.append_history("gone", _rows(1), T0))
        # SQLite refuses NaN: the whole append (both rows) is undone, the others stay.
        bad_rows = [HistoryRow(2, 1.0, {"m0": 2.0}), HistoryRow(3, 1.0, {"m0": float("nan")})]
        bad = asyncio.ensure_future(store.append_history("r2", bad_rows, later))
        lines = asyncio.ensure_future(store.append_logs("r2", [LogLine("hi", "stdout", 1.0)], None))
        release.set()
        await held
        await first
        await good
        with pytest.raises(RunNotFound):
            await missing
        with pytest.raises(StoreError, match=r"SQLite append history failed on .*c\.db"):
            await bad
        assert await lines == 0
        assert (await store.read_history("r1", ["m0"]))["m0"].points.steps == [0, 1]
        assert (await store.get_run("r1")).updated_at == later
        assert (await store.read_history("r2", ["m0"]))["m0"].points.steps == []
        assert (await store.get_run("r2")).updated_at == T0
    finally:
        await store.close()


async def test_a_failed_transaction_fails_every_append_in_it(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = await _opened(path, "r1", "r2", busy_timeout=0.2)
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer
    try:
        other.execute("BEGIN IMMEDIATE")
        results = await asyncio.gather(
            store.append_history("r1", _rows(1), T0),
            store.append_history("r2", _rows(1), T0),
            return_exceptions=True,
        )
        for result in results:
            assert isinstance(result, StoreError)
            assert "database is locked" in str(result)
        other.execute("ROLLBACK")
        # Nothing is left behind: the next appends commit.
        await store.append_history("r1", _rows(2), T0)
        assert (await store.read_history("r1", ["m0"]))["m0"].points.steps == [2]
    finally:
        other.close()
        await store.close()


async def test_a_shared_commit_takes_appends_up_to_its_size(tmp_path: Path) -> None:
    store = await _opened(tmp_path / "c.db", "r1")
    sizes: list[int] = []

    def write(conn: sqlite3.Connection, item: int) -> int:
        sizes.append(item)
        return item * 10

    shared: SharedCommits[int, int] = SharedCommits(
        store, "count", write, size=lambda item: item, max_size=10
    )
    commits = _commits(store)
    try:
        release, held = await _held(store)
        calls = [asyncio.ensure_future(shared(12))]  # more than the size: alone, all the same
        await asyncio.sleep(0)
        calls += [asyncio.ensure_future(shared(n)) for n in (4, 6, 3, 20)]
        await asyncio.sleep(0)
        release.set()
        await held
        assert await asyncio.gather(*calls) == [120, 40, 60, 30, 200]
        # 12 | 4 + 6 | 3 (3 + 20 is over) | 20
        assert len(commits) == 4
        assert sizes == [12, 4, 6, 3, 20]
    finally:
        await store.close()


async def test_closing_commits_the_appends_handed_over_and_a_gone_caller_s_too(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.db"
    store = await _opened(path, "r1", "r2")
    release, held = await _held(store)
    first = asyncio.ensure_future(store.append_history("r1", _rows(1), T0))
    await asyncio.sleep(0)
    gone = asyncio.ensure_future(store.append_history("r2", _rows(1), T0))
    await asyncio.sleep(0)
    gone.cancel()  # the request went away; what it handed over is written all the same
    closing = asyncio.ensure_future(store.close())
    await asyncio.sleep(0)  # one turn: close() now waits for the appends handed over
    assert not closing.done()
    assert store._worker is not None  # the file is still open for them
    release.set()
    await held
    await closing
    await first
    reopened = await _opened(path)
    try:
        for run_id in ("r1", "r2"):
            assert (await reopened.read_history(run_id, ["m0"]))["m0"].points.steps == [1]
    finally:
        await reopened.close()


def test_each_alone_keeps_the_order_and_each_outcome(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    try:
        conn.execute("CREATE TABLE t (x INTEGER NOT NULL)")

        def write(conn: sqlite3.Connection, x: int | None) -> int:
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("INSERT INTO t VALUES (?)", (x,))
            return 2

        outcomes = each_alone(conn, [5, None, 7], write)
        assert outcomes[0] == outcomes[2] == 2
        failed = outcomes[1]
        assert isinstance(failed, Failed)
        assert "NOT NULL" in str(failed.error)
        # The failed item's first insert went with it.
        assert conn.execute("SELECT x FROM t ORDER BY rowid").fetchall() == [(1,), (5,), (1,), (7,)]
    finally:
        conn.close()
