"""The pycrdt-websocket peer of the benchmark: its ``WebsocketServer`` in memory (no
YStore), behind its ``ASGIServer`` on uvicorn.

    .venv/bin/python tests/bench/peers/pycrdt_ws.py [--port 0] [--host 127.0.0.1]

Prints ``pycrdt-websocket running at ws://HOST:PORT`` once it serves (port 0 picks a free
one). Rooms are named by the URL path, as in y-websocket: ``ws://HOST:PORT/ROOM``.

uvicorn runs as pycrdt-websocket's documentation shows it, with the network settings
coreport uses: per-message deflate off, the listening socket created with ``IPPROTO_TCP``
so that accepted sockets get ``TCP_NODELAY``. It keeps uvicorn's default WebSocket
implementation and asyncio's own loop; coreport's direct send path and uvloop are
coreport's own work, not settings this peer would have.
Errors in a room (a client gone while a relay was sent to it) are logged and the room
goes on (``exception_logger``, as Jupyter's collaboration server configures it); without
it one such error stops every room.

One fix is applied (``RoomStartLock``): rooms start one at a time. In pycrdt-websocket
0.16.5 a client that arrives while its new room is still starting starts the room a second
time, and that second start waits on the room's start lock for as long as the room runs:
the client never gets a reply. Clients of a new room connecting at once (S3, S6) hit it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer, YRoom, exception_logger

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class RoomStartLock(WebsocketServer):
    """``WebsocketServer`` whose rooms start one at a time, so that a room's second client
    finds it started (see the module's docstring). Starting a room only spawns its tasks."""

    def __init__(self) -> None:
        super().__init__(exception_handler=exception_logger)
        self._starting = anyio.Lock()

    async def start_room(self, room: YRoom) -> None:
        async with self._starting:
            await super().start_room(room)


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


async def serve(host: str, port: int) -> None:
    sock = listening_socket(host, port)
    url = f"ws://{host}:{sock.getsockname()[1]}"
    websocket_server = RoomStartLock()
    asgi = ASGIServer(websocket_server)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # uvicorn completes the lifespan start-up just before it accepts connections.
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                print(f"pycrdt-websocket running at {url}", flush=True)
            await send({"type": "lifespan.shutdown.complete"})
            return
        await asgi(dict(scope), receive, send)  # type: ignore[arg-type]

    config = uvicorn.Config(
        app,
        ws_per_message_deflate=False,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    async with websocket_server:
        await uvicorn.Server(config).serve(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
