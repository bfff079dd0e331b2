"""The embedded store: one SQLite file, driven from a dedicated worker thread.

``sqlite3`` blocks, so every call runs on one worker thread that owns the connection; asyncio
callers await its futures. Calls are therefore serialized in the order they were made, and
``close()`` runs after every call made before it. Cancelling a caller does not stop a call the
worker already started: it commits or fails as a whole.

The documents' store reads (a document's load, the positions of every loaded one, what a
compaction merges) on a second connection with a thread of its own: in WAL mode readers and
the writer go on together, so appends no longer queue behind a read of tens of
milliseconds. What such a read sees is every append committed before it began.

One exception: an append runs on the caller's thread, the event loop's, when the worker has
nothing to do. Handing it to the worker and back costs more than the commit itself (two
thread wake-ups and GIL hand-overs each way, a wake-up of the loop through its self-pipe:
about 140 us of CPU and 120 us of latency per commit, against 70 us of CPU for the commit),
and under load the hand-overs cost more than the loop gains by reading on during the
``fsync``: batches commit inline whatever their count (a batch is what queued during the
last commit, so the loop's own pace groups them), up to ``_INLINE_MAX_BYTES`` of data,
past which the writing itself would hold the loop. The inline attempt never waits for
another process's write lock (it goes to the worker instead, which waits), and while
appends take long on average (a slow disk) they go to the worker. It runs only when no
call is in the worker's hands, so calls keep their order.

For the same reason the documents' store checkpoints its WAL itself, on the worker: SQLite
checkpoints inside the ``COMMIT`` that takes the log past ``wal_autocheckpoint`` pages,
which for an inline append is on the event loop, and copying a thousand pages into a large
file and syncing it holds the loop for milliseconds (see ``_CHECKPOINT_PAGES``). The
appends that come meanwhile wait for it on the worker, as they would have on the loop;
everything else the loop does goes on.

Durability: WAL journal with ``synchronous=FULL``, so a committed append is on disk before
``append`` returns (what others have seen survives ``kill -9`` and power loss). Several
processes may open the same file; SQLite's file lock serializes their writes, and the busy
timeout makes a writer wait for another instead of failing at once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from coreport.ports import (
    Compaction,
    CompactionWorth,
    DocName,
    MergeUpdates,
    StoredState,
    StoredUpdate,
    StoreError,
)
from coreport.stores.migrations import apply_sqlite

T = TypeVar("T")

log = logging.getLogger(__name__)

#: STRICT tables (type-checked columns) and RETURNING need SQLite 3.37.
_MIN_SQLITE = (3, 37, 0)

# An append of at most this many bytes of updates may run inline (see the module's
# docstring) while appends take at most this long on average (a moving average over about
# the last ten, wherever they ran, each counted as at most twice the limit: a stall of a
# single ``fsync`` does not stop it, a slow disk does).
_INLINE_MAX_BYTES = 256 * 1024
_INLINE_MAX_SECONDS = 0.002
_AVERAGE_WEIGHT = 0.1

# The documents' store checkpoints after appends that wrote about this many pages to the
# WAL (SQLite's default cadence): on a 150 MB file with appends spread over 20,000
# documents, such a checkpoint takes about 10 ms, which SQLite would spend inside an inline
# append's COMMIT (tests/bench/checkpoints.py). Pages per append are learned from what
# each checkpoint finds in the log; SQLite's own checkpoint stays on, further out, as the
# bound should these fall behind.
_CHECKPOINT_PAGES = 1000
_AUTOCHECKPOINT_PAGES = 8 * _CHECKPOINT_PAGES
_FIRST_PAGES_PER_APPEND = 4.0
# Checkpoint at most this often, in appends, whatever the log says (a reader of another
# process can keep SQLite from starting the log over, so it only grows meanwhile).
_MIN_APPENDS_PER_CHECKPOINT = 64

# How many document names one query of ``last_seqs`` asks about (SQLite allows 32,766
# parameters since 3.32; fewer keep each statement small).
_NAMES_PER_QUERY = 500

_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

# A document's last sequence number is its log's last row, or, once a compaction folded
# every row into the snapshot, the snapshot's: two index lookups, which write nothing. An
# append holds the file's write lock (``BEGIN IMMEDIATE``) from this read to its commit, so
# numbers are gapless and in commit order without a counter row that every append would
# rewrite (one more page of the file per append for the log and the checkpoint to copy).
_LAST_SEQ_OF = """max(coalesce((SELECT max(seq) FROM updates WHERE doc = {doc}), 0),
    coalesce((SELECT seq FROM snapshots WHERE doc = {doc}), 0))"""

_LAST_SEQ = f"SELECT {_LAST_SEQ_OF.format(doc='?1')}"

# Of each named document that exists (``{marks}``: one ``?`` per name).
_LAST_SEQS = (
    f"SELECT name, {_LAST_SEQ_OF.format(doc='name')} FROM documents WHERE name IN ({{marks}})"
)

# A document's row is written once, by its first append (the log's rows refer to it).
_ADD_DOCUMENT = "INSERT INTO documents (name) VALUES (?) ON CONFLICT (name) DO NOTHING"

_INSERT_UPDATE = "INSERT INTO updates (doc, seq, data) VALUES (?, ?, ?)"

# The snapshot's data is only fetched when the caller is behind it.
_SELECT_SNAPSHOT = "SELECT seq, CASE WHEN seq > ? THEN data END FROM snapshots WHERE doc = ?"

_SELECT_UPDATES = "SELECT seq, data FROM updates WHERE doc = ? AND seq > ? ORDER BY seq"

# What a compaction would merge, before reading it.
_SIZE_OF_UPDATES = "SELECT count(*), coalesce(sum(length(data)), 0) FROM updates WHERE doc = ?"
_SIZE_OF_SNAPSHOT = "SELECT seq, length(data) FROM snapshots WHERE doc = ?"

_UPSERT_SNAPSHOT = f"""
INSERT INTO snapshots (doc, seq, data) VALUES (?, ?, ?)
ON CONFLICT (doc) DO UPDATE SET seq = excluded.seq, data = excluded.data, updated_at = {_NOW}
"""


class WorkerStore:
    """Base of a store in the SQLite file at ``path``: a worker thread of its own opens
    the file (creating it and its directory, applying pending migrations) and runs every
    call, one at a time, in order.

    The domain stores (access, runs, reports) share the documents' file, each with its
    own connection and thread, so their queries never queue in front of the appends.
    """

    #: How messages name the store, e.g. "SQLite run store".
    label = "SQLite store"
    #: Whether the store checkpoints the WAL itself, on its worker, instead of SQLite
    #: doing so inside a commit (the documents' store, whose appends commit on the loop).
    checkpoints = False
    #: How many connections of their own, each with a thread, take the reads that may be
    #: long (see :meth:`_read`), so that appends never queue behind them; 0: the store reads
    #: on its one connection.
    readers = 0

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        # Times appends, for the average that decides whether they may run inline.
        self._monotonic = monotonic
        self._worker: _Worker | None = None
        # The reading connections' workers (``readers``), opened after the writing one has
        # applied the migrations.
        self._readers: list[_Worker] = []
        self._lifecycle = asyncio.Lock()

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    async def open(self) -> None:
        """Open the file (creating it and its directory), set it up, apply migrations.
        Idempotent."""
        async with self._lifecycle:
            if self._worker is not None:
                return
            worker = _Worker(self._path, self._monotonic, checkpoints=self.checkpoints)
            readers = [
                _Worker(self._path, self._monotonic, reads=True) for _ in range(self.readers)
            ]
            try:
                await worker.start(self._busy_timeout)
                for reader in readers:
                    await reader.start(self._busy_timeout)
            except BaseException:
                # Cancelled or failed: each worker closes whatever it opened, then exits.
                for reader in readers:
                    reader.stop()
                worker.stop()
                raise
            self._worker, self._readers = worker, readers

    async def close(self) -> None:
        """Close the file after every call already made has finished. Idempotent."""
        async with self._lifecycle:
            worker, self._worker = self._worker, None
            readers, self._readers = self._readers, []
            # Shielded: a cancelled close() still closes the file. The reading connections
            # first: the last one to close checkpoints the WAL and removes it.
            try:
                stopped = [asyncio.wrap_future(reader.stop()) for reader in readers]
                for error in await asyncio.shield(asyncio.gather(*stopped, return_exceptions=True)):
                    if isinstance(error, BaseException):
                        raise error
            finally:
                if worker is not None:
                    await asyncio.shield(asyncio.wrap_future(worker.stop()))

    async def _call(
        self, what: str, work: Callable[[sqlite3.Connection], T], *, commit: bool = False
    ) -> T:
        if self._worker is None:
            raise StoreError(f"cannot {what}: the {self.label} {self._path} is not open")
        return await self._worker.call(what, work, commit=commit)

    async def _read(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work``, which only reads, on the reading connection if the store has one.

        In WAL mode readers and the writer go on together: a load of a large document or
        the positions of thousands (tens of milliseconds each) no longer hold up every
        room's appends. A read transaction there sees every append committed before it
        began, as on the writing connection; one that commits while it runs is not seen
        (as with PostgreSQL's pool), which callers already allow for.
        """
        if not self._readers:
            return await self._call(what, work)
        # The one with the fewest calls waiting: a long read holds up only its own worker.
        reader = min(self._readers, key=lambda reader: reader.pending)
        return await reader.call(what, work)


class SQLiteStore(WorkerStore):
    """A :class:`~coreport.ports.Store` in the SQLite file at ``path``."""

    checkpoints = True
    readers = 1

    async def ping(self) -> None:
        """Raise :class:`StoreError` unless the file answers a query now."""
        await self._call("ping", lambda conn: conn.execute("SELECT 1").fetchone())

    async def append(self, batch: Sequence[tuple[DocName, bytes]]) -> list[int]:
        """Append ``batch`` in one transaction; return each item's sequence number."""
        items = list(batch)
        if not items:
            return []
        worker = self._worker
        seqs = None
        if worker is not None and sum(len(data) for _, data in items) <= _INLINE_MAX_BYTES:
            seqs = worker.run_inline("append", lambda conn: _append(conn, items))
        if seqs is None:
            seqs = await self._call("append", lambda conn: _append(conn, items), commit=True)
        if worker is not None:
            worker.appended()
        return seqs

    async def load(self, doc: DocName, after_seq: int = 0) -> StoredState:
        """Everything stored for ``doc`` after ``after_seq``.

        The snapshot comes with it only when ``after_seq`` is older than the snapshot; then
        ``snapshot_seq`` is the snapshot's seq. Otherwise ``snapshot`` is ``None`` and
        ``snapshot_seq`` is ``after_seq`` (the caller already has that much), so ``last_seq``
        is always the caller's new position.
        """
        if after_seq < 0:
            raise ValueError(f"after_seq must be >= 0, not {after_seq}")
        return await self._read("load", lambda conn: _load(conn, doc, after_seq))

    async def last_seqs(self, docs: Collection[DocName]) -> dict[DocName, int]:
        """The last sequence number of each of ``docs`` that has one."""
        names = list(docs)
        if not names:
            return {}
        return await self._read("read positions", lambda conn: _last_seqs(conn, names))

    async def compact(
        self, doc: DocName, merge: MergeUpdates, *, worth: CompactionWorth | None = None
    ) -> Compaction:
        """Fold the snapshot and every update row of ``doc`` into a new snapshot, if
        ``worth`` says so of what follows it now.

        The merge runs between two transactions, off the store's thread, so appends go on
        meanwhile: rows are never changed once written and new ones get larger seqs, so
        the rows read are still the ones to replace, unless another compaction or a
        delete got there first, which the writing transaction checks.
        """
        fold = await self._read("compact", lambda conn: _compaction_input(conn, doc, worth))
        if isinstance(fold, Compaction):
            return fold
        merged = await asyncio.to_thread(_merge, merge, doc, fold.parts)
        return await self._call("compact", lambda conn: _replace_log(conn, doc, fold, merged))

    async def delete(self, doc: DocName) -> None:
        """Forget ``doc``: its snapshot, its update rows and its sequence counter."""
        await self._call("delete", lambda conn: _delete(conn, doc))


class _Worker:
    """One thread and the connection it owns; runs calls one at a time, in order."""

    def __init__(
        self,
        path: Path,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        checkpoints: bool = False,
        reads: bool = False,
    ) -> None:
        self._path = path
        self._monotonic = monotonic
        # Whether this worker's connection only reads (``WorkerStore.readers``): it
        # neither migrates nor checkpoints, and SQLite refuses any write through it.
        self._reads = reads
        # Whether this worker checkpoints the WAL (see ``_CHECKPOINT_PAGES``); touched on
        # the event loop only, like ``_calls``.
        self._checkpoints = checkpoints
        self._appends = 0  # since the last checkpoint was queued
        self._appends_per_checkpoint = _appends_per_checkpoint(_FIRST_PAGES_PER_APPEND)
        self._checkpointing = False
        self._stopping = False
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="coreport-sqlite-read" if reads else "coreport-sqlite"
        )
        # Only ever touched on the worker thread.
        self._conn: sqlite3.Connection | None = None
        self._busy_timeout_ms = 0
        # Whether the connection's busy timeout is the full one (the worker's calls wait
        # for another process's lock) or 0 (inline calls never do). Switched only when the
        # other side runs next, not around every call.
        self._waits_for_locks = True
        # Calls handed to the thread and not finished: while there are any, nothing runs
        # inline (the connection is the thread's).
        self._calls = 0
        # How long appends take, on average (see ``_INLINE_MAX_SECONDS``).
        self._commit_seconds = 0.0

    async def start(self, busy_timeout: float) -> None:
        """Open the connection and apply migrations; on failure, :meth:`stop` cleans up."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connect, busy_timeout)

    async def call(
        self, what: str, work: Callable[[sqlite3.Connection], T], *, commit: bool = False
    ) -> T:
        """Run ``work`` on the worker thread; ``commit``: time it as an append."""
        loop = asyncio.get_running_loop()
        self._calls += 1
        try:
            return await loop.run_in_executor(self._executor, self._run, what, work, commit, True)
        finally:
            self._calls -= 1

    @property
    def pending(self) -> int:
        """Calls handed to the thread and not finished."""
        return self._calls

    def run_inline(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run ``work`` now on this thread if the worker is idle, the disk has been fast
        and no other process holds the write lock; ``None`` when it did not run (nothing
        was written), so the caller hands it to :meth:`call`."""
        if self._conn is None or self._calls or self._commit_seconds > _INLINE_MAX_SECONDS:
            return None
        try:
            # Never wait here for another process's lock: the event loop would wait with it.
            return self._run(what, work, True, False)
        except StoreError as exc:
            if _is_busy(exc.__cause__):
                return None  # rolled back by the append; the worker will wait
            raise

    def appended(self) -> None:
        """An append committed (called on the event loop): queue a checkpoint on the
        worker once the appends since the last one have filled the log."""
        if not self._checkpoints or self._stopping:
            return
        # Counted while a checkpoint runs too: what they write is in the next one's log.
        self._appends += 1
        if self._checkpointing or self._appends < self._appends_per_checkpoint:
            return
        appends, self._appends = self._appends, 0
        self._checkpointing = True
        self._calls += 1  # appends go to the worker, behind it, until it is done
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(
            self._executor, lambda: self._run("checkpoint", _checkpoint, commit=False, waits=True)
        )
        done.add_done_callback(lambda future: self._checkpointed(future, appends))

    def _checkpointed(self, future: asyncio.Future[int], appends: int) -> None:
        self._calls -= 1
        self._checkpointing = False
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            # SQLite's own checkpoint still bounds the log; the next one may succeed.
            log.warning("%s", error)
            return
        pages = future.result()
        if pages:
            self._appends_per_checkpoint = _appends_per_checkpoint(max(1.0, pages / appends))

    def _timed(self, seconds: float) -> None:
        seconds = min(seconds, 2 * _INLINE_MAX_SECONDS)
        self._commit_seconds += _AVERAGE_WEIGHT * (seconds - self._commit_seconds)

    def stop(self) -> Future[None]:
        """Close the connection after the calls already queued; the thread then exits."""
        self._stopping = True
        disconnected = self._executor.submit(self._disconnect)
        self._executor.shutdown(wait=False)
        return disconnected

    # Everything below runs on the worker thread (``_run`` also on the event loop's, for
    # ``run_inline``, while the worker is idle).

    def _run(
        self, what: str, work: Callable[[sqlite3.Connection], T], commit: bool, waits: bool
    ) -> T:
        """Run ``work``; ``waits``: whether it may wait for another process's write lock
        (the busy timeout is switched only when that differs from the call before)."""
        conn = self._conn
        if conn is None:
            raise StoreError(f"cannot {what}: the SQLite store {self._path} is closed")
        started = self._monotonic()
        try:
            if self._waits_for_locks != waits:
                conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms if waits else 0}")
                self._waits_for_locks = waits
            result = work(conn)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite {what} failed on {self._path}: {exc}") from exc
        if commit:
            self._timed(self._monotonic() - started)  # read on the loop: a float, set whole
        return result

    def _connect(self, busy_timeout: float) -> None:
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StoreError(f"coreport needs SQLite >= 3.37, found {sqlite3.sqlite_version}")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._busy_timeout_ms = round(busy_timeout * 1000)
            self._conn = _connect(self._path, busy_timeout)
            if self._reads:
                self._conn.execute("PRAGMA query_only = ON")
                return
            if self._checkpoints:
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
            apply_sqlite(self._conn)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the SQLite store {self._path}: {exc}") from exc

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot close the SQLite store {self._path}: {exc}") from exc


async def migrate(path: Path) -> list[str]:
    """Apply pending migrations to the SQLite file at ``path``; return the names applied."""

    def run() -> list[str]:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(path, busy_timeout=30.0)
            try:
                return apply_sqlite(conn)
            finally:
                conn.close()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot migrate the SQLite store {path}: {exc}") from exc

    return await asyncio.to_thread(run)


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    # Autocommit mode: every transaction below is opened explicitly, so none is implicit.
    # ``timeout`` is SQLite's busy timeout: wait that long for another writer's lock.
    # The connection is the worker thread's, and the event loop's only while the worker is
    # idle (``_Worker.run_inline``): never two threads at once.
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        mode = _switch_to_wal(conn, busy_timeout)
        if mode != "wal":
            raise StoreError(f"SQLite refused WAL mode for {path} (got {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _switch_to_wal(conn: sqlite3.Connection, busy_timeout: float) -> str:
    """``PRAGMA journal_mode = WAL``, tried again while another connection holds a write
    lock, for up to ``busy_timeout``. SQLite answers this pragma BUSY at once instead of
    waiting in the busy handler (the wait could deadlock), which stores opening together
    on a fresh file run into. Between tries, an empty write transaction waits for the
    lock in the busy handler (which gives up after the busy timeout, as ``connect`` set
    it), so the next try comes once the other connection has let go."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() >= deadline:
                raise
        conn.execute("BEGIN IMMEDIATE")  # raises BUSY once the busy timeout has run out
        conn.execute("ROLLBACK")


def _is_busy(exc: BaseException | None) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (another connection's lock)."""
    return (
        isinstance(exc, sqlite3.OperationalError)
        and exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    )


@contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    # IMMEDIATE takes the write lock up front (waiting up to the busy timeout): a deferred
    # transaction that reads, then writes, fails outright if another process wrote meanwhile.
    conn.execute(f"BEGIN {mode}")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def _append(conn: sqlite3.Connection, items: list[tuple[DocName, bytes]]) -> list[int]:
    # The commonest batch, one update, skips the bookkeeping. (The transaction is spelled out
    # rather than taken from ``_transaction``: this runs once per commit on the event loop.)
    # STRICT tables reject non-bytes data at the insert, rolling the whole batch back.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if len(items) == 1:
            doc, data = items[0]
            seq = _next_seq(conn, doc)
            conn.execute(_INSERT_UPDATE, (doc, seq, data))
            seqs = [seq]
        else:
            next_seq: dict[DocName, int] = {}
            rows = []
            for doc, data in items:
                seq = next_seq.get(doc) or _next_seq(conn, doc)
                rows.append((doc, seq, data))
                next_seq[doc] = seq + 1
            conn.executemany(_INSERT_UPDATE, rows)
            seqs = [seq for _, seq, _ in rows]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return seqs


def _appends_per_checkpoint(pages_per_append: float) -> int:
    return max(_MIN_APPENDS_PER_CHECKPOINT, round(_CHECKPOINT_PAGES / pages_per_append))


def _next_seq(conn: sqlite3.Connection, doc: DocName) -> int:
    """The sequence number of ``doc``'s next update (adding the document at its first)."""
    (last,) = conn.execute(_LAST_SEQ, (doc,)).fetchone()
    if not last:
        conn.execute(_ADD_DOCUMENT, (doc,))
    return int(last) + 1


def _checkpoint(conn: sqlite3.Connection) -> int:
    """Copy what the WAL holds into the database file without waiting for anyone (a
    reader still on older pages keeps those in the log); the log's size in pages. The next
    writer starts the log over once every page is in the file."""
    # fetchall: the statement ends here, and with it its hold on the log.
    ((_, pages, _),) = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return int(pages)


def _load(conn: sqlite3.Connection, doc: DocName, after_seq: int) -> StoredState:
    # One read transaction: a compaction by another process cannot slip in between the two
    # queries and leave a hole between the snapshot and the rows.
    with _transaction(conn, "DEFERRED"):
        snapshot_row = conn.execute(_SELECT_SNAPSHOT, (after_seq, doc)).fetchone()
        snapshot, base = None, after_seq
        if snapshot_row is not None and snapshot_row[0] > after_seq:
            base, snapshot = snapshot_row
        rows = conn.execute(_SELECT_UPDATES, (doc, base)).fetchall()
    return StoredState(snapshot, base, tuple(StoredUpdate(seq, data) for seq, data in rows))


def _last_seqs(conn: sqlite3.Connection, names: list[DocName]) -> dict[DocName, int]:
    found: dict[DocName, int] = {}
    # One read transaction; the names go in chunks below SQLite's limit on parameters.
    with _transaction(conn, "DEFERRED"):
        for start in range(0, len(names), _NAMES_PER_QUERY):
            chunk = names[start : start + _NAMES_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            found.update(conn.execute(_LAST_SEQS.format(marks=marks), chunk).fetchall())
    return found


@dataclass(frozen=True, slots=True)
class _Fold:
    """What a compaction read: the snapshot and the rows after it, in order."""

    base_seq: int  # the snapshot's seq (0: none)
    parts: list[bytes]  # the snapshot, if any, then the rows
    rows: int
    max_seq: int  # the last row's


def _compaction_input(
    conn: sqlite3.Connection, doc: DocName, worth: CompactionWorth | None
) -> Compaction | _Fold:
    """What to merge; or, with nothing to merge or nothing ``worth`` merging (what
    followed another compaction), the compaction's result."""
    with _transaction(conn, "DEFERRED"):
        row_count, row_bytes = conn.execute(_SIZE_OF_UPDATES, (doc,)).fetchone()
        snapshot = conn.execute(_SIZE_OF_SNAPSHOT, (doc,)).fetchone()
        snapshot_seq, snapshot_bytes = snapshot if snapshot else (0, 0)
        if not row_count or (worth is not None and not worth(row_count, row_bytes, snapshot_bytes)):
            return Compaction(0, snapshot_seq)
        snapshot_row = conn.execute(
            "SELECT seq, data FROM snapshots WHERE doc = ?", (doc,)
        ).fetchone()
        rows = conn.execute(_SELECT_UPDATES, (doc, 0)).fetchall()
    parts = ([snapshot_row[1]] if snapshot_row else []) + [data for _, data in rows]
    return _Fold(snapshot_row[0] if snapshot_row else 0, parts, len(rows), rows[-1][0])


def _replace_log(conn: sqlite3.Connection, doc: DocName, fold: _Fold, merged: bytes) -> Compaction:
    """Write ``merged`` as the snapshot up to the fold's last row and delete the rows it
    holds, if the snapshot is still the one read and that last row is still there."""
    with _transaction(conn):
        current = conn.execute("SELECT seq FROM snapshots WHERE doc = ?", (doc,)).fetchone()
        current_seq = current[0] if current else 0
        last_row = conn.execute(
            "SELECT data FROM updates WHERE doc = ? AND seq = ?", (doc, fold.max_seq)
        ).fetchone()
        if current_seq != fold.base_seq or last_row is None or last_row[0] != fold.parts[-1]:
            # Another compaction, or a delete (and a new document of the same name), got
            # there first: nothing of ours to write.
            return Compaction(0, current_seq)
        conn.execute(_UPSERT_SNAPSHOT, (doc, fold.max_seq, merged))
        conn.execute("DELETE FROM updates WHERE doc = ? AND seq <= ?", (doc, fold.max_seq))
    return Compaction(fold.rows, fold.max_seq)


def _delete(conn: sqlite3.Connection, doc: DocName) -> None:
    with _transaction(conn):
        conn.execute("DELETE FROM updates WHERE doc = ?", (doc,))
        conn.execute("DELETE FROM snapshots WHERE doc = ?", (doc,))
        conn.execute("DELETE FROM documents WHERE name = ?", (doc,))


def _merge(merge: MergeUpdates, doc: DocName, parts: list[bytes]) -> bytes:
    try:
        return merge(parts)
    except Exception as exc:
        raise StoreError(f"cannot merge the {len(parts)} stored updates of {doc!r}") from exc
