"""What ``asyncio.Event`` and ``asyncio.Queue`` do for a socket, in a fraction of the memory.

Every open socket holds a few events and a queue for its whole life, mostly with one
waiter or none. ``asyncio`` keeps waiters (and a queue's items) in deques, and a deque's
first block costs 624 bytes even when empty: an event is about 760 bytes, a queue (three
deques and an event) about 3 KiB. These keep their waiters in a list made on first wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def _wake(waiters: list[asyncio.Future[None]] | None) -> None:
    for waiter in waiters or ():
        if not waiter.done():
            waiter.set_result(None)


# A waiter is a future added to a list, awaited by the waiting coroutine itself and taken
# out again if it was not woken (cancelled): no helper coroutine, whose frame a socket
# would keep for as long as it waits (its whole life, for a session's flag).


def _waiter(waiters: list[asyncio.Future[None]]) -> asyncio.Future[None]:
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    return waiter


def _forget(waiters: list[asyncio.Future[None]] | None, waiter: asyncio.Future[None]) -> None:
    if waiters is not None and waiter in waiters:  # cancelled before it was woken
        waiters.remove(waiter)


class Flag:
    """An ``asyncio.Event``: ``set``, ``clear``, ``is_set`` and ``wait``."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if not self._set:
            self._set = True
            waiters, self._waiters = self._waiters, None
            _wake(waiters)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if not self._set:
            if self._waiters is None:
                self._waiters = []
            waiter = _waiter(self._waiters)
            try:
                await waiter
            finally:
                _forget(self._waiters, waiter)  # ``set`` drops the list it woke
        return True


class Inbox(Generic[T]):
    """An unbounded ``asyncio.Queue`` as uvicorn's WebSocket protocol uses it:
    ``put_nowait``, ``get``, ``get_nowait``, ``empty`` and ``qsize``; ``on_put`` is
    called after each item is put, so that a getter need not be waiting already."""

    __slots__ = ("_getters", "_items", "_on_put")

    def __init__(self, on_put: Callable[[], object] | None = None) -> None:
        self._items: list[T] = []
        self._getters: list[asyncio.Future[None]] | None = None
        self._on_put = on_put

    def put_nowait(self, item: T) -> None:
        self._items.append(item)
        # Every getter wakes and looks: one that was cancelled meanwhile cannot leave an
        # item waiting while another getter sleeps.
        _wake(self._getters)
        if self._on_put is not None:
            self._on_put()

    async def get(self) -> T:
        while not self._items:
            if self._getters is None:
                self._getters = []
            waiter = _waiter(self._getters)
            try:
                await waiter
            finally:
                _forget(self._getters, waiter)
        return self._items.pop(0)

    def get_nowait(self) -> T:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)
