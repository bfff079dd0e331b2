"""Identical reads that are still waiting for their turn are done once.

When a report is shown in a meeting, everyone opens it at the same moment, and every
browser asks for the same runs' history at once: ten viewers of a grid of 50 runs are 500
reads of 50 different things. A store reads a few at a time (SQLite on one reading thread,
PostgreSQL on the connections its pool has), so most of them wait in line, and each would
read its series again when its turn came: the tenth viewer waited for ten times the work.

A read that has not begun may serve everyone who asks the same thing before it begins: its
snapshot is taken after all of them asked, so it holds every row any of them could expect
(a row a client has already seen live on the stream was committed before it asked). Once a
read has begun, a new ask starts another: the one under way may predate rows that the new
asker has been told about.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

#: What a store's read calls, from whichever thread runs it, as the read begins.
Begun = Callable[[], None]

#: What a run's history read reads: run, metrics, first and last step, points per metric.
HistoryRead = tuple[str, tuple[str, ...], int, int, int | None]


class SharedReads(Generic[K, T]):
    """Reads keyed by what they read; ``read(key, start)`` returns what ``start(begun)``
    returns, where ``start`` runs only if no read of ``key`` is waiting to begin, and must
    call ``begun()`` (from any thread) right before it takes its snapshot.

    The result is shared between the askers: they must not change it. A read runs to its
    end even when every asker has gone (it is bounded, and one asker's disconnect must not
    fail the others); :meth:`drained` waits for those still running.
    """

    def __init__(self) -> None:
        # Reads not yet begun, by key. Joined on the event loop; ``begun`` may come from a
        # store's thread, so both go under the lock: an ask either joins before the read
        # begins or starts another.
        self._waiting: dict[K, asyncio.Task[T]] = {}
        self._lock = threading.Lock()
        self._running: set[asyncio.Task[T]] = set()

    def waiting(self) -> int:
        """How many reads have not begun yet."""
        with self._lock:
            return len(self._waiting)

    async def read(self, key: K, start: Callable[[Begun], Awaitable[T]]) -> T:
        with self._lock:
            task = self._waiting.get(key)
            if task is None:
                # Made and filed under the lock: the task runs only once this call awaits.
                task = self._waiting[key] = asyncio.ensure_future(self._run(key, start))
                self._running.add(task)
                task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    async def _run(self, key: K, start: Callable[[Begun], Awaitable[T]]) -> T:
        task = asyncio.current_task()

        def begun() -> None:
            self._forget(key, task)

        try:
            return await start(begun)
        finally:
            # A read that failed before it began (a closed store) is not joined any more.
            self._forget(key, task)

    def _forget(self, key: K, task: asyncio.Task[Any] | None) -> None:
        with self._lock:
            if self._waiting.get(key) is task:
                del self._waiting[key]

    def _finished(self, task: asyncio.Task[T]) -> None:
        self._running.discard(task)
        # Every asker may have gone (their waits are shielded from the read): the error is
        # theirs, not the loop's to report as never retrieved.
        if not task.cancelled():
            task.exception()

    async def drained(self) -> None:
        """Wait for the reads still running (a store closing waits for its reads)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
