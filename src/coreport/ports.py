"""What the sync core needs from the outside world, as Protocols: Store, Bus, Clock.

Nothing concrete lives here. Stores (``coreport.stores``) and buses (``coreport.buses``)
implement these; only the composition root (``coreport.web.app``, ``coreport.cli``)
chooses which.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: A document's name in the store and on the bus, e.g. ``reports/r1`` or
#: ``reports/r1/comments``. See :mod:`coreport.sync.names`.
DocName = str

#: Merges Yjs updates into one update (pycrdt's ``merge_updates`` in production).
MergeUpdates = Callable[[Sequence[bytes]], bytes]

#: Whether a compaction is worth its merge, given what the store holds of the document
#: now: ``(rows, bytes of the rows, bytes of the snapshot)``. A pure function of those: a
#: store may call it on a thread of its own, inside its transaction.
CompactionWorth = Callable[[int, int, int], bool]


class StoreError(Exception):
    """The store could not do what was asked; nothing was partially written."""


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    seq: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredState:
    """A document as the store holds it after some point.

    ``snapshot`` covers every update with ``seq <= snapshot_seq``; ``updates`` are the
    rows after that, in ascending ``seq`` order.
    """

    snapshot: bytes | None
    snapshot_seq: int
    updates: Sequence[StoredUpdate] = field(default_factory=tuple)

    @property
    def last_seq(self) -> int:
        return self.updates[-1].seq if self.updates else self.snapshot_seq


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one compaction did: ``merged_rows`` update rows folded into the snapshot,
    which now covers everything up to ``snapshot_seq``."""

    merged_rows: int
    snapshot_seq: int


class Store(Protocol):
    """Durable update logs and snapshots, one per document.

    Sequence numbers are per document, start at 1, have no gaps and are assigned in
    commit order, so "everything after seq N" is a well-defined catch-up query.
    """

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None:
        """Release connections; pending calls finish first."""

    async def ping(self) -> None:
        """Raise :class:`StoreError` unless the store answers now."""

    async def append(self, batch: Sequence[tuple[DocName, bytes]]) -> list[int]:
        """Append every update of ``batch`` in one transaction (group commit).

        Returns each item's sequence number, in order. Either all are committed or
        :class:`StoreError` is raised and none are.
        """

    async def load(self, doc: DocName, after_seq: int = 0) -> StoredState:
        """Everything stored after ``after_seq``.

        When ``after_seq`` is older than the snapshot the snapshot is included (it may
        repeat updates the caller has; applying a Yjs update twice is harmless).
        """

    async def last_seqs(self, docs: Collection[DocName]) -> dict[DocName, int]:
        """The last sequence number committed for each of ``docs``, in one query however
        many they are; documents with nothing stored are left out.

        Lets a server that holds many documents find the few that moved without loading
        each (compaction does not move it; a delete forgets it).
        """

    async def compact(
        self, doc: DocName, merge: MergeUpdates, *, worth: CompactionWorth | None = None
    ) -> Compaction:
        """Fold the snapshot and the update rows into a new snapshot.

        Reads the rows it merges from the store and deletes exactly those rows in the same
        transaction, so a concurrent append is never lost. ``worth`` is asked first, about
        what follows the snapshot now (another instance may have compacted meanwhile);
        if it says no, nothing is merged and the snapshot's seq is reported.
        """

    async def delete(self, doc: DocName) -> None:
        """Forget a document: its snapshot and every update row."""


class BusListener(Protocol):
    def on_message(self, data: bytes) -> None:
        """A message published on the subscribed channel (by any instance, this one too)."""

    def on_gap(self) -> None:
        """Messages may have been missed (e.g. the bus reconnected): catch up from the store."""


class BusSubscription(Protocol):
    async def close(self) -> None:
        """Stop delivering; idempotent."""


class Bus(Protocol):
    """Fan-out between server instances. A fast path only: it may drop messages, and
    then calls ``on_gap`` on the affected listeners once it is connected again."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise :class:`BusError` unless the bus is connected now."""

    async def publish(self, channel: str, data: bytes) -> None:
        """Publish to every subscriber of ``channel`` on every instance.

        Raises :class:`BusError` when the message surely did not go out.
        """

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish each ``(channel, data)`` in order, in one round trip where the bus can.

        Raises :class:`BusError` when some of them may not have gone out.
        """

    async def subscribe(self, channel: str, listener: BusListener) -> BusSubscription: ...


class BusError(Exception):
    """The bus is unreachable."""


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""

    def wall(self) -> float:
        """Seconds since the Unix epoch."""

    async def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    """One connected client, as "who is in this report" shows it."""

    #: Unique across instances for the life of one connection.
    member: str
    doc: DocName
    name: str
    color: str
    #: Wall-clock time (Unix seconds) the client connected.
    since: float
    instance: str


class PresenceRegistry(Protocol):
    """Who is connected to which document, across every instance.

    Entries expire unless refreshed (``ttl`` of the implementation, 30 s by default), so
    the clients of an instance that died are forgotten without anyone removing them.
    """

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def put(self, entries: Sequence[PresenceEntry]) -> None:
        """Add or refresh entries (and their expiry)."""

    async def remove(self, doc: DocName, member: str) -> None: ...

    async def list(self, docs: Sequence[DocName]) -> list[PresenceEntry]:
        """The unexpired entries of ``docs``, oldest first."""
