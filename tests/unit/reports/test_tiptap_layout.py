"""What the Report API writes is exactly what the editor would have stored: TipTap's
schema accepts every node and mark, and y-prosemirror re-encoding it changes nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc

from coreport.reports.blocks import Report, parse_blocks
from coreport.reports.convert import read_report, write_blocks, write_report
from tests.unit.reports.examples import EVERY_BLOCK
from tests.unit.reports.test_convert import FIXTURES
from tests.unit.reports.tiptap import tiptap

pytestmark = pytest.mark.node


def check(doc: Doc[Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "update.bin"
    path.write_bytes(doc.get_update())
    return tiptap("check", str(path))


def test_every_block_is_stored_as_the_editor_stores_it(tmp_path: Path) -> None:
    doc: Doc[Any] = Doc()
    with doc.transaction():
        write_report(doc, Report.model_validate({"title": "T", "blocks": EVERY_BLOCK}))
    answer = check(doc, tmp_path)
    assert answer["same"], (answer["ours"], answer["theirs"])
    names = [node["type"] for node in answer["prosemirror"]["content"]]
    assert names[:5] == ["heading", "heading", "paragraph", "paragraph", "bulletList"]
    assert "panelGrid" in names
    assert "blockMath" in names
    assert "callout" in names


def test_what_the_editor_stored_is_written_back_verbatim(tmp_path: Path) -> None:
    """Including the nodes no block describes (kept as editor_node blocks)."""
    fixture = json.loads((FIXTURES / "tiptap_doc.json").read_text())
    original: Doc[Any] = Doc()
    original.apply_update(base64.b64decode(fixture["update"]))
    title, blocks = read_report(original)
    assert any(block.type == "editor_node" for block in blocks)
    copy: Doc[Any] = Doc()
    with copy.transaction():
        write_report(copy, Report(title=title, blocks=blocks))
    answer = check(copy, tmp_path)
    assert answer["same"], (answer["ours"], answer["theirs"])
    (tmp_path / "original").mkdir()
    assert answer["prosemirror"] == check(original, tmp_path / "original")["prosemirror"]


def test_a_mark_the_editor_lacks_loses_the_text(tmp_path: Path) -> None:
    """Why spans only carry marks the frontend's schema has (docs/document-schema.md)."""
    doc: Doc[Any] = Doc()
    blocks = parse_blocks([{"type": "paragraph", "text": ["kept ", {"text": "lost", "glow": {}}]}])
    with doc.transaction():
        write_blocks(doc, blocks)
    answer = check(doc, tmp_path)
    assert answer["prosemirror"]["content"] == [{"type": "paragraph"}]


def test_links_and_marks_carry_tiptap_attributes(tmp_path: Path) -> None:
    doc: Doc[Any] = Doc()
    blocks = parse_blocks(
        [{"type": "paragraph", "text": [{"text": "x", "link": "https://a.b", "bold": True}]}]
    )
    with doc.transaction():
        write_blocks(doc, blocks)
    answer = check(doc, tmp_path)
    assert answer["same"]
    (text,) = answer["prosemirror"]["content"][0]["content"]
    marks = {mark["type"]: mark.get("attrs") for mark in text["marks"]}
    assert marks["link"]["href"] == "https://a.b"
    assert marks["link"]["target"] == "_blank"
