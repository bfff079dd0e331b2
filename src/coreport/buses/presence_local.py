"""The in-process presence registry (the embedded default).

Several app instances in one process may share one :class:`LocalPresence`, as they share a
:class:`coreport.buses.LocalBus`: each opens and closes it in its own lifespan, and the last
``close()`` forgets every entry.

Expiry runs on the injected clock's monotonic ``now()``: within one process there is no
other instance to agree with, and a monotonic clock does not jump when the wall clock is
stepped. No task sweeps: ``put`` and ``list`` drop every expired entry whenever the
earliest expiry has passed, so memory holds at most what was put within one ``ttl`` plus
whatever expired since the registry was last used.
"""

from __future__ import annotations

import builtins
import math
import time
from collections.abc import Sequence
from typing import Protocol

from coreport.ports import BusError, DocName, PresenceEntry


class MonotonicClock(Protocol):
    """The part of :class:`coreport.ports.Clock` the registry uses."""

    def now(self) -> float: ...


class _SystemMonotonicClock:
    def now(self) -> float:
        return time.monotonic()


class LocalPresence:
    """In-process implementation of :class:`coreport.ports.PresenceRegistry`.

    An entry not refreshed by ``put`` within ``ttl`` seconds of ``clock.now()`` is gone.
    """

    def __init__(self, ttl: float = 30.0, clock: MonotonicClock | None = None) -> None:
        if ttl <= 0:
            raise ValueError(f"presence ttl must be positive, got {ttl}")
        self._ttl = ttl
        self._clock = clock or _SystemMonotonicClock()
        # doc -> member -> (expiry, entry)
        self._docs: dict[DocName, dict[str, tuple[float, PresenceEntry]]] = {}
        # No entry expires before this; a sweep is due once it has passed.
        self._next_expiry = math.inf
        self._opened = 0

    @property
    def ttl(self) -> float:
        return self._ttl

    @property
    def docs(self) -> tuple[DocName, ...]:
        """The documents with entries held now (expired ones not yet dropped included)."""
        return tuple(self._docs)

    async def open(self) -> None:
        """Count one more user."""
        self._opened += 1

    async def close(self) -> None:
        """Count one user less; the last one forgets every entry."""
        if self._opened == 0:
            return
        self._opened -= 1
        if self._opened == 0:
            self._docs.clear()
            self._next_expiry = math.inf

    async def put(self, entries: Sequence[PresenceEntry]) -> None:
        """Add or refresh ``entries``: each expires ``ttl`` seconds from now."""
        now = self._now()
        expiry = now + self._ttl
        for entry in entries:
            self._docs.setdefault(entry.doc, {})[entry.member] = (expiry, entry)
            self._next_expiry = min(self._next_expiry, expiry)

    async def remove(self, doc: DocName, member: str) -> None:
        """Forget ``member`` of ``doc`` now; nothing happens if it is not there."""
        self._now()
        members = self._docs.get(doc)
        if members is not None and members.pop(member, None) is not None and not members:
            del self._docs[doc]

    async def list(self, docs: Sequence[DocName]) -> builtins.list[PresenceEntry]:
        """The unexpired entries of ``docs``, oldest ``since`` first."""
        self._now()
        found = [
            entry for doc in dict.fromkeys(docs) for _, entry in self._docs.get(doc, {}).values()
        ]
        found.sort(key=lambda entry: (entry.since, entry.member))
        return found

    def _now(self) -> float:
        """The clock's time, after dropping whatever has expired by then."""
        if self._opened == 0:
            raise BusError("the local presence registry is not open")
        now = self._clock.now()
        if now >= self._next_expiry:
            self._sweep(now)
        return now

    def _sweep(self, now: float) -> None:
        next_expiry = math.inf
        for doc, members in builtins.list(self._docs.items()):
            for member, (expiry, _) in builtins.list(members.items()):
                if expiry <= now:
                    del members[member]
                else:
                    next_expiry = min(next_expiry, expiry)
            if not members:
                del self._docs[doc]
        self._next_expiry = next_expiry
