"""Publishes committed updates and awareness on the bus, in order, off the hot path.

Rooms call :meth:`Outbox.publish` synchronously after a commit; one task owned by the
outbox drains the queue, sending what accumulated while the previous batch was in flight
as one batch, in which the consecutive updates of a document travel as one message
(:func:`~coreport.sync.envelope.coalesce`). A failed publish is logged and counted, never
retried: the bus is a fast path, and other instances catch up from the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from coreport.metrics import Metrics
from coreport.ports import Bus
from coreport.sync.envelope import coalesce

log = logging.getLogger(__name__)

#: Most messages published in one round trip.
_BATCH = 512


class Outbox:
    def __init__(self, bus: Bus, metrics: Metrics, max_queued: int = 100_000) -> None:
        self._bus = bus
        self._metrics = metrics
        self._max_queued = max_queued
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="coreport-bus-outbox")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Publish what is queued (for at most ``grace_seconds``), then end the task."""
        self._stopping = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
        except TimeoutError:
            log.warning("bus outbox stopped with %d messages unpublished", len(self._queue))
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    def publish(self, channel: str, data: bytes) -> None:
        if len(self._queue) >= self._max_queued:
            # The bus is far behind; dropping is safe because instances catch up from
            # the store, and it keeps memory bounded while the bus is down.
            self._metrics.errors.labels("bus_dropped").inc()
            return
        self._queue.append((channel, data))
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                # Whatever queued up while the last batch was in flight goes out as one
                # batch: one round trip to the bus instead of one per message.
                batch = coalesce(
                    [self._queue.popleft() for _ in range(min(len(self._queue), _BATCH))]
                )
                try:
                    await self._bus.publish_many(batch)
                except Exception as exc:
                    self._metrics.errors.labels("bus_publish").inc(len(batch))
                    log.warning("publishing %d messages failed: %s", len(batch), exc)
                del batch
            if self._stopping:
                return
