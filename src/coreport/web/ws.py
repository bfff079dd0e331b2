"""The WebSocket endpoint: a thin adapter from Starlette to a sync ``Session``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect

from coreport.access.limits import TokenBucket
from coreport.access.live import LiveSocket
from coreport.access.policy import allows, write_action
from coreport.protocol import codes
from coreport.protocol.messages import ProtocolError
from coreport.sync.names import BadReportId, comments_doc, report_doc
from coreport.sync.session import Identity, Session
from coreport.web.auth import grant_of

if TYPE_CHECKING:
    from coreport.web.app import Service

log = logging.getLogger(__name__)


class StarletteTransport:
    """A Starlette WebSocket seen as the session's ``Transport``."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def receive(self) -> bytes | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        data = message.get("bytes")
        if data is None:
            raise ProtocolError("text frames are not part of the protocol", codes.UNSUPPORTED_DATA)
        return bytes(data)

    async def send(self, data: bytes) -> None:
        await self._ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)


async def report_socket(websocket: WebSocket) -> None:
    await _serve(websocket, comments=False)


async def comments_socket(websocket: WebSocket) -> None:
    await _serve(websocket, comments=True)


async def _serve(websocket: WebSocket, *, comments: bool) -> None:
    service: Service = websocket.app.state.service
    report_id = websocket.path_params["report_id"]
    await websocket.accept()
    try:
        name = comments_doc(report_id) if comments else report_doc(report_id)
    except BadReportId as exc:
        await websocket.close(codes.BAD_REQUEST.code, str(exc)[:123])
        return
    grant = grant_of(websocket)
    if grant is None or grant.report_id != report_id or grant.comments != comments:
        # The access middleware decides every document socket; without its word, refuse.
        await websocket.close(codes.FORBIDDEN.code, codes.FORBIDDEN.reason)
        return
    principal = grant.principal
    user = principal.user
    settings = service.settings
    loop = asyncio.get_running_loop()
    client = websocket.client
    label = f"{name}@{client.host}:{client.port}" if client else name
    session = Session(
        StarletteTransport(websocket),
        service.metrics,
        label=label,
        ack=websocket.query_params.get("ack") in {"1", "true"},
        max_message_bytes=settings.max_message_bytes,
        send_buffer_bytes=settings.send_buffer_bytes,
        presence=service.presence,
        writable=allows(grant.role, write_action(comments)),
        identity=Identity(user.id, user.name, user.color) if user else None,
        budget=TokenBucket(settings.messages_per_second, settings.message_burst, loop.time),
        max_document_bytes=settings.max_document_bytes,
    )
    try:
        room = await service.rooms.acquire(name)
    except Exception as exc:
        log.error("cannot open %s: %s", name, exc)
        await _close_quietly(websocket, codes.TRY_AGAIN_LATER.code, "document unavailable, retry")
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


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code, reason)
    except (WebSocketDisconnect, RuntimeError) as exc:
        log.debug("client already gone: %s", exc)
