"""Comment threads as CRDT edits of the comments document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pycrdt import Array, Doc, Map

from coreport.comments import layout
from coreport.comments.threads import (
    Anchor,
    BadComment,
    CommentNotFound,
    NotAuthor,
    ThreadNotFound,
    add_thread,
    delete_comment,
    edit_comment,
    react,
    read_thread,
    read_threads,
    reopen,
    reply,
    resolve,
)

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def edited(doc: Doc[Any], change: Any) -> Any:
    with doc.transaction():
        return change(doc)


def started(doc: Doc[Any], text: str = "Why?", minutes: int = 0) -> str:
    thread = edited(
        doc,
        lambda d: add_thread(
            d, anchor=Anchor(kind="report"), author="ann", text=text, now=at(minutes)
        ),
    )
    return str(thread.id)


def test_a_thread_is_stored_as_documented() -> None:
    doc: Doc[Any] = Doc()
    anchor = Anchor(
        kind="text", rel_start=b"\x00\x01\x02\x00", rel_end=b"\x00\x01\x05\x41", quote="q"
    )
    thread = edited(
        doc,
        lambda d: add_thread(
            d, anchor=anchor, author="ann", text="Hm @bob", mentions=["bob"], now=T0
        ),
    )
    stored = layout.threads(doc)[thread.id]
    assert isinstance(stored, Map)
    assert stored[layout.ANCHOR] == {
        "kind": "text",
        "rel_start": b"\x00\x01\x02\x00",
        "rel_end": b"\x00\x01\x05\x41",
        "quote": "q",
    }
    assert stored[layout.RESOLVED] is False
    assert stored[layout.CREATED_AT] == "2024-05-01T09:30:00.000Z"
    comments = stored[layout.COMMENTS]
    assert isinstance(comments, Array)
    assert isinstance(comments[0], Map)
    assert isinstance(comments[0][layout.REACTIONS], Map)
    (comment,) = thread.comments
    assert (comment.author, comment.text, comment.mentions) == ("ann", "Hm @bob", ["bob"])
    assert thread.anchor == anchor
    assert thread.model_dump(mode="json")["anchor"]["rel_start"] == "AAECAA=="


def test_reply_resolve_reopen() -> None:
    doc: Doc[Any] = Doc()
    thread_id = started(doc)
    comment = edited(doc, lambda d: reply(d, thread_id, author="bob", text="Because.", now=at(1)))
    edited(doc, lambda d: resolve(d, thread_id, by="ann", now=at(2)))
    thread = read_thread(doc, thread_id)
    assert [c.text for c in thread.comments] == ["Why?", "Because."]
    assert thread.comments[1] == comment
    assert (thread.resolved, thread.resolved_by, thread.resolved_at) == (
        True,
        "ann",
        "2024-05-01T09:32:00.000Z",
    )
    edited(doc, lambda d: reopen(d, thread_id))
    thread = read_thread(doc, thread_id)
    assert (thread.resolved, thread.resolved_by, thread.resolved_at) == (False, None, None)


def test_listing_filters_on_resolution_oldest_first() -> None:
    doc: Doc[Any] = Doc()
    second = started(doc, "second", minutes=5)
    first = started(doc, "first", minutes=1)
    edited(doc, lambda d: resolve(d, second, by="ann", now=at(6)))
    assert [t.id for t in read_threads(doc)] == [first, second]
    assert [t.id for t in read_threads(doc, resolved=False)] == [first]
    assert [t.id for t in read_threads(doc, resolved=True)] == [second]


def test_only_the_author_edits_or_deletes() -> None:
    doc: Doc[Any] = Doc()
    thread_id = started(doc)
    comment_id = read_thread(doc, thread_id).comments[0].id
    with pytest.raises(NotAuthor):
        edited(
            doc, lambda d: edit_comment(d, thread_id, comment_id, actor="bob", text="x", now=at(1))
        )
    with pytest.raises(NotAuthor):
        edited(doc, lambda d: delete_comment(d, thread_id, comment_id, actor="bob", now=at(1)))
    edited(
        doc,
        lambda d: edit_comment(
            d, thread_id, comment_id, actor="ann", text="Why not?", mentions=["cy"], now=at(2)
        ),
    )
    comment = read_thread(doc, thread_id).comments[0]
    assert (comment.text, comment.mentions, comment.edited_at) == (
        "Why not?",
        ["cy"],
        "2024-05-01T09:32:00.000Z",
    )
    edited(
        doc,
        lambda d: delete_comment(d, thread_id, comment_id, actor="bob", now=at(3), moderator=True),
    )
    comment = read_thread(doc, thread_id).comments[0]
    assert (comment.deleted, comment.text, comment.mentions, comment.author) == (
        True,
        "",
        [],
        "ann",
    )
    with pytest.raises(BadComment):
        edited(
            doc, lambda d: edit_comment(d, thread_id, comment_id, actor="ann", text="x", now=at(4))
        )


def test_reactions_per_user() -> None:
    doc: Doc[Any] = Doc()
    thread_id = started(doc)
    comment_id = read_thread(doc, thread_id).comments[0].id
    for user, emoji in [("bob", "👍"), ("cy", "👍"), ("bob", "🎉"), ("bob", "👍")]:
        edited(doc, lambda d, u=user, e=emoji: react(d, thread_id, comment_id, user=u, emoji=e))
    assert read_thread(doc, thread_id).comments[0].reactions == {"bob": ["🎉", "👍"], "cy": ["👍"]}
    edited(doc, lambda d: react(d, thread_id, comment_id, user="cy", emoji="👍", on=False))
    edited(doc, lambda d: react(d, thread_id, comment_id, user="bob", emoji="🎉", on=False))
    assert read_thread(doc, thread_id).comments[0].reactions == {"bob": ["👍"]}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda d, t, c: reply(d, "nope", author="a", text="x", now=T0), ThreadNotFound),
        (lambda d, t, c: resolve(d, "nope", by="a", now=T0), ThreadNotFound),
        (lambda d, t, c: react(d, t, "nope", user="a", emoji="👍"), CommentNotFound),
        (lambda d, t, c: react(d, t, c, user="a", emoji=""), BadComment),
        (lambda d, t, c: reply(d, t, author="a", text="  ", now=T0), BadComment),
        (lambda d, t, c: reply(d, t, author="a", text="x" * 10_001, now=T0), BadComment),
    ],
)
def test_bad_changes_change_nothing(change: Any, error: type[Exception]) -> None:
    doc: Doc[Any] = Doc()
    thread_id = started(doc)
    comment_id = read_thread(doc, thread_id).comments[0].id
    before = doc.get_state()
    with pytest.raises(error):
        edited(doc, lambda d: change(d, thread_id, comment_id))
    assert doc.get_state() == before


def test_anchors_must_be_complete() -> None:
    with pytest.raises(ValueError, match="rel_start"):
        Anchor(kind="text", quote="x")
    with pytest.raises(ValueError, match="panel_id"):
        Anchor(kind="panel")
    assert Anchor(kind="panel", panel_id="p1").panel_id == "p1"


def test_concurrent_reply_and_resolve_both_survive() -> None:
    one: Doc[Any] = Doc()
    thread_id = started(one)
    other: Doc[Any] = Doc()
    other.apply_update(one.get_update())
    state = one.get_state()
    edited(one, lambda d: reply(d, thread_id, author="bob", text="from one", now=at(1)))
    edited(other, lambda d: reply(d, thread_id, author="cy", text="from other", now=at(1)))
    edited(other, lambda d: resolve(d, thread_id, by="cy", now=at(2)))
    one_update, other_update = one.get_update(state), other.get_update(state)
    one.apply_update(other_update)
    other.apply_update(one_update)
    for doc in (one, other):
        thread = read_thread(doc, thread_id)
        assert thread.resolved
        assert sorted(c.text for c in thread.comments) == ["Why?", "from one", "from other"]
    assert read_thread(one, thread_id) == read_thread(other, thread_id)


def test_keys_it_does_not_know_are_kept() -> None:
    doc: Doc[Any] = Doc()
    thread_id = started(doc)
    stored = layout.threads(doc)[thread_id]
    stored["colour"] = "amber"
    edited(doc, lambda d: resolve(d, thread_id, by="ann", now=at(1)))
    assert read_thread(doc, thread_id).model_dump()["colour"] == "amber"
