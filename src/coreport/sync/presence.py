"""Keeps this instance's clients in the presence registry: added when they connect,
named when their awareness says who they are, refreshed before they expire, removed
when they leave. Registry calls run on one task the tracker owns, off the sockets' path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, replace

from coreport.metrics import Metrics
from coreport.ports import Clock, DocName, PresenceEntry, PresenceRegistry
from coreport.protocol.messages import AwarenessUpdate

log = logging.getLogger(__name__)

ANONYMOUS = "Anonymous"
DEFAULT_COLOR = "#888888"


@dataclass(frozen=True, slots=True)
class _Remove:
    doc: DocName
    member: str


class PresenceTracker:
    def __init__(
        self,
        registry: PresenceRegistry,
        clock: Clock,
        metrics: Metrics,
        *,
        instance: str,
        refresh_seconds: float = 10.0,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._metrics = metrics
        self._instance = instance
        self._refresh_seconds = refresh_seconds
        self._entries: dict[str, PresenceEntry] = {}
        #: Members whose name the server set; their awareness claims are not taken.
        self._vouched: set[str] = set()
        self._pending: deque[PresenceEntry | _Remove] = deque()
        self._wakeup = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> PresenceTracker:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="coreport-presence-writer"),
            asyncio.create_task(self._refresh_loop(), name="coreport-presence-refresh"),
        ]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        # Leave nobody behind for the others to see until expiry.
        for member, entry in list(self._entries.items()):
            self._pending.append(_Remove(entry.doc, member))
        self._entries.clear()
        await self._flush()

    def joined(
        self, member: str, doc: DocName, *, name: str | None = None, color: str | None = None
    ) -> None:
        """A client connected. ``name`` is who the server knows it to be (signed in);
        without one, the name its awareness announces is shown."""
        entry = PresenceEntry(
            member,
            doc,
            name or ANONYMOUS,
            color or DEFAULT_COLOR,
            self._clock.wall(),
            self._instance,
        )
        self._entries[member] = entry
        if name is not None:
            self._vouched.add(member)
        self._queue(entry)

    def saw_awareness(self, member: str, update: AwarenessUpdate) -> None:
        """Take the name and colour a client announces in its awareness ``user`` field
        (unless the server knows who it is)."""
        entry = self._entries.get(member)
        if entry is None or member in self._vouched:
            return
        for item in update.entries:
            name, color = _user_of(item.state)
            if name is not None and (name, color) != (entry.name, entry.color):
                entry = replace(entry, name=name, color=color or entry.color)
                self._entries[member] = entry
                self._queue(entry)

    def left(self, member: str) -> None:
        self._vouched.discard(member)
        entry = self._entries.pop(member, None)
        if entry is not None:
            self._queue(_Remove(entry.doc, member))

    def _queue(self, item: PresenceEntry | _Remove) -> None:
        self._pending.append(item)
        self._settled.clear()
        self._wakeup.set()

    async def settled(self) -> None:
        """Wait until every change so far has been written to the registry (or failed)."""
        await self._settled.wait()

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._flush()
            if not self._pending:
                self._settled.set()

    async def _flush(self) -> None:
        while self._pending:
            item = self._pending.popleft()
            try:
                if isinstance(item, _Remove):
                    await self._registry.remove(item.doc, item.member)
                elif self._entries.get(item.member) is item:
                    await self._registry.put([item])
            except Exception as exc:
                # The next refresh writes every live entry again.
                self._metrics.errors.labels("presence").inc()
                log.warning("presence update failed: %s", exc)

    async def _refresh_loop(self) -> None:
        while True:
            await self._clock.sleep(self._refresh_seconds)
            if not self._entries:
                continue
            try:
                await self._registry.put(list(self._entries.values()))
            except Exception as exc:
                self._metrics.errors.labels("presence").inc()
                log.warning("presence refresh failed: %s", exc)


def _user_of(state: str) -> tuple[str | None, str | None]:
    if state == "null":
        return None, None
    try:
        user = json.loads(state).get("user")
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(user, dict):
        return None, None
    name, color = user.get("name"), user.get("color")
    return (
        str(name)[:100] if isinstance(name, str) and name else None,
        str(color)[:32] if isinstance(color, str) and color else None,
    )
