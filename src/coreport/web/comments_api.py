"""REST routes of comment threads, for integrations (a CI bot, a chat bridge): list, start,
reply, resolve and reopen. Each write is an edit of the report's comments document through
``Rooms.edit``, so open editors see it live; a text anchor is made on the server from quoted
words and follows later edits like one made in the editor.

Reading needs the "view" action on the report, writing "comment"
(:mod:`coreport.access.policy`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Self, TypeVar

from pycrdt import Doc
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from coreport.comments import threads
from coreport.comments.anchors import QuoteNotFound, text_anchor
from coreport.comments.threads import Anchor, CommentsError, ThreadNotFound
from coreport.reports import layout
from coreport.sync.names import comments_doc, report_doc
from coreport.web.auth import principal_of
from coreport.web.reports_api import errors, reports_of
from coreport.web.rest import error_response, invalid, model_response, parse_query, read_json

_BODY = 256 * 1024

Text = Annotated[str, Field(min_length=1, max_length=threads.MAX_TEXT)]
Mentions = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=50)
]


class AnchorIn(BaseModel):
    """Where a new thread points: the whole report, a panel, or quoted words of the text
    (the ``occurrence``-th appearance, counting from 0, within one paragraph)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["report", "text", "panel"] = "report"
    quote: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    occurrence: Annotated[int, Field(ge=0)] = 0
    panel_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind == "text" and self.quote is None:
            raise ValueError("a text anchor needs quote")
        if self.kind == "panel" and self.panel_id is None:
            raise ValueError("a panel anchor needs panel_id")
        return self


class ThreadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text
    mentions: Mentions = []
    anchor: AnchorIn = AnchorIn()


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text
    mentions: Mentions = []


class ThreadsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: bool | None = None


def thread_json(thread: threads.Thread) -> dict[str, Any]:
    """A thread as the API shows it: its anchor without the fields its kind does not use
    (relative positions in base64)."""
    data: dict[str, Any] = thread.model_dump(mode="json")
    data["anchor"] = thread.anchor.model_dump(mode="json", exclude_none=True)
    return data


T = TypeVar("T")


def _author(request: Request) -> str:
    principal = principal_of(request)
    return principal.user_id or principal.label


def _signed(request: Request, write: Callable[[Doc[Any]], T]) -> Callable[[Doc[Any]], T]:
    """``write`` that also sets the author's name in the ``names`` map when the caller is
    a user (an API key's owner, a CI bot), in the same transaction as the comment."""
    user = principal_of(request).user

    def signed(doc: Doc[Any]) -> T:
        if user is not None:
            threads.remember_name(doc, user.id, user.name)
        return write(doc)

    return signed


async def _anchor(request: Request, report_id: str, given: AnchorIn) -> Anchor:
    rooms = reports_of(request).rooms
    if given.kind == "text":
        quote = given.quote or ""
        try:
            return await rooms.read(
                report_doc(report_id),
                lambda doc: text_anchor(doc, quote, occurrence=given.occurrence),
            )
        except QuoteNotFound as exc:
            raise invalid(["body", "anchor", "quote"], str(exc)) from None
    if given.kind == "panel":
        panel_id = given.panel_id or ""
        if not await rooms.read(report_doc(report_id), lambda doc: panel_id in layout.panels(doc)):
            raise invalid(["body", "anchor", "panel_id"], f"no panel {panel_id!r} in the report")
        return Anchor(kind="panel", panel_id=panel_id)
    return Anchor(kind="report")


async def _report(request: Request) -> str:
    report_id: str = request.path_params["report_id"]
    await reports_of(request).info(report_id)
    return report_id


def _comment_errors(exc: CommentsError) -> Response:
    if isinstance(exc, LookupError):
        return error_response(404, str(exc))
    if isinstance(exc, PermissionError):
        return error_response(403, str(exc))
    return invalid(["body", "text"], str(exc)).response()


@errors
async def list_threads(request: Request) -> Response:
    query = parse_query(request, ThreadsQuery)
    report_id = await _report(request)
    found = await reports_of(request).rooms.read(
        comments_doc(report_id), lambda doc: threads.read_threads(doc, resolved=query.resolved)
    )
    return JSONResponse({"threads": [thread_json(t) for t in found]})


@errors
async def get_thread(request: Request) -> Response:
    report_id = await _report(request)
    thread_id: str = request.path_params["thread_id"]
    try:
        thread = await reports_of(request).rooms.read(
            comments_doc(report_id), lambda doc: threads.read_thread(doc, thread_id)
        )
    except ThreadNotFound as exc:
        return error_response(404, str(exc))
    return JSONResponse(thread_json(thread))


@errors
async def add_thread(request: Request) -> Response:
    body = await read_json(request, ThreadIn, max_bytes=_BODY)
    report_id = await _report(request)
    anchor = await _anchor(request, report_id, body.anchor)
    author, now = _author(request), reports_of(request).now()
    try:
        thread, _ = await reports_of(request).rooms.edit(
            comments_doc(report_id),
            _signed(
                request,
                lambda doc: threads.add_thread(
                    doc,
                    anchor=anchor,
                    author=author,
                    text=body.text,
                    now=now,
                    mentions=body.mentions,
                ),
            ),
        )
    except CommentsError as exc:
        return _comment_errors(exc)
    return JSONResponse(thread_json(thread), status_code=201)


@errors
async def add_reply(request: Request) -> Response:
    body = await read_json(request, ReplyIn, max_bytes=_BODY)
    report_id = await _report(request)
    thread_id: str = request.path_params["thread_id"]
    author, now = _author(request), reports_of(request).now()
    try:
        comment, _ = await reports_of(request).rooms.edit(
            comments_doc(report_id),
            _signed(
                request,
                lambda doc: threads.reply(
                    doc, thread_id, author=author, text=body.text, now=now, mentions=body.mentions
                ),
            ),
        )
    except CommentsError as exc:
        return _comment_errors(exc)
    return model_response(comment, status=201)


async def _set_resolved(request: Request, resolved: bool) -> Response:
    report_id = await _report(request)
    thread_id: str = request.path_params["thread_id"]
    author, now = _author(request), reports_of(request).now()

    def change(doc: Any) -> threads.Thread:
        if resolved:
            threads.resolve(doc, thread_id, by=author, now=now)
        else:
            threads.reopen(doc, thread_id)
        return threads.read_thread(doc, thread_id)

    try:
        thread, _ = await reports_of(request).rooms.edit(comments_doc(report_id), change)
    except CommentsError as exc:
        return _comment_errors(exc)
    return JSONResponse(thread_json(thread))


@errors
async def resolve_thread(request: Request) -> Response:
    return await _set_resolved(request, True)


@errors
async def reopen_thread(request: Request) -> Response:
    return await _set_resolved(request, False)


routes: list[BaseRoute] = [
    Route("/api/reports/{report_id}/comments", list_threads, methods=["GET"]),
    Route("/api/reports/{report_id}/comments", add_thread, methods=["POST"]),
    Route("/api/reports/{report_id}/comments/{thread_id}", get_thread, methods=["GET"]),
    Route("/api/reports/{report_id}/comments/{thread_id}/replies", add_reply, methods=["POST"]),
    Route(
        "/api/reports/{report_id}/comments/{thread_id}/resolve", resolve_thread, methods=["POST"]
    ),
    Route("/api/reports/{report_id}/comments/{thread_id}/reopen", reopen_thread, methods=["POST"]),
]
