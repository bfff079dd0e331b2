"""pycrdt clients over real WebSockets: pycrdt's own ``Provider`` on a ``websockets``
connection, plus waiting on document conditions without polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from pycrdt import Doc, Provider
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from coreport.protocol.messages import AwarenessUpdate, parse_message


class WebsocketChannel:
    """pycrdt's ``Channel`` over a ``websockets`` client connection."""

    def __init__(self, ws: ClientConnection, path: str) -> None:
        self._ws = ws
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> WebsocketChannel:
        return self

    async def __anext__(self) -> bytes:
        return await self.recv()

    async def send(self, message: bytes) -> None:
        await self._ws.send(message)

    async def recv(self) -> bytes:
        data = await self._ws.recv()
        if isinstance(data, str):
            raise TypeError("text frame from server")
        return data


@contextlib.asynccontextmanager
async def synced_doc(ws_base: str, room: str, doc: Doc | None = None) -> AsyncIterator[Doc]:
    """A pycrdt Doc kept in sync with ``room`` while the context is open."""
    doc = doc if doc is not None else Doc()
    async with connect(f"{ws_base}/{room}", max_size=None) as ws:
        provider = Provider(doc, WebsocketChannel(ws, room))
        async with provider:
            await asyncio.wait_for(provider.synced.wait(), 15)
            yield doc


async def wait_until(doc: Doc, condition: Callable[[], bool], seconds: float = 15.0) -> None:
    """Return once ``condition()`` holds, re-checking after each change to ``doc``."""
    changed = asyncio.Event()
    subscription = doc.observe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(seconds):
            while not condition():
                await changed.wait()
                changed.clear()
    finally:
        doc.unobserve(subscription)


async def read_forever(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 20)


async def close_code(ws: ClientConnection) -> tuple[int, str]:
    """Read until the server closes the socket; return its close code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        await read_forever(ws)
    received = closed.value.rcvd
    assert received is not None, "closed without a close frame"
    return received.code, received.reason


async def next_awareness_update(ws: ClientConnection) -> AwarenessUpdate:
    """Read frames until an awareness message comes; return it."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), 20)
        if isinstance(frame, bytes) and frame[:1] == b"\x01":
            parsed = parse_message(frame)
            assert isinstance(parsed, AwarenessUpdate)
            return parsed


async def next_awareness(ws: ClientConnection, match: Callable[[str], bool]) -> str:
    """Read frames until an awareness message carries a state ``match`` accepts."""
    while True:
        for entry in (await next_awareness_update(ws)).entries:
            if match(entry.state):
                return entry.state
