"""A room the registry has dropped (unloaded when idle, broken by a failed write, or never
loaded) is garbage: nothing keeps it or its pycrdt document alive.

pycrdt keeps a document's observers in Rust, where Python's garbage collector cannot see
them, and each holds the document; a room whose document kept observing it stayed in memory
for good (about 48 KiB per report opened, edited and unloaded in the soak).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pycrdt import Doc, Text

from coreport.metrics import Metrics
from coreport.ports import StoreError
from coreport.protocol.messages import SyncStep1, SyncUpdate
from coreport.sync.room import Room
from coreport.sync.rooms import RoomPolicy, Rooms
from tests.support.fakes import ManualClock, MemoryStore, RecordingBus, RecordingPeer

DOC = "reports/r1"


@pytest.fixture
async def rooms(store: MemoryStore, clock: ManualClock) -> AsyncIterator[Rooms]:
    policy = RoomPolicy(idle_unload_seconds=30, catch_up_seconds=1e9)
    async with Rooms(
        store, RecordingBus(), Metrics(), clock, instance="me", policy=policy
    ) as registry:
        yield registry


@pytest.fixture
def unlogged(caplog: pytest.LogCaptureFixture) -> None:
    """No log records from coreport: pytest keeps every record, and the arguments of an
    error's (an exception, its traceback, the frames) refer to the room that failed."""
    caplog.set_level(logging.CRITICAL + 1, logger="coreport")


def an_update(text: str) -> bytes:
    doc: Doc[Any] = Doc()
    doc["t"] = Text(text)
    return doc.get_update()


def live_rooms() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Room)


async def edited_room(rooms: Rooms) -> tuple[weakref.ref[Room], weakref.ref[Doc[Any]]]:
    """Acquire the room, let a client sync and write, let it leave; weak references to the
    room and its document (the caller keeps no strong one)."""
    room = await rooms.acquire(DOC)
    peer = RecordingPeer("a")
    room.join(peer)
    room.receive(peer, SyncStep1(Doc().get_state()))
    room.receive(peer, SyncUpdate(an_update("hello")))
    await rooms.committer.drained()
    room.leave(peer)
    rooms.release(room)
    return weakref.ref(room), weakref.ref(room.doc)


async def test_an_unloaded_room_and_its_document_are_freed(
    rooms: Rooms, clock: ManualClock
) -> None:
    before = live_rooms()
    room, doc = await edited_room(rooms)
    clock.advance(31)
    await rooms.maintain()
    assert rooms.loaded == 0
    gc.collect()
    assert room() is None
    assert doc() is None
    assert live_rooms() == before


async def test_many_reports_leave_no_room_behind(rooms: Rooms, clock: ManualClock) -> None:
    before = live_rooms()
    for i in range(50):
        room = await rooms.acquire(f"reports/r{i}")
        room.edit(lambda doc: doc.get("t", type=Text).insert(0, "x"))
        await room.durable()
        rooms.release(room)
    del room
    clock.advance(31)
    await rooms.maintain()
    assert rooms.loaded == 0
    assert live_rooms() == before


@pytest.mark.usefixtures("unlogged")
async def test_a_broken_room_and_its_document_are_freed(rooms: Rooms, store: MemoryStore) -> None:
    store.fail_appends = True
    room, doc = await edited_room(rooms)
    assert rooms.get(DOC) is None
    # The registry closes the broken room's bus subscription in a task of its own.
    await asyncio.gather(
        *(t for t in asyncio.all_tasks() if t.get_name() == f"coreport-drop:{DOC}")
    )
    gc.collect()
    assert room() is None
    assert doc() is None


@pytest.mark.usefixtures("unlogged")
async def test_a_room_that_failed_to_load_is_freed(rooms: Rooms, store: MemoryStore) -> None:
    before = live_rooms()
    store.fail_loads = True

    async def client() -> None:
        # In a task of its own, like a socket's: its end drops the exception's traceback,
        # which refers to the failed load's frame and so to the room.
        with pytest.raises(StoreError):
            await rooms.acquire(DOC)

    await asyncio.create_task(client())
    assert live_rooms() == before
