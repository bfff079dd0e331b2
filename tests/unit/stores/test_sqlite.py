"""What the SQLite stores promise beyond their contracts: durability settings, files,
the lifecycle they share."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coreport.ports import Compaction, StoreError
from coreport.runs.ports import CodeRef, HistoryRow, Run
from coreport.stores import sqlite as sqlite_store
from coreport.stores.merge import merge_updates
from coreport.stores.migrations import apply_sqlite, load_migrations
from coreport.stores.sqlite import _INLINE_MAX_BYTES, SQLiteStore, WorkerStore, migrate
from coreport.stores.sqlite_access import SQLiteAccessStore
from coreport.stores.sqlite_reports import SQLiteReportStore
from coreport.stores.sqlite_runs import SQLiteRunStore
from tests.contract.ydocs import contents, make_edits, rebuild
from tests.support.fakes import ManualClock

_T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _a_run(run_id: str) -> Run:
    return Run(run_id, "p", run_id, "running", {}, {}, (), CodeRef(None, None, None), _T0, _T0)


async def test_open_creates_the_directory_and_a_wal_file_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "coreport.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        pragmas = await store._call(
            "inspect",
            lambda conn: [
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            ],
        )
        # synchronous=2 is FULL: a commit is on disk before append returns.
        assert pragmas == ["wal", 2, 5000, 1]
    finally:
        await store.close()
    conn = sqlite3.connect(path)
    try:
        versions = conn.execute("SELECT version, name FROM schema_migrations").fetchall()
    finally:
        conn.close()
    # Every migration the release ships, in order (0001 is the update log).
    assert versions == [(m.version, m.name) for m in load_migrations("sqlite")]
    assert versions[0] == (1, "0001_update_log")


async def test_open_fails_with_store_error_where_no_file_can_be(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = SQLiteStore(blocker / "coreport.db")
    with pytest.raises(StoreError) as raised:
        await store.open()
    assert isinstance(raised.value.__cause__, OSError)
    with pytest.raises(StoreError):
        await store.ping()
    await store.close()  # nothing to close: harmless


@pytest.mark.parametrize(
    ("make", "label"),
    [
        (SQLiteStore, "SQLite store"),
        (SQLiteAccessStore, "SQLite access store"),
        (SQLiteRunStore, "SQLite run store"),
        (SQLiteReportStore, "SQLite report store"),
    ],
)
async def test_every_store_on_the_file_refuses_calls_when_closed_and_names_itself(
    tmp_path: Path, make: Callable[[Path], WorkerStore], label: str
) -> None:
    path = tmp_path / "coreport.db"
    store = make(path)
    refused = f"^cannot ping: the {label} {re.escape(str(path))} is not open$"
    with pytest.raises(StoreError, match=refused):
        await store._call("ping", lambda conn: conn.execute("SELECT 1").fetchone())
    await store.open()
    await store.open()  # idempotent: the same worker
    assert await store._call("ping", lambda conn: conn.execute("SELECT 1").fetchone()) == (1,)
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match=f"the {label} .* is not open"):
        await store._call("ping", lambda conn: conn.execute("SELECT 1").fetchone())


async def test_open_fails_with_store_error_on_a_file_that_is_not_a_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "coreport.db"
    path.write_bytes(b"this is not an SQLite database, not even its header" * 10)
    with pytest.raises(StoreError) as raised:
        await SQLiteStore(path).open()
    assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)


async def test_migrate_prepares_a_file_the_store_then_opens(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "coreport.db"
    assert await migrate(path) == [m.name for m in load_migrations("sqlite")]
    store = SQLiteStore(path)
    await store.open()
    try:
        assert await store.append([("reports/r1", b"x")]) == [1]
    finally:
        await store.close()


async def test_a_file_numbered_by_its_documents_rows_carries_on_after_the_upgrade(
    tmp_path: Path,
) -> None:
    """Before migration 0006 each document's row counted its updates; its numbers go on
    from the log, or from the snapshot where a compaction folded every row."""
    before = tmp_path / "migrations" / "sqlite"
    before.mkdir(parents=True)
    for migration in load_migrations("sqlite"):
        if migration.version < 6:
            (before / f"{migration.name}.sql").write_text(migration.sql)
    path = tmp_path / "coreport.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        apply_sqlite(conn, tmp_path / "migrations")
        conn.executemany(
            "INSERT INTO documents (name, last_seq) VALUES (?, ?)",
            [("reports/logged", 3), ("reports/folded", 7), ("reports/both", 9)],
        )
        conn.executemany(
            "INSERT INTO updates (doc, seq, data) VALUES (?, ?, ?)",
            [("reports/logged", seq, b"u") for seq in (1, 2, 3)] + [("reports/both", 9, b"u")],
        )
        conn.executemany(
            "INSERT INTO snapshots (doc, seq, data) VALUES (?, ?, ?)",
            [("reports/folded", 7, b"s"), ("reports/both", 8, b"s")],
        )
    finally:
        conn.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        names = ["reports/logged", "reports/folded", "reports/both", "reports/new"]
        assert await store.last_seqs(names) == dict(zip(names[:3], (3, 7, 9), strict=True))
        assert await store.append([(name, b"next") for name in names]) == [4, 8, 10, 1]
        assert await store.append([("reports/folded", b"again")]) == [9]
        columns = await store._call(
            "inspect", lambda conn: [row[1] for row in conn.execute("PRAGMA table_info(documents)")]
        )
        assert columns == ["name", "created_at"]
    finally:
        await store.close()


async def test_an_append_writes_the_log_and_not_the_documents_row(tmp_path: Path) -> None:
    """Each page a commit changes goes to the WAL and, at the next checkpoint, back into
    the file: an update is a row of the log (its table's page and its index's), without a
    counter in the document's row that every append would rewrite too."""
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    try:
        await store.append([("reports/r1", b"first")])
        # Start the log over, then count the pages 50 appends put in it (the store's own
        # checkpoint comes after 250 at its first guess).
        await store._call(
            "restart", lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        )
        for _ in range(50):
            await store.append([("reports/r1", b"an update of a few bytes")])
        ((_, pages, _),) = await store._call(
            "count", lambda conn: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        )
        # Two pages per append, and a few more where the log's pages split.
        assert 100 <= pages <= 110
    finally:
        await store.close()


class _HeldMerge:
    """A merge that waits for the test to let it finish (it runs on a worker thread)."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.go_on = threading.Event()

    def __call__(self, parts: Sequence[bytes]) -> bytes:
        self.started.set()
        assert self.go_on.wait(10)
        return merge_updates(parts)


async def _while_merging(
    store: SQLiteStore, doc: str, during: Callable[[], Awaitable[None]]
) -> Compaction:
    merge = _HeldMerge()
    compaction = asyncio.create_task(store.compact(doc, merge))
    assert await asyncio.to_thread(merge.started.wait, 10)
    await during()  # the store serves these while the merge runs
    merge.go_on.set()
    return await compaction


async def test_appends_go_on_while_a_compaction_merges_and_are_kept(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    try:
        edits = make_edits(8)
        await store.append([("reports/a", u) for u in edits.updates[:5]])

        async def append_rest() -> None:
            assert await store.append([("reports/a", u) for u in edits.updates[5:]]) == [6, 7, 8]

        assert await _while_merging(store, "reports/a", append_rest) == Compaction(5, 5)
        state = await store.load("reports/a")
        assert (state.snapshot_seq, [u.seq for u in state.updates]) == (5, [6, 7, 8])
        assert contents(rebuild(state)) == contents(edits.doc)
    finally:
        await store.close()


async def test_a_compaction_overtaken_by_a_delete_writes_nothing(tmp_path: Path) -> None:
    """A document deleted and written again (its seqs start over) while the old one's log
    was merging keeps only what was written after the delete."""
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    try:
        old, new = make_edits(3, seed=1), make_edits(3, seed=2)
        await store.append([("reports/a", u) for u in old.updates])

        async def delete_and_rewrite() -> None:
            await store.delete("reports/a")
            await store.append([("reports/a", u) for u in new.updates])

        assert await _while_merging(store, "reports/a", delete_and_rewrite) == Compaction(0, 0)
        state = await store.load("reports/a")
        assert (state.snapshot, [u.seq for u in state.updates]) == (None, [1, 2, 3])
        assert contents(rebuild(state)) == contents(new.doc)
    finally:
        await store.close()


async def test_a_small_append_commits_on_the_loop_while_the_worker_is_idle(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    worker = store._worker
    assert worker is not None
    try:
        threads: list[int] = []

        def note_thread(conn: sqlite3.Connection) -> int:
            threads.append(threading.get_ident())
            return int(conn.execute("SELECT 1").fetchone()[0])

        assert worker.run_inline("probe", note_thread) == 1
        assert threads == [threading.get_ident()]  # this thread: no hop to the worker
        # While the worker has a call in hand, the connection is its own: nothing runs here.
        started = threading.Event()
        release = threading.Event()

        def hold(conn: sqlite3.Connection) -> None:
            started.set()
            release.wait(5)

        held = asyncio.create_task(store._call("hold", hold))
        await asyncio.to_thread(started.wait, 5)
        assert worker.run_inline("probe", note_thread) is None
        # ... and an append goes to the worker, behind the held call, in order.
        appended = asyncio.create_task(store.append([("reports/a", b"\x00\x00")]))
        await asyncio.sleep(0)  # it runs up to the worker's future; the worker is held
        assert not appended.done()
        release.set()
        await held
        assert await appended == [1]
        assert await store.append([("reports/a", b"\x00\x00")]) == [2]  # idle again: inline
        assert len(threads) == 1
    finally:
        await store.close()


def _trace(store: SQLiteStore) -> list[tuple[bool, str]]:
    """Every statement ``store``'s connection runs from now on, each with whether it ran on
    this thread (the event loop's)."""
    worker = store._worker
    assert worker is not None
    assert worker._conn is not None
    ran: list[tuple[bool, str]] = []
    loop_thread = threading.get_ident()
    worker._conn.set_trace_callback(
        lambda statement: ran.append((threading.get_ident() == loop_thread, statement))
    )
    return ran


async def test_reads_run_on_a_connection_of_their_own_and_appends_go_on_meanwhile(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    try:
        assert await store.append([("reports/a", b"\x00\x00")]) == [1]
        # A read that takes long (a large document's load, the positions of thousands):
        started = threading.Event()
        release = threading.Event()
        threads: list[int] = []

        def slow_read(conn: sqlite3.Connection) -> int:
            threads.append(threading.get_ident())
            # Its transaction began before the appends below: it sees none of them.
            conn.execute("BEGIN")
            try:
                before = conn.execute("SELECT count(*) FROM updates").fetchone()[0]
                started.set()
                release.wait(5)
                return int(conn.execute("SELECT count(*) FROM updates").fetchone()[0] - before)
            finally:
                conn.execute("COMMIT")

        reading = asyncio.create_task(store._read("slow read", slow_read))
        await asyncio.to_thread(started.wait, 5)
        # ... holds up neither appends (inline or on the writing worker) nor the writer's
        # other calls.
        assert await store.append([("reports/a", b"\x00\x01")]) == [2]
        big = b"\x00" * (_INLINE_MAX_BYTES + 1)
        assert await store.append([("reports/b", big)]) == [1]
        await store.ping()
        assert not reading.done()
        release.set()
        assert await reading == 0
        assert len(threads) == 1
        assert threads[0] != threading.get_ident()  # the reading worker's thread
        # A read that begins after an append committed sees it.
        state = await store.load("reports/a")
        assert [u.seq for u in state.updates] == [1, 2]
        assert await store.last_seqs(["reports/a", "reports/b"]) == {"reports/a": 2, "reports/b": 1}
        # The reading connection cannot write, whatever is asked of it.
        with pytest.raises(StoreError, match="readonly database"):
            await store._read("write", lambda conn: conn.execute("DELETE FROM updates"))
        assert (await store.last_seqs(["reports/a"])) == {"reports/a": 2}
        assert store._worker is not None
        (reader,) = store._readers
        workers = [*store._worker._executor._threads, *reader._executor._threads]
    finally:
        await store.close()
    # Closed: the writing connection, the last, checkpointed and removed the WAL; both
    # threads end (each right after its last call).
    assert not (tmp_path / "coreport.db-wal").exists()
    assert len(workers) == 2
    for thread in workers:
        thread.join(5)
        assert not thread.is_alive()
    with pytest.raises(StoreError, match="not open"):
        await store.load("reports/a")


async def test_the_writing_connection_closes_even_when_the_reading_one_fails_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    (reader,), worker = store._readers, store._worker
    assert worker is not None
    assert await store.append([("reports/a", b"\x00\x00")]) == [1]

    def refuse() -> None:
        raise StoreError("cannot close the reading connection")

    monkeypatch.setattr(reader, "_disconnect", refuse)
    with pytest.raises(StoreError, match="reading connection"):
        await store.close()
    assert worker._conn is None  # closed all the same
    with pytest.raises(StoreError, match="not open"):
        await store.load("reports/a")
    assert reader._conn is not None
    reader._conn.close()


@pytest.mark.parametrize("make", [SQLiteAccessStore, SQLiteReportStore])
async def test_the_access_and_report_stores_read_on_their_one_connection(
    tmp_path: Path, make: Callable[[Path], WorkerStore]
) -> None:
    store = make(tmp_path / "coreport.db")
    await store.open()
    try:
        assert store._readers == []
        assert await store._read("read", lambda conn: conn.execute("SELECT 1").fetchone()) == (1,)
    finally:
        await store.close()


async def test_the_run_store_reads_beside_its_appends(tmp_path: Path) -> None:
    """A panel's long history read, or a request's check of its run, does not wait for
    the appends (nor they for it), nor does another read; a read sees every append
    committed before it."""
    store = SQLiteRunStore(tmp_path / "coreport.db")
    await store.open()
    try:
        await store.create_run(_a_run("r1"))
        assert len(store._readers) == 2
        started, release = threading.Event(), threading.Event()

        def long_read(conn: sqlite3.Connection) -> int:
            count = conn.execute("SELECT count(*) FROM run_history").fetchone()[0]
            started.set()
            release.wait(10)
            return int(count)

        reading = asyncio.ensure_future(store._read("long read", long_read))
        await asyncio.to_thread(started.wait, 10)
        # Appends and reads of the run (every request's check) go on while it is held.
        row = HistoryRow(1, 1.0, {"loss": 0.5})
        await asyncio.wait_for(store.append_history("r1", [row], _T0), 5)
        assert (await asyncio.wait_for(store.get_run("r1"), 5)).state == "running"
        finish = functools.partial(dataclasses.replace, state="finished")
        await asyncio.wait_for(store.update_run("r1", finish, _T0), 5)
        # Another read goes to the other reading connection, and sees the append.
        read = await asyncio.wait_for(store.read_history("r1", ["loss"]), 5)
        assert read["loss"].points.steps == [1]
        assert not reading.done()
        release.set()
        assert await reading == 0  # begun before the append: it does not see it
        assert (await store.read_history("r1", ["loss"]))["loss"].points.steps == [1]
        assert (await store.get_run("r1")).state == "finished"
        with pytest.raises(StoreError, match="readonly database"):
            await store._read("write", lambda conn: conn.execute("DELETE FROM runs"))
    finally:
        await store.close()
    assert not (tmp_path / "coreport.db-wal").exists()


async def test_batches_commit_inline_up_to_a_size_and_the_busy_timeout_stays_put(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    ran = _trace(store)
    try:
        # A batch of several (what queued during the last commit) commits on the loop.
        batch = [("reports/a", b"\x00\x00"), ("reports/b", b"\x00\x00"), ("reports/a", b"\x00")]
        assert await store.append(batch) == [1, 1, 2]
        assert await store.append([("reports/a", b"\x00\x00")]) == [3]
        await store.ping()  # a call on the worker (reads go to the reading connection)
        # A batch past the inline size goes to the worker: the loop would wait for its write.
        assert await store.append([("reports/c", b"\x00" * (_INLINE_MAX_BYTES + 1))]) == [1]
        begins = [on_loop for on_loop, statement in ran if statement.startswith("BEGIN")]
        assert begins == [True, True, False]
        assert [on_loop for on_loop, statement in ran if statement == "SELECT 1"] == [False]
        # The busy timeout went to 0 once before the first append and back once before the
        # worker's first call, not around every append.
        assert [(on_loop, s) for on_loop, s in ran if s.startswith("PRAGMA busy_timeout")] == [
            (True, "PRAGMA busy_timeout = 0"),
            (False, "PRAGMA busy_timeout = 5000"),
        ]
    finally:
        await store.close()


async def test_an_append_never_waits_on_the_loop_while_another_process_has_the_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "coreport.db"
    store = SQLiteStore(path)
    await store.open()
    worker = store._worker
    assert worker is not None
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing
        timeouts: list[int] = []

        def begin(conn: sqlite3.Connection) -> None:
            timeouts.append(conn.execute("PRAGMA busy_timeout").fetchone()[0])
            conn.execute("BEGIN IMMEDIATE")

        # The inline attempt does not wait for the lock (busy timeout 0): it fails at
        # once, writes nothing, and leaves the work to the worker.
        assert worker.run_inline("append", begin) is None
        assert timeouts == [0]
        appended = asyncio.create_task(store.append([("reports/a", b"\x00\x00")]))
        await asyncio.sleep(0)  # it runs up to the worker's future
        assert not appended.done()  # the worker waits for the lock (5 s at most)
        other.execute("COMMIT")
        assert await asyncio.wait_for(appended, 5) == [1]
        # The inline path took its busy timeout back: the worker's calls still wait.
        timeout = await store._call(
            "inspect", lambda conn: conn.execute("PRAGMA busy_timeout").fetchone()[0]
        )
        assert timeout == 5000
    finally:
        other.close()
        await store.close()


async def test_appends_go_to_the_worker_while_commits_are_slow_on_average(
    tmp_path: Path, clock: ManualClock
) -> None:
    store = SQLiteStore(tmp_path / "coreport.db", monotonic=clock.now)
    await store.open()
    worker = store._worker
    assert worker is not None
    try:

        def taking(seconds: float) -> Callable[[sqlite3.Connection], str]:
            def work(conn: sqlite3.Connection) -> str:
                clock.advance(seconds)  # as long as a slow fsync would take
                return "done"

            return work

        # A slow commit among fast ones (an fsync that stalled), however slow, changes
        # nothing: an average of all would keep the next twenty off the loop.
        assert worker.run_inline("fast", taking(0)) == "done"
        for stall in (0.005, 0.05, 0.5):
            assert worker.run_inline("stall", taking(stall)) == "done"
            assert worker.run_inline("fast", taking(0)) == "done"
        # A disk slow at every commit would hold the event loop each time: once the average
        # says so, the worker takes them.
        ran = [worker.run_inline("slow disk", taking(0.01)) for _ in range(12)]
        assert ran[:3] == ["done"] * 3
        assert ran[-1] is None
        assert worker.run_inline("fast", taking(0)) is None
        assert await store.append([("reports/a", b"\x00\x00")]) == [1]
        # Fast commits on the worker bring the average down, and the loop takes them again.
        for _ in range(40):
            await store._call("fast", taking(0), commit=True)
        assert worker.run_inline("fast", taking(0)) == "done"
    finally:
        await store.close()


async def test_the_documents_store_checkpoints_the_wal_on_its_worker(tmp_path: Path) -> None:
    """SQLite checkpoints inside the COMMIT that fills the log, which for an inline append
    is on the event loop; the store checkpoints on its worker instead, about as often."""
    path = tmp_path / "coreport.db"
    store = SQLiteStore(path)
    await store.open()
    ran = _trace(store)
    try:
        autocheckpoint, page_size = await store._call(
            "inspect",
            lambda conn: [
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("wal_autocheckpoint", "page_size")
            ],
        )
        assert autocheckpoint == 8000  # SQLite's own, far out: a bound should ours fall behind
        # 1,000 appends of 12 KB: about 7,000 pages of log, which SQLite would let grow to
        # 8,000 before checkpointing.
        for i in range(1000):
            await store.append([(f"reports/doc{i % 50}", bytes(12_000))])
        checkpoints = [i for i, (_, statement) in enumerate(ran) if "wal_checkpoint" in statement]
        assert len(checkpoints) >= 2
        assert not any(ran[i][0] for i in checkpoints)  # never on the loop
        # The append after the one that queued a checkpoint waited behind it on the worker.
        for i in checkpoints:
            after = next(entry for entry in ran[i:] if entry[1].startswith("BEGIN"))
            assert after == (False, "BEGIN IMMEDIATE")
        # And the log started over after each: it never held more than the first
        # checkpoint found (after 250 appends, at a first guess of 4 pages each; 7 here),
        # then about a thousand pages. Each page in the WAL file has a 24-byte header, the
        # file one of 32.
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size <= 32 + 2500 * (page_size + 24)
        assert await store.append([("reports/doc0", b"\x00\x00")]) == [21]
    finally:
        await store.close()


async def test_a_failed_checkpoint_is_logged_and_appends_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tried: list[bool] = []

    def failing(conn: sqlite3.Connection) -> int:
        tried.append(True)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_store, "_checkpoint", failing)
    store = SQLiteStore(tmp_path / "coreport.db")
    await store.open()
    worker = store._worker
    assert worker is not None
    try:
        with caplog.at_level("WARNING", logger="coreport.stores.sqlite"):
            for _ in range(260):
                await store.append([("reports/a", b"\x00\x00")])
            await store.ping()  # the worker is past the checkpoint
        assert tried == [True]
        assert "SQLite checkpoint failed" in caplog.text
        assert "disk I/O error" in caplog.text
        # Nothing was lost, the loop takes appends again, and the next checkpoint is tried.
        assert worker.run_inline("probe", lambda conn: 1) == 1
        for _ in range(260):
            await store.append([("reports/a", b"\x00\x00")])
        await store.ping()
        assert tried == [True, True]
        assert (await store.last_seqs(["reports/a"])) == {"reports/a": 520}
    finally:
        await store.close()


@pytest.mark.parametrize("make", [SQLiteAccessStore, SQLiteRunStore, SQLiteReportStore])
async def test_the_domain_stores_leave_checkpoints_to_sqlite(
    tmp_path: Path, make: Callable[[Path], WorkerStore]
) -> None:
    """They commit on their own threads, never on the loop: SQLite's own cadence stays."""
    store = make(tmp_path / "coreport.db")
    await store.open()
    try:
        autocheckpoint = await store._call(
            "inspect", lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        )
        assert autocheckpoint == 1000
    finally:
        await store.close()


async def test_opening_waits_for_a_write_lock_that_sqlite_does_not_wait_for(
    tmp_path: Path,
) -> None:
    path = tmp_path / "coreport.db"
    other = sqlite3.connect(path, isolation_level=None)  # another process, a fresh file
    try:
        other.execute("CREATE TABLE t (x)")
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        # SQLite answers the switch to WAL "locked" at once, without its busy handler; the
        # store tries again until its busy timeout, then says what went wrong.
        store = SQLiteStore(path, busy_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(StoreError, match="database is locked"):
            await store.open()
        assert time.monotonic() - started >= 0.3
        other.execute("COMMIT")
        await store.open()
        assert await store.append([("reports/a", b"\x00\x00")]) == [1]
        await store.close()
    finally:
        other.close()
