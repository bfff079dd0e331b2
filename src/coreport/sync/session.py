"""One client connection: reads frames into the room, writes the room's messages out.

The session knows nothing of Starlette; the web layer hands it a :class:`Transport`.
Outgoing messages go through a queue with a byte cap, drained by a writer task the
session owns: a client that stops reading is disconnected instead of growing memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pycrdt import write_message

from coreport.metrics import Metrics
from coreport.protocol import codes, messages
from coreport.protocol.codes import CloseCode
from coreport.protocol.messages import (
    EMPTY_UPDATE,
    AwarenessEntry,
    AwarenessUpdate,
    MessageType,
    ProtocolError,
    SyncStep2,
    SyncUpdate,
    parse_message,
)
from coreport.sync.cork import SendCork
from coreport.sync.flag import Flag
from coreport.sync.presence import PresenceTracker
from coreport.sync.room import Room

log = logging.getLogger(__name__)


class Transport(Protocol):
    async def receive(self) -> bytes | None:
        """The next binary frame, or None once the client has gone.

        Raises ``ProtocolError`` for frames the protocol does not allow (text frames).
        """

    def try_send(self, messages: Sequence[bytes]) -> bool:
        """Send ``messages`` now, in order, without waiting, if the connection can take
        them at once; ``False`` (nothing sent) means they must go through ``send``."""

    def receive_with(self, receiver: Callable[[bytes | None], object] | None) -> bool:
        """Hand binary frames to ``receiver`` as they arrive, in order with what
        ``receive`` returns, instead of returning them from ``receive``, and call it with
        ``None`` once for each thing ``receive`` has to return (a disconnect, a refused
        frame, frames that must wait behind those); ``None`` stops it. ``False``: the
        transport has no such path (everything comes from ``receive``). ``receiver``
        must not raise."""

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class MessageBudget(Protocol):
    def take(self) -> bool:
        """Spend one message of the socket's rate limit; ``False`` when it is used up."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the server knows a socket to be: presence and the ``user`` field of the
    socket's awareness states show this, whatever the client claims."""

    user_id: str
    name: str
    color: str


#: y-protocols auth "permission denied" (message type 2, subtype 0, reason string):
#: standard clients log it and carry on.
_PERMISSION_DENIED = 0


def permission_denied(reason: str) -> bytes:
    return bytes((MessageType.AUTH, _PERMISSION_DENIED)) + write_message(reason.encode())


class Session:
    """A connected client of one room; implements the room's ``Peer``.

    ``writable=False`` makes the socket read-only: its document updates are dropped before
    the room sees them (never applied, stored or relayed) and answered with a y-protocols
    "permission denied"; awareness still flows. ``budget`` limits its message rate (close
    4029), ``max_document_bytes`` the size its updates may grow the document to (close
    4413, the update refused and the document kept).
    """

    # Slots: one per open socket.
    __slots__ = (
        "__weakref__",  # tests check that nothing keeps one alive
        "_ack",
        "_acked",
        "_announced",
        "_budget",
        "_buffered",
        "_closing",
        "_cork",
        "_done",
        "_identity",
        "_kept",
        "_max_document_bytes",
        "_max_message_bytes",
        "_metrics",
        "_outgoing",
        "_presence",
        "_reader",
        "_send_buffer_bytes",
        "_stopped",
        "_transport",
        "_writer",
        "label",
        "member",
        "writable",
    )

    def __init__(
        self,
        transport: Transport,
        metrics: Metrics,
        *,
        label: str,
        ack: bool = False,
        max_message_bytes: int = 16 * 1024 * 1024,
        send_buffer_bytes: int = 64 * 1024 * 1024,
        presence: PresenceTracker | None = None,
        writable: bool = True,
        identity: Identity | None = None,
        budget: MessageBudget | None = None,
        max_document_bytes: int | None = None,
        cork: SendCork | None = None,
    ) -> None:
        self._transport = transport
        self._metrics = metrics
        self.label = label
        self._ack = ack
        self._acked = 0
        self._max_message_bytes = max_message_bytes
        self._send_buffer_bytes = send_buffer_bytes
        # Made when something must wait, dropped once sent: most sockets have nothing
        # queued most of the time, and an empty deque costs over 600 bytes.
        self._outgoing: deque[bytes] | None = None
        self._buffered = 0
        # Sending what waits in ``_outgoing``, or closing; made when needed and gone once
        # all is sent, so an idle socket has none. What is sent meanwhile queues behind.
        self._writer: asyncio.Task[None] | None = None
        self._cork = cork
        # Written to directly this turn: further messages wait in ``_outgoing`` for the
        # cork's flush on the next turn (see ``flush``).
        self._kept = False
        self._closing: tuple[CloseCode, str] | None = None
        # Reads what the transport cannot hand over directly (see ``serve``): as many
        # messages as it has announced, or all (None) where it hands over none.
        self._reader: asyncio.Task[None] | None = None
        self._announced: int | None = 0
        self._stopped = Flag()  # set once the socket is closed (or being closed)
        self._done = Flag()
        self._presence = presence
        self.member = f"{label}#{id(self):x}"
        self.writable = writable
        self._identity = identity
        self._budget = budget
        self._max_document_bytes = max_document_bytes

    # -- Peer ------------------------------------------------------------------------

    @property
    def wants_ack(self) -> bool:
        return self._ack

    def send(self, data: bytes) -> None:
        if self._closing is not None:
            return
        # The fast path: nothing waits before this message and the connection takes it
        # now. More messages in the same turn of the event loop are kept and written
        # together on the next turn (see ``SendCork``): one write for a whole batch.
        # Otherwise (the client reads slowly, or the transport has no direct path) the
        # writer task sends them, merged with whatever else piles up.
        idle = not (self._outgoing or self._writer or self._kept)
        cork = self._cork
        if idle:
            if cork is not None and cork.holding:
                # More are coming: keep this one too (written when the hold ends).
                self._kept = True
                cork.keep(self)
            elif self._transport.try_send((data,)):
                self._metrics.bytes_out.inc(len(data))
                if cork is not None:
                    self._kept = True
                    cork.keep(self)
                return
        if self._buffered + len(data) > self._send_buffer_bytes:
            self._metrics.errors.labels("slow_consumer").inc()
            self.close(codes.SLOW_CONSUMER, f"{self._buffered} bytes unsent")
            return
        outgoing = self._outgoing
        if outgoing is None:
            outgoing = self._outgoing = deque()
        outgoing.append(data)
        self._buffered += len(data)
        if not self._kept:
            self._wake_writer()

    def flush(self) -> None:
        """Write what was kept in one go, or leave it to the writer task if the
        connection cannot take it now (``SendCork``)."""
        self._kept = False
        outgoing = self._outgoing
        if (
            self._closing is None
            and self._writer is None
            and outgoing
            and self._transport.try_send(outgoing)
        ):
            self._metrics.bytes_out.inc(self._buffered)
            self._outgoing = None
            self._buffered = 0
            return
        if outgoing:
            self._wake_writer()

    def ack(self, seq: int) -> None:
        self._acked += 1
        self.send(messages.ack(self._acked, seq))

    def set_writable(self, writable: bool) -> None:
        """Change the socket's rights while it stays open (e.g. its role changed)."""
        self.writable = writable

    def close(self, code: CloseCode, detail: str = "") -> None:
        if self._closing is None:
            self._closing = (code, detail)
            if code.code != codes.NORMAL.code:
                log.info("closing %s: %d %s %s", self.label, code.code, code.reason, detail)
            self._wake_writer()

    def _wake_writer(self) -> None:
        if self._writer is None:
            loop = asyncio.get_running_loop()
            self._writer = loop.create_task(self._write(), name=f"coreport-send:{self.label}")

    # -- running -----------------------------------------------------------------------

    async def finished(self) -> None:
        """Wait until the connection has stopped reading and writing."""
        await self._done.wait()

    async def serve(self, room: Room) -> None:
        """Run the connection until either side closes it; leaves no task behind."""
        self._metrics.open_sockets.inc()
        room.join(self)
        if self._presence is not None:
            identity = self._identity
            self._presence.joined(
                self.member,
                room.name,
                name=identity.name if identity else None,
                color=identity.color if identity else None,
            )
        try:
            # Where the transport can, frames are handled as they arrive, without a task
            # switch each, and a reader task reads only what the transport announces it
            # has queued (the disconnect, a text frame, frames that arrived before this
            # point or behind those), then ends: an idle socket has no task of its own.
            # Elsewhere a reader runs throughout.
            # The reader ends when the client goes or misbehaves; the writer then closes
            # the socket, as it does when the server closes it first (a client need not
            # answer a close, so the reader is not waited for).
            if not self._transport.receive_with(lambda data: self._arrived(room, data)):
                self._announced = None
                self._start_reader(room)
            await self._stopped.wait()
        finally:
            self._transport.receive_with(None)
            reader = self._reader
            if reader is not None:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            room.leave(self)
            if self._presence is not None:
                self._presence.left(self.member)
            self.close(codes.NORMAL)
            if self._writer is not None:
                await self._writer
            self._metrics.open_sockets.dec()
            self._done.set()

    def _arrived(self, room: Room, data: bytes | None) -> None:
        if data is not None:
            self._take(room, data)
            return
        assert self._announced is not None
        self._announced += 1
        if self._reader is None and self._closing is None:
            self._start_reader(room)

    def _start_reader(self, room: Room) -> None:
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read(room), name=f"coreport-recv:{self.label}")

    async def _read(self, room: Room) -> None:
        try:
            # The frame is handled in its own call, so nothing keeps it alive while the
            # next one is awaited (an idle socket holds no message).
            while self._take(room, await self._transport.receive()):
                if self._announced is not None:
                    self._announced -= 1
                    if not self._announced:
                        self._reader = None  # all read: the next announcement starts another
                        return
        except Exception as exc:  # the transport refused a frame (text) or broke
            self._failed(exc)
        self._stop_reading()

    def _take(self, room: Room, data: bytes | None) -> bool:
        """Handle one frame (``None``: the client has gone); ``False`` once the session
        reads no more. Never raises: what goes wrong closes the socket."""
        if self._closing is not None:
            return False
        try:
            if self._handle(room, data):
                return True
        except Exception as exc:
            self._failed(exc)
        self._stop_reading()
        return False

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, ProtocolError):
            self._metrics.errors.labels("protocol").inc()
            self.close(exc.close, exc.detail)
            return
        self._metrics.errors.labels("internal").inc()
        log.error("handling a message from %s failed", self.label, exc_info=exc)
        self.close(codes.INTERNAL_ERROR, type(exc).__name__)

    def _stop_reading(self) -> None:
        # The client is gone or misbehaved: stop writing to it.
        if self._closing is None:
            self._closing = (codes.NORMAL, "client left")
            self._wake_writer()

    def _handle(self, room: Room, data: bytes | None) -> bool:
        """Handle one frame; ``False`` once the client has gone or must be closed."""
        if data is None:
            return False
        self._metrics.bytes_in.inc(len(data))
        if len(data) > self._max_message_bytes:
            raise ProtocolError(
                f"{len(data)} bytes over the {self._max_message_bytes} limit",
                codes.MESSAGE_TOO_BIG,
            )
        if self._budget is not None and not self._budget.take():
            self._metrics.errors.labels("rate_limited").inc()
            self.close(codes.RATE_LIMITED, "slow down")
            return False
        message = parse_message(data)
        if isinstance(message, SyncStep2 | SyncUpdate) and message.update != EMPTY_UPDATE:
            if not self.writable:
                self._metrics.errors.labels("write_refused").inc()
                self.send(permission_denied("read-only access: update not saved"))
                return True
            limit = self._max_document_bytes
            if limit is not None and room.size_bytes + len(message.update) > limit:
                self._metrics.errors.labels("document_too_large").inc()
                self.close(codes.DOCUMENT_TOO_LARGE, f"the limit is {limit} bytes")
                return False
        elif isinstance(message, AwarenessUpdate) and self._identity is not None:
            message = _stamped(message, self._identity)
        room.receive(self, message)
        if self._presence is not None and isinstance(message, AwarenessUpdate):
            self._presence.saw_awareness(self.member, message)
        return True

    def _next_frame(self) -> bytes:
        """The next message to send. When a client has fallen behind, the document
        updates queued for it back to back are merged into one update: one frame, one
        apply on the client, instead of one per update."""
        outgoing = self._outgoing
        assert outgoing is not None  # the writer calls this only while messages wait
        data = outgoing.popleft()
        self._buffered -= len(data)
        if not (outgoing and messages.is_sync_update(data)):
            return data
        run = [data]
        while outgoing and messages.is_sync_update(outgoing[0]):
            following = outgoing.popleft()
            self._buffered -= len(following)
            run.append(following)
        if len(run) == 1:
            return data
        return messages.merged_sync_update(run)

    async def _write(self) -> None:
        try:
            while self._outgoing and self._closing is None:
                data = self._next_frame()
                await self._transport.send(data)
                self._metrics.bytes_out.inc(len(data))
        except Exception as exc:
            # The socket broke under us; the reader will see the disconnect.
            log.debug("sending to %s failed: %s", self.label, exc)
            self._closing = self._closing or (codes.NORMAL, "send failed")
        finally:
            if self._closing is None:
                # All sent: the next message that must wait makes a new writer.
                self._outgoing = None
                self._writer = None
        if self._closing is None:
            return
        self._outgoing = None
        self._buffered = 0
        self._stopped.set()
        code, detail = self._closing
        try:
            await self._transport.close(code.code, _reason(code, detail))
        except Exception as exc:
            log.debug("closing %s failed: %s", self.label, exc)


def _stamped(update: AwarenessUpdate, identity: Identity) -> AwarenessUpdate:
    """``update`` with the server's identity in each state's ``user`` field."""
    entries = []
    for entry in update.entries:
        if not entry.removed:
            state = json.loads(entry.state)
            if isinstance(state, dict):
                claimed = state.get("user")
                user = dict(claimed) if isinstance(claimed, dict) else {}
                user.update(id=identity.user_id, name=identity.name, color=identity.color)
                state["user"] = user
                entry = AwarenessEntry(entry.client_id, entry.clock, json.dumps(state))
        entries.append(entry)
    return AwarenessUpdate(tuple(entries))


def _reason(code: CloseCode, detail: str) -> str:
    # A close frame's reason is at most 123 bytes of UTF-8.
    text = f"{code.reason}: {detail}" if detail else code.reason
    return text.encode()[:123].decode("utf-8", "ignore")
