"""Blocks <-> the live report document: round trips, positions, ids, what the editor
writes, and edits that meet concurrent typing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Array, Doc, XmlElement, XmlFragment, XmlText

from coreport.metrics import Metrics
from coreport.reports import layout
from coreport.reports.blocks import (
    Block,
    EditorNodeBlock,
    HeadingBlock,
    PanelGridBlock,
    ParagraphBlock,
    Report,
    Span,
    parse_blocks,
)
from coreport.reports.convert import (
    BlockConflict,
    BlockPositionError,
    block_count,
    read_blocks,
    read_report,
    replace_blocks,
    write_blocks,
    write_report,
)
from coreport.sync.names import report_doc
from coreport.sync.rooms import Rooms
from tests.support.fakes import ManualClock, MemoryStore, RecordingBus
from tests.unit.reports.examples import EVERY_BLOCK

FIXTURES = Path(__file__).parent / "fixtures"


def written(doc: Doc[Any], blocks: list[Block], index: int | None = None) -> list[Block]:
    with doc.transaction():
        return write_blocks(doc, blocks, index)


def paragraph(text: str) -> Block:
    return ParagraphBlock(text=[Span(text=text)])


def texts(blocks: list[Block]) -> list[str]:
    out = []
    for block in blocks:
        assert isinstance(block, ParagraphBlock | HeadingBlock)
        out.append("".join(span.text for span in block.text))
    return out


def test_every_block_type_round_trips() -> None:
    doc: Doc[Any] = Doc()
    report = Report.model_validate({"title": "Weekly", "project": "mnist", "blocks": EVERY_BLOCK})
    with doc.transaction():
        stored = write_report(doc, report)
    title, blocks = read_report(doc)
    assert title == "Weekly"
    assert blocks == stored
    # The only difference from the input: ids were given to the grid, panels and run sets.
    (grid,) = [block for block in stored if isinstance(block, PanelGridBlock)]
    assert grid.id
    assert all(p.id for p in grid.panels)
    assert all(r.id for r in grid.runsets)
    assert [b.model_dump(exclude={"id"}) for b in blocks if not isinstance(b, PanelGridBlock)] == [
        b.model_dump(exclude={"id"}) for b in report.blocks if not isinstance(b, PanelGridBlock)
    ]


def test_unknown_fields_round_trip_everywhere() -> None:
    doc: Doc[Any] = Doc()
    blocks = parse_blocks(
        [
            {"type": "heading", "text": "x", "anchor": "intro", "collapsed": True},
            {"type": "paragraph", "text": [{"text": "u", "underline": {}, "highlight": {"c": 1}}]},
            {"type": "check_list", "items": [{"text": "a", "assignee": "ann", "due": [2024, 5]}]},
            {
                "type": "panel_grid",
                "sync_steps": True,
                "layout": {"columns": 12, "row_height": 40},
                "runsets": [{"name": "r", "colour": "#f00"}],
                "panels": [{"type": "line", "legend": {"position": "top"}, "layout": {"z": 1}}],
            },
        ]
    )
    stored = written(doc, blocks)
    again = read_blocks(doc)
    assert again == stored
    assert again[0].model_dump()["collapsed"] is True
    grid = again[3]
    assert isinstance(grid, PanelGridBlock)
    assert grid.extras == {"sync_steps": True}
    assert grid.layout.extras == {"row_height": 40}
    assert grid.runsets[0].extras == {"colour": "#f00"}
    assert grid.panels[0].extras == {"legend": {"position": "top"}}
    assert grid.panels[0].layout is not None
    assert grid.panels[0].layout.extras == {"z": 1}


def test_blocks_go_in_at_a_position() -> None:
    doc: Doc[Any] = Doc()
    written(doc, [paragraph("a"), paragraph("d")])
    written(doc, [paragraph("b"), paragraph("c")], index=1)
    written(doc, [paragraph("0")], index=0)
    written(doc, [paragraph("e")], index=block_count(doc))
    assert texts(read_blocks(doc)) == ["0", "a", "b", "c", "d", "e"]


@pytest.mark.parametrize("index", [-1, 3])
def test_a_position_outside_the_report_changes_nothing(index: int) -> None:
    doc: Doc[Any] = Doc()
    written(doc, [paragraph("a"), paragraph("b")])
    before = doc.get_state()
    with pytest.raises(BlockPositionError):
        written(doc, [paragraph("x")], index=index)
    assert doc.get_state() == before


def test_ids_in_use_are_a_conflict_and_change_nothing() -> None:
    doc: Doc[Any] = Doc()
    grid = parse_blocks([{"type": "panel_grid", "id": "g1", "panels": [{"id": "p1"}]}])
    written(doc, grid)
    before = doc.get_state()
    again = parse_blocks(
        [{"type": "paragraph", "text": "x"}, {"type": "panel_grid", "panels": [{"id": "p1"}]}]
    )
    with pytest.raises(BlockConflict, match="p1"):
        written(doc, again)
    assert doc.get_state() == before
    with pytest.raises(BlockConflict, match="twice"):
        written(doc, parse_blocks([{"type": "panel_grid", "id": "g2"}] * 2))


def test_new_ids_are_given_each_time() -> None:
    doc: Doc[Any] = Doc()
    grid = parse_blocks([{"type": "panel_grid", "runsets": [{}], "panels": [{}]}])
    first = written(doc, grid)[0]
    second = written(doc, grid)[0]
    assert isinstance(first, PanelGridBlock)
    assert isinstance(second, PanelGridBlock)
    assert {first.id, first.panels[0].id, first.runsets[0].id}.isdisjoint(
        {second.id, second.panels[0].id, second.runsets[0].id}
    )
    assert grid[0].model_dump()["id"] is None  # the input is not changed


def test_grid_maps_have_the_documented_shape() -> None:
    doc: Doc[Any] = Doc()
    (grid,) = written(doc, parse_blocks([EVERY_BLOCK[-1]]))
    assert isinstance(grid, PanelGridBlock)
    assert grid.id
    stored = layout.grids(doc)[grid.id]
    assert isinstance(stored[layout.GRID_PANEL_IDS], Array)
    assert list(stored[layout.GRID_PANEL_IDS]) == [panel.id for panel in grid.panels]
    assert list(stored[layout.GRID_RUNSET_IDS]) == [runset.id for runset in grid.runsets]
    assert grid.panels[0].id is not None
    panel = layout.plain(layout.panels(doc)[grid.panels[0].id])
    assert panel["type"] == "line"
    assert panel["metrics"] == ["loss", "val_loss"]
    assert "id" not in panel
    assert "title" in panel
    assert "media_key" not in panel
    body = layout.body(doc)
    element = body.children[0]
    assert isinstance(element, XmlElement)
    assert element.tag == "panelGrid"
    assert element.attributes.get("gridId") == grid.id
    assert len(element.attributes) == 1


def test_replace_blocks_swaps_the_whole_body() -> None:
    doc: Doc[Any] = Doc()
    written(doc, parse_blocks([EVERY_BLOCK[0], EVERY_BLOCK[-1]]))
    with doc.transaction():
        kept = replace_blocks(doc, [paragraph("only")])
    assert read_blocks(doc) == kept
    assert len(layout.grids(doc)) == len(layout.panels(doc)) == len(layout.runsets(doc)) == 0


def y_prosemirror_document() -> Doc[Any]:
    """The Yjs structure y-prosemirror builds for a small TipTap document, by hand."""
    doc: Doc[Any] = Doc()
    body = doc.get("body", type=XmlFragment)
    with doc.transaction():
        heading = body.children.append(XmlElement("heading"))
        heading.attributes["level"] = 2.0  # numbers come back from Yjs as floats
        heading.children.append(XmlText()).insert(0, "Results")
        para = body.children.append(XmlElement("paragraph"))
        text = para.children.append(XmlText())
        text.insert(0, "Loss ")
        text.insert(5, "fell", {"bold": {}})
        link = {"href": "https://x.org", "target": "_blank", "rel": "noopener", "class": None}
        text.insert(9, " see", {"link": link})
        para.children.append(XmlElement("hardBreak"))
        math = para.children.append(XmlElement("inlineMath"))
        math.attributes["latex"] = "x^2"
        para.children.append(XmlText()).insert(0, "end", {"comment--Ab12Cd34": {"id": "c1"}})
        tasks = body.children.append(XmlElement("taskList"))
        item = tasks.children.append(XmlElement("taskItem"))
        item.attributes["checked"] = True
        item.children.append(XmlElement("paragraph")).children.append(XmlText()).insert(0, "t")
        body.children.append(XmlElement("paragraph"))  # an empty one has no XmlText
        odd = body.children.append(XmlElement("youtube"))
        odd.attributes["src"] = "https://youtu.be/x"
    return doc


def test_a_document_built_by_y_prosemirror_reads() -> None:
    blocks = read_blocks(y_prosemirror_document())
    assert blocks[0] == HeadingBlock(level=2, text=[Span(text="Results")])
    para = blocks[1]
    assert isinstance(para, ParagraphBlock)
    assert [span.model_dump() for span in para.text] == [
        {"text": "Loss "},
        {"text": "fell", "bold": True},
        {"text": " see", "link": "https://x.org"},
        {"text": "\n"},
        {"math": "x^2"},
        {"text": "end", "comment--Ab12Cd34": {"id": "c1"}},
    ]
    assert blocks[2].model_dump()["items"][0]["checked"] is True
    assert blocks[3] == ParagraphBlock(text=[])
    odd = blocks[4]
    assert isinstance(odd, EditorNodeBlock)
    assert odd.node.model_dump() == {"type": "youtube", "attrs": {"src": "https://youtu.be/x"}}


def test_what_the_editor_stored_reads_and_writes_back_the_same() -> None:
    """tiptap_doc.json was written by TipTap's schema through @tiptap/y-tiptap
    (fixtures/tiptap_layout.cjs make)."""
    fixture = json.loads((FIXTURES / "tiptap_doc.json").read_text())
    doc: Doc[Any] = Doc()
    doc.apply_update(base64.b64decode(fixture["update"]))
    title, blocks = read_report(doc)
    assert title == "Weekly report"
    types = [block.type for block in blocks]
    assert types == [
        "heading", "paragraph", "paragraph", "bulleted_list", "numbered_list", "check_list",
        "code", "code", "quote", "editor_node", "divider", "image", "latex", "callout",
        "markdown", "table_of_contents", "panel_grid", "editor_node",
    ]  # fmt: skip
    grid = blocks[16]
    assert isinstance(grid, PanelGridBlock)
    assert grid.model_dump(mode="json", exclude_defaults=True) == {
        "id": "grid1",
        "runsets": [
            {"id": "rs1", "name": "Baselines", "project": "mnist", "filters": ["tag=baseline"],
             "run_ids": ["r1"]},
        ],
        "panels": [
            {"id": "p1", "title": "Loss", "metrics": ["loss"], "smoothing": 0.5,
             "layout": {"w": 12}},
        ],
    }  # fmt: skip
    copy: Doc[Any] = Doc()
    with copy.transaction():
        write_report(copy, Report(title=title, blocks=blocks))
    assert read_report(copy) == (title, blocks)


def test_api_edits_and_concurrent_typing_both_survive() -> None:
    server: Doc[Any] = Doc()
    written(server, [paragraph("Hello"), paragraph("Bye")])
    editor: Doc[Any] = Doc()
    editor.apply_update(server.get_update())

    # The editor types into the first paragraph while the API appends and inserts.
    first = layout.body(editor).children[0]
    assert isinstance(first, XmlElement)
    typed = first.children[0]
    assert isinstance(typed, XmlText)
    typed.insert(len(typed), " world", {"italic": {}})
    editor_update = editor.get_update(server.get_state())
    before = server.get_state()
    written(server, [paragraph("Appended")])
    written(server, [paragraph("Inserted")], index=1)
    server_update = server.get_update(before)

    server.apply_update(editor_update)
    editor.apply_update(server_update)
    for doc in (server, editor):
        assert texts(read_blocks(doc)) == ["Hello world", "Inserted", "Bye", "Appended"]
    assert read_blocks(server) == read_blocks(editor)


async def test_rooms_edit_and_read_carry_the_conversion() -> None:
    """How the REST layer uses it: write through Rooms.edit, read through Rooms.read."""
    name = report_doc("r1")
    async with Rooms(
        MemoryStore(), RecordingBus(), Metrics(), ManualClock(), instance="me"
    ) as rooms:
        report = Report.model_validate({"title": "T", "blocks": EVERY_BLOCK[:3]})
        stored, seq = await rooms.edit(name, lambda doc: write_report(doc, report))
        assert seq is not None
        more = parse_blocks([{"type": "divider"}])
        await rooms.edit(name, lambda doc: write_blocks(doc, more, 0))
        title, blocks = await rooms.read(name, read_report)
    assert title == "T"
    assert blocks == [*more, *stored]
