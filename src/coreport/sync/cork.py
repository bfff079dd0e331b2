"""Sends made during one turn of the event loop go out together, one write per socket.

A group commit finishes a batch of updates at once, a read from the bus may bring several
updates, and the room relays each to every client: under load that is (updates) x
(clients) socket writes, each a system call. A session writes the first message of a turn
of the event loop at once and keeps the ones that follow in the same turn; at the start of
the next turn :class:`SendCork` has each write what it kept in one go: at most two system
calls per client per turn, the messages unchanged and in order. A lone message (a
keystroke relayed while the room is quiet) goes out without waiting.

Whoever knows that several messages are coming at once (the group committer relaying a
batch) holds the cork around them: sessions then keep even the first, and each writes all
of them in one go when the hold ends, one system call per client per batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Corked(Protocol):
    def flush(self) -> None:
        """Write what was kept during the last turn of the loop (maybe nothing)."""


class SendCork:
    """One per event loop, shared by every session on it."""

    __slots__ = ("_holding", "_scheduled", "_waiting")

    def __init__(self) -> None:
        self._scheduled = False
        self._holding = 0
        # Sessions that kept something, in the order they first did (a dict keeps it).
        self._waiting: dict[Corked, None] = {}

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

    def _release(self) -> None:
        self._scheduled = False
        waiting, self._waiting = self._waiting, {}
        for session in waiting:
            session.flush()
