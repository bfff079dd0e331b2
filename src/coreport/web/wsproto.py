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

Under both paths lies the reading of frames. websockets parses each through a chain of
generators (its reader's ``read_exact`` once for each part of the header, the mask and
the payload), then uvicorn sorts the event by type: about a seventh of the event loop's
Python time in S3. Once a socket is open, this protocol reads each frame's header itself
and unmasks the common frame, a whole binary message no larger than
:data:`_DIRECT_MAX_BYTES`, straight to the receiver while the direct path is open. Every
other frame (control frames, text, fragments, larger or malformed ones) goes to
websockets' parser whole, frame by frame, so websockets answers pings and refuses bad
input exactly as before; the parser is only ever handed whole frames from a frame's
start, so the two never disagree on where one ends.

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
from websockets.protocol import OPEN, Protocol

try:  # websockets' C unmasking, as its own parser uses; the Python one where it is missing
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the wheel ships the extension
    from websockets.utils import apply_mask

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

#: The largest binary frame this protocol reads itself (see the module's docstring); a
#: larger one goes to websockets' parser, which reads it as it arrives instead of after
#: it has all arrived, and checks it against the size limit before reading it.
_DIRECT_MAX_BYTES = 64 * 1024
_MASKED = 0x80

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
    # Frame reading (see the module's docstring): on once the socket is open and
    # websockets' parser waits at a frame's start; the bytes of a frame whose header is
    # not all here yet, or of a direct frame not all here yet; how many bytes of the frame
    # being handed to websockets are still to come. Class defaults: a socket that never
    # uses one stores nothing.
    _reading_frames = False
    _unread: bytes | bytearray = b""
    _passing = 0
    # The largest message read here: _DIRECT_MAX_BYTES, or the socket's size limit if
    # lower (a larger one goes to websockets, which refuses it).
    _direct_max = 0

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
            self._reading_frames = self._forget_request()
            limits = (self.conn.max_message_size, self.conn.max_fragment_size)
            self._direct_max = min([_DIRECT_MAX_BYTES, *(n for n in limits if n is not None)])

    def data_received(self, data: bytes) -> None:
        if not self._reading_frames:
            super().data_received(data)
            return
        pending: bytearray | None = None
        view: bytes | bytearray = data
        if self._unread:
            unread = self._unread
            pending = unread if isinstance(unread, bytearray) else bytearray(unread)
            pending += data
            view = pending
        end = len(view)
        at = 0
        while at < end:
            if self._passing:
                chunk = min(self._passing, end - at)
                self._passing -= chunk
                super().data_received(bytes(view[at : at + chunk]))
                at += chunk
                failed = self.conn.parser_exc is not None
                if failed or self.conn.state is not OPEN:
                    # websockets failed the socket (and uvicorn closed it: what follows is
                    # never read, as its parser would not have read it) or read the
                    # client's close (what follows is its to discard).
                    self._reading_frames = False
                    self._unread = b""
                    if not failed and at < end:
                        super().data_received(bytes(view[at:]))
                    return
                continue
            head = _frame_head(view, at, end)
            if head is None:
                break  # the header is not all here yet
            start, length, direct = head
            if direct and length <= self._direct_max and self._direct_open():
                if start + length > end:
                    break  # the payload is not all here yet
                payload = apply_mask(view[start : start + length], view[start - 4 : start])
                at = start + length
                receiver = self.receiver
                assert receiver is not None  # _direct_open checked it
                receiver(payload)
            else:
                self._passing = start + length - at
        if at == end:
            self._unread = b""
        elif pending is not None:
            del pending[:at]
            self._unread = pending
        else:
            self._unread = bytes(view[at:])

    def _direct_open(self) -> bool:
        """Whether a whole binary message may go to the receiver now, as
        :meth:`send_receive_event_to_app` would send it."""
        return (
            self.receiver is not None
            and not self.close_sent
            and self.queue.empty()
            and self.conn.current_size is None  # no fragmented message in progress
            and self.conn.state is OPEN
        )

    def _forget_request(self) -> bool:
        """Restart websockets' frame parser, whose generator still holds the handshake
        request (a local of the handshake step it began with), with a fresh one that
        starts where the old one waits: at the first frame, nothing read (websockets
        swaps its own parser the same way when it stops reading). ``True`` when it did:
        the parser then waits at a frame's start with nothing read."""
        conn = self.conn
        # A client sends no frame before it has the response; if one did, it stays.
        if conn.reader.buffer or conn.reader.eof or conn.parser_exc is not None:
            return False
        old = conn.parser
        conn.parser = Protocol.parse(conn)
        next(conn.parser)  # a generator runs to its first wait when started
        old.close()
        return True

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The ASGI task that reads this scope starts on the loop's next turn.
        if self.response.status_code == 101:
            # ASGI extensions are dicts, keyed by what they offer.
            self.scope["extensions"][EXTENSION] = {"frames": DirectFrames(self)}


def _frame_head(data: bytes | bytearray, at: int, end: int) -> tuple[int, int, bool] | None:
    """The frame starting at ``data[at]``: where its payload starts, how long the payload
    is, and whether it is a whole masked binary message with no extension bits (FIN,
    opcode 2); ``None`` while its header has not all arrived (RFC 6455 §5.2)."""
    if end - at < 2:
        return None
    head1 = data[at]
    head2 = data[at + 1]
    length = head2 & 0x7F
    start = at + 2
    if length == 126:
        if end - start < 2:
            return None
        length = int.from_bytes(data[start : start + 2], "big")
        start += 2
    elif length == 127:
        if end - start < 8:
            return None
        length = int.from_bytes(data[start : start + 8], "big")
        start += 8
    masked = head2 & _MASKED
    if masked:
        start += 4
        if start > end:
            return None
    return start, length, head1 == _BINARY_FIN and bool(masked)
