"""Comment threads: pydantic views of the comments document and the ``change``
functions the REST layer runs through ``Rooms.edit`` (and the views through
``Rooms.read``). Every function is pure: the caller passes the author and the time.

Permissions beyond authorship (who may comment at all) are the access layer's; here a
comment is edited or deleted only by its author, unless the caller says the actor
moderates the report.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Self

from pycrdt import Array, Doc, Map
from pydantic import BaseModel, ConfigDict, Field, model_validator

from coreport.comments import layout
from coreport.comments.layout import timestamp

MAX_TEXT = 10_000
MAX_EMOJI = 32


class CommentsError(Exception):
    """Base of the errors a comments change raises (before changing anything)."""


class ThreadNotFound(CommentsError, LookupError):
    pass


class CommentNotFound(CommentsError, LookupError):
    pass


class NotAuthor(CommentsError, PermissionError):
    pass


class BadComment(CommentsError, ValueError):
    pass


class Anchor(BaseModel):
    """What a thread is about: a range of text, a panel, or the whole report."""

    model_config = ConfigDict(extra="allow", ser_json_bytes="base64", val_json_bytes="base64")

    kind: Literal["text", "panel", "report"] = "report"
    rel_start: bytes | None = None
    rel_end: bytes | None = None
    panel_id: str | None = None
    quote: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind == "text" and (self.rel_start is None or self.rel_end is None):
            raise ValueError("a text anchor needs rel_start and rel_end")
        if self.kind == "panel" and not self.panel_id:
            raise ValueError("a panel anchor needs panel_id")
        return self


class Comment(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    author: str
    text: str
    mentions: list[str] = []
    created_at: str
    edited_at: str | None = None
    deleted: bool = False
    #: user id -> the emoji that user reacted with
    reactions: dict[str, list[str]] = {}


class Thread(BaseModel):
    model_config = ConfigDict(extra="allow", ser_json_bytes="base64", val_json_bytes="base64")

    id: str
    anchor: Anchor
    resolved: bool = False
    resolved_by: str | None = None
    resolved_at: str | None = None
    created_by: str
    created_at: str
    comments: list[Comment] = Field(default_factory=list)


def new_id() -> str:
    return uuid.uuid4().hex


# -- changes -----------------------------------------------------------------------


def add_thread(
    doc: Doc[Any],
    *,
    anchor: Anchor,
    author: str,
    text: str,
    now: datetime,
    mentions: Sequence[str] = (),
) -> Thread:
    """Start a thread with its first comment; returns it as stored."""
    _check_text(text)
    thread_id = new_id()
    created_at = timestamp(now)
    anchor_data = anchor.model_dump(exclude_none=True)
    layout.threads(doc)[thread_id] = Map(
        {
            layout.ANCHOR: anchor_data,
            layout.RESOLVED: False,
            layout.CREATED_BY: author,
            layout.CREATED_AT: created_at,
            layout.COMMENTS: Array([_comment_map(author, text, mentions, created_at)]),
        }
    )
    return read_thread(doc, thread_id)


def reply(
    doc: Doc[Any],
    thread_id: str,
    *,
    author: str,
    text: str,
    now: datetime,
    mentions: Sequence[str] = (),
) -> Comment:
    """Add a comment at the end of a thread; returns it."""
    _check_text(text)
    comments = _comments(_thread(doc, thread_id))
    comments.append(_comment_map(author, text, mentions, timestamp(now)))
    return _comment_view(comments[len(comments) - 1])


def remember_name(doc: Doc[Any], user_id: str, name: str) -> None:
    """Set the author's own key of the ``names`` map to their current name, as the web app
    does when someone writes, so readers who never met them see a name, not an id."""
    names = layout.names(doc)
    if names.get(user_id) != name:
        names[user_id] = name


def resolve(doc: Doc[Any], thread_id: str, *, by: str, now: datetime) -> None:
    thread = _thread(doc, thread_id)
    thread[layout.RESOLVED] = True
    thread[layout.RESOLVED_BY] = by
    thread[layout.RESOLVED_AT] = timestamp(now)


def reopen(doc: Doc[Any], thread_id: str) -> None:
    thread = _thread(doc, thread_id)
    thread[layout.RESOLVED] = False
    thread[layout.RESOLVED_BY] = None
    thread[layout.RESOLVED_AT] = None


def edit_comment(
    doc: Doc[Any],
    thread_id: str,
    comment_id: str,
    *,
    actor: str,
    text: str,
    now: datetime,
    mentions: Sequence[str] = (),
    moderator: bool = False,
) -> None:
    _check_text(text)
    comment = _own_comment(doc, thread_id, comment_id, actor, moderator)
    if comment.get(layout.DELETED):
        raise BadComment("a deleted comment cannot be edited")
    comment[layout.TEXT] = text
    comment[layout.MENTIONS] = list(mentions)
    comment[layout.EDITED_AT] = timestamp(now)


def delete_comment(
    doc: Doc[Any],
    thread_id: str,
    comment_id: str,
    *,
    actor: str,
    now: datetime,
    moderator: bool = False,
) -> None:
    """Soft delete: the comment keeps its place, author and times; its text goes."""
    comment = _own_comment(doc, thread_id, comment_id, actor, moderator)
    comment[layout.DELETED] = True
    comment[layout.TEXT] = ""
    comment[layout.MENTIONS] = []
    comment[layout.EDITED_AT] = timestamp(now)


def react(
    doc: Doc[Any], thread_id: str, comment_id: str, *, user: str, emoji: str, on: bool = True
) -> None:
    """Add (``on``) or take back ``user``'s ``emoji`` on a comment."""
    if not emoji or len(emoji) > MAX_EMOJI or emoji != emoji.strip():
        raise BadComment(f"a reaction is 1-{MAX_EMOJI} characters without spaces around")
    comment = _comment(_thread(doc, thread_id), comment_id)
    reactions = comment.get(layout.REACTIONS)
    if not isinstance(reactions, Map):
        reactions = comment[layout.REACTIONS] = Map()
    mine = [e for e in _list(reactions.get(user)) if e != emoji]
    if on:
        mine.append(emoji)
    if mine:
        reactions[user] = mine
    elif user in reactions:
        del reactions[user]


def _check_text(text: str) -> None:
    if not text.strip():
        raise BadComment("a comment needs text")
    if len(text) > MAX_TEXT:
        raise BadComment(f"a comment is at most {MAX_TEXT} characters")


def _comment_map(author: str, text: str, mentions: Sequence[str], at: str) -> Map[Any]:
    return Map(
        {
            layout.ID: new_id(),
            layout.AUTHOR: author,
            layout.TEXT: text,
            layout.MENTIONS: list(mentions),
            layout.CREATED_AT: at,
            layout.EDITED_AT: None,
            layout.DELETED: False,
            layout.REACTIONS: Map(),
        }
    )


def _thread(doc: Doc[Any], thread_id: str) -> Map[Any]:
    thread = layout.threads(doc).get(thread_id)
    if not isinstance(thread, Map):
        raise ThreadNotFound(f"no thread {thread_id!r}")
    return thread


def _comments(thread: Map[Any]) -> Array[Any]:
    comments = thread.get(layout.COMMENTS)
    if not isinstance(comments, Array):
        raise ThreadNotFound("the thread has no comments list")
    return comments


def _comment(thread: Map[Any], comment_id: str) -> Map[Any]:
    for comment in _comments(thread):
        if isinstance(comment, Map) and comment.get(layout.ID) == comment_id:
            return comment
    raise CommentNotFound(f"no comment {comment_id!r} in this thread")


def _own_comment(
    doc: Doc[Any], thread_id: str, comment_id: str, actor: str, moderator: bool
) -> Map[Any]:
    comment = _comment(_thread(doc, thread_id), comment_id)
    if not moderator and comment.get(layout.AUTHOR) != actor:
        raise NotAuthor("only its author changes a comment")
    return comment


# -- views -------------------------------------------------------------------------


def read_threads(doc: Doc[Any], *, resolved: bool | None = None) -> list[Thread]:
    """Every thread (oldest first), or only the open (``resolved=False``) or resolved
    ones."""
    found = [_thread_view(key, value) for key, value in layout.threads(doc).items()]
    if resolved is not None:
        found = [thread for thread in found if thread.resolved == resolved]
    return sorted(found, key=lambda thread: (thread.created_at, thread.id))


def read_thread(doc: Doc[Any], thread_id: str) -> Thread:
    return _thread_view(thread_id, _thread(doc, thread_id))


def _thread_view(thread_id: str, thread: Any) -> Thread:
    if not isinstance(thread, Map):
        raise ThreadNotFound(f"thread {thread_id!r} is not a map")
    data = {key: _value(value) for key, value in thread.items() if key != layout.COMMENTS}
    comments = thread.get(layout.COMMENTS)
    data[layout.COMMENTS] = [
        _comment_view(comment)
        for comment in (comments if isinstance(comments, Array) else [])
        if isinstance(comment, Map)
    ]
    return Thread.model_validate({**data, "id": thread_id})


def _comment_view(comment: Map[Any]) -> Comment:
    return Comment.model_validate({key: _value(value) for key, value in comment.items()})


def _value(value: Any) -> Any:
    if isinstance(value, Map):
        return {key: _value(item) for key, item in value.items()}
    if isinstance(value, Array):
        return [_value(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _list(value: Any) -> list[Any]:
    if isinstance(value, Array):
        return list(value)
    return list(value) if isinstance(value, list) else []
