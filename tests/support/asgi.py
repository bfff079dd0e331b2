"""Drive an ASGI app in-process: run its lifespan, and hold one streaming request open.

``httpx.ASGITransport`` answers ordinary requests but collects a response's whole body
before returning, so it cannot read an endless Server-Sent Events stream; :class:`SseRequest`
speaks ASGI directly instead and can disconnect like a browser closing the tab.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from starlette.types import ASGIApp, Message


@asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Start ``app`` (lifespan startup), yield, shut it down; startup failures raise."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await _reply(outbox, task)
    if started["type"] != "lifespan.startup.complete":
        await task
        raise RuntimeError(f"startup failed: {started.get('message')}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await _reply(outbox, task)
        await task
        if stopped["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"shutdown failed: {stopped.get('message')}")


async def _reply(outbox: asyncio.Queue[Message], task: asyncio.Task[None]) -> Message:
    """The app's next message; what the app raised, or EOFError, if it ends first."""
    if outbox.empty() and not task.done():
        getter = asyncio.create_task(outbox.get())
        await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
    if not outbox.empty():
        return outbox.get_nowait()
    task.result()  # raises what the app raised
    raise EOFError("the app finished without sending more")


@dataclass(frozen=True)
class SseEvent:
    #: ``None`` for a comment-only frame.
    event: str | None
    data: str
    comment: str = ""


class SseRequest:
    """``async with SseRequest(app, "/api/runs/stream?runs=r1") as stream:`` sends a GET and
    waits for the response to start; :meth:`next_event` reads SSE frames; leaving the block
    disconnects and requires the app to finish within ``finish_timeout`` seconds."""

    def __init__(self, app: ASGIApp, path: str, *, finish_timeout: float = 5.0) -> None:
        target, _, query = path.partition("?")
        self._scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": target,
            "raw_path": target.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self._app = app
        self._finish_timeout = finish_timeout
        self._sent: asyncio.Queue[Message] = asyncio.Queue()
        self._request_sent = False
        self._disconnect = asyncio.Event()
        self._buffer = b""
        self._task: asyncio.Task[None] | None = None
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body_complete = False

    async def __aenter__(self) -> SseRequest:
        self._task = asyncio.create_task(self._app(self._scope, self._receive, self._sent.put))
        start = await self._next_message()
        assert start["type"] == "http.response.start", start
        self.status = start["status"]
        self.headers = {k.decode(): v.decode() for k, v in start.get("headers", [])}
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._disconnect.set()
        assert self._task is not None
        # The app must notice the disconnect and end by itself (no cancellation from here).
        async with asyncio.timeout(self._finish_timeout):
            await self._task

    @property
    def finished(self) -> bool:
        return self._task is not None and self._task.done()

    async def read_body(self) -> bytes:
        """The whole body of a response that ends (e.g. an error answer)."""
        chunks = [self._buffer]
        while not self.body_complete:
            message = await self._next_message()
            chunks.append(message.get("body", b""))
            self.body_complete = not message.get("more_body", False)
        return b"".join(chunks)

    async def next_event(self) -> SseEvent:
        """The next SSE frame (comment-only frames included)."""
        while b"\n\n" not in self._buffer:
            message = await self._next_message()
            assert message["type"] == "http.response.body", message
            self._buffer += message.get("body", b"")
            if not message.get("more_body", False):
                self.body_complete = True
                raise EOFError("the stream ended")
        frame, self._buffer = self._buffer.split(b"\n\n", 1)
        event: str | None = None
        data: list[str] = []
        comments: list[str] = []
        for line in frame.decode().split("\n"):
            if line.startswith(":"):
                comments.append(line[1:].strip())
            elif line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
        return SseEvent(event, "\n".join(data), "\n".join(comments))

    async def next_data_event(self) -> SseEvent:
        """The next frame that carries an event (skipping comments such as heartbeats)."""
        while (event := await self.next_event()).event is None:
            pass
        return event

    async def _receive(self) -> Message:
        if not self._request_sent:
            self._request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._disconnect.wait()
        return {"type": "http.disconnect"}

    async def _next_message(self) -> Message:
        assert self._task is not None
        return await _reply(self._sent, self._task)
