"""The embed routes: what an embed link shows, for the embed page (``/embed/{token}``) that
other tools put in an iframe.

* ``GET /api/embed/{token}``: the panel, or the report rendered read-only, with the data
  its charts draw (:mod:`coreport.reports.embed` decides what that is).
* ``GET /api/embed/{token}/stream``: new points of those charts, as Server-Sent Events in
  the format of ``/api/runs/stream``, restricted to the embed's runs and metrics. It ends
  when the link is revoked or expires, or the report is deleted.

The access middleware has checked the token in the path (``Need.EMBED``) and put the embed
principal in the scope; nothing else from the request (cookies, keys) is looked at.
Embed links are created with the report's other links: ``POST /api/reports/{id}/links``
with ``"embed"`` (:mod:`coreport.web.access_api`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from coreport.access.live import LiveAccess, LiveSocket
from coreport.access.model import EMBED_ROLE, EmbedScope, Principal, ShareLink
from coreport.ports import StoreError
from coreport.protocol.codes import CloseCode
from coreport.reports.embed import EmbedViews, MetricFeed, PanelNotFound
from coreport.reports.service import ReportNotFound
from coreport.web.auth import principal_of
from coreport.web.rest import error_response
from coreport.web.runs_stream import EventStream

if TYPE_CHECKING:
    from coreport.web.app import Service

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

#: Embed answers are read through a secret address: no cache may keep them.
_NO_STORE = {"cache-control": "no-store"}


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _embed_of(request: Request) -> tuple[Principal, ShareLink, EmbedScope]:
    principal = principal_of(request)
    link = principal.link
    if principal.via != "embed" or link is None or link.embed is None:
        raise RuntimeError(f"{request.url.path} is an embed route: is it Need.EMBED?")
    return principal, link, link.embed


def _errors(handler: Handler) -> Handler:
    """Turn domain and storage errors into JSON answers (the one place that does)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except PanelNotFound as exc:
            return error_response(404, str(exc), headers=_NO_STORE)
        except ReportNotFound:
            return error_response(404, "unknown report", headers=_NO_STORE)
        except StoreError as exc:
            log.error("%s %s: storage failed: %s", request.method, request.url.path, exc)
            return error_response(
                503, "storage is unavailable, retry", headers={"retry-after": "1"}
            )

    return wrapped


@_errors
async def embed_view(request: Request) -> Response:
    """``GET /api/embed/{token}``: ``{"kind": "panel", "panel", "runs", "series", "live"}``
    or ``{"kind": "report", "title", "html", "panels", "live"}``."""
    _, link, scope = _embed_of(request)
    service = _service(request)
    views = EmbedViews(service.reports, service.runs)
    if scope.panel_id is not None:
        body = {"kind": "panel", **(await views.panel(link.report_id, scope.panel_id)).to_json()}
    else:
        body = {"kind": "report", **(await views.report(link.report_id)).to_json()}
    body["expires_at"] = link.expires_at.isoformat() if link.expires_at else None
    return JSONResponse(body, headers=_NO_STORE)


@_errors
async def embed_stream(request: Request) -> Response:
    """``GET /api/embed/{token}/stream``: the live points of the embed's charts."""
    principal, link, scope = _embed_of(request)
    service = _service(request)
    following = await EmbedViews(service.reports, service.runs).following(
        link.report_id, scope.panel_id
    )
    if not following.run_ids:
        return error_response(404, "this embed shows no runs that get new points")
    feed = MetricFeed(
        service.bus,
        following.run_ids,
        following.metrics,
        max_pending=service.runs.limits.live_max_pending,
    )
    return WatchedStream(EventStream(feed), service.live, principal, link.report_id)


class _Withdrawal:
    """What live access control can do to an embed stream: end it (it never writes)."""

    def __init__(self) -> None:
        self.ended = asyncio.Event()

    def close(self, code: CloseCode, detail: str = "") -> None:
        self.ended.set()

    def set_writable(self, writable: bool) -> None:
        pass


class WatchedStream(Response):
    """An event stream that live access control watches like a socket: when the link stops
    working (revoked, expired, report deleted) the stream ends at once, on every instance.
    A browser's ``EventSource`` then reconnects, is refused (410) and stops."""

    def __init__(
        self, stream: EventStream, live: LiveAccess, principal: Principal, report_id: str
    ) -> None:
        self._stream = stream
        self._live = live
        self._principal = principal
        self._report_id = report_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        withdrawal = _Withdrawal()
        watched = LiveSocket(self._principal, self._report_id, False, EMBED_ROLE, withdrawal)
        # Checked "since ever": any recent event about this link is checked again, so a
        # revocation between the middleware's check and now is not missed.
        self._live.add(watched, checked_at=float("-inf"))
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async def receiving() -> Message:
            # The stream ends when the client goes away; a withdrawal looks the same to it.
            if withdrawal.ended.is_set():
                return {"type": "http.disconnect"}
            message = asyncio.ensure_future(receive())
            ended = asyncio.ensure_future(withdrawal.ended.wait())
            try:
                await asyncio.wait({message, ended}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (message, ended):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            return message.result() if not message.cancelled() else {"type": "http.disconnect"}

        try:
            await self._stream(scope, receiving, sending)
        finally:
            self._live.discard(watched)
        if started and withdrawal.ended.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})


routes: list[BaseRoute] = [
    Route("/api/embed/{token}", embed_view, methods=["GET"]),
    Route("/api/embed/{token}/stream", embed_stream, methods=["GET"]),
]
