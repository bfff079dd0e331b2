"""One loaded document: apply, persist, relay, awareness.

The order of events for a client's update is the durability rule of DESIGN.md §3:

1. apply it to the in-memory doc (Yrs rejects malformed updates here, before anything
   is stored);
2. hand it to the group committer;
3. once the store has committed it, relay it to the other clients, publish it on the bus
   and acknowledge it to its sender when asked.

A room whose document has not changed for a while rests: it keeps the document encoded
(a few bytes per character) instead of as a live Yrs document (a dozen KiB and more), and
decodes it again when anything needs it (see ``rest``).

A joining client's sync step 2 is computed from the in-memory doc, which may hold updates
still being committed, so the reply is held until everything applied before it is durable.
If a commit fails the room breaks: every client is closed with 1011 and the room is
dropped, so nothing that was not stored is ever shown to anyone; clients resend their
changes when they reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pycrdt import Doc, Subscription, TransactionEvent

from coreport.metrics import Metrics
from coreport.ports import BusSubscription, Clock, DocName, StoredState
from coreport.protocol import codes, messages
from coreport.protocol.codes import CloseCode
from coreport.protocol.messages import (
    EMPTY_UPDATE,
    Auth,
    AwarenessEntry,
    AwarenessUpdate,
    Message,
    ProtocolError,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
)
from coreport.protocol.updates import (
    UpdateShape,
    check_update,
    decode_state_vector,
    skips_clocks,
)
from coreport.sync.committer import CommitCallback
from coreport.sync.envelope import BadEnvelope, Envelope, EnvelopeKind
from coreport.sync.throttle import AwarenessThrottle, Pending

log = logging.getLogger(__name__)

#: Bus envelopes that carry document updates.
_UPDATE_KINDS = frozenset({EnvelopeKind.UPDATE, EnvelopeKind.UPDATES})

T = TypeVar("T")


class RoomBroken(Exception):
    """The room failed a write and was dropped; a fresh one loads from the store."""

    def __init__(self, name: DocName, cause: BaseException | None = None) -> None:
        super().__init__(f"document {name} is unavailable: {cause or 'a write failed'}")


#: Publishes an encoded envelope on a bus channel without waiting (see ``Outbox``).
Publish = Callable[[str, bytes], None]


class Committer(Protocol):
    """What a room needs to make an update durable (a ``GroupCommitter``)."""

    def submit(self, doc: DocName, data: bytes, done: CommitCallback) -> None: ...


class Peer(Protocol):
    """What a room needs from a connected client (a ``Session``)."""

    @property
    def wants_ack(self) -> bool: ...

    def send(self, data: bytes) -> None:
        """Queue a message for the client; never blocks."""

    def ack(self, seq: int) -> None:
        """One more of this client's updates is durable, with store sequence ``seq``."""

    def close(self, code: CloseCode, detail: str = "") -> None:
        """Close the client's connection; never blocks."""


@dataclass(slots=True)
class _RemoteAwareness:
    entry: AwarenessEntry
    seen_at: float


#: The state vector of a client that holds nothing (no clients).
_EMPTY_STATE = b"\x00"
_NO_SEQS: frozenset[int] = frozenset()
#: The smallest sync step 2 for such a client that a room keeps for the next joiners.
_KEEP_FULL_REPLY_BYTES = 64 * 1024


def channel_for(doc: DocName) -> str:
    return f"doc:{doc}"


def _is_engine_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is a Rust panic inside pycrdt, which pyo3 raises as
    ``pyo3_runtime.PanicException``: a ``BaseException`` that ``except Exception`` misses.
    Yrs panics on some malformed updates."""
    kind = type(exc)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"


class Room:
    """A document loaded in memory and the clients connected to it on this instance."""

    # Slots: one room per open document; an instance dict of this many fields is ~1.6 KiB.
    __slots__ = (
        "__weakref__",  # tests check that nothing keeps one alive
        "_ahead",
        "_applied",
        "_awareness",
        "_awareness_interval",
        "_change",
        "_client_id",
        "_clock",
        "_clocks",
        "_committer",
        "_doc",
        "_durable",
        "_early",
        "_full_reply",
        "_gap_seen",
        "_held",
        "_instance",
        "_instance_id",
        "_metrics",
        "_observer",
        "_on_broken",
        "_pending_possible",
        "_publish",
        "_remote_awareness",
        "_resting",
        "_throttle",
        "_unsynced",
        "active_at",
        "broken",
        "channel",
        "dirty_since",
        "gap_since",
        "idle_since",
        "known_seq",
        "log_bytes",
        "name",
        "peers",
        "refs",
        "size_bytes",
        "snapshot_seq",
        "subscription",
    )

    def __init__(
        self,
        name: DocName,
        *,
        instance: str,
        committer: Committer,
        publish: Publish | None,
        metrics: Metrics,
        clock: Clock,
        on_broken: Callable[[Room], None],
        awareness_interval: float = 0.0,
    ) -> None:
        self.name = name
        self.channel = channel_for(name)
        self._doc: Doc[Any] | None = Doc()
        self._client_id: int = self._doc.client_id
        # The document, encoded, while the room rests (then ``_doc`` is None).
        self._resting: bytes | None = None
        self._instance = instance
        self._instance_id = instance.encode()
        self._committer = committer
        self._publish = publish
        self._metrics = metrics
        self._clock = clock
        self._on_broken = on_broken
        # Each client, with the awareness client ids it announced (made on its first
        # announcement: a client that announces none, like the SDK's, has no set).
        self.peers: dict[Peer, set[int] | None] = {}
        # Peers not yet sent their first sync step 2: ``None`` until they ask for it (their
        # step 1), then the document updates to send right after it. See ``_answer_step1``.
        self._unsynced: dict[Peer, list[bytes] | None] = {}
        self._awareness: dict[int, AwarenessEntry] = {}
        self._remote_awareness: dict[int, _RemoteAwareness] = {}
        # Awareness changes go out at most once per interval (see ``throttle``); the
        # throttle is made on the first change (rooms nobody points into have none).
        self._awareness_interval = awareness_interval
        self._throttle: AwarenessThrottle[Peer] | None = None
        # Counters of updates handed to the committer and of those committed; the
        # committer finishes in submission order, so "durable >= n" means the first n are.
        self._applied = 0
        self._durable = 0
        # Work that must wait until the first ``mark`` applied updates are durable, and
        # what to do instead if the room breaks first.
        # A list, not a deque: usually empty, and a deque's first block costs 624 bytes.
        self._held: list[tuple[int, Callable[[], None], Callable[[], None] | None]] = []
        # What the last transaction on ``doc`` changed (see ``_receive_update``).
        self._change: bytes | None = None
        # The sync step 2 for a client that has nothing yet (most joiners: a page load),
        # encoded once for everyone who joins until the document changes; kept only for
        # a large document (a small one encodes in microseconds, and is not worth the
        # memory).
        self._full_reply: bytes | None = None
        # A lower bound of each client's next clock in ``doc`` (see ``_follows_state``),
        # and whether a client's update ever left a gap before its clocks.
        self._clocks: dict[int, int] = {}
        self._gap_seen = False
        # Whether a client's update may have left something Yrs keeps pending (structs
        # past their client's clocks, deletions of clocks not yet here): the encoded
        # document leaves that out, so such a room never rests.
        self._pending_possible = False
        self._observer: Subscription | None = self._doc.observe(self._on_change)
        #: When the document last changed or was woken (see ``rest``).
        self.active_at = clock.now()
        # Store sequence bookkeeping: every seq <= known_seq has been applied here.
        self.known_seq = 0
        self.snapshot_seq = 0
        # Seqs seen on the bus past a gap (a set made when there is one: rooms rarely do).
        self._ahead: set[int] | frozenset[int] = _NO_SEQS
        # Updates from other instances that arrived before their predecessors.
        self._early: dict[int, bytes] = {}
        self.gap_since: float | None = None
        self.dirty_since: float | None = None
        self.broken = False
        #: Bytes of updates this document holds, as loaded and applied since: what the
        #: document size limit compares with (compaction may store it in fewer).
        self.size_bytes = 0
        #: The part of ``size_bytes`` in update rows after the snapshot, as far as this
        #: room knows (an estimate once a compaction has folded some of them): what
        #: compaction weighs against the rest.
        self.log_bytes = 0
        self.refs = 0
        self.idle_since: float | None = clock.now()
        self.subscription: BusSubscription | None = None

    # -- the document, live or resting ------------------------------------------------

    @property
    def doc(self) -> Doc[Any]:
        """The live document; a resting room wakes for it."""
        doc = self._doc
        return doc if doc is not None else self._wake()

    @property
    def resting(self) -> bool:
        return self._doc is None

    def rest(self) -> bool:
        """Keep the document encoded instead of live until something needs it; ``False``
        (nothing done) when it cannot be: it is resting already, has writes in flight or
        work waiting for them, may hold pending content, or the room is broken."""
        doc = self._doc
        if (
            doc is None
            or self.broken
            or self._held
            or self.has_pending_writes
            or self._gap_seen
            or self._pending_possible
        ):
            return False
        self._resting = doc.get_update()
        observer, self._observer = self._observer, None
        if observer is not None:
            doc.unobserve(observer)
        self._doc = None
        self._full_reply = None
        self._metrics.resting_rooms.inc()
        return True

    def _wake(self) -> Doc[Any]:
        state, self._resting = self._resting, None
        assert state is not None
        # The same client id: the server's own edits go on from its clocks, as before.
        doc: Doc[Any] = Doc(client_id=self._client_id)
        doc.apply_update(state)  # before observing: nothing here is new
        self._observer = doc.observe(self._on_change)
        self._doc = doc
        self.active_at = self._clock.now()
        self._metrics.resting_rooms.dec()
        return doc

    # -- loading and catching up -------------------------------------------------------

    def apply_stored(self, state: StoredState) -> bytes | None:
        """Apply what the store returned; returns what the document gained, if anything.

        Only the gain is relayed after a catch-up: a snapshot that a compaction wrote
        past this room's position holds the whole document, and rows may already be here
        (committed by this room or met on the bus while the read was in flight).
        """
        # A catch-up read queued behind our own commits returns rows this room already
        # applied and relayed; only what it has not seen is new.
        snapshot = state.snapshot if state.snapshot_seq > self.known_seq else None
        rows = [
            u.data for u in state.updates if u.seq > self.known_seq and u.seq not in self._ahead
        ]
        payloads = ([snapshot] if snapshot is not None else []) + rows
        if state.snapshot is not None and state.snapshot_seq > self.snapshot_seq:
            # A newer snapshot holds every row before it: the log is what follows it.
            self.snapshot_seq = state.snapshot_seq
            self.log_bytes = sum(len(u.data) for u in state.updates)
        else:
            self.log_bytes += sum(len(row) for row in rows)
        gained = None
        if payloads:
            self._change = None
            doc = self.doc
            # In one transaction, so the change is what all of them added, as one update.
            # Applying the rows one by one is faster than merging them first (Yrs's merge
            # grows faster than its input: 2,000 small rows and a 440 KB snapshot merged
            # and applied in 76 ms, applied one by one in 38), and Yrs keeps any that
            # arrive before what they build on until it comes, as a merge does.
            with doc.transaction():
                for payload in payloads:
                    doc.apply_update(payload)
            gained, self._change = self._change, None
            if gained is not None:
                self.size_bytes += len(gained)
        if state.last_seq > self.known_seq:
            self.known_seq = state.last_seq
            self._ahead = {s for s in self._ahead if s > self.known_seq} or _NO_SEQS
            self._advance()
        if self.known_seq > self.snapshot_seq and self.dirty_since is None:
            self.dirty_since = self._clock.now()
        return gained

    def relay_caught_up(self, update: bytes) -> None:
        """Send updates found by a catch-up from the store to every local client."""
        self._broadcast(messages.sync_update(update), exclude=None)

    def saw_seq(self, seq: int) -> None:
        if seq <= self.known_seq:
            return
        if seq == self.known_seq + 1:
            self.known_seq = seq
            self._advance()
        else:
            self._ahead_set().add(seq)
            if self.gap_since is None:
                self.gap_since = self._clock.now()
        if self.dirty_since is None:
            self.dirty_since = self._clock.now()

    def _advance(self) -> None:
        while True:
            following = self.known_seq + 1
            if following in self._ahead:
                self._ahead_set().discard(following)
            elif following in self._early:
                self._apply_in_order(self._early.pop(following))
            else:
                break
            self.known_seq = following
        for seq in [s for s in self._early if s <= self.known_seq]:
            del self._early[seq]
        if not self._ahead:
            self._ahead = _NO_SEQS
            if not self._early:
                self.gap_since = None

    def _ahead_set(self) -> set[int]:
        if not isinstance(self._ahead, set):
            self._ahead = set()
        return self._ahead

    @property
    def rows_since_snapshot(self) -> int:
        return max(0, self.known_seq - self.snapshot_seq)

    def compacted(self, snapshot_seq: int) -> None:
        if snapshot_seq > self.snapshot_seq:
            rows = self.rows_since_snapshot
            self.snapshot_seq = snapshot_seq
            # The rows' sizes are not kept: assume the folded ones were of average size.
            self.log_bytes = self.log_bytes * self.rows_since_snapshot // rows if rows else 0
        self.dirty_since = self._clock.now() if self.rows_since_snapshot else None

    @property
    def has_pending_writes(self) -> bool:
        return self._durable < self._applied

    # -- clients -----------------------------------------------------------------------

    def join(self, peer: Peer) -> None:
        """Start the sync handshake with a new client and show it who is here."""
        self.peers[peer] = None
        self._unsynced[peer] = None
        peer.send(messages.sync_step1(self.doc.get_state()))
        present = self._present_entries()
        if present:
            peer.send(messages.awareness(present))

    def leave(self, peer: Peer) -> None:
        """Forget a client and tell everyone else its cursors are gone."""
        client_ids = self.peers.pop(peer, None)
        self._unsynced.pop(peer, None)
        if not client_ids:
            return
        removals = []
        for client_id in client_ids:
            entry = self._awareness.pop(client_id, None)
            if entry is not None:
                removals.append(AwarenessEntry(client_id, entry.clock + 1, "null"))
        if removals:
            self._fan_out_awareness(removals, origin=None, publish=True)

    def receive(self, peer: Peer, message: Message) -> None:
        """Handle one decoded message from ``peer``; raises ``ProtocolError`` on bad input."""
        if self.broken:
            return
        if isinstance(message, SyncStep1):
            self._answer_step1(peer, message.state_vector)
        elif isinstance(message, SyncStep2 | SyncUpdate):
            self._receive_update(peer, message.update)
        elif isinstance(message, AwarenessUpdate):
            self._receive_awareness(peer, message)
        elif isinstance(message, QueryAwareness):
            peer.send(messages.awareness(self._present_entries()))
        elif isinstance(message, Auth):
            # Auth messages flow from server to client only; a client's is meaningless.
            log.debug("ignoring auth message from a client of %s", self.name)

    def _answer_step1(self, peer: Peer, state_vector: bytes) -> None:
        """Send the client what it lacks, once that is durable.

        Until a client has its first step 2 it gets no document updates: one relayed
        before may build on content that only the step 2 brings, and a client that has
        to hold such an update as pending can lose content when the step 2 fills the gap
        (Yrs does; docs/reliability.md). Updates relayed before the step 1 are all in
        the reply, which is computed now; those relayed while the reply waits for
        durability are queued and sent right after it.
        """
        if state_vector == _EMPTY_STATE and self._full_reply is not None:
            reply = self._full_reply
        else:
            try:
                reply = messages.sync_step2(self.doc.get_update(state_vector))
            except Exception as exc:
                raise ProtocolError(f"invalid state vector: {exc}", codes.INVALID_PAYLOAD) from exc
            if state_vector == _EMPTY_STATE and len(reply) >= _KEEP_FULL_REPLY_BYTES:
                self._full_reply = reply
        if peer in self._unsynced and self._unsynced[peer] is None:
            self._unsynced[peer] = []

        def send() -> None:
            if peer not in self.peers:
                return
            peer.send(reply)
            for queued in self._unsynced.pop(peer, None) or ():
                peer.send(queued)

        self._when_durable(send)

    def _when_durable(
        self, action: Callable[[], None], on_broken: Callable[[], None] | None = None
    ) -> None:
        """Run ``action`` once every update applied so far is committed (``on_broken``
        instead if the room breaks first)."""
        if self._durable >= self._applied:
            action()
        else:
            self._held.append((self._applied, action, on_broken))

    def _future_when_durable(self, done: asyncio.Future[Any], value: Any) -> None:
        def resolve() -> None:
            if not done.done():
                done.set_result(value)

        def fail() -> None:
            if not done.done():
                done.set_exception(RoomBroken(self.name))

        self._when_durable(resolve, fail)

    def _on_change(self, event: TransactionEvent) -> None:
        self._change = event.update
        self._full_reply = None
        self.active_at = self._clock.now()

    def _receive_update(self, peer: Peer, update: bytes) -> None:
        if update == EMPTY_UPDATE:
            return
        shape = check_update(update)
        # Yrs integrates a struct ahead of its client's earlier ones (a map entry that
        # names no other struct) but leaves it out of the change, so the document would
        # show what no store row holds. Only an update that starts past some client's
        # clocks (or one applied after it, which may release what it left pending) can do
        # that; for those, what the document gained is encoded, where such a struct shows
        # as skipped clocks. (Encoding costs a walk of the whole document: every other
        # update goes without.)
        before = None if self._follows_state(shape) else self.doc.get_state()
        self._change = None
        try:
            self.doc.apply_update(update)
            skipped = self._change is not None and (
                self._change == EMPTY_UPDATE
                or (before is not None and skips_clocks(self.doc.get_update(before)))
            )
        except BaseException as exc:
            if not isinstance(exc, Exception) and not _is_engine_panic(exc):
                raise
            changed = self._change is not None or not isinstance(exc, Exception)
            self._change = None
            raise self._refuse(peer, f"update rejected: {exc}", changed=changed) from exc
        change, self._change = self._change, None
        if skipped:
            raise self._refuse(peer, "update skips clocks of its client", changed=True)
        self._metrics.updates_in.inc()
        if shape.deleted and not self._pending_possible:
            # Deleting clocks the document lacks: Yrs keeps such deletions pending until
            # their structs arrive.
            self._pending_possible = self._past_clocks(shape.deleted)
        # Yrs reports exactly what the update added or deleted. Nothing means an echo of
        # something this document already has (some clients send back every update they
        # receive), a duplicate after a reconnect, or content waiting for parts not yet
        # received: none of these needs storing or relaying.
        if change is None:
            if peer.wants_ack:
                self._when_durable(lambda: peer.ack(self.known_seq) if peer in self.peers else None)
            return
        if change == update:
            # All of it was integrated: each client's clock is now at least its end.
            clocks = self._clocks
            for client, _, end in shape.ranges:
                if end > clocks.get(client, 0):
                    clocks[client] = end
        self._commit(change, peer)

    def _follows_state(self, shape: UpdateShape) -> bool:
        """Whether every run of structs in the update starts within what the document
        already holds of its client, so that applying it cannot integrate anything ahead
        of a client's clocks (and nothing earlier left such structs waiting)."""
        if self._gap_seen or shape.skips:
            return False
        if self._past_clocks((client, start) for client, start, _ in shape.ranges):
            # Yrs may keep some of it pending and integrate it later, when another update
            # fills a different gap: check every update from now on.
            self._gap_seen = True
            return False
        return True

    def _past_clocks(self, points: Iterable[tuple[int, int]]) -> bool:
        """Whether any ``(client, clock)`` lies past what the document holds of that
        client. ``_clocks`` is a lower bound: it is read from the document again, once,
        before anything is called past it."""
        clocks = self._clocks
        refreshed = False
        for client, clock in points:
            if clock > clocks.get(client, 0):
                if not refreshed:
                    clocks = self._clocks = decode_state_vector(self.doc.get_state())
                    refreshed = True
                if clock > clocks.get(client, 0):
                    return True
        return False

    def _refuse(self, peer: Peer, detail: str, *, changed: bool) -> ProtocolError:
        """The error that closes ``peer`` (1007) for an update the room will not take.

        If Yrs changed the document before giving up (it has no rollback), or panicked and
        may have left it inconsistent, the document no longer matches the store: the room
        breaks, everyone else reconnects (1011) and the document is loaded from the store.
        """
        if changed:
            peer.close(codes.INVALID_PAYLOAD, detail)
            self.break_(f"a refused update changed the document: {detail}")
        return ProtocolError(detail, codes.INVALID_PAYLOAD)

    def edit(self, change: Callable[[Doc[Any]], T]) -> tuple[T, asyncio.Future[int | None]]:
        """Change the document on the server's own behalf (the Report API): the edit is
        one transaction, stored and relayed to every client like a client's update.

        Returns ``change``'s result and a future of the store sequence number once the
        edit is durable (``None`` when it changed nothing). Raises ``RoomBroken`` if the
        room can no longer take writes.
        """
        if self.broken:
            raise RoomBroken(self.name)
        done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._change = None
        try:
            with self.doc.transaction(origin="coreport"):
                result = change(self.doc)
        finally:
            # Yrs has no rollback: whatever ``change`` did before failing is in the
            # document now, so it is stored and relayed like the rest.
            update, self._change = self._change, None
            if update is None:
                self._future_when_durable(done, None)
            else:
                self._commit(update, None, done)
        return result, done

    async def durable(self) -> None:
        """Wait until everything applied so far is committed."""
        if self.broken:
            raise RoomBroken(self.name)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._future_when_durable(done, None)
        await done

    def _commit(
        self, update: bytes, peer: Peer | None, done: asyncio.Future[int | None] | None = None
    ) -> None:
        self._applied += 1
        mark = self._applied

        def committed(seq: int | None, error: BaseException | None) -> None:
            self._committed(peer, update, mark, seq, error)
            if done is not None and not done.done():
                if seq is None:
                    done.set_exception(RoomBroken(self.name, error))
                else:
                    done.set_result(seq)

        self._committer.submit(self.name, update, committed)

    def _committed(
        self,
        peer: Peer | None,
        update: bytes,
        mark: int,
        seq: int | None,
        error: BaseException | None,
    ) -> None:
        if self.broken:
            return
        if seq is None:
            self.break_(f"storing an update failed: {error}")
            return
        self._durable = mark
        self.size_bytes += len(update)
        self.log_bytes += len(update)
        self._broadcast(messages.sync_update(update), exclude=peer)
        if self._publish is not None:
            self._publish(
                self.channel, Envelope(EnvelopeKind.UPDATE, seq, self._instance, update).encode()
            )
        # Only now: remote updates that waited for this seq are relayed after it.
        self.saw_seq(seq)
        if peer is not None and peer.wants_ack and peer in self.peers:
            peer.ack(seq)
        while self._held and self._held[0][0] <= self._durable:
            self._held.pop(0)[1]()

    def _receive_awareness(self, peer: Peer, message: AwarenessUpdate) -> None:
        if peer not in self.peers:
            return
        owned = self.peers[peer]
        if owned is None:
            owned = self.peers[peer] = set()
        changed = []
        for entry in message.entries:
            if not self._accept_awareness(entry):
                continue
            changed.append(entry)
            if entry.removed:
                owned.discard(entry.client_id)
            else:
                owned.add(entry.client_id)
        if changed:
            self._fan_out_awareness(changed, origin=peer, publish=True)

    def _accept_awareness(self, entry: AwarenessEntry) -> bool:
        """y-protocols' rule: a newer clock wins, and so does a removal at the same clock."""
        current = self._awareness.get(entry.client_id)
        if current is None:
            if entry.removed:
                return False
        elif not (entry.clock > current.clock or (entry.clock == current.clock and entry.removed)):
            return False
        if entry.removed:
            del self._awareness[entry.client_id]
        else:
            self._awareness[entry.client_id] = entry
        return True

    def _fan_out_awareness(
        self, entries: list[AwarenessEntry], origin: Peer | None, publish: bool
    ) -> None:
        """Send awareness changes to the clients (all but ``origin``, who made them) and,
        when ``publish``, to other instances: at once, or at the end of the current
        interval if the room has sent some within it."""
        throttle = self._throttle
        if throttle is None:
            throttle = self._throttle = AwarenessThrottle(
                self._awareness_interval, self._send_awareness
            )
        throttle.add(entries, origin, publish)

    def _send_awareness(self, batch: list[Pending[Peer]]) -> None:
        if self.broken:
            return
        encoded = [messages.encode_awareness_entry(p.entry) for p in batch]
        origins = {p.origin for p in batch if p.origin is not None}
        shared = messages.awareness_of_encoded(encoded)
        for peer in self.peers:
            if peer not in origins:
                peer.send(shared)
                continue
            # Never a client's own states back to it.
            others = [data for data, p in zip(encoded, batch, strict=True) if p.origin is not peer]
            if others:
                peer.send(messages.awareness_of_encoded(others))
        if self._publish is None:
            return
        published = [data for data, p in zip(encoded, batch, strict=True) if p.publish]
        if published:
            payload = messages.awareness_payload_of_encoded(published)
            self._publish(
                self.channel, Envelope(EnvelopeKind.AWARENESS, 0, self._instance, payload).encode()
            )

    def _present_entries(self) -> list[AwarenessEntry]:
        return list(self._awareness.values())

    def _broadcast(self, data: bytes, exclude: Peer | None) -> None:
        """Relay a document update to every synced client but ``exclude``."""
        # One encoded message object is queued for every recipient.
        sent = 0
        unsynced = self._unsynced
        for peer in self.peers:
            if peer is exclude:
                continue
            if unsynced and peer in unsynced:
                waiting = unsynced[peer]
                if waiting is not None:
                    waiting.append(data)
                continue
            peer.send(data)
            sent += 1
        if sent:
            self._metrics.updates_out.inc(sent)

    # -- other instances ---------------------------------------------------------------

    def on_message(self, data: bytes) -> None:
        """A message from the bus (BusListener)."""
        if Envelope.published_by(data, self._instance_id):
            return
        try:
            envelope = Envelope.decode(data)
            if envelope.instance == self._instance or self.broken:
                return
            updates = envelope.updates() if envelope.kind in _UPDATE_KINDS else None
        except BadEnvelope as exc:
            log.warning("dropping a malformed bus message on %s: %s", self.channel, exc)
            self._metrics.errors.labels("bus_message").inc()
            self.on_gap()  # it may have carried updates: the store has them
            return
        if updates is not None:
            for seq, update in updates:
                self._apply_remote_update(seq, update)
        elif envelope.kind is EnvelopeKind.AWARENESS:
            self._apply_remote_awareness(envelope.payload)
        else:
            self._answer_awareness_query()

    def ask_for_awareness(self) -> None:
        """Ask other instances for their clients' states (a room that just loaded has
        none, and clients renew theirs only every 15 s)."""
        if self._publish is not None:
            self._publish(
                self.channel,
                Envelope(EnvelopeKind.QUERY_AWARENESS, 0, self._instance, b"").encode(),
            )

    def _answer_awareness_query(self) -> None:
        local = [
            self._awareness[cid]
            for owned in self.peers.values()
            for cid in owned or ()
            if cid in self._awareness
        ]
        if local and self._publish is not None:
            payload = messages.encode_awareness_payload(local)
            self._publish(
                self.channel, Envelope(EnvelopeKind.AWARENESS, 0, self._instance, payload).encode()
            )

    def on_gap(self) -> None:
        """The bus may have dropped messages; the registry's next pass catches up."""
        if self.gap_since is None:
            self.gap_since = self._clock.now()

    def close_reported_gap(self) -> float | None:
        """Before a read of the store: a gap the bus reported (messages may be lost), with
        no sequence number known to be missing, is answered by that read, so it closes
        now; one reported during the read opens it again. Returns when it was reported
        (``None``: no such gap), for the caller to reopen it if the read fails."""
        if self.gap_since is None or self._ahead or self._early:
            return None
        since, self.gap_since = self.gap_since, None
        return since

    def reopen_gap(self, since: float | None) -> None:
        """The read that was to answer a gap closed by :meth:`close_reported_gap` (at
        ``since``; ``None``: there was none) did not happen: the next pass tries again."""
        if since is not None and self.gap_since is None:
            self.gap_since = since

    def _apply_remote_update(self, seq: int, update: bytes) -> None:
        if seq <= self.known_seq or seq in self._ahead:
            return
        if seq > self.known_seq + 1:
            # Apply other instances' updates in store order only: one that overtook its
            # predecessor on the bus waits for it (or for the catch-up that fills the gap).
            self._early[seq] = update
            if self.gap_since is None:
                self.gap_since = self._clock.now()
            return
        self._apply_in_order(update)
        self.saw_seq(seq)

    def _apply_in_order(self, payload: bytes) -> None:
        try:
            self.doc.apply_update(payload)
        except Exception as exc:
            # Another instance committed it, so the store has it; catching up will tell.
            log.warning("an update from the bus did not apply on %s: %s", self.name, exc)
            self.on_gap()
            return
        self.size_bytes += len(payload)
        self.log_bytes += len(payload)
        self._broadcast(messages.sync_update(payload), exclude=None)

    def _apply_remote_awareness(self, payload: bytes) -> None:
        try:
            update = messages.parse_awareness(payload)
        except ProtocolError as exc:
            log.warning("dropping malformed awareness from the bus on %s: %s", self.name, exc)
            return
        now = self._clock.now()
        changed = []
        for entry in update.entries:
            if self._accept_awareness(entry):
                changed.append(entry)
                if entry.removed:
                    self._remote_awareness.pop(entry.client_id, None)
                else:
                    self._remote_awareness[entry.client_id] = _RemoteAwareness(entry, now)
        if changed:
            self._fan_out_awareness(changed, origin=None, publish=False)

    def expire_remote_awareness(self, older_than: float) -> None:
        """Drop cursors of clients on other instances that stopped renewing them (an
        instance that died cannot say goodbye)."""
        stale = [cid for cid, r in self._remote_awareness.items() if r.seen_at < older_than]
        removals = []
        for client_id in stale:
            del self._remote_awareness[client_id]
            entry = self._awareness.pop(client_id, None)
            if entry is not None:
                removals.append(AwarenessEntry(client_id, entry.clock + 1, "null"))
        if removals:
            self._fan_out_awareness(removals, origin=None, publish=False)

    # -- the end ---------------------------------------------------------------------

    def close(self) -> None:
        """Let go of the document once the registry has dropped this room (unloaded,
        broken or failed to load); the room must not be used afterwards."""
        # pycrdt keeps a doc's observers in Rust, each holding the doc and the callback:
        # out of reach of Python's garbage collector, so an observed doc and this room
        # would otherwise stay in memory for good.
        if self._throttle is not None:
            self._throttle.close()
        observer, self._observer = self._observer, None
        if observer is not None and self._doc is not None:
            self._doc.unobserve(observer)
        if self._resting is not None:
            self._resting = None
            self._metrics.resting_rooms.dec()

    # -- failure -----------------------------------------------------------------------

    def break_(self, reason: str) -> None:
        """Drop this room after a failed write: close every client so it resends."""
        if self.broken:
            return
        self.broken = True
        log.error("room %s closed: %s", self.name, reason)
        held, self._held = self._held, []
        for _, _, on_broken in held:
            if on_broken is not None:
                on_broken()  # never the durable action: its content was not stored
        if self._throttle is not None:
            self._throttle.close()
        for peer in list(self.peers):
            peer.close(codes.INTERNAL_ERROR, reason)
        self.peers.clear()
        self._unsynced.clear()
        self._on_broken(self)
