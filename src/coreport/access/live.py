"""Access withdrawn is withdrawn from open sockets too, on every instance.

:class:`LiveAccess` knows every document socket of this instance and who it acts as. When
an :class:`~coreport.access.events.AccessEvent` arrives on the bus (from any instance, this
one included) it checks the sockets the event concerns against the store again: a socket
that lost access is closed with 4410, one whose role changed keeps going with the new
rights. A periodic pass re-checks every socket, for changes made where no bus reaches (the
CLI beside an embedded server) and for events lost while the bus was down.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from coreport.access.events import CHANNEL, AccessEvent, BadEvent
from coreport.access.model import Principal, Role
from coreport.access.policy import allows, write_action
from coreport.access.service import AccessService
from coreport.ports import Bus, BusSubscription, Clock
from coreport.protocol import codes
from coreport.protocol.codes import CloseCode

log = logging.getLogger(__name__)


class Controlled(Protocol):
    """What access control can do to an open socket (a ``Session`` implements it)."""

    def close(self, code: CloseCode, detail: str = "") -> None: ...

    def set_writable(self, writable: bool) -> None: ...


@dataclass(eq=False)
class LiveSocket:
    principal: Principal
    report_id: str
    comments: bool
    role: Role
    peer: Controlled


#: Queued to re-check every socket.
_EVERYTHING = None


class LiveAccess:
    """An async context manager: entering subscribes to the bus and starts the task that
    re-checks sockets; leaving stops both."""

    def __init__(
        self, service: AccessService, bus: Bus, clock: Clock, *, recheck_seconds: float = 15.0
    ) -> None:
        self._service = service
        self._bus = bus
        self._clock = clock
        self._recheck_seconds = recheck_seconds
        self._sockets: set[LiveSocket] = set()
        self._queue: asyncio.Queue[AccessEvent | None] = asyncio.Queue()
        self._subscription: BusSubscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pass_done = asyncio.Event()
        #: Recent events and when they arrived, for sockets that register late.
        self._recent: deque[tuple[float, AccessEvent]] = deque(maxlen=1000)

    async def __aenter__(self) -> LiveAccess:
        self._subscription = await self._bus.subscribe(CHANNEL, self)
        self._tasks = [
            asyncio.create_task(self._work(), name="coreport-access-recheck"),
            asyncio.create_task(self._sweep(), name="coreport-access-sweep"),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.close()

    def add(self, socket: LiveSocket, checked_at: float) -> None:
        """Watch ``socket``, whose access was checked at ``checked_at`` (clock time): an
        event that arrived since then is applied to it now, or it would be missed."""
        self._sockets.add(socket)
        for arrived, event in self._recent:
            if arrived >= checked_at and event.concerns(socket.principal, socket.report_id):
                self._queue.put_nowait(event)
                break

    def discard(self, socket: LiveSocket) -> None:
        self._sockets.discard(socket)

    @property
    def count(self) -> int:
        return len(self._sockets)

    # -- BusListener -------------------------------------------------------------------

    def on_message(self, data: bytes) -> None:
        try:
            event = AccessEvent.decode(data)
        except BadEvent as exc:
            log.warning("dropping a malformed access event: %s", exc)
            return
        self._recent.append((self._clock.now(), event))
        self._queue.put_nowait(event)

    def on_gap(self) -> None:
        # Events may have been lost: check everyone.
        self._queue.put_nowait(_EVERYTHING)

    # -- re-checking -------------------------------------------------------------------

    async def _sweep(self) -> None:
        while True:
            await self._clock.sleep(self._recheck_seconds)
            self._queue.put_nowait(_EVERYTHING)

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            if event is _EVERYTHING:
                affected = list(self._sockets)
            else:
                affected = [s for s in self._sockets if event.concerns(s.principal, s.report_id)]
            try:
                await self.recheck(affected)
            except Exception:
                # Keep the sockets (a store outage must not disconnect everyone); the next
                # pass tries again.
                log.exception("re-checking access of %d sockets failed", len(affected))
            done, self._pass_done = self._pass_done, asyncio.Event()
            done.set()

    async def next_pass(self) -> None:
        """Wait until the next re-check (of an event or of everyone) has finished."""
        await self._pass_done.wait()

    async def recheck(self, sockets: list[LiveSocket]) -> None:
        """Close the sockets that lost access; give the others their current rights."""
        decided: dict[tuple[Principal, str], Role | None] = {}
        for socket in sockets:
            key = (socket.principal, socket.report_id)
            if key not in decided:
                decided[key] = await self._current_role(socket.principal, socket.report_id)
            role = decided[key]
            if socket not in self._sockets:
                continue  # closed meanwhile
            if role is None:
                self._sockets.discard(socket)
                socket.peer.close(codes.ACCESS_REVOKED, "your access to this report ended")
            elif role != socket.role:
                socket.role = role
                socket.peer.set_writable(allows(role, write_action(socket.comments)))

    async def _current_role(self, principal: Principal, report_id: str) -> Role | None:
        current = await self._service.revalidate(principal)
        if current is None:
            return None
        return (await self._service.role_on(current, report_id)).role
