"""The rooms' maintenance loop: gaps are filled every tick, the sweep of every room runs
less often and lets the event loop serve others between slices of rooms."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any

from pycrdt import Doc, Text

from coreport.metrics import Metrics
from coreport.ports import StoredState, StoreError
from coreport.sync.rooms import RoomPolicy, Rooms
from tests.support.fakes import ManualClock, MemoryStore, RecordingBus


class SteppedClock(ManualClock):
    """``sleep`` returns when the test says so, with time moved on by what was slept."""

    def __init__(self) -> None:
        super().__init__()
        self.sleepers = 0
        self._steps: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(self, seconds: float) -> None:
        self.sleepers += 1
        try:
            await self._steps.get()
        finally:
            self.sleepers -= 1
        self.t += seconds

    async def step(self) -> None:
        """Let one sleep end and wait until the loop that slept sleeps again."""
        self._steps.put_nowait(None)
        await settled(lambda: self._steps.empty() and self.sleepers > 0)


async def settled(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the maintenance loop did not get there")


def an_update(text: str) -> bytes:
    doc: Doc[Any] = Doc()
    doc["t"] = Text(text)
    return doc.get_update()


def registry(store: MemoryStore, clock: ManualClock, policy: RoomPolicy) -> Rooms:
    return Rooms(store, RecordingBus(), Metrics(), clock, instance="me", policy=policy)


POLICY = RoomPolicy(
    idle_unload_seconds=4,
    rest_after_seconds=0,
    catch_up_seconds=1e9,
    gap_grace_seconds=0.5,
    tick_seconds=0.25,
    sweep_seconds=1.0,
)


async def test_gaps_are_filled_every_tick_and_idle_rooms_let_go_at_the_sweep(
    store: MemoryStore,
) -> None:
    clock = SteppedClock()
    async with registry(store, clock, POLICY) as rooms:
        await settled(lambda: clock.sleepers > 0)
        gapped = await rooms.acquire("reports/gapped")
        idle = await rooms.acquire("reports/idle")
        # Another instance committed seq 1 and 2; only 2 came over the bus.
        await store.append([("reports/gapped", an_update("one"))])
        await store.append([("reports/gapped", an_update("two"))])
        gapped.saw_seq(2)
        assert gapped.gap_since == clock.now()

        await clock.step()  # 0.25 s: the gap is younger than the grace
        assert gapped.known_seq == 0
        rooms.release(idle)  # idle from 0.25 s: due to be let go at 4.25 s
        await clock.step()  # 0.5 s: filled at the tick
        assert gapped.known_seq == 2
        assert gapped.gap_since is None
        for _ in range(18):  # ticks up to 5 s; sweeps at 1, 2, 3, 4 and 5 s
            assert rooms.get("reports/idle") is idle
            await clock.step()
        assert rooms.get("reports/idle") is None
        assert rooms.get("reports/gapped") is gapped


async def test_sweeps_come_often_enough_for_a_short_idle_delay(store: MemoryStore) -> None:
    """Sweeps are at most a quarter of the idle delay apart: with 0.5 s, every tick."""
    clock = SteppedClock()
    policy = replace(POLICY, idle_unload_seconds=0.5)
    async with registry(store, clock, policy) as rooms:
        await settled(lambda: clock.sleepers > 0)
        rooms.release(await rooms.acquire("reports/idle"))
        await clock.step()
        assert rooms.get("reports/idle") is not None
        await clock.step()  # 0.5 s: due, and swept at this tick
        assert rooms.get("reports/idle") is None


async def test_a_long_sweep_lets_others_run_between_slices_of_rooms(
    store: MemoryStore,
) -> None:
    clock = ManualClock()
    policy = RoomPolicy(rest_after_seconds=1, catch_up_seconds=1e9)
    async with registry(store, clock, policy) as rooms:
        held = [await rooms.acquire(f"reports/r{i}") for i in range(1_200)]
        clock.advance(2)  # every room quiet for longer than the rest delay
        seen_resting: list[int] = []

        async def other_work() -> None:
            while True:
                seen_resting.append(sum(room.resting for room in held))
                await asyncio.sleep(0)

        other = asyncio.create_task(other_work())
        await asyncio.sleep(0)
        await rooms.maintain()
        other.cancel()
        assert all(room.resting for room in held)
        # The other task ran while some rooms had been swept and others not yet.
        assert any(0 < resting < len(held) for resting in seen_resting)


class ReportingDuringReads(MemoryStore):
    """Calls ``during_read`` in the middle of every read of positions, as a bus
    reconnecting then would; ``fail_row_reads`` fails loads but not positions."""

    def __init__(self) -> None:
        super().__init__()
        self.during_read: Callable[[], None] = lambda: None
        self.fail_row_reads = False

    async def last_seqs(self, docs: Collection[str]) -> dict[str, int]:
        self.during_read()
        return await super().last_seqs(docs)

    async def load(self, doc: str, after_seq: int = 0) -> StoredState:
        if self.fail_row_reads:
            raise StoreError("load failed (injected)")
        return await super().load(doc, after_seq)


async def test_a_gap_the_bus_reported_is_answered_by_one_read_of_positions() -> None:
    """After a bus reconnect every room is told messages may be lost: one query for the
    gapped rooms' positions answers that, and only the rooms that moved are read (a
    quiet room was read again on every pass, four times a second)."""
    store, clock = ReportingDuringReads(), ManualClock()
    async with registry(store, clock, POLICY) as rooms:
        quiet, moved = await rooms.acquire("reports/quiet"), await rooms.acquire("reports/moved")
        await store.append([("reports/moved", an_update("missed"))])
        quiet.on_gap()
        moved.on_gap()
        loads = store.loads
        clock.advance(0.5)
        await rooms.fill_gaps()
        assert (store.position_reads, store.loads) == (1, loads + 1)
        assert (quiet.gap_since, moved.gap_since) == (None, None)
        assert moved.known_seq == 1
        clock.advance(0.5)
        await rooms.fill_gaps()
        assert (store.position_reads, store.loads) == (1, loads + 1)

        async def gap_outlives_a_failure(switch: str) -> None:
            """A gap reported on ``quiet`` stays open through a pass while the store's
            ``switch`` fails it, and closes at the next pass."""
            quiet.on_gap()
            reported_at = clock.now()
            setattr(store, switch, True)
            clock.advance(0.5)
            await rooms.fill_gaps()
            assert quiet.gap_since == reported_at
            setattr(store, switch, False)
            await rooms.fill_gaps()
            assert quiet.gap_since is None

        # A query that fails leaves the gap open for the next pass...
        await gap_outlives_a_failure("fail_loads")
        # ...and so does a read of a moved document that fails.
        await store.append([("reports/quiet", an_update("missed too"))])
        await gap_outlives_a_failure("fail_row_reads")
        assert quiet.known_seq == 1

        # A gap reported while the query is in flight stands: the answer may predate
        # what was lost.
        quiet.on_gap()
        clock.advance(0.5)
        store.during_read = quiet.on_gap
        await rooms.fill_gaps()
        assert quiet.gap_since == clock.now()


async def test_a_gap_with_a_known_missing_seq_stays_until_the_seq_arrives(
    store: MemoryStore,
) -> None:
    clock = ManualClock()
    async with registry(store, clock, POLICY) as rooms:
        room = await rooms.acquire("reports/r")
        room.saw_seq(2)  # seq 1 is missing and the store does not have it yet
        clock.advance(0.5)
        await rooms.fill_gaps()
        assert room.gap_since is not None
        await store.append([("reports/r", an_update("one")), ("reports/r", an_update("two"))])
        await rooms.fill_gaps()
        assert room.gap_since is None
        assert room.known_seq == 2
