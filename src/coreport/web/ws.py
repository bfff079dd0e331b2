"""The WebSocket endpoint: a thin adapter from Starlette to a sync ``Session``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect

from coreport.protocol import codes
from coreport.protocol.messages import ProtocolError
from coreport.sync.names import BadReportId, comments_doc, report_doc
from coreport.sync.session import Session

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
    client = websocket.client
    label = f"{name}@{client.host}:{client.port}" if client else name
    session = Session(
        StarletteTransport(websocket),
        service.metrics,
        label=label,
        ack=websocket.query_params.get("ack") in {"1", "true"},
        max_message_bytes=service.settings.max_message_bytes,
        send_buffer_bytes=service.settings.send_buffer_bytes,
        presence=service.presence,
    )
    try:
        room = await service.rooms.acquire(name)
    except Exception as exc:
        log.error("cannot open %s: %s", name, exc)
        await _close_quietly(websocket, codes.TRY_AGAIN_LATER.code, "document unavailable, retry")
        return
    service.sessions.add(session)
    try:
        await session.serve(room)
    finally:
        service.sessions.discard(session)
        service.rooms.release(room)


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code, reason)
    except (WebSocketDisconnect, RuntimeError) as exc:
        log.debug("client already gone: %s", exc)
