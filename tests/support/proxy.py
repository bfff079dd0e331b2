"""A TCP proxy tests control: an outage, a dead network path or a slow link between a
server process and PostgreSQL or Redis, without touching the shared services."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit


def url_via(url: str, port: int, host: str = "127.0.0.1") -> str:
    """``url`` with its host and port replaced, keeping credentials, database and options."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class TcpProxy:
    """Forwards TCP connections to a server, and can go away and come back (an outage).

    ``start()`` listens (again) on :attr:`port`; ``cut()`` closes every forwarded connection;
    ``stop()`` stops listening and cuts, so clients see the server vanish and cannot
    reconnect; ``blackhole()`` silently drops everything on the connections open now, like
    a dead network path. ``latency`` delays what clients send, like a slow network.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self.port = 0
        self.latency = 0.0
        self._server: asyncio.Server | None = None
        self._handlers: dict[asyncio.Task[None], _Link] = {}

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()
        await self.cut()

    def blackhole(self) -> None:
        for link in self._handlers.values():
            link.dropping = True

    async def cut(self) -> None:
        handlers = set(self._handlers)
        for handler in handlers:
            handler.cancel()
        if handlers:
            await asyncio.wait(handlers)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        link = self._handlers[task] = _Link()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
            try:
                async with asyncio.TaskGroup() as pipes:
                    pipes.create_task(_pipe(reader, upstream_writer, link, lambda: self.latency))
                    pipes.create_task(_pipe(upstream_reader, writer, link, lambda: 0.0))
            finally:
                upstream_writer.close()
        finally:
            writer.close()
            del self._handlers[task]


class _Link:
    """One forwarded connection's state."""

    def __init__(self) -> None:
        self.dropping = False


async def _pipe(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    link: _Link,
    latency: Callable[[], float],
) -> None:
    try:
        while data := await source.read(1 << 16):
            if link.dropping:
                continue
            if delay := latency():
                await asyncio.sleep(delay)  # the simulated network, not a wait for an event
            sink.write(data)
            await sink.drain()
    except ConnectionError:
        # A reset by either side ends this forwarded connection, like a clean close.
        return
    finally:
        sink.close()
