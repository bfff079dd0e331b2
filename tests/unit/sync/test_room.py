"""Room and registry logic with an in-memory store, a recording bus and a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pycrdt import Doc, Map, Text

from coreport.metrics import Metrics
from coreport.ports import StoredState, StoredUpdate
from coreport.protocol import codes, messages
from coreport.protocol.messages import (
    AwarenessEntry,
    AwarenessUpdate,
    Message,
    ProtocolError,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
)
from coreport.sync.envelope import Envelope, EnvelopeKind, coalesce
from coreport.sync.room import Room, RoomBroken
from coreport.sync.rooms import RoomPolicy, Rooms
from tests.support.fakes import ManualClock, MemoryStore, RecordingBus, RecordingPeer

DOC = "reports/r1"


def text_update(content: str, client: Doc | None = None) -> bytes:
    doc = client or Doc()
    before = doc.get_state()
    if "t" not in doc:
        doc["t"] = Text()
    text = doc.get("t", type=Text)
    text += content
    return doc.get_update(before)


def text_of(*updates: bytes) -> str:
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("t", type=Text))


async def synced_room(rooms: Rooms) -> tuple[Room, RecordingPeer]:
    """``DOC``'s room, acquired, with one synced peer "a"."""
    room = await rooms.acquire(DOC)
    a = RecordingPeer("a")
    synced(room, a)
    return room, a


def synced(room: Room, peer: RecordingPeer) -> None:
    """Join ``peer`` and complete its handshake as a real client does (its sync step 1
    while nothing is being committed); forget what the room sent it so far."""
    room.join(peer)
    room.receive(peer, SyncStep1(Doc().get_state()))
    assert peer.parsed()[-1] == SyncStep2(room.doc.get_update(Doc().get_state()))
    peer.sent.clear()


@pytest.fixture
async def rooms(store: MemoryStore, bus: RecordingBus, clock: ManualClock) -> AsyncIterator[Rooms]:
    # Awareness goes out at once here; test_throttle.py covers the interval.
    policy = RoomPolicy(
        idle_unload_seconds=30,
        compact_every_updates=3,
        catch_up_seconds=1e9,
        awareness_interval_seconds=0,
    )
    async with Rooms(store, bus, Metrics(), clock, instance="me", policy=policy) as registry:
        yield registry


async def test_join_starts_the_handshake(rooms: Rooms) -> None:
    room = await rooms.acquire(DOC)
    peer = RecordingPeer("a")
    room.join(peer)
    (step1,) = peer.parsed()
    assert isinstance(step1, SyncStep1)
    assert step1.state_vector == room.doc.get_state()


async def test_update_is_relayed_only_after_it_is_stored(rooms: Rooms, store: MemoryStore) -> None:
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    store.gate.clear()
    update = text_update("hello")
    room.receive(a, SyncUpdate(update))
    await asyncio.sleep(0)
    assert b.updates() == []  # applied in memory, not yet durable: not shown to anyone
    store.gate.set()
    await rooms.committer.drained()
    assert store.stored(DOC) == [update]
    assert b.updates() == [update]
    assert a.updates() == []  # never echoed to its sender


async def test_committed_update_is_published_with_its_seq(rooms: Rooms, bus: RecordingBus) -> None:
    room, a = await synced_room(rooms)
    room.receive(a, SyncUpdate(text_update("x")))
    await rooms.committer.drained()
    await asyncio.wait_for(bus.published_event.wait(), 5)
    channel, raw = bus.published[-1]
    envelope = Envelope.decode(raw)
    assert channel == "doc:reports/r1"
    assert (envelope.kind, envelope.seq, envelope.instance) == (EnvelopeKind.UPDATE, 1, "me")


async def test_an_instance_alone_on_its_bus_publishes_and_subscribes_nothing(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    """With ``fan_out=False`` (an in-process bus the app made for itself: no other
    instance can be on it) updates and cursors still reach every local client, and
    nothing goes to the bus, where it could only come back to this instance."""
    policy = RoomPolicy(catch_up_seconds=1e9, awareness_interval_seconds=0)
    metrics = Metrics()
    async with Rooms(
        store, bus, metrics, clock, instance="me", policy=policy, fan_out=False
    ) as rooms:
        room, a = await synced_room(rooms)
        b = RecordingPeer("b")
        synced(room, b)
        update = text_update("x")
        room.receive(a, SyncUpdate(update))
        await rooms.committer.drained()
        assert b.updates() == [update]
        assert store.stored(DOC) == [update]
        cursor = AwarenessEntry(7, 1, '{"cursor": 3}')
        room.receive(a, AwarenessUpdate((cursor,)))
        assert AwarenessUpdate((cursor,)) in b.parsed()
        assert bus.listeners == {}
        assert metrics.registry.get_sample_value("coreport_bus_subscriptions") == 0
    # Stopping the rooms publishes whatever their outbox still held: nothing was there.
    assert bus.published == []


async def test_sync_step2_reply_waits_for_durability(rooms: Rooms, store: MemoryStore) -> None:
    room = await rooms.acquire(DOC)
    a, late = RecordingPeer("a"), RecordingPeer("late")
    synced(room, a)
    store.gate.clear()
    room.receive(a, SyncUpdate(text_update("pending")))
    room.join(late)
    room.receive(late, SyncStep1(Doc().get_state()))
    assert [m for m in late.parsed() if isinstance(m, SyncStep2)] == []
    store.gate.set()
    await rooms.committer.drained()
    (reply,) = [m for m in late.parsed() if isinstance(m, SyncStep2)]
    assert text_of(reply.update) == "pending"


async def test_failed_write_is_not_relayed_and_closes_everyone(
    rooms: Rooms, store: MemoryStore, bus: RecordingBus
) -> None:
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    store.fail_appends = True
    room.receive(a, SyncUpdate(text_update("lost?")))
    await rooms.committer.drained()
    assert b.updates() == []
    assert a.closed == codes.INTERNAL_ERROR
    assert b.closed == codes.INTERNAL_ERROR
    assert rooms.get(DOC) is None  # the broken room is gone; the next client reloads
    kinds = [Envelope.decode(data).kind for _, data in bus.published]
    assert EnvelopeKind.UPDATE not in kinds
    store.fail_appends = False
    fresh = await rooms.acquire(DOC)
    assert fresh is not room
    assert text_of(fresh.doc.get_update()) == ""


async def test_invalid_update_is_refused_and_not_stored(rooms: Rooms, store: MemoryStore) -> None:
    room, a = await synced_room(rooms)
    with pytest.raises(ProtocolError) as caught:
        room.receive(a, SyncUpdate(b"\x01\x02\x03\xff\xff"))
    assert caught.value.close == codes.INVALID_PAYLOAD
    await rooms.committer.drained()
    assert store.stored(DOC) == []


async def test_invalid_state_vector_is_refused(rooms: Rooms) -> None:
    room, a = await synced_room(rooms)
    with pytest.raises(ProtocolError):
        room.receive(a, SyncStep1(b"\xff\xff\xff"))


async def test_empty_updates_are_neither_stored_nor_relayed(
    rooms: Rooms, store: MemoryStore
) -> None:
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    room.receive(a, SyncStep2(messages.EMPTY_UPDATE))
    await rooms.committer.drained()
    assert store.appends == 0
    assert b.updates() == []


async def test_ack_after_durable_write(rooms: Rooms) -> None:
    room = await rooms.acquire(DOC)
    a = RecordingPeer("a", wants_ack=True)
    b = RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    room.receive(a, SyncUpdate(text_update("one")))
    room.receive(a, SyncUpdate(text_update("two")))
    room.receive(b, SyncUpdate(text_update("three")))
    await rooms.committer.drained()
    assert a.acks == [1, 2]
    assert b.acks == []


async def test_awareness_is_relayed_shown_to_late_joiners_and_removed_on_leave(
    rooms: Rooms,
) -> None:
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    entry = AwarenessEntry(42, 1, '{"user":{"name":"Ada"}}')
    room.receive(a, AwarenessUpdate((entry,)))
    assert AwarenessUpdate((entry,)) in b.parsed()
    assert all(not isinstance(m, AwarenessUpdate) for m in a.parsed())

    late = RecordingPeer("late")
    room.join(late)
    assert AwarenessUpdate((entry,)) in late.parsed()

    stale = AwarenessEntry(42, 0, '{"user":{"name":"old"}}')
    before = len(b.sent)
    room.receive(late, AwarenessUpdate((stale,)))
    assert len(b.sent) == before  # an older clock changes nothing

    room.leave(a)
    removal = AwarenessUpdate((AwarenessEntry(42, 2, "null"),))
    assert removal in b.parsed()
    assert removal in late.parsed()
    room.receive(b, messages.QueryAwareness())
    assert b.parsed()[-1] == AwarenessUpdate(())


async def test_two_clients_joining_at_once_load_once(rooms: Rooms, store: MemoryStore) -> None:
    first, second = await asyncio.gather(rooms.acquire(DOC), rooms.acquire(DOC))
    assert first is second
    assert store.loads == 1
    assert first.refs == 2


async def test_failed_load_leaves_nothing_behind(
    rooms: Rooms, store: MemoryStore, bus: RecordingBus
) -> None:
    store.fail_loads = True
    results = await asyncio.gather(rooms.acquire(DOC), rooms.acquire(DOC), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results)
    assert rooms.loaded == 0
    assert bus.subscription_count == 0
    assert store.loads == 1


async def test_cancelled_waiter_does_not_cancel_the_load(rooms: Rooms, store: MemoryStore) -> None:
    store.updates[DOC] = []
    waiter = asyncio.create_task(rooms.acquire(DOC))
    other = asyncio.create_task(rooms.acquire(DOC))
    await asyncio.sleep(0)
    waiter.cancel()
    room = await other
    assert room.refs == 1
    assert rooms.loaded == 1


async def test_idle_room_unloads_and_compacts(
    rooms: Rooms, store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    room, a = await synced_room(rooms)
    room.receive(a, SyncUpdate(text_update("keep me")))
    await rooms.committer.drained()
    room.leave(a)
    rooms.release(room)
    clock.advance(10)
    await rooms.maintain()
    assert rooms.loaded == 1  # not idle long enough
    clock.advance(25)
    await rooms.maintain()
    assert rooms.loaded == 0
    assert bus.subscription_count == 0
    reloaded = await rooms.acquire(DOC)
    assert text_of(reloaded.doc.get_update()) == "keep me"


async def test_compaction_by_count(rooms: Rooms, store: MemoryStore) -> None:
    room, a = await synced_room(rooms)
    client: Doc = Doc()
    for word in ("a", "b", "c", "d"):
        room.receive(a, SyncUpdate(text_update(word, client)))
    await rooms.committer.drained()
    await maintained(rooms)
    assert room.snapshot_seq == 4
    assert store.updates[DOC] == []
    assert text_of(*store.stored(DOC)) == "abcd"


def registry(
    store: MemoryStore,
    bus: RecordingBus,
    clock: ManualClock,
    *,
    compact_every_updates: int,
    compact_log_ratio: float = 0.5,
    compact_max_updates: int = 2000,
    instance: str = "me",
) -> Rooms:
    policy = RoomPolicy(
        idle_unload_seconds=30,
        catch_up_seconds=1e9,
        compact_every_updates=compact_every_updates,
        compact_log_ratio=compact_log_ratio,
        compact_max_updates=compact_max_updates,
    )
    return Rooms(store, bus, Metrics(), clock, instance=instance, policy=policy)


def with_snapshot(store: MemoryStore, text: str) -> Doc:
    """Store ``DOC`` as a snapshot (seq 1) holding ``text``; the author's doc, to write on."""
    author: Doc = Doc()
    store.snapshots[DOC] = (1, text_update(text, author))
    store.last_seq[DOC] = 1
    return author


async def maintained(rooms: Rooms) -> None:
    """One maintenance pass, and every compaction it asked for."""
    await rooms.maintain()
    await asyncio.wait_for(rooms.compactions_settled(), 5)


async def write_words(rooms: Rooms, room: Room, words: list[str], client: Doc) -> None:
    a = RecordingPeer("writer")
    synced(room, a)
    for word in words:
        room.receive(a, SyncUpdate(text_update(word, client)))
    await rooms.committer.drained()
    room.leave(a)


async def test_a_large_document_is_compacted_once_its_log_weighs_enough(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    client = with_snapshot(store, "x" * 4000)
    async with registry(
        store, bus, clock, compact_every_updates=3, compact_log_ratio=0.5, compact_max_updates=1000
    ) as rooms:
        room = await rooms.acquire(DOC)
        await write_words(rooms, room, ["a", "b", "c", "d"], client)
        await maintained(rooms)
        # Four rows of a few bytes against a 4 KB snapshot: not worth rewriting it.
        assert room.snapshot_seq == 1
        assert len(store.updates[DOC]) == 4
        # Rows holding half the snapshot's bytes are.
        await write_words(rooms, room, ["y" * 500] * 4, client)
        await maintained(rooms)
        assert room.snapshot_seq == 9
        assert store.updates[DOC] == []
        assert room.log_bytes == 0
        assert text_of(*store.stored(DOC)) == "x" * 4000 + "abcd" + "y" * 2000
        rooms.release(room)


async def test_a_log_of_many_small_rows_is_compacted_whatever_it_weighs(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    client = with_snapshot(store, "x" * 4000)
    async with registry(
        store, bus, clock, compact_every_updates=3, compact_log_ratio=0.5, compact_max_updates=6
    ) as rooms:
        room = await rooms.acquire(DOC)
        await write_words(rooms, room, list("abcde"), client)
        await maintained(rooms)
        assert room.snapshot_seq == 1
        await write_words(rooms, room, ["f"], client)
        await maintained(rooms)
        assert room.snapshot_seq == 7
        assert text_of(*store.stored(DOC)) == "x" * 4000 + "abcdef"
        rooms.release(room)


async def test_a_log_ratio_of_zero_compacts_by_count_alone(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    client = with_snapshot(store, "x" * 4000)
    async with registry(
        store, bus, clock, compact_every_updates=3, compact_log_ratio=0, compact_max_updates=1000
    ) as rooms:
        room = await rooms.acquire(DOC)
        await write_words(rooms, room, list("abc"), client)
        await maintained(rooms)
        assert room.snapshot_seq == 4
        rooms.release(room)


async def test_an_instance_does_not_rewrite_a_document_another_just_compacted(
    store: MemoryStore, clock: ManualClock
) -> None:
    """Both instances count the rows of a document they have loaded; the second to ask
    finds the first's snapshot with fewer rows after it than a compaction by count needs,
    merges nothing and takes the snapshot's position as its own."""
    client = with_snapshot(store, "x" * 10)
    mine, theirs = RecordingBus(), RecordingBus()
    async with (
        registry(store, mine, clock, compact_every_updates=3, instance="me") as rooms,
        registry(store, theirs, clock, compact_every_updates=3, instance="other") as others,
    ):
        room, other = await rooms.acquire(DOC), await others.acquire(DOC)
        await write_words(rooms, room, list("abcd"), client)
        for _, data in mine.published:  # what the bus would bring the other instance
            other.on_message(data)
        assert (room.rows_since_snapshot, other.rows_since_snapshot) == (4, 4)
        await maintained(rooms)
        snapshot = store.snapshots[DOC]
        assert snapshot[0] == room.snapshot_seq == 5
        await write_words(rooms, room, ["e"], client)
        for _, data in mine.published[-1:]:
            other.on_message(data)
        await maintained(others)  # due by its own count of 5 rows; 1 follows the snapshot
        assert store.snapshots[DOC] is snapshot, "the document was not merged again"
        assert (other.snapshot_seq, other.rows_since_snapshot) == (5, 1)
        await maintained(others)
        assert store.snapshots[DOC] is snapshot
        rooms.release(room)
        others.release(other)


async def test_the_log_weight_counts_what_loading_and_other_instances_bring(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    client: Doc = Doc()
    store.snapshots[DOC] = (2, text_update("x" * 100, client))
    store.updates[DOC] = [StoredUpdate(3, text_update("y" * 40, client))]
    store.last_seq[DOC] = 3
    async with registry(store, bus, clock, compact_every_updates=1000) as rooms:
        room = await rooms.acquire(DOC)
        loaded = room.log_bytes
        assert loaded == len(store.updates[DOC][0].data)
        remote = text_update("z" * 30, client)
        room.on_message(Envelope(EnvelopeKind.UPDATE, 4, "other", remote).encode())
        assert room.log_bytes == loaded + len(remote)
        # A compaction elsewhere that folded the first of the two rows leaves about half.
        room.compacted(3)
        assert room.log_bytes == (loaded + len(remote)) // 2
        rooms.release(room)


async def test_update_from_another_instance_is_relayed_locally(rooms: Rooms) -> None:
    room, a = await synced_room(rooms)
    update = text_update("remote")
    room.on_message(Envelope(EnvelopeKind.UPDATE, 1, "other", update).encode())
    assert a.updates() == [update]
    assert room.known_seq == 1
    # Our own messages coming back over the bus are ignored.
    room.on_message(Envelope(EnvelopeKind.UPDATE, 2, "me", text_update("echo")).encode())
    assert a.updates() == [update]


async def test_gap_is_filled_from_the_store(
    rooms: Rooms, store: MemoryStore, clock: ManualClock
) -> None:
    room, _a = await synced_room(rooms)
    missed = text_update("missed ")
    later = Doc()
    seen = text_update("seen", later)
    await store.append([(DOC, missed), (DOC, seen)])
    room.on_message(Envelope(EnvelopeKind.UPDATE, 2, "other", seen).encode())
    assert room.gap_since is not None
    clock.advance(1)
    await rooms.maintain()
    assert room.gap_since is None
    assert room.known_seq == 2
    assert "missed" in str(room.doc.get("t", type=Text))


async def test_remote_awareness_expires(rooms: Rooms, clock: ManualClock) -> None:
    room, a = await synced_room(rooms)
    payload = messages.encode_awareness_payload([AwarenessEntry(9, 1, '{"n":1}')])
    room.on_message(Envelope(EnvelopeKind.AWARENESS, 0, "other", payload).encode())
    assert AwarenessUpdate((AwarenessEntry(9, 1, '{"n":1}'),)) in a.parsed()
    clock.advance(60)
    await rooms.maintain()
    assert a.parsed()[-1] == AwarenessUpdate((AwarenessEntry(9, 2, "null"),))


async def test_map_updates_merge(rooms: Rooms) -> None:
    room, a = await synced_room(rooms)
    doc: Doc = Doc()
    doc["m"] = m = Map()
    m["k"] = "v"
    room.receive(a, SyncUpdate(doc.get_update()))
    await rooms.committer.drained()
    assert room.doc.get("m", type=Map).to_py() == {"k": "v"}


async def test_loading_asks_other_instances_for_awareness_and_answers_them(
    rooms: Rooms, bus: RecordingBus
) -> None:
    room = await rooms.acquire(DOC)
    await asyncio.wait_for(bus.published_event.wait(), 5)
    assert Envelope.decode(bus.published[0][1]).kind is EnvelopeKind.QUERY_AWARENESS
    a = RecordingPeer("a")
    synced(room, a)
    entry = AwarenessEntry(5, 1, '{"user":{"name":"Ada"}}')
    room.receive(a, AwarenessUpdate((entry,)))
    bus.published.clear()
    bus.published_event.clear()
    room.on_message(Envelope(EnvelopeKind.QUERY_AWARENESS, 0, "other", b"").encode())
    await asyncio.wait_for(bus.published_event.wait(), 5)
    answer = Envelope.decode(bus.published[-1][1])
    assert answer.kind is EnvelopeKind.AWARENESS
    assert messages.parse_awareness(answer.payload).entries == (entry,)


async def test_echoed_and_duplicate_updates_are_not_stored_again(
    rooms: Rooms, store: MemoryStore
) -> None:
    room = await rooms.acquire(DOC)
    a = RecordingPeer("a", wants_ack=True)
    b = RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    update = text_update("once")
    room.receive(a, SyncUpdate(update))
    await rooms.committer.drained()
    room.receive(b, SyncUpdate(update))  # b echoes what it was sent
    room.receive(a, SyncStep2(update))  # a resends it after a reconnect
    await rooms.committer.drained()
    assert store.stored(DOC) == [update]
    assert a.updates() == []
    assert b.updates() == [update]
    assert a.acks == [1, 1]  # the duplicate is acknowledged: its content is durable


async def test_only_the_new_part_of_an_update_is_stored(rooms: Rooms, store: MemoryStore) -> None:
    room, a = await synced_room(rooms)
    client: Doc = Doc()
    first = text_update("old", client)
    room.receive(a, SyncUpdate(first))
    text_update(" new", client)
    room.receive(a, SyncStep2(client.get_update()))  # everything, old part included
    await rooms.committer.drained()
    stored = store.stored(DOC)
    assert len(stored) == 2
    assert text_of(stored[1]) == ""  # the second row depends on the first: only the new part
    assert text_of(*stored) == "old new"


def map_updates(client_id: int, count: int) -> list[bytes]:
    """``count`` successive updates of one client, each setting one root map entry."""
    writer = Doc(client_id=client_id)
    writer["panels"] = panels = Map()
    updates = []
    for n in range(count):
        before = writer.get_state()
        panels[f"p{n}"] = n
        updates.append(writer.get_update(before))
    return updates


async def test_an_update_ahead_of_its_clients_clocks_is_refused_after_others_went_through(
    rooms: Rooms, store: MemoryStore
) -> None:
    """A map entry past a clock the room never saw (Yrs would show it, yet leave it out of
    the change) is caught even when the room already knows that client's earlier clocks."""
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    first, _, third = map_updates(7, 3)
    room.receive(a, SyncUpdate(first))
    await rooms.committer.drained()
    with pytest.raises(ProtocolError) as caught:
        room.receive(a, SyncUpdate(third))
    assert caught.value.close == codes.INVALID_PAYLOAD
    assert room.broken
    assert b.closed == codes.INTERNAL_ERROR
    await rooms.committer.drained()
    assert store.stored(DOC) == [first]


async def test_updates_that_follow_the_document_are_not_checked_by_encoding_it(
    rooms: Rooms, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Encoding what the document gained walks all of it: only an update that starts past
    its client's clocks needs it, and every update after one did."""
    room, a = await synced_room(rooms)
    encoded: list[bytes] = []
    get_update = room.doc.get_update

    def counting(state: bytes | None = None) -> bytes:
        encoded.append(state or b"")
        return get_update() if state is None else get_update(state)

    monkeypatch.setattr(room.doc, "get_update", counting)
    client: Doc = Doc()
    for word in ("one", " two", " three"):
        room.receive(a, SyncUpdate(text_update(word, client)))
    for update in map_updates(8, 2):
        room.receive(a, SyncUpdate(update))
    assert encoded == []
    late: Doc = Doc()
    x, y = text_update("x", late), text_update("y", late)
    room.receive(a, SyncUpdate(y))  # ahead of client ``late``: Yrs keeps it pending
    room.receive(a, SyncUpdate(text_update(" four", client)))
    room.receive(a, SyncUpdate(x))  # fills the gap and releases ``y``
    assert len(encoded) == 2  # every update after the one ahead that changed something
    await rooms.committer.drained()
    text = text_of(*store.stored(DOC))
    assert "xy" in text
    assert text.replace("xy", "") == "one two three four"


async def test_joiners_with_nothing_share_one_encoding_of_a_large_document(
    rooms: Rooms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the document changes; a small document is encoded for each (not kept)."""
    room = await rooms.acquire(DOC)
    writer = RecordingPeer("w")
    synced(room, writer)
    encoded: list[bytes] = []
    get_update = room.doc.get_update

    def counting(state: bytes) -> bytes:
        encoded.append(state)
        return get_update(state)

    monkeypatch.setattr(room.doc, "get_update", counting)

    def join(name: str) -> Message:
        peer = RecordingPeer(name)
        room.join(peer)
        room.receive(peer, SyncStep1(Doc().get_state()))
        (reply,) = [m for m in peer.parsed() if isinstance(m, SyncStep2)]
        return reply

    async def write(content: str) -> None:
        room.receive(writer, SyncUpdate(text_update(content)))
        await rooms.committer.drained()

    await write("small")
    join("a"), join("b")
    assert len(encoded) == 2
    await write("." * 70_000)
    replies = [join(name) for name in ("c", "d", "e")]
    assert len(encoded) == 3
    assert replies[0] == replies[1] == replies[2] == SyncStep2(get_update(b"\x00"))
    await write("!")
    late = join("late")
    assert len(encoded) == 4
    assert isinstance(late, SyncStep2)
    assert sorted(text_of(late.update)) == sorted("small" + "." * 70_000 + "!")


async def test_server_edit_is_stored_relayed_and_waited_for(
    rooms: Rooms, store: MemoryStore
) -> None:
    _room, a = await synced_room(rooms)

    def add_title(doc: Doc) -> str:
        doc["title"] = Text("Weekly results")
        return "done"

    result, seq = await rooms.edit(DOC, add_title)
    assert (result, seq) == ("done", 1)
    assert len(store.stored(DOC)) == 1
    (relayed,) = a.updates()
    probe: Doc = Doc()
    probe.apply_update(relayed)
    assert str(probe.get("title", type=Text)) == "Weekly results"
    assert await rooms.edit(DOC, lambda doc: None) == (None, None)  # nothing changed
    assert await rooms.read(DOC, lambda doc: str(doc.get("title", type=Text))) == "Weekly results"


async def test_server_edit_fails_loudly_when_the_store_does(
    rooms: Rooms, store: MemoryStore
) -> None:
    store.fail_appends = True
    with pytest.raises(RoomBroken):
        await rooms.edit(DOC, lambda doc: doc.__setitem__("title", Text("x")))
    assert rooms.get(DOC) is None


async def test_read_waits_for_pending_writes(rooms: Rooms, store: MemoryStore) -> None:
    room, a = await synced_room(rooms)
    store.gate.clear()
    room.receive(a, SyncUpdate(text_update("pending")))
    reading = asyncio.create_task(rooms.read(DOC, lambda doc: str(doc.get("t", type=Text))))
    await asyncio.sleep(0)
    assert not reading.done()
    store.gate.set()
    assert await reading == "pending"


async def test_catch_up_does_not_relay_what_was_already_relayed(
    rooms: Rooms, store: MemoryStore
) -> None:
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    room.receive(a, SyncUpdate(text_update("mine")))
    await rooms.committer.drained()
    relayed = len(b.updates())
    # A catch-up read issued before that commit returns the row this room stored itself.
    stale = StoredState(None, 0, (StoredUpdate(1, store.stored(DOC)[0]),))
    assert room.apply_stored(stale) is None
    assert len(b.updates()) == relayed
    assert room.known_seq == 1


async def test_catch_up_past_a_compaction_relays_only_what_the_room_lacked(
    rooms: Rooms,
) -> None:
    """Another instance compacted the log past this room's position: the snapshot holds
    the whole document, but clients get only the part they have not seen."""
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    author: Doc = Doc()
    seen = text_update("seen;", author)
    room.receive(a, SyncUpdate(seen))
    await rooms.committer.drained()
    b.sent.clear()
    text_update("missed", author)  # stored by another instance; its bus message lost
    snapshot = author.get_update()  # compacted: the whole document up to seq 5
    caught_up = room.apply_stored(StoredState(snapshot, 5, ()))
    assert caught_up is not None
    assert text_of(seen, caught_up) == "seen;missed"
    assert b"seen;" not in caught_up
    assert b.updates() == []  # relaying is the registry's call: relay_caught_up
    room.relay_caught_up(caught_up)
    assert b.updates() == [caught_up]
    assert room.known_seq == 5
    assert room.apply_stored(StoredState(snapshot, 5, ())) is None  # nothing new the second time


async def test_loading_applies_the_snapshot_and_rows_as_one_change(rooms: Rooms) -> None:
    """A load or catch-up hands the room a snapshot and rows: the document ends with all
    of them, whatever order they build on each other in, and what it gained is one
    update holding exactly that."""
    author: Doc = Doc()
    snapshot = text_update("base;", author)
    first, second = text_update("one;", author), text_update("two;", author)
    room = await rooms.acquire("reports/r2")
    gained = room.apply_stored(
        StoredState(snapshot, 1, (StoredUpdate(2, second), StoredUpdate(3, first)))
    )
    assert gained is not None
    assert str(room.doc.get("t", type=Text)) == "base;one;two;"
    assert text_of(gained) == "base;one;two;"
    assert (room.known_seq, room.snapshot_seq) == (3, 1)
    assert room.log_bytes == len(first) + len(second)
    rooms.release(room)


async def test_updates_from_the_bus_are_applied_in_store_order(rooms: Rooms) -> None:
    room, a = await synced_room(rooms)
    client: Doc = Doc()
    first, second = text_update("1", client), text_update("2", client)
    room.on_message(Envelope(EnvelopeKind.UPDATE, 2, "other", second).encode())
    assert a.updates() == []  # overtook its predecessor: held
    assert room.gap_since is not None
    room.on_message(Envelope(EnvelopeKind.UPDATE, 1, "other", first).encode())
    assert a.updates() == [first, second]
    assert room.known_seq == 2
    assert room.gap_since is None


async def test_updates_that_travel_together_on_the_bus_are_applied_one_by_one(
    rooms: Rooms,
) -> None:
    room, a = await synced_room(rooms)
    client: Doc = Doc()
    first, second, third = (text_update(c, client) for c in "123")
    together = [
        ("doc", Envelope(EnvelopeKind.UPDATE, seq, "other", u).encode())
        for seq, u in ((2, second), (3, third))
    ]
    ((_, data),) = coalesce(together)
    room.on_message(data)
    assert a.updates() == []  # they overtook seq 1: held, in order
    room.on_message(Envelope(EnvelopeKind.UPDATE, 1, "other", first).encode())
    assert a.updates() == [first, second, third]
    assert room.known_seq == 3
    assert str(room.doc.get("t", type=Text)) == "123"


async def test_a_malformed_bundle_of_updates_is_fetched_from_the_store(
    rooms: Rooms, store: MemoryStore, clock: ManualClock
) -> None:
    room, a = await synced_room(rooms)
    stored = text_update("stored")
    await store.append([(DOC, stored)])
    room.on_message(Envelope(EnvelopeKind.UPDATES, 1, "other", b"\x00\x00\x00\x09cut").encode())
    assert a.updates() == []
    assert room.gap_since is not None
    clock.advance(1)
    await rooms.maintain()
    assert room.known_seq == 1
    assert str(room.doc.get("t", type=Text)) == "stored"


async def test_no_update_reaches_a_client_before_its_sync_step2(
    rooms: Rooms, store: MemoryStore
) -> None:
    """A client gets its step 2 first and every later update after it, in order: an
    update that builds on what only the step 2 carries must not arrive before it."""
    room = await rooms.acquire(DOC)
    writer, late = RecordingPeer("writer"), RecordingPeer("late")
    synced(room, writer)
    room.join(late)
    client: Doc = Doc()
    before_step1 = text_update("a", client)
    await store.append([(DOC, before_step1)])  # another instance stored it as seq 1
    room.on_message(Envelope(EnvelopeKind.UPDATE, 1, "other", before_step1).encode())
    assert late.updates() == []  # not synced yet; its step 2 will carry it

    store.gate.clear()
    pending = text_update("b", client)
    room.receive(writer, SyncUpdate(pending))  # its commit waits
    room.receive(late, SyncStep1(Doc().get_state()))
    while_held = text_update("c", client)
    room.on_message(Envelope(EnvelopeKind.UPDATE, 3, "other", while_held).encode())
    assert late.updates() == []  # the step 2 waits for the pending commit; so does this

    store.gate.set()
    await rooms.committer.drained()
    step2, *after = late.parsed()[1:]
    assert isinstance(step2, SyncStep2)
    assert text_of(step2.update) == "ab"
    # Then what was relayed meanwhile, in order (the pending update is in the step 2 too).
    assert [m.update for m in after if isinstance(m, SyncUpdate)] == [pending, while_held]
    # From now on updates flow to it directly.
    live = text_update("d", client)
    room.on_message(Envelope(EnvelopeKind.UPDATE, 4, "other", live).encode())
    assert late.updates()[-1] == live
    assert text_of(*late.updates()) == "abc" + "d"


async def test_awareness_reaches_a_client_before_it_syncs(rooms: Rooms) -> None:
    room = await rooms.acquire(DOC)
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    room.join(b)
    entry = AwarenessEntry(7, 1, '{"user": {"name": "a"}}')
    room.receive(a, AwarenessUpdate((entry,)))
    assert [m for m in b.parsed() if isinstance(m, AwarenessUpdate)] == [AwarenessUpdate((entry,))]


async def test_awareness_changes_within_an_interval_go_out_together_never_back_to_their_maker(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    policy = RoomPolicy(
        idle_unload_seconds=30, catch_up_seconds=1e9, awareness_interval_seconds=0.05
    )
    async with Rooms(store, bus, Metrics(), clock, instance="me", policy=policy) as rooms:
        room = await rooms.acquire(DOC)
        a, b, c = RecordingPeer("a"), RecordingPeer("b"), RecordingPeer("c")
        for peer in (a, b, c):
            synced(room, peer)
        bus.published.clear()

        first = AwarenessEntry(1, 1, '{"cursor":1}')
        room.receive(a, AwarenessUpdate((first,)))  # the room was quiet: at once
        assert b.parsed() == c.parsed() == [AwarenessUpdate((first,))]
        assert a.parsed() == []

        b_move = AwarenessEntry(2, 1, '{"cursor":2}')
        a_moves = [AwarenessEntry(1, clock, f'{{"cursor":{clock}}}') for clock in (2, 3)]
        room.receive(b, AwarenessUpdate((b_move,)))
        for entry in a_moves:
            room.receive(a, AwarenessUpdate((entry,)))
        remote = AwarenessEntry(9, 1, '{"cursor":9}')
        payload = messages.encode_awareness_payload([remote])
        room.on_message(Envelope(EnvelopeKind.AWARENESS, 0, "other", payload).encode())
        assert len(c.sent) == 1  # all of that waits for the interval's end

        await asyncio.wait_for(bus.published_event.wait(), 5)  # the first one's
        bus.published_event.clear()
        await asyncio.wait_for(bus.published_event.wait(), 5)  # the batch's
        # One message each, the latest state of each client, none of the recipient's own.
        assert c.parsed()[1:] == [AwarenessUpdate((b_move, a_moves[-1], remote))]
        assert a.parsed() == [AwarenessUpdate((b_move, remote))]
        assert b.parsed()[1:] == [AwarenessUpdate((a_moves[-1], remote))]
        # Other instances get this instance's clients' states, once per batch too, and
        # never what came from the bus.
        published = [Envelope.decode(data) for _, data in bus.published]
        assert [e.kind for e in published] == [EnvelopeKind.AWARENESS] * 2
        assert [messages.parse_awareness(e.payload).entries for e in published] == [
            (first,),
            (b_move, a_moves[-1]),
        ]
        # A late joiner sees every client's latest state at once, batch or not.
        late = RecordingPeer("late")
        room.join(late)
        assert late.parsed()[-1] == AwarenessUpdate((a_moves[-1], b_move, remote))


async def test_cursors_of_clients_that_left_within_an_interval_reach_the_bus_at_shutdown(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    # An interval far longer than the test: only closing the room can send the removal.
    policy = RoomPolicy(idle_unload_seconds=30, catch_up_seconds=1e9, awareness_interval_seconds=60)
    async with Rooms(store, bus, Metrics(), clock, instance="me", policy=policy) as rooms:
        room = await rooms.acquire(DOC)
        a = RecordingPeer("a")
        synced(room, a)
        room.receive(a, AwarenessUpdate((AwarenessEntry(1, 1, '{"cursor":1}'),)))  # at once
        room.leave(a)  # within the interval: its removal waits
        rooms.release(room)
    # Other instances hear that the cursor is gone instead of expiring it much later.
    published = [Envelope.decode(data) for _, data in bus.published]
    awareness = [e for e in published if e.kind is EnvelopeKind.AWARENESS]
    assert [messages.parse_awareness(e.payload).entries for e in awareness] == [
        (AwarenessEntry(1, 1, '{"cursor":1}'),),
        (AwarenessEntry(1, 2, "null"),),
    ]


async def test_the_periodic_catch_up_reads_only_the_documents_that_moved(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    """Every loaded document's position comes from one query; only a document another
    instance wrote to behind the bus's back is read, and its clients get the change."""
    metrics = Metrics()
    policy = RoomPolicy(idle_unload_seconds=1e9, catch_up_seconds=10, rest_after_seconds=0)
    names = [f"reports/p{i}" for i in range(5)]
    async with Rooms(store, bus, metrics, clock, instance="me", policy=policy) as rooms:
        room = await rooms.acquire(names[0])
        synced(room, peer := RecordingPeer("a"))
        for name in names[1:]:
            await rooms.acquire(name)
        elsewhere = text_update("from elsewhere")
        await store.append([(names[0], elsewhere)])
        loads = store.loads

        clock.advance(9)
        await rooms.maintain()  # not yet due
        assert (store.position_reads, store.loads) == (0, loads)

        clock.advance(1)
        await rooms.maintain()
        assert (store.position_reads, store.loads) == (1, loads + 1)
        assert peer.updates() == [elsewhere]
        assert room.known_seq == 1

        # Nothing moved since: the next period reads positions and no document.
        clock.advance(10)
        await rooms.maintain()
        assert (store.position_reads, store.loads) == (2, loads + 1)

        # A store that cannot answer costs one query and one error, not one per room.
        store.fail_loads = True
        await store.append([(names[3], text_update("missed"))])
        clock.advance(10)
        await rooms.maintain()
        assert (store.position_reads, store.loads) == (3, loads + 1)
        errors = metrics.registry.get_sample_value("coreport_errors_total", {"kind": "catch_up"})
        assert errors == 1
        store.fail_loads = False
        clock.advance(10)
        await rooms.maintain()
        assert (store.position_reads, store.loads) == (4, loads + 2)
        caught_up = rooms.get(names[3])
        assert caught_up is not None
        assert caught_up.known_seq == 1
