"""The rooms' maintenance loop: gaps are filled every tick, the sweep of every room runs
less often and lets the event loop serve others between slices of rooms."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Text

from coreport.metrics import Metrics
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
    idle_unload_seconds=0.5,
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
        rooms.release(idle)
        # Another instance committed seq 1 and 2; only 2 came over the bus.
        await store.append([("reports/gapped", an_update("one"))])
        await store.append([("reports/gapped", an_update("two"))])
        gapped.saw_seq(2)
        assert gapped.gap_since == clock.now()

        await clock.step()  # 0.25 s: the gap is younger than the grace
        assert gapped.known_seq == 0
        await clock.step()  # 0.5 s: filled at the tick, the idle room not yet let go
        assert gapped.known_seq == 2
        assert gapped.gap_since is None
        assert rooms.get("reports/idle") is idle
        await clock.step()  # 0.75 s
        assert rooms.get("reports/idle") is idle
        await clock.step()  # 1 s: the sweep
        assert rooms.get("reports/idle") is None
        assert rooms.get("reports/gapped") is gapped


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
