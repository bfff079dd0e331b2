"""The live feed of new history rows, carried by the bus so it reaches every instance.

After an instance stores history rows it publishes them (JSON :class:`LiveRows`) on the bus
channel ``runs:{run_id}``; a :class:`RunFeed` subscribes to the channels of the runs a client
watches, on whatever instance the client is connected to.

Like all bus traffic this is a fast path: a message can be lost (Redis reconnecting, a slow
client whose queue overflowed). The feed then says so with a ``gap`` event, and the client
re-reads the history of those runs; rows are keyed by (metric, step), so seeing one twice
does no harm.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from coreport.ports import Bus, BusSubscription


def channel(run_id: str) -> str:
    """The bus channel carrying the live rows of ``run_id``."""
    return f"runs:{run_id}"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """``history``: ``data`` is one :class:`~coreport.runs.schemas.LiveRows` message as
    published. ``gap``: ``data`` is ``{"runs": [...]}``, the runs whose rows may have been
    missed; re-read their history. ``keep-alive``: nothing to read, asked for by
    :meth:`RunFeed.keep_alive` (``data`` is empty)."""

    kind: Literal["history", "gap", "keep-alive"]
    data: bytes


class RunFeed:
    """The live rows of ``run_ids``, as an async context manager::

        async with RunFeed(bus, ["r1", "r2"]) as feed:
            event = await feed.next()

    Subscriptions are made on entry and closed on exit, whatever ends the block. At most
    ``max_pending`` events wait for the reader; beyond that the waiting ones are dropped and
    replaced by a single ``gap`` event for every run (a reader that cannot keep up re-reads
    the history rather than holding unbounded memory).

    One of these per viewer takes every row of the runs it follows (5,000 a second for 50
    viewers of 10 runs logging 10 rows a second each), so the waiting is a deque and one
    future rather than an :class:`asyncio.Queue`.
    """

    def __init__(self, bus: Bus, run_ids: Sequence[str], *, max_pending: int = 1000) -> None:
        self._bus = bus
        self.run_ids = tuple(dict.fromkeys(run_ids))
        self._max_pending = max_pending
        self._pending: deque[FeedEvent] = deque()
        self._reader: asyncio.Future[None] | None = None
        self._subscriptions: list[BusSubscription] = []

    async def __aenter__(self) -> RunFeed:
        try:
            for run_id in self.run_ids:
                listener = _Listener(self, run_id)
                self._subscriptions.append(await self._bus.subscribe(channel(run_id), listener))
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close()

    async def next(self) -> FeedEvent:
        """The next event; waits for one (one reader at a time)."""
        while not self._pending:
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None
        return self._pending.popleft()

    def keep_alive(self) -> None:
        """Give the reader a ``keep-alive`` event unless one is waiting already: a reader
        with nothing to read can so say that it is alive (an SSE comment, say)."""
        if not self._pending:
            self._push(_KEEP_ALIVE)

    def _push(self, event: FeedEvent) -> None:
        if len(self._pending) >= self._max_pending:
            self._pending.clear()
            event = _gap(self.run_ids)
        self._pending.append(event)
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    async def _close(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        errors: list[Exception] = []
        for subscription in subscriptions:
            try:
                await subscription.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise ExceptionGroup("closing run feed subscriptions failed", errors)


class _Listener:
    def __init__(self, feed: RunFeed, run_id: str) -> None:
        self._feed = feed
        self._run_id = run_id

    def on_message(self, data: bytes) -> None:
        self._feed._push(FeedEvent("history", data))

    def on_gap(self) -> None:
        self._feed._push(_gap((self._run_id,)))


_KEEP_ALIVE = FeedEvent("keep-alive", b"")


def _gap(run_ids: Sequence[str]) -> FeedEvent:
    return FeedEvent("gap", json.dumps({"runs": list(run_ids)}).encode())
