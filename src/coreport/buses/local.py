"""The in-process bus: fan-out between rooms of one process (the embedded default).

Several app instances in one process may share one :class:`LocalBus` (tests do this to
simulate several servers without Redis). ``open()``/``close()`` are counted for that: each
instance opens and closes the bus in its own lifespan, and the last ``close()`` stops it.

Delivery is asynchronous: ``publish()`` only queues the message, and one task owned by the
bus hands queued messages to the listeners in publish order. Listeners therefore never run
inside ``publish()``, and a listener that publishes does not re-enter itself. The bus
never drops a message, so it never calls ``on_gap()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from coreport.buses.health import BusHealth
from coreport.ports import BusError, BusListener, BusSubscription

log = logging.getLogger(__name__)

#: What the delivery task takes from its queue: the listeners subscribed when the message
#: was published, and the message. ``None`` asks the task to stop.
_Delivery = tuple[tuple["_LocalSubscription", ...], bytes]


class _LocalSubscription:
    def __init__(self, bus: LocalBus, channel: str, listener: BusListener) -> None:
        self._bus = bus
        self.channel = channel
        self._listener = listener
        self.closed = False

    def deliver(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._listener.on_message(data)
        except Exception:
            # One broken listener must not stop delivery to the others.
            log.exception("bus listener on %s failed", self.channel)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._remove(self)


class LocalBus:
    """In-process implementation of :class:`coreport.ports.Bus`."""

    def __init__(self) -> None:
        self._channels: dict[str, list[_LocalSubscription]] = {}
        self._queue: asyncio.Queue[_Delivery | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._opened = 0

    @property
    def health(self) -> BusHealth:
        return BusHealth(connected=self._queue is not None)

    async def open(self) -> None:
        """Start delivering (or count one more user of an open bus)."""
        self._opened += 1
        if self._task is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._deliver(self._queue), name="coreport-local-bus")

    async def close(self) -> None:
        """Count one user less; the last one delivers what is queued and stops the task."""
        if self._opened == 0:
            return
        self._opened -= 1
        if self._opened > 0 or self._task is None:
            return
        task, self._task = self._task, None
        queue, self._queue = self._queue, None
        if queue is not None:
            queue.put_nowait(None)
        await task
        for subscriptions in self._channels.values():
            for subscription in subscriptions:
                subscription.closed = True
        self._channels.clear()

    async def ping(self) -> None:
        self._open_queue()

    async def publish(self, channel: str, data: bytes) -> None:
        queue = self._open_queue()
        subscribers = self._channels.get(channel)
        if subscribers:
            queue.put_nowait((tuple(subscribers), data))

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        for channel, data in messages:
            await self.publish(channel, data)

    async def subscribe(self, channel: str, listener: BusListener) -> BusSubscription:
        self._open_queue()
        subscription = _LocalSubscription(self, channel, listener)
        self._channels.setdefault(channel, []).append(subscription)
        return subscription

    def _open_queue(self) -> asyncio.Queue[_Delivery | None]:
        if self._queue is None:
            raise BusError("the local bus is not open")
        return self._queue

    def _remove(self, subscription: _LocalSubscription) -> None:
        subscribers = self._channels.get(subscription.channel)
        if subscribers is not None and subscription in subscribers:
            subscribers.remove(subscription)
            if not subscribers:
                del self._channels[subscription.channel]

    @staticmethod
    async def _deliver(queue: asyncio.Queue[_Delivery | None]) -> None:
        while (item := await queue.get()) is not None:
            subscribers, data = item
            for subscription in subscribers:
                subscription.deliver(data)
