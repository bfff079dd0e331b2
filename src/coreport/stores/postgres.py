"""The scaled store: PostgreSQL through an asyncpg connection pool.

Several server processes share one database, so every rule is enforced by the database:

* sequence numbers come from an upsert on ``documents.last_seq`` inside the append
  transaction; its row lock serializes the writers of one document, so seq order is commit
  order and a reader never sees seq N+1 without seq N;
* compaction and deletion of one document are serialized by a transaction-level advisory lock
  keyed by the document name, so two instances never merge (or resurrect) the same rows;
* migrations run under another advisory lock (see :mod:`coreport.stores.migrations`).

Appends, which come one batch at a time from the group committer and stand between every
update and its relay, run on a connection of their own rather than through the pool: the
pool's acquire and release cost about 70 us per append (15 % of a 450 us append on the
bench machine). An append that finds that connection busy (another caller appending at
the same time) takes one from the pool, and one that finds it dead (the database
restarted, the network was cut) drops it: the retry below runs on a new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from coreport.ports import (
    Compaction,
    CompactionWorth,
    DocName,
    MergeUpdates,
    StoredState,
    StoredUpdate,
    StoreError,
)
from coreport.stores.migrations import apply_postgres
from coreport.stores.postgres_pool import CONNECTION_ERRORS, PooledStore, describe, wrapped

log = logging.getLogger(__name__)

# One statement, so one round trip: take the next $2 sequence numbers of document $1 (the
# row lock serializes its writers until commit) and store $3's updates under them, in order.
_APPEND = """
WITH bumped AS (
    INSERT INTO documents (name, last_seq) VALUES ($1, $2)
    ON CONFLICT (name) DO UPDATE SET last_seq = documents.last_seq + $2, updated_at = now()
    RETURNING last_seq
)
INSERT INTO updates (doc, seq, data)
SELECT $1, bumped.last_seq - $2 + u.ord, u.data
FROM bumped, unnest($3::bytea[]) WITH ORDINALITY AS u(data, ord)
RETURNING seq
"""

# The snapshot's data is only sent when the caller is behind it.
_SELECT_SNAPSHOT = (
    "SELECT seq, CASE WHEN seq > $2 THEN data END AS data FROM snapshots WHERE doc = $1"
)

_SELECT_LAST_SEQS = "SELECT name, last_seq FROM documents WHERE name = ANY($1::text[])"

_SELECT_UPDATES = "SELECT seq, data FROM updates WHERE doc = $1 AND seq > $2 ORDER BY seq"

# What a compaction would merge, before reading it.
_SIZE_OF_UPDATES = (
    "SELECT count(*), coalesce(sum(octet_length(data)), 0) FROM updates WHERE doc = $1"
)
_SIZE_OF_SNAPSHOT = "SELECT seq, octet_length(data) FROM snapshots WHERE doc = $1"

_UPSERT_SNAPSHOT = """
INSERT INTO snapshots (doc, seq, data) VALUES ($1, $2, $3)
ON CONFLICT (doc) DO UPDATE SET seq = EXCLUDED.seq, data = EXCLUDED.data, updated_at = now()
"""


class PostgresStore(PooledStore):
    """A :class:`~coreport.ports.Store` in the PostgreSQL database named by ``dsn``."""

    label = "PostgreSQL store"

    def __init__(
        self, dsn: str, min_size: int = 1, max_size: int = 10, *, ping_timeout: float = 5.0
    ) -> None:
        super().__init__(dsn, min_size, max_size)
        self._ping_timeout = ping_timeout
        # The appends' own connection (see the module's docstring), opened on first use;
        # the lock is held while it runs an append.
        self._appender: Any = None
        self._appending = asyncio.Lock()

    async def _closing(self) -> None:
        async with self._appending:  # after the append in progress, if any
            appender, self._appender = self._appender, None
        if appender is not None:
            async with self._wrapped("close the appends' connection"):
                await appender.close()

    async def ping(self) -> None:
        """Raise :class:`StoreError` unless the database answers within ``ping_timeout``."""
        pool = self._require_pool("ping")
        async with self._wrapped("ping", pool), asyncio.timeout(self._ping_timeout):
            await pool.fetchval("SELECT 1")

    async def append(self, batch: Sequence[tuple[DocName, bytes]]) -> list[int]:
        """Append ``batch`` in one transaction; return each item's sequence number."""
        items = list(batch)
        if not items:
            return []
        pool = self._require_pool("append")
        try:
            return await self._append(pool, items)
        except StoreError as exc:
            if not isinstance(exc.__cause__, CONNECTION_ERRORS):
                raise
            # A connection that died while idle (the database restarted, the network was
            # cut) fails on first use. The pool now replaces every connection it had and
            # the appends' own connection is dropped, so one retry on a fresh one tells a
            # dead connection from a dead database. If the first attempt did commit, the
            # retry stores the updates twice under new sequence numbers, which Yjs
            # applies as a no-op.
            log.warning("append failed on a dead connection, retrying once: %s", exc)
            return await self._append(pool, items)

    async def _append(self, pool: Any, items: list[tuple[DocName, bytes]]) -> list[int]:
        by_doc: dict[DocName, list[bytes]] = {}
        for doc, data in items:
            by_doc.setdefault(doc, []).append(data)
        seqs: dict[DocName, list[int]] = {}
        async with self._wrapped("append", pool), self._append_connection(pool) as conn:
            if len(by_doc) == 1:
                # The usual batch (one busy document): one statement, committed alone.
                ((doc, updates),) = by_doc.items()
                seqs[doc] = await self._append_doc(conn, doc, updates)
            else:
                async with conn.transaction():
                    # Lock the documents' rows in one global order, so two batches that
                    # share documents cannot deadlock.
                    for doc in sorted(by_doc):
                        seqs[doc] = await self._append_doc(conn, doc, by_doc[doc])
        taken = {doc: iter(numbers) for doc, numbers in seqs.items()}
        return [next(taken[doc]) for doc, _ in items]

    @asynccontextmanager
    async def _append_connection(self, pool: Any) -> AsyncIterator[Any]:
        """The appends' own connection, or one from the pool while it is busy."""
        if self._appending.locked():
            async with pool.acquire() as conn:
                yield conn
            return
        async with self._appending:
            if self._pool is not pool:  # closed while this append waited for the lock
                raise StoreError(f"cannot append: the {self.label} is not open")
            conn = self._appender
            if conn is None or conn.is_closed():
                conn = self._appender = await asyncpg.connect(self._dsn)
            try:
                yield conn
            except BaseException as exc:
                # A dead connection, or one whose statement was cancelled half-way (its
                # state unknown): the next append opens another. An error the database
                # reported (a constraint, a value of the wrong type) leaves it as it was.
                if isinstance(exc, CONNECTION_ERRORS) or not isinstance(exc, asyncpg.PostgresError):
                    self._appender = None
                    conn.terminate()
                raise

    @staticmethod
    async def _append_doc(conn: Any, doc: DocName, updates: list[bytes]) -> list[int]:
        rows = await conn.fetch(_APPEND, doc, len(updates), updates)
        # The sequence numbers are consecutive and follow the updates' order.
        return sorted(row["seq"] for row in rows)

    async def load(self, doc: DocName, after_seq: int = 0) -> StoredState:
        """Everything stored for ``doc`` after ``after_seq``.

        The snapshot comes with it only when ``after_seq`` is older than the snapshot; then
        ``snapshot_seq`` is the snapshot's seq. Otherwise ``snapshot`` is ``None`` and
        ``snapshot_seq`` is ``after_seq`` (the caller already has that much), so ``last_seq``
        is always the caller's new position.
        """
        if after_seq < 0:
            raise ValueError(f"after_seq must be >= 0, not {after_seq}")
        # One snapshot for both queries: a compaction committing in between must not leave
        # a hole between the snapshot and the rows.
        async with (
            self._connection("load") as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            snapshot_row = await conn.fetchrow(_SELECT_SNAPSHOT, doc, after_seq)
            snapshot, base = None, after_seq
            if snapshot_row is not None and snapshot_row["seq"] > after_seq:
                snapshot, base = snapshot_row["data"], snapshot_row["seq"]
            rows = await conn.fetch(_SELECT_UPDATES, doc, base)
        updates = tuple(StoredUpdate(row["seq"], row["data"]) for row in rows)
        return StoredState(snapshot, base, updates)

    async def last_seqs(self, docs: Collection[DocName]) -> dict[DocName, int]:
        """The last sequence number of each of ``docs`` that has one."""
        names = list(docs)
        if not names:
            return {}
        async with self._connection("read positions") as conn:
            rows = await conn.fetch(_SELECT_LAST_SEQS, names)
        return {row["name"]: row["last_seq"] for row in rows}

    async def compact(
        self, doc: DocName, merge: MergeUpdates, *, worth: CompactionWorth | None = None
    ) -> Compaction:
        """Fold the snapshot and every update row of ``doc`` into a new snapshot, if
        ``worth`` says so of what follows it now.

        Another instance compacting ``doc`` at the same time waits for this one, then finds
        nothing left to merge, or (every instance with the document loaded weighs its log
        and asks in turn) too little to be worth a merge: it merges nothing, and learns
        where the snapshot now is.
        """
        async with self._connection("compact") as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _doc_lock(doc))
            # Read after taking the lock, so an earlier compaction's result is visible.
            row_count, row_bytes = await conn.fetchrow(_SIZE_OF_UPDATES, doc)
            snapshot = await conn.fetchrow(_SIZE_OF_SNAPSHOT, doc)
            snapshot_seq, snapshot_bytes = snapshot if snapshot else (0, 0)
            if not row_count or (
                worth is not None and not worth(row_count, row_bytes, snapshot_bytes)
            ):
                return Compaction(0, snapshot_seq)
            snapshot_row = await conn.fetchrow(
                "SELECT seq, data FROM snapshots WHERE doc = $1", doc
            )
            rows = await conn.fetch(_SELECT_UPDATES, doc, 0)
            parts = [snapshot_row["data"]] if snapshot_row else []
            parts += [row["data"] for row in rows]
            # Merging is CPU work: keep the event loop serving other rooms meanwhile.
            merged = await asyncio.to_thread(_merge, merge, doc, parts)
            max_seq = rows[-1]["seq"]
            await conn.execute(_UPSERT_SNAPSHOT, doc, max_seq, merged)
            # Rows appended since the read have a larger seq: seq order is commit order.
            await conn.execute("DELETE FROM updates WHERE doc = $1 AND seq <= $2", doc, max_seq)
        return Compaction(len(rows), max_seq)

    async def delete(self, doc: DocName) -> None:
        """Forget ``doc``: its snapshot, its update rows and its sequence counter."""
        async with self._connection("delete") as conn, conn.transaction():
            # A compaction in progress would otherwise write its snapshot back afterwards.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _doc_lock(doc))
            # Wait for appends in progress, so the deletes below see their rows.
            await conn.execute("SELECT 1 FROM documents WHERE name = $1 FOR UPDATE", doc)
            await conn.execute("DELETE FROM updates WHERE doc = $1", doc)
            await conn.execute("DELETE FROM snapshots WHERE doc = $1", doc)
            await conn.execute("DELETE FROM documents WHERE name = $1", doc)


async def migrate(dsn: str) -> list[str]:
    """Apply pending migrations to the database named by ``dsn``; return the names applied."""
    try:
        conn = await asyncpg.connect(dsn)
    except Exception as exc:  # as in PooledStore.open: any failure here means unusable
        raise StoreError(f"{PostgresStore.label}: cannot connect: {describe(exc)}") from exc
    try:
        async with wrapped(PostgresStore.label, "migrate the schema"):
            return await apply_postgres(conn)
    finally:
        await conn.close()


def _doc_lock(doc: DocName) -> int:
    """The advisory lock key of ``doc``: a stable signed 64-bit hash of its name.

    Computed here rather than with ``hashtext`` (32 bits, internal to Postgres); distinct
    documents that collide merely wait for each other.
    """
    digest = hashlib.blake2b(f"coreport:{doc}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _merge(merge: MergeUpdates, doc: DocName, parts: list[bytes]) -> bytes:
    try:
        return merge(parts)
    except Exception as exc:
        raise StoreError(f"cannot merge the {len(parts)} stored updates of {doc!r}") from exc
