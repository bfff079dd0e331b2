"""Writes of one kind that share a transaction, for the SQLite domain stores.

Every SQLite transaction of the store's (``synchronous=FULL``) ends in a sync of the log,
and the store's worker runs them one at a time: at a few hundred writes a second the
syncs are the worker's whole time and the writes queue behind one another. A
:class:`SharedCommits` lets the writes that come while one is being committed wait for it
and then go together, in one transaction and one sync (up to a size, so that the file's
write lock is never held long). Nothing waits on purpose: a write that comes to an idle
store starts at once, alone.

Each write keeps its own outcome: it runs in a savepoint of its own, so one that fails (its
run deleted meanwhile, a value SQLite refuses) is undone alone and its caller gets its
error, while the others commit. A failure of the transaction itself (the file locked past
the busy timeout, the disk) fails every write in it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Generic, TypeVar

from coreport.ports import StoreError
from coreport.stores.sqlite import WorkerStore, _transaction

A = TypeVar("A")
R = TypeVar("R")

#: Writes one item on a connection inside a transaction; returns the caller's result.
Write = Callable[[sqlite3.Connection, A], R]


class SharedCommits(Generic[A, R]):
    """``await shared(item)`` writes ``item`` with ``write``, in a transaction it shares
    with the items that came while the one before was being committed."""

    def __init__(
        self,
        store: WorkerStore,
        what: str,
        write: Write[A, R],
        *,
        size: Callable[[A], int],
        max_size: int,
    ) -> None:
        self._store = store
        self._what = what
        self._write = write
        # A transaction holds the file's write lock, which the documents' appends need
        # too: it takes items up to ``max_size`` in all (by ``size``), at least one.
        self._size = size
        self._max_size = max_size
        self._waiting: list[tuple[A, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, item: A) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._commit_all(), name=f"coreport-{self._what}")
        # A caller that goes away does not take its item back: it is written all the same.
        return await future

    async def drained(self) -> None:
        """Wait until every item handed over so far is committed (or has failed)."""
        while (task := self._task) is not None:
            await asyncio.shield(task)

    async def _commit_all(self) -> None:
        try:
            while self._waiting:
                batch = self._next_batch()
                write = partial(each_alone, items=[item for item, _ in batch], write=self._write)
                try:
                    outcomes = await self._store._call(self._what, write)
                except Exception as exc:  # the transaction's: every item in it failed
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled: so are the callers waiting for it
                    for _, future in batch:
                        future.cancel()
                    raise
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Failed):
                        future.set_exception(self._error(outcome.error))
                    else:
                        future.set_result(outcome)
        finally:
            self._task = None
            # Cancelled (the loop is closing): what still waits fails rather than hangs.
            waiting, self._waiting = self._waiting, []
            for _, future in waiting:
                if not future.done():
                    future.set_exception(StoreError(f"cannot {self._what}: the store stopped"))

    def _next_batch(self) -> list[tuple[A, asyncio.Future[R]]]:
        taken = total = 0
        for item, _ in self._waiting:
            total += self._size(item)
            if taken and total > self._max_size:
                break
            taken += 1
        batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return batch

    def _error(self, error: Exception) -> Exception:
        if isinstance(error, sqlite3.Error):
            return StoreError(f"SQLite {self._what} failed on {self._store.path}: {error}")
        return error


class Failed:
    """What :func:`each_alone` gives in place of a result for an item that failed."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def each_alone(
    conn: sqlite3.Connection, items: Sequence[A], write: Write[A, R]
) -> list[R | Failed]:
    """Write every one of ``items`` in one transaction, each in a savepoint of its own; an
    item that fails is rolled back alone and its error stands in for its result."""
    outcomes: list[R | Failed] = []
    with _transaction(conn):
        for item in items:
            conn.execute("SAVEPOINT item")
            try:
                outcomes.append(write(conn, item))
            except Exception as exc:  # the item's own failure; the transaction goes on
                conn.execute("ROLLBACK TO item")
                outcomes.append(Failed(exc))
            conn.execute("RELEASE item")
    return outcomes
