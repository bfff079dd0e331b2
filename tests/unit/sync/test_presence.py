"""The presence tracker with the in-memory registry and a manual clock."""

from __future__ import annotations

import asyncio

from coreport.buses.presence_local import LocalPresence
from coreport.metrics import Metrics
from coreport.protocol.messages import AwarenessEntry, AwarenessUpdate
from coreport.sync.presence import ANONYMOUS, PresenceTracker
from tests.support.fakes import ManualClock


async def settled(registry: LocalPresence, doc: str, count: int) -> list[str]:
    # The tracker writes on its own task; yield to it until the registry reflects it.
    for _ in range(100):
        names = [e.name for e in await registry.list([doc])]
        if len(names) == count:
            return names
        await asyncio.sleep(0)
    raise AssertionError(f"registry holds {names}")


async def test_clients_are_added_named_and_removed() -> None:
    clock = ManualClock()
    registry = LocalPresence(ttl=30, clock=clock)
    await registry.open()
    async with PresenceTracker(registry, clock, Metrics(), instance="i1") as tracker:
        tracker.joined("m1", "reports/r")
        tracker.joined("m2", "reports/r")
        assert await settled(registry, "reports/r", 2) == [ANONYMOUS, ANONYMOUS]
        user = AwarenessEntry(1, 1, '{"user":{"name":"Ada","color":"#0a0"}}')
        tracker.saw_awareness("m1", AwarenessUpdate((user,)))
        for _ in range(100):
            entries = await registry.list(["reports/r"])
            if any(e.name == "Ada" for e in entries):
                break
            await asyncio.sleep(0)
        assert {(e.member, e.name, e.color) for e in entries} >= {("m1", "Ada", "#0a0")}
        tracker.left("m2")
        assert await settled(registry, "reports/r", 1) == ["Ada"]
    # Stopping the tracker removes its clients instead of leaving them to expire.
    assert await registry.list(["reports/r"]) == []
    await registry.close()


async def test_awareness_without_a_user_changes_nothing() -> None:
    clock = ManualClock()
    registry = LocalPresence(ttl=30, clock=clock)
    await registry.open()
    async with PresenceTracker(registry, clock, Metrics(), instance="i1") as tracker:
        tracker.joined("m1", "reports/r")
        for state in ("null", '{"cursor":1}', '{"user":"x"}', '{"user":{"name":""}}'):
            tracker.saw_awareness("m1", AwarenessUpdate((AwarenessEntry(1, 1, state),)))
        assert await settled(registry, "reports/r", 1) == [ANONYMOUS]
    await registry.close()
