"""AwarenessThrottle: the first change after a quiet interval at once, the rest together at
the interval's end, the latest state of each client only."""

from __future__ import annotations

import asyncio

import pytest

from coreport.protocol.messages import AwarenessEntry
from coreport.sync.throttle import AwarenessThrottle, Pending

INTERVAL = 0.05


class Sent:
    """What the throttle handed over, batch by batch, with the loop time of each."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[tuple[int, int, str | None, bool]]]] = []
        self._next: asyncio.Future[None] | None = None

    def __call__(self, batch: list[Pending[str]]) -> None:
        now = asyncio.get_running_loop().time()
        self.batches.append(
            (now, [(p.entry.client_id, p.entry.clock, p.origin, p.publish) for p in batch])
        )
        if self._next is not None and not self._next.done():
            self._next.set_result(None)

    async def next_batch(self) -> None:
        self._next = asyncio.get_running_loop().create_future()
        await asyncio.wait_for(self._next, 5)


def throttled(interval: float = INTERVAL) -> tuple[Sent, AwarenessThrottle[str]]:
    """A throttle whose origins are peer names, and what it hands over."""
    sent = Sent()
    return sent, AwarenessThrottle(interval, sent)


def move(client_id: int, clock: int) -> AwarenessEntry:
    return AwarenessEntry(client_id, clock, f'{{"cursor":{clock}}}')


async def until(deadline: float) -> None:
    """Wait for the loop's clock to pass ``deadline`` (a timer, not a guess)."""
    loop = asyncio.get_running_loop()
    reached = loop.create_future()
    loop.call_at(deadline, reached.set_result, None)
    await reached


async def test_the_first_change_goes_at_once_and_the_next_wait_for_the_interval() -> None:
    sent, throttle = throttled()
    started = asyncio.get_running_loop().time()

    throttle.add([move(1, 1)], "a", True)
    assert [b for _, b in sent.batches] == [[(1, 1, "a", True)]]

    throttle.add([move(2, 1)], "b", True)
    throttle.add([move(1, 2)], "a", True)
    throttle.add([move(3, 1)], None, False)
    throttle.add([move(1, 3)], "a", True)  # replaces client 1's clock 2
    assert len(sent.batches) == 1
    assert throttle.waiting == 3

    await sent.next_batch()
    at, batch = sent.batches[1]
    assert at - started >= INTERVAL
    # Each client once, with its latest state, in the order they first changed.
    assert batch == [(2, 1, "b", True), (1, 3, "a", True), (3, 1, None, False)]
    assert throttle.waiting == 0


async def test_changes_after_a_batch_wait_a_whole_interval_from_it() -> None:
    sent, throttle = throttled()
    throttle.add([move(1, 1)], "a", True)
    throttle.add([move(1, 2)], "a", True)
    await sent.next_batch()
    flushed_at = sent.batches[-1][0]

    throttle.add([move(1, 3)], "a", True)
    assert len(sent.batches) == 2
    await sent.next_batch()
    assert sent.batches[-1][0] - flushed_at >= INTERVAL
    assert sent.batches[-1][1] == [(1, 3, "a", True)]


async def test_a_change_after_a_quiet_interval_goes_at_once_again() -> None:
    sent, throttle = throttled()
    throttle.add([move(1, 1)], "a", True)
    await until(asyncio.get_running_loop().time() + INTERVAL)

    throttle.add([move(1, 2)], "a", True)
    assert [b for _, b in sent.batches] == [[(1, 1, "a", True)], [(1, 2, "a", True)]]


async def test_interval_zero_hands_every_change_over_at_once() -> None:
    sent, throttle = throttled(0)
    for clock in range(1, 4):
        throttle.add([move(1, clock), move(2, clock)], "a", False)
    assert [b for _, b in sent.batches] == [
        [(1, clock, "a", False), (2, clock, "a", False)] for clock in range(1, 4)
    ]
    assert throttle.waiting == 0


async def test_close_hands_over_what_waits_at_once_and_drops_the_timer() -> None:
    sent, throttle = throttled()
    throttle.add([move(1, 1)], "a", True)
    throttle.add([move(1, 2)], "a", True)
    throttle.close()
    assert throttle.waiting == 0
    assert sent.batches[1][1] == [(1, 2, "a", True)]

    await until(asyncio.get_running_loop().time() + 2 * INTERVAL)
    assert len(sent.batches) == 2


def test_a_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        AwarenessThrottle(-0.01, Sent())
