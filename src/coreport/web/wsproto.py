"""uvicorn's sans-I/O WebSocket protocol, with direct send and receive paths for document
sockets and read pauses only when the application falls behind.

Relaying one update to a room of N clients is N sends. Through ASGI each send is an
awaited ``websocket.send`` event: a task switch into the session's writer, uvicorn's
checks, websockets' frame builder and a buffer join, about 50 us of Python per recipient
(docs/performance.md). A server-to-client binary frame needs none of that: it is a 2-10
byte header and the payload, unmasked. :class:`DirectFrames` writes that to the socket's
transport at once, while the transport has room; when it does not (the client reads
slowly), or the socket is closing, it declines and the session queues the message for
its writer task, which goes through ASGI as before and coalesces what piled up.

Receiving is the mirror image. Through ASGI each binary message is a dict put on the
socket's queue, a future resolved, the session's reader task woken and switched to, and
the dict taken apart again. :meth:`DirectFrames.receive_with` lets the session take the
message in the protocol's own ``data_received`` callback instead, while nothing waits in
the queue (so order is kept: once anything is queued, everything after it is queued
too). Text frames, the close handshake and disconnects still go through the queue, and
the receiver is told when something is put there, so the session needs no task waiting
on the queue for the socket's whole life, only once there is something to read.

uvicorn offers the object to the application in the ASGI scope's extensions, as
``scope["extensions"][EXTENSION]["frames"]``; an application served by another server
finds no such key and uses ASGI sends only.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import Protocol

from coreport.sync.flag import Flag, Inbox

if TYPE_CHECKING:
    # uvicorn's own names for the events (a private module: only read by the type checker).
    from uvicorn._types import ASGIReceiveEvent, ASGISendEvent

#: The scope extension whose ``"frames"`` is a socket's :class:`DirectFrames`.
EXTENSION = "coreport.direct_frames"

_BINARY_FIN = 0x82  # FIN bit, opcode 2 (binary); server frames are never masked

# Messages a socket may have waiting for the application before reading pauses, and the
# largest message that does not pause it by itself (see ``send_receive_event_to_app``).
_READ_AHEAD_MESSAGES = 8
_READ_AHEAD_BYTES = 16 * 1024

#: Takes one binary message as it arrives, or ``None`` when something was queued for
#: ASGI ``receive()`` (see :meth:`DirectFrames.receive_with`).
Receiver = Callable[[bytes | None], object]


def binary_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked binary WebSocket frame carrying ``payload`` (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        header = bytes((_BINARY_FIN, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", _BINARY_FIN, 126, size)
    else:
        header = struct.pack("!BBQ", _BINARY_FIN, 127, size)
    return header + payload


def direct_frames(scope: Mapping[str, Any]) -> DirectFrames | None:
    """The socket's :class:`DirectFrames` if the server offers one in ``scope``."""
    offered = (scope.get("extensions") or {}).get(EXTENSION) or {}
    frames = offered.get("frames")
    return frames if isinstance(frames, DirectFrames) else None


class DirectFrames:
    """Sends binary messages on one accepted socket straight to its transport, and hands
    the ones it receives straight to a receiver."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: CoreportWebSocketProtocol) -> None:
        self._protocol = protocol

    def try_send(self, messages: Sequence[bytes]) -> bool:
        """Write ``messages`` now, each as one binary message, in one write; ``False``
        (nothing written) when the transport is above its high-water mark or the socket
        is closing or gone, so the caller must take the ordinary, awaited path."""
        protocol = self._protocol
        if (
            not protocol.handshake_complete
            or protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.transport.is_closing()
        ):
            return False
        if len(messages) == 1:
            protocol.transport.write(binary_frame(messages[0]))
        else:
            protocol.transport.write(b"".join([binary_frame(m) for m in messages]))
        return True

    def receive_with(self, receiver: Receiver | None) -> None:
        """Call ``receiver`` with each binary message as it arrives, instead of queueing it
        for ASGI ``receive()``, whenever the queue is empty, and with ``None`` for each
        event queued (at once for those the queue holds already): the application then
        reads that many from the queue. ``None`` goes back to queueing all, unannounced.
        The receiver runs inside the protocol's callbacks: it must not raise."""
        protocol = self._protocol
        protocol.receiver = receiver
        if receiver is not None:
            for _ in range(protocol.queue.qsize()):
                receiver(None)


class CoreportWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol that also hands the application a
    :class:`DirectFrames` for each socket it accepts the handshake of."""

    #: Set through :meth:`DirectFrames.receive_with`.
    receiver: Receiver | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The same behaviour in a tenth of the memory (see coreport.sync.flag): the queue
        # and the event live as long as the socket. Nothing else holds the originals yet.
        inbox: Inbox[ASGIReceiveEvent] = Inbox(on_put=self._queued)
        self.queue = cast("asyncio.Queue[ASGIReceiveEvent]", inbox)
        writable = Flag()
        writable.set()
        self.writable = cast(asyncio.Event, writable)

    def _queued(self) -> None:
        receiver = self.receiver
        if receiver is not None:
            receiver(None)

    def send_receive_event_to_app(self) -> None:
        receiver = self.receiver
        if (
            receiver is not None
            and self.curr_msg_data_type == "bytes"
            and not self.close_sent
            and self.queue.empty()
        ):
            frames, self.frames = self.frames, []
            receiver(frames[0] if len(frames) == 1 else b"".join(frames))
            return
        # uvicorn pauses reading after every message and resumes once the application has
        # taken it: two epoll_ctl calls per message, about a tenth of the event loop's
        # time in the S1 fan-out. Reading goes on while the application keeps up (few
        # small messages waiting); it pauses as before once more wait or one is large,
        # which bounds what a socket can hold here.
        behind = self.queue.qsize() >= _READ_AHEAD_MESSAGES
        large = sum(len(frame) for frame in self.frames) > _READ_AHEAD_BYTES
        if self.read_paused or behind or large:
            super().send_receive_event_to_app()
            return
        self.read_paused = True  # the parent pauses reading only if this is False
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = False

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The handshake's request and response, with all their headers, are only read
            # until the response is sent; a socket would keep them for its whole life.
            del self.request, self.response
            self._forget_request()

    def _forget_request(self) -> None:
        """Restart websockets' frame parser, whose generator still holds the handshake
        request (a local of the handshake step it began with), with a fresh one that
        starts where the old one waits: at the first frame, nothing read (websockets
        swaps its own parser the same way when it stops reading)."""
        conn = self.conn
        # A client sends no frame before it has the response; if one did, it stays.
        if conn.reader.buffer or conn.reader.eof or conn.parser_exc is not None:
            return
        old = conn.parser
        conn.parser = Protocol.parse(conn)
        next(conn.parser)  # a generator runs to its first wait when started
        old.close()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The ASGI task that reads this scope starts on the loop's next turn.
        if self.response.status_code == 101:
            # ASGI extensions are dicts, keyed by what they offer.
            self.scope["extensions"][EXTENSION] = {"frames": DirectFrames(self)}
