"""Sends made during one turn of the event loop go out together, one write per socket.

A group commit finishes a batch of updates at once, a read from the bus may bring several
updates, and the room relays each to every client: under load that is (updates) x
(clients) socket writes, each a system call. A session writes the first message of a turn
of the event loop at once and keeps the ones that follow in the same turn; at the start of
the next turn :class:`SendCork` has each write what it kept in one go: at most two system
calls per client per turn, the messages in order. A lone message (a keystroke relayed
while the room is quiet) goes out without waiting.

Whoever knows that several messages are coming at once (the group committer relaying a
batch) holds the cork around them: sessions then keep even the first, and each writes all
of them in one go when the hold ends, one system call per client per batch.

Document updates a session kept back to back go out merged into one update
(:meth:`SendCork.merged`): one frame for the client to read and one apply instead of one
per update. A room hands every recipient the same message objects, so the clients that
were sent the same run share one merge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from coreport.protocol import messages


class Corked(Protocol):
    def flush(self) -> None:
        """Write what was kept during the last turn of the loop (maybe nothing)."""


class SendCork:
    """One per event loop, shared by every session on it."""

    __slots__ = ("_holding", "_merged", "_scheduled", "_waiting")

    def __init__(self) -> None:
        self._scheduled = False
        self._holding = 0
        # Sessions that kept something, in the order they first did (a dict keeps it).
        self._waiting: dict[Corked, None] = {}
        # During one release: each run merged so far by its messages' ids, with the run
        # itself, which keeps those objects (and so their ids) alive until it ends.
        self._merged: dict[tuple[int, ...], tuple[tuple[bytes, ...], bytes]] = {}

    @property
    def holding(self) -> bool:
        """Whether sessions should keep even the first message they are given now."""
        return self._holding > 0

    @contextmanager
    def held(self) -> Iterator[None]:
        """Sessions keep what they are sent inside; each writes it in one go at the end."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding:
                self._release()

    def keep(self, session: Corked) -> None:
        """``session`` wrote this turn: have it flush what it keeps from now on at the
        loop's next turn."""
        self._waiting[session] = None
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._release)

    def merged(self, run: tuple[bytes, ...]) -> bytes:
        """The document updates of ``run`` (encoded messages) as one message; the same
        messages are merged once per release, whichever session asks."""
        key = tuple(map(id, run))
        known = self._merged.get(key)
        if known is not None:
            return known[1]
        merged = messages.merged_sync_update(run)
        self._merged[key] = (run, merged)
        return merged

    def _release(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, {}
        try:
            for session in waiting:
                session.flush()
        finally:
            self._merged.clear()
