"""RunFeed: bus subscriptions that live exactly as long as the feed, bounded buffering."""

from __future__ import annotations

import asyncio
import json

import pytest

from coreport.ports import BusError, BusListener, BusSubscription
from coreport.runs.stream import FeedEvent, RunFeed, channel
from tests.support.fakes import RecordingBus


def listener(bus: RecordingBus, run_id: str) -> BusListener:
    (only,) = bus.listeners[channel(run_id)]
    return only


async def test_messages_and_gaps_of_every_run_arrive_in_order() -> None:
    bus = RecordingBus()
    async with RunFeed(bus, ["r1", "r2", "r1"]) as feed:
        assert sorted(bus.listeners) == ["runs:r1", "runs:r2"]
        listener(bus, "r2").on_message(b'{"run_id": "r2"}')
        listener(bus, "r1").on_gap()
        assert await feed.next() == FeedEvent("history", b'{"run_id": "r2"}')
        gap = await feed.next()
        assert (gap.kind, json.loads(gap.data)) == ("gap", {"runs": ["r1"]})
    assert bus.subscription_count == 0


async def test_a_reader_that_falls_behind_gets_one_gap_instead_of_the_backlog() -> None:
    bus = RecordingBus()
    async with RunFeed(bus, ["r1", "r2"], max_pending=3) as feed:
        for step in range(4):
            listener(bus, "r1").on_message(f'{{"step": {step}}}'.encode())
        listener(bus, "r2").on_message(b'{"after": true}')
        gap = await feed.next()
        assert (gap.kind, json.loads(gap.data)) == ("gap", {"runs": ["r1", "r2"]})
        assert await feed.next() == FeedEvent("history", b'{"after": true}')


async def test_subscriptions_are_closed_when_the_block_fails() -> None:
    bus = RecordingBus()

    async def failing_reader() -> None:
        async with RunFeed(bus, ["r1", "r2"]):
            assert bus.subscription_count == 2
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_reader()
    assert bus.subscription_count == 0


class FailingSecondSubscribe(RecordingBus):
    async def subscribe(self, channel: str, listener: BusListener) -> BusSubscription:
        if self.subscription_count == 1:
            raise BusError("bus went away")
        return await super().subscribe(channel, listener)


async def test_a_failed_subscribe_leaves_no_subscription_behind() -> None:
    bus = FailingSecondSubscribe()
    feed = RunFeed(bus, ["r1", "r2"])
    with pytest.raises(BusError):
        await feed.__aenter__()
    assert bus.subscription_count == 0


async def test_keep_alive_wakes_an_idle_reader_and_never_queues_behind_events() -> None:
    bus = RecordingBus()
    async with RunFeed(bus, ["r1"]) as feed:
        waiting = asyncio.ensure_future(feed.next())
        await asyncio.sleep(0)  # the reader waits for an event
        assert not waiting.done()
        feed.keep_alive()
        feed.keep_alive()  # one is waiting already
        assert await waiting == FeedEvent("keep-alive", b"")
        listener(bus, "r1").on_message(b'{"step": 1}')
        feed.keep_alive()  # something to read: nothing more
        assert await feed.next() == FeedEvent("history", b'{"step": 1}')
        feed.keep_alive()
        assert await feed.next() == FeedEvent("keep-alive", b"")
