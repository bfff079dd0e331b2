"""Text anchors made on the server follow concurrent edits, and the editor's binding
resolves them to the quoted words."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, StickyIndex, XmlElement, XmlText

from coreport.comments.anchors import QuoteNotFound, text_anchor
from coreport.reports import layout
from coreport.reports.blocks import parse_blocks
from coreport.reports.convert import write_blocks
from tests.unit.reports.tiptap import tiptap


def report() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    blocks = parse_blocks(
        [
            {"type": "heading", "text": "Intro"},
            {
                "type": "paragraph",
                "text": ["Loss ", {"text": "fell by ½ 😀", "bold": True}, " today\nsecond line"],
            },
            {"type": "bulleted_list", "items": [{"text": "top", "items": ["deep item"]}]},
            {"type": "paragraph", "text": "again again"},
        ]
    )
    with doc.transaction():
        write_blocks(doc, blocks)
    return doc


def text_at(doc: Doc[Any], *path: int) -> XmlText:
    node: Any = layout.body(doc)
    for index in path:
        node = node.children[index]
    assert isinstance(node, XmlText)
    return node


def covered(doc: Doc[Any], text: XmlText, start: bytes, end: bytes) -> str:
    plain = "".join(chunk for chunk, _ in text.diff()).encode()
    with doc.transaction() as txn:
        return plain[
            StickyIndex.decode(start).get_index(txn) : StickyIndex.decode(end).get_index(txn)
        ].decode()


def test_an_anchor_follows_concurrent_edits() -> None:
    server = report()
    before = server.get_state()
    anchor = text_anchor(server, "by ½ 😀 to")
    assert server.get_state() == before  # probes run on a copy, never the live document
    assert anchor.kind == "text"
    assert anchor.quote == "by ½ 😀 to"
    assert anchor.rel_start is not None
    assert anchor.rel_end is not None

    editor: Doc[Any] = Doc()
    editor.apply_update(server.get_update())
    state = editor.get_state()
    typed = text_at(editor, 1, 0)
    typed.insert(0, "Today the ")  # before the quote
    typed.insert(len(typed), "!")  # after it
    server.apply_update(editor.get_update(state))

    assert covered(server, text_at(server, 1, 0), anchor.rel_start, anchor.rel_end) == "by ½ 😀 to"


def test_the_nth_occurrence() -> None:
    doc = report()
    first = text_anchor(doc, "again")
    second = text_anchor(doc, "again", occurrence=1)
    text = text_at(doc, 3, 0)
    assert first.rel_start is not None
    assert first.rel_end is not None
    assert second.rel_start is not None
    assert second.rel_end is not None
    assert covered(doc, text, first.rel_start, first.rel_end) == "again"
    with doc.transaction() as txn:
        assert StickyIndex.decode(second.rel_start).get_index(txn) == len("again ")
    with pytest.raises(QuoteNotFound, match="2 time"):
        text_anchor(doc, "again", occurrence=2)


@pytest.mark.parametrize("quote", ["", "nowhere", "today second"])
def test_quotes_that_are_not_in_one_text_run(quote: str) -> None:
    with pytest.raises(QuoteNotFound):
        text_anchor(report(), quote)


@pytest.mark.node
@pytest.mark.parametrize(
    "quote", ["Intro", "I", "fell", "Loss fell", "½ 😀 to", "second line", "deep", "top"]
)
def test_the_editor_resolves_anchors_to_the_quote(quote: str, tmp_path: Path) -> None:
    doc = report()
    anchor = text_anchor(doc, quote)
    editor: Doc[Any] = Doc()
    editor.apply_update(doc.get_update())
    state = editor.get_state()
    # Someone adds a paragraph at the top and types inside the heading meanwhile.
    body = layout.body(editor)
    body.children.insert(0, XmlElement("paragraph")).children.append(XmlText()).insert(0, "New")
    heading = body.children[1]
    assert isinstance(heading, XmlElement)
    text = heading.children[0]
    assert isinstance(text, XmlText)
    text.insert(len(text), " (draft)")
    doc.apply_update(editor.get_update(state))

    path = tmp_path / "update.bin"
    path.write_bytes(doc.get_update())
    assert anchor.rel_start is not None
    assert anchor.rel_end is not None
    answer = tiptap(
        "anchor",
        str(path),
        base64.b64encode(anchor.rel_start).decode(),
        base64.b64encode(anchor.rel_end).decode(),
    )
    assert answer["text"] == quote
