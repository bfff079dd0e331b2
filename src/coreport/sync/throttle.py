"""A room's awareness fan-out, at most once per interval.

Every cursor move, selection and "following" change of every client is an awareness
update, and a room relays each to all its other clients: with a room full of people in a
meeting that is (moves per second) x (clients) socket writes, most of them for states
that the next move replaces a few milliseconds later. Awareness is last-writer-wins per
client (y-protocols keeps the state with the highest clock), so a server may forward only
the latest state of each client and lose nothing a client would show.

:class:`AwarenessThrottle` does that for one room. The first change after a quiet
interval goes out at once, so a lone cursor move is as fast as before; changes made
during the interval that follows wait for its end and go out together, the latest state
of each client only, in one message per recipient. A room then sends awareness at most
once per interval per client, however many people move their cursors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from coreport.protocol.messages import AwarenessEntry

#: Who sent an entry (a room's peer), or ``None`` when it came from elsewhere.
Origin = TypeVar("Origin")


@dataclass(slots=True)
class Pending(Generic[Origin]):
    """A client's latest state waiting to be sent: where it came from, and whether it
    goes to other instances too (what came from the bus does not go back to it)."""

    entry: AwarenessEntry
    origin: Origin | None
    publish: bool


class AwarenessThrottle(Generic[Origin]):
    """Hands ``send`` a room's awareness changes at most once per ``interval`` seconds,
    the latest of each client; ``interval`` 0 hands each change over at once."""

    __slots__ = ("_interval", "_pending", "_quiet_until", "_send", "_timer")

    def __init__(self, interval: float, send: Callable[[list[Pending[Origin]]], None]) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0, not {interval}")
        self._interval = interval
        self._send = send
        # Client id -> its latest state not sent yet (a dict keeps first-change order).
        self._pending: dict[int, Pending[Origin]] = {}
        # Loop time until which changes wait; the timer that sends them then.
        self._quiet_until = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        """How many clients' states wait for the end of the interval."""
        return len(self._pending)

    def add(self, entries: Iterable[AwarenessEntry], origin: Origin | None, publish: bool) -> None:
        """Send ``entries`` now if the room has been quiet for an interval, else at the
        end of the current one (a later state of the same client replaces an earlier)."""
        if self._interval == 0:
            self._send([Pending(entry, origin, publish) for entry in entries])
            return
        if self._timer is None:
            loop = asyncio.get_running_loop()
            now = loop.time()
            if now >= self._quiet_until:
                self._quiet_until = now + self._interval
                self._send([Pending(entry, origin, publish) for entry in entries])
                return
            self._timer = loop.call_at(self._quiet_until, self._flush)
        pending = self._pending
        for entry in entries:
            pending[entry.client_id] = Pending(entry, origin, publish)

    def _flush(self) -> None:
        self._timer = None
        batch = list(self._pending.values())
        self._pending.clear()
        if batch:
            self._quiet_until = asyncio.get_running_loop().time() + self._interval
            self._send(batch)

    def close(self) -> None:
        """Hand over what waits now and drop the timer (the room is going away).

        What waits is mostly the removals of clients that just left: other instances
        would otherwise show their cursors until they expire them.
        """
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        batch = list(self._pending.values())
        self._pending.clear()
        if batch:
            self._send(batch)
