"""Resting rooms: a document that has not changed for a while is kept encoded, and
decoded again, whole, when anything needs it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
from pycrdt import Doc, Text

from coreport.metrics import Metrics
from coreport.protocol.messages import SyncStep1, SyncStep2, SyncUpdate
from coreport.protocol.updates import decode_state_vector
from coreport.sync import heap
from coreport.sync.room import Room
from coreport.sync.rooms import RoomPolicy, Rooms
from tests.support.fakes import ManualClock, MemoryStore, RecordingBus, RecordingPeer
from tests.unit.sync.test_room import DOC, synced, synced_room, text_of, text_update

REST_AFTER = 5.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def rooms(
    metrics: Metrics, clock: ManualClock, store: MemoryStore, bus: RecordingBus
) -> AsyncIterator[Rooms]:
    policy = RoomPolicy(rest_after_seconds=REST_AFTER, catch_up_seconds=1e9)
    async with Rooms(store, bus, metrics, clock, instance="me", policy=policy) as registry:
        yield registry


def resting(metrics: Metrics) -> float | None:
    return metrics.registry.get_sample_value("coreport_resting_rooms")


async def idle(rooms: Rooms, clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    await rooms.maintain()


def text(room: Room) -> str:
    return str(room.doc.get("t", type=Text))


async def test_an_unchanged_room_rests_and_wakes_with_everything(
    rooms: Rooms, clock: ManualClock, store: MemoryStore, metrics: Metrics
) -> None:
    room = await rooms.acquire(DOC)
    server_client = room.doc.client_id
    a, b = RecordingPeer("a"), RecordingPeer("b")
    synced(room, a)
    synced(room, b)
    writer: Doc = Doc()
    room.receive(a, SyncUpdate(text_update("hello", writer)))
    await rooms.committer.drained()

    await idle(rooms, clock, REST_AFTER - 1)
    assert not room.resting
    await idle(rooms, clock, 2)
    assert room.resting
    assert resting(metrics) == 1

    # The next update wakes it: applied, stored and relayed as ever.
    more = text_update(" world", writer)
    room.receive(a, SyncUpdate(more))
    await rooms.committer.drained()
    assert not room.resting
    assert resting(metrics) == 0
    assert store.stored(DOC)[-1] == more
    assert b.updates()[-1] == more
    assert text(room) == "hello world"
    assert room.doc.client_id == server_client

    # A new client gets the whole document, from a resting room too.
    await idle(rooms, clock, REST_AFTER + 1)
    assert room.resting
    late = RecordingPeer("late")
    room.join(late)
    room.receive(late, SyncStep1(Doc().get_state()))
    (reply,) = [m for m in late.parsed() if isinstance(m, SyncStep2)]
    assert text_of(reply.update) == "hello world"


async def test_server_edits_after_waking_go_on_from_the_servers_own_clocks(
    rooms: Rooms, clock: ManualClock
) -> None:
    def append(doc: Doc) -> None:
        if "t" not in doc:
            doc["t"] = Text()
        doc.get("t", type=Text).insert(len(doc.get("t", type=Text)), "x")

    room = await rooms.acquire(DOC)
    await rooms.edit(DOC, append)
    await idle(rooms, clock, REST_AFTER + 1)
    assert room.resting
    await rooms.edit(DOC, append)
    # One client in the state vector, its clock one past the first edit's.
    (clock_of_server,) = decode_state_vector(room.doc.get_state()).values()
    assert text(room) == "xx"
    assert clock_of_server == 2


async def test_a_room_with_writes_in_flight_does_not_rest(
    rooms: Rooms, clock: ManualClock, store: MemoryStore
) -> None:
    room, a = await synced_room(rooms)
    store.gate.clear()
    room.receive(a, SyncUpdate(text_update("pending")))
    await idle(rooms, clock, REST_AFTER + 1)
    assert not room.resting
    store.gate.set()
    await rooms.committer.drained()
    await rooms.maintain()
    assert room.resting


def two_updates(edit: str) -> tuple[bytes, bytes]:
    """A client's first update (an insert) and second (a deletion, or another insert)."""
    doc: Doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    doc["t"] = Text("hello")
    if edit == "delete":
        del doc.get("t", type=Text)[0:2]
    else:
        doc.get("t", type=Text).insert(5, " world")
    return updates[0], updates[1]


@pytest.mark.parametrize("edit", ["delete", "insert"])
async def test_a_room_that_may_hold_pending_content_never_rests(
    rooms: Rooms, clock: ManualClock, edit: str
) -> None:
    # Yrs keeps an update that names clocks it does not hold yet pending, and leaves it
    # out of the encoded document: resting would lose it.
    first, second = two_updates(edit)
    room, a = await synced_room(rooms)
    room.receive(a, SyncUpdate(second))  # held back by Yrs: nothing stored or relayed
    await rooms.committer.drained()
    await idle(rooms, clock, REST_AFTER + 1)
    assert not room.resting
    room.receive(a, SyncUpdate(first))  # releases it
    await rooms.committer.drained()
    assert text(room) == ("llo" if edit == "delete" else "hello world")


async def test_rooms_do_not_rest_when_the_setting_is_zero(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    policy = RoomPolicy(rest_after_seconds=0, catch_up_seconds=1e9)
    async with Rooms(store, bus, Metrics(), clock, instance="me", policy=policy) as rooms:
        room = await rooms.acquire(DOC)
        await idle(rooms, clock, 3600)
        assert not room.resting


async def test_memory_goes_back_to_the_system_after_rooms_rest_at_most_once_a_second(
    store: MemoryStore, bus: RecordingBus, clock: ManualClock
) -> None:
    released: list[float] = []  # when memory was released
    policy = RoomPolicy(rest_after_seconds=REST_AFTER, catch_up_seconds=1e9)
    async with Rooms(
        store,
        bus,
        Metrics(),
        clock,
        instance="me",
        policy=policy,
        release_memory=lambda: released.append(clock.now()),
    ) as rooms:
        first = await rooms.acquire(DOC)
        clock.advance(0.5)
        second = await rooms.acquire("reports/r2")
        await idle(rooms, clock, REST_AFTER - 0.3)  # t = 5.2 s
        assert first.resting
        assert not second.resting
        assert released == [clock.now()]
        await idle(rooms, clock, 0.4)  # t = 5.6 s: the second rests, too soon to release
        assert second.resting
        assert len(released) == 1
        await idle(rooms, clock, 0.7)  # t = 6.3 s: now released, for the second
        assert released[1:] == [clock.now()]
        await idle(rooms, clock, 2)  # nothing new let go: nothing to release
        assert len(released) == 2
        assert second.doc.get_state() is not None  # reading it wakes it
        await idle(rooms, clock, REST_AFTER)  # rests again, a second after the last release
        assert second.resting
        assert released[2:] == [clock.now()]


def test_the_heap_is_trimmed_where_the_c_library_can() -> None:
    # glibc (every Linux machine this runs on, CI's included) has malloc_trim; elsewhere
    # trimming does nothing and says so by taking no time.
    if sys.platform == "linux":
        assert heap.trim() > 0.0
    else:
        assert heap.trim() == 0.0
