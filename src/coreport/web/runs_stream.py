"""``GET /api/runs/stream?runs=id1,id2``: new history rows as Server-Sent Events.

Why SSE and not a WebSocket: the stream only flows from server to browser, ``EventSource``
reconnects by itself, and it passes every proxy that passes HTTP. Events::

    event: history
    data: {"run_id": "r1", "rows": [{"step": 7, "timestamp": 1.7e9, "metrics": {"loss": 0.3}}]}

    event: gap
    data: {"runs": ["r1"]}

``gap`` means rows may have been missed (the bus reconnected, or this client fell too far
behind): re-read those runs' history. A client should also re-read history after it
(re)connects, since rows logged while it was away are not replayed. A comment line is sent
when nothing else was for a ``heartbeat`` period (so at least every two periods), so
proxies keep the connection and a dead one is noticed.

The subscriptions live exactly as long as the response: they are made before the response
starts and closed when the client disconnects, the server stops, or sending fails.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from coreport.ports import BusError
from coreport.runs.stream import FeedEvent, RunFeed
from coreport.web.rest import error_response

log = logging.getLogger(__name__)

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    # nginx would otherwise buffer the stream.
    (b"x-accel-buffering", b"no"),
]


class EventStream(Response):
    """An ASGI response streaming ``feed`` (not yet entered) as Server-Sent Events."""

    def __init__(self, feed: RunFeed, *, heartbeat: float = 15.0, retry_ms: int = 2000) -> None:
        self._feed = feed
        self._heartbeat = heartbeat
        self._retry_ms = retry_ms
        self._sent = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._feed.__aenter__()
        except BusError as exc:
            log.warning("live stream of runs %s unavailable: %s", self._feed.run_ids, exc)
            await error_response(503, "live updates are unavailable, retry")(scope, receive, send)
            return
        try:
            await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
            # The comment tells the client (and tests) that the subscriptions are in place.
            await _send(send, f"retry: {self._retry_ms}\n: subscribed\n\n".encode())
            await self._until_done(receive, send)
        finally:
            await self._feed.__aexit__(None, None, None)

    async def _until_done(self, receive: Receive, send: Send) -> None:
        pump = asyncio.create_task(self._pump(send), name="coreport-sse-pump")
        gone = asyncio.create_task(_disconnected(receive), name="coreport-sse-disconnect")
        beat = asyncio.create_task(self._beat(), name="coreport-sse-heartbeat")
        try:
            await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, gone, beat):
                task.cancel()
            await asyncio.gather(pump, gone, beat, return_exceptions=True)
        error = None if pump.cancelled() else pump.exception()
        # OSError: the client went away in the middle of a send, an ordinary end.
        if error is not None and not isinstance(error, OSError):
            raise error

    async def _pump(self, send: Send) -> None:
        while True:
            event = await self._feed.next()
            self._sent = True
            if event.kind == "keep-alive":
                await _send(send, b": keep-alive\n\n")
            else:
                await _send(send, frame(event))

    async def _beat(self) -> None:
        """After every ``heartbeat`` period in which nothing was sent, a keep-alive comment
        (by way of the feed, so that the pump stays the one sender): a quiet stream carries
        something at least every two periods. One timer per period, not one per event: a
        stream may carry a hundred events a second."""
        while True:
            self._sent = False
            await asyncio.sleep(self._heartbeat)
            if not self._sent:
                self._feed.keep_alive()


def frame(event: FeedEvent) -> bytes:
    """One SSE event; each line of ``data`` becomes a ``data:`` field."""
    lines = b"".join(b"data: " + line + b"\n" for line in event.data.split(b"\n"))
    return b"event: " + event.kind.encode() + b"\n" + lines + b"\n"


async def _send(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
