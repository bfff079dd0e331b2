"""Document sockets (``/ws/reports/{id}`` and ``/ws/reports/{id}/comments``), served
straight from ASGI: a thin adapter from uvicorn's WebSocket events to a sync ``Session``.

No router, exception middleware or Starlette ``WebSocket`` sits between uvicorn and the
session: each cost memory for every open socket and Python calls for every message, and
a document socket needs none of them (the access middleware in front has already decided
who it is and what it may do).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from coreport.access.limits import TokenBucket
from coreport.access.live import LiveSocket
from coreport.access.policy import RouteTable, allows, write_action
from coreport.protocol import codes
from coreport.protocol.messages import ProtocolError
from coreport.sync.names import BadReportId, comments_doc, report_doc
from coreport.sync.session import Identity, Session
from coreport.web.auth import grant_in
from coreport.web.wsproto import DirectFrames, direct_frames

if TYPE_CHECKING:
    from coreport.web.app import Service

log = logging.getLogger(__name__)


class AsgiTransport:
    """An accepted ASGI WebSocket seen as the session's ``Transport``."""

    __slots__ = ("_direct", "_receive", "_send")

    def __init__(self, receive: Receive, send: Send, direct: DirectFrames | None = None) -> None:
        self._receive = receive
        self._send = send
        self._direct = direct

    async def receive(self) -> bytes | None:
        message = await self._receive()
        if message["type"] != "websocket.receive":
            return None  # websocket.disconnect
        data = message.get("bytes")
        if data is None:
            raise ProtocolError("text frames are not part of the protocol", codes.UNSUPPORTED_DATA)
        return bytes(data)

    def try_send(self, messages: Sequence[bytes]) -> bool:
        return self._direct is not None and self._direct.try_send(messages)

    def receive_with(self, receiver: Callable[[bytes | None], object] | None) -> bool:
        if self._direct is None:
            return False
        self._direct.receive_with(receiver)
        return True

    async def send(self, data: bytes) -> None:
        await self._send({"type": "websocket.send", "bytes": data})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


class DocumentSockets:
    """ASGI middleware that serves document sockets itself and passes everything else on."""

    def __init__(self, app: ASGIApp, *, service: Service) -> None:
        self.app = app
        self._service = service

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Returns the serving coroutine rather than awaiting it: no frame of this call for
        # a socket's whole life.
        if scope["type"] == "websocket":
            target = RouteTable.websocket(scope["path"])
            if target is not None:
                return _serve(scope, receive, send, self._service, *target)
        return self.app(scope, receive, send)


async def _serve(
    scope: Scope, receive: Receive, send: Send, service: Service, report_id: str, comments: bool
) -> None:
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    transport = AsgiTransport(receive, send, direct_frames(scope))
    try:
        name = comments_doc(report_id) if comments else report_doc(report_id)
    except BadReportId as exc:
        await _close_quietly(transport, codes.BAD_REQUEST.code, str(exc)[:123])
        return
    grant = grant_in(scope)
    if grant is None or grant.report_id != report_id or grant.comments != comments:
        # The access middleware decides every document socket; without its word, refuse.
        await _close_quietly(transport, codes.FORBIDDEN.code, codes.FORBIDDEN.reason)
        return
    principal = grant.principal
    user = principal.user
    settings = service.settings
    loop = asyncio.get_running_loop()
    client = scope.get("client")
    label = f"{name}@{client[0]}:{client[1]}" if client else name
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    session = Session(
        transport,
        service.metrics,
        label=label,
        ack=query.get("ack", [""])[-1] in {"1", "true"},
        max_message_bytes=settings.max_message_bytes,
        send_buffer_bytes=settings.send_buffer_bytes,
        presence=service.presence,
        writable=allows(grant.role, write_action(comments)),
        identity=Identity(user.id, user.name, user.color) if user else None,
        budget=TokenBucket(settings.messages_per_second, settings.message_burst, loop.time),
        max_document_bytes=settings.max_document_bytes,
        cork=service.cork,
    )
    # The scope lives as long as the socket, and everything that reads its headers (the
    # handshake, the access check, the lines above) is done: a browser's cookies and user
    # agent would otherwise stay, a kilobyte or more per socket. uvicorn reads only the
    # client address and the path from it later.
    scope["headers"] = []
    try:
        room = await service.rooms.acquire(name)
    except Exception as exc:
        log.error("cannot open %s: %s", name, exc)
        await _close_quietly(transport, codes.TRY_AGAIN_LATER.code, "document unavailable, retry")
        return
    live = LiveSocket(principal, report_id, comments, grant.role, session)
    if principal.via != "insecure":
        service.live.add(live, grant.checked_at)
    service.sessions.add(session)
    try:
        await session.serve(room)
    finally:
        service.live.discard(live)
        service.sessions.discard(session)
        service.rooms.release(room)


async def _close_quietly(transport: AsgiTransport, code: int, reason: str) -> None:
    try:
        await transport.close(code, reason)
    except Exception as exc:  # the server refuses to send once the client has gone
        log.debug("client already gone: %s", exc)
