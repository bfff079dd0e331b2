"""Test doubles injected through constructors: an in-memory store with failure and
hold switches, a bus that records, a manual clock, and a peer that records."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from coreport.ports import (
    BusListener,
    BusSubscription,
    Compaction,
    CompactionWorth,
    DocName,
    MergeUpdates,
    StoredState,
    StoredUpdate,
    StoreError,
)
from coreport.protocol import messages
from coreport.protocol.codes import CloseCode


class MemoryStore:
    """The Store contract in memory. ``fail`` makes writes/loads raise; ``gate`` (when
    cleared) holds every append until it is set."""

    def __init__(self) -> None:
        self.updates: dict[DocName, list[StoredUpdate]] = {}
        self.snapshots: dict[DocName, tuple[int, bytes]] = {}
        self.last_seq: dict[DocName, int] = {}
        self.fail_appends = False
        self.fail_loads = False
        self.gate = asyncio.Event()
        self.gate.set()
        self.loads = 0
        self.position_reads = 0
        self.appends = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        if self.fail_appends:
            raise StoreError("store is down")

    async def append(self, batch: Sequence[tuple[DocName, bytes]]) -> list[int]:
        await self.gate.wait()
        if self.fail_appends:
            raise StoreError("append failed (injected)")
        self.appends += 1
        seqs = []
        for doc, data in batch:
            seq = self.last_seq.get(doc, 0) + 1
            self.last_seq[doc] = seq
            self.updates.setdefault(doc, []).append(StoredUpdate(seq, data))
            seqs.append(seq)
        return seqs

    async def load(self, doc: DocName, after_seq: int = 0) -> StoredState:
        self.loads += 1
        await asyncio.sleep(0)  # a real store always yields here
        if self.fail_loads:
            raise StoreError("load failed (injected)")
        snap_seq, snap = self.snapshots.get(doc, (0, None))
        rows = [u for u in self.updates.get(doc, []) if u.seq > max(after_seq, snap_seq)]
        return StoredState(snap if after_seq < snap_seq else None, snap_seq, tuple(rows))

    async def last_seqs(self, docs: Collection[DocName]) -> dict[DocName, int]:
        self.position_reads += 1
        await asyncio.sleep(0)
        if self.fail_loads:
            raise StoreError("reading positions failed (injected)")
        return {doc: self.last_seq[doc] for doc in docs if doc in self.last_seq}

    async def compact(
        self, doc: DocName, merge: MergeUpdates, *, worth: CompactionWorth | None = None
    ) -> Compaction:
        rows = self.updates.get(doc, [])
        snap_seq, snap = self.snapshots.get(doc, (0, None))
        sizes = (len(rows), sum(len(r.data) for r in rows), len(snap or b""))
        if not rows or (worth is not None and not worth(*sizes)):
            return Compaction(0, snap_seq)
        merged = merge(([snap] if snap else []) + [r.data for r in rows])
        top = rows[-1].seq
        self.snapshots[doc] = (top, merged)
        self.updates[doc] = [r for r in rows if r.seq > top]
        return Compaction(len(rows), top)

    async def delete(self, doc: DocName) -> None:
        self.updates.pop(doc, None)
        self.snapshots.pop(doc, None)

    def stored(self, doc: DocName) -> list[bytes]:
        snap = self.snapshots.get(doc)
        return ([snap[1]] if snap else []) + [u.data for u in self.updates.get(doc, [])]


class RecordingBus:
    """Delivers nothing by itself; records publishes and subscriptions."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []
        self.listeners: dict[str, list[BusListener]] = {}
        self.published_event = asyncio.Event()

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def publish(self, channel: str, data: bytes) -> None:
        self.published.append((channel, data))
        self.published_event.set()

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, data in messages:
            await self.publish(channel, data)

    async def subscribe(self, channel: str, listener: BusListener) -> BusSubscription:
        self.listeners.setdefault(channel, []).append(listener)
        return _Subscription(self, channel, listener)

    @property
    def subscription_count(self) -> int:
        return sum(len(v) for v in self.listeners.values())


@dataclass
class _Subscription:
    bus: RecordingBus
    channel: str
    listener: BusListener

    async def close(self) -> None:
        listeners = self.bus.listeners.get(self.channel, [])
        if self.listener in listeners:
            listeners.remove(self.listener)
        if not listeners:
            self.bus.listeners.pop(self.channel, None)


class ManualClock:
    """Time moves only when a test says so; ``sleep`` never returns on its own."""

    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass(eq=False)
class RecordingPeer:
    name: str
    wants_ack: bool = False
    sent: list[bytes] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)
    closed: CloseCode | None = None

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def ack(self, seq: int) -> None:
        self.acks.append(seq)

    def close(self, code: CloseCode, detail: str = "") -> None:
        self.closed = code

    def parsed(self) -> list[messages.Message]:
        return [messages.parse_message(m) for m in self.sent]

    def updates(self) -> list[bytes]:
        return [
            m.update
            for m in self.parsed()
            if isinstance(m, messages.SyncUpdate | messages.SyncStep2)
        ]
