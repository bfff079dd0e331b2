"""The Report API's block models: shorthands, normal forms and bad input."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from coreport.reports.blocks import (
    BulletedListBlock,
    PanelGridBlock,
    ParagraphBlock,
    Report,
    Span,
    normalize_spans,
    parse_blocks,
    plain_text,
)
from tests.unit.reports.examples import EVERY_BLOCK


def error_locations(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[object, ...]]:
    return [tuple(error["loc"]) for error in exc.value.errors()]


def test_every_example_block_validates_and_serialises_back() -> None:
    blocks = parse_blocks(EVERY_BLOCK)
    assert [block.type for block in blocks] == [block["type"] for block in EVERY_BLOCK]
    again = parse_blocks([block.model_dump(mode="json") for block in blocks])
    assert again == blocks


def test_a_plain_string_is_one_unformatted_span() -> None:
    (block,) = parse_blocks([{"type": "paragraph", "text": "hello"}])
    assert isinstance(block, ParagraphBlock)
    assert block.text == [Span(text="hello")]
    assert block.model_dump()["text"] == [{"text": "hello"}]


def test_spans_are_normalised() -> None:
    spans = normalize_spans(
        [
            Span(text="a"),
            Span(text="b"),
            Span(text=""),
            Span(text="c\nd", bold=True),
            Span(text="e", bold=True),
        ]
    )
    assert spans == [
        Span(text="ab"),
        Span(text="c", bold=True),
        Span(text="\n"),
        Span(text="de", bold=True),
    ]
    assert plain_text(spans) == "abc\nde"


def test_span_dump_leaves_out_what_is_not_set() -> None:
    assert Span(text="x", bold=True).model_dump() == {"text": "x", "bold": True}
    assert Span(math="x^2").model_dump() == {"math": "x^2"}


def test_list_item_shorthands() -> None:
    (block,) = parse_blocks(
        [{"type": "bulleted_list", "items": ["a", {"text": "b", "items": ["c"]}]}]
    )
    assert isinstance(block, BulletedListBlock)
    nested = block.items[1].children[0]
    assert isinstance(nested, BulletedListBlock)
    assert nested.items[0].text == [Span(text="c")]


def test_unknown_fields_are_kept() -> None:
    (block,) = parse_blocks([{"type": "heading", "text": "x", "anchor_id": "intro"}])
    assert block.model_dump()["anchor_id"] == "intro"
    # A name another node uses is fine where it clashes with nothing.
    (heading,) = parse_blocks([{"type": "heading", "text": "x", "src": "y"}])
    assert heading.model_dump()["src"] == "y"
    grid = parse_blocks([{"type": "panel_grid", "panels": [{"type": "line", "colour": "red"}]}])[0]
    assert isinstance(grid, PanelGridBlock)
    assert grid.panels[0].extras == {"colour": "red"}


@pytest.mark.parametrize(
    ("block", "location"),
    [
        ({"type": "heading", "level": 4, "text": "x"}, (0, "heading", "level")),
        ({"type": "nope"}, (0,)),
        ({"type": "image", "url": ""}, (0, "image", "url")),
        ({"type": "callout", "kind": "shout"}, (0, "callout", "kind")),
        (
            {"type": "paragraph", "text": [{"text": "x", "colour": "red"}]},
            (0, "paragraph", "text", 0),
        ),
        ({"type": "paragraph", "text": [{"text": "x", "math": "y"}]}, (0, "paragraph", "text", 0)),
        ({"type": "image", "url": "u", "src": "y"}, (0, "image")),
        (
            {"type": "bulleted_list", "items": [{"text": "x", "checked": True}]},
            (0, "bulleted_list"),
        ),
        (
            {"type": "panel_grid", "panels": [{"type": "histogram"}]},
            (0, "panel_grid", "panels", 0, "type"),
        ),
        (
            {"type": "panel_grid", "panels": [{"smoothing": 2}]},
            (0, "panel_grid", "panels", 0, "smoothing"),
        ),
        (
            {"type": "panel_grid", "runsets": [{"filters": ["config.lr<big"]}]},
            (0, "panel_grid", "runsets", 0, "filters"),
        ),
        (
            {"type": "panel_grid", "runsets": [{"filters": ["limit=5"]}]},
            (0, "panel_grid", "runsets", 0, "filters"),
        ),
        (
            {"type": "panel_grid", "panels": [{"id": "p"}, {"id": "p"}]},
            (0, "panel_grid"),
        ),
        ({"type": "panel_grid", "id": "has space"}, (0, "panel_grid", "id")),
    ],
)
def test_bad_blocks_are_rejected_with_their_location(
    block: dict[str, object], location: tuple[object, ...]
) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_blocks([block])
    assert location in error_locations(exc)


def test_reading_accepts_what_a_newer_editor_may_write() -> None:
    data = [
        {"type": "panel_grid", "panels": [{"type": "histogram"}], "runsets": [{"filters": ["x"]}]}
    ]
    (grid,) = parse_blocks(data, reading=True)
    assert isinstance(grid, PanelGridBlock)
    assert grid.panels[0].type == "histogram"


def test_run_sets_default_to_the_reports_project() -> None:
    report = Report.model_validate(
        {
            "title": "T",
            "project": "mnist",
            "blocks": [{"type": "panel_grid", "runsets": [{}, {"project": "other"}]}],
        }
    )
    grid = report.blocks[0]
    assert isinstance(grid, PanelGridBlock)
    assert [runset.project for runset in grid.runsets] == ["mnist", "other"]


def test_report_rejects_unknown_top_level_fields() -> None:
    with pytest.raises(ValidationError) as exc:
        Report.model_validate({"title": "T", "colour": "red"})
    assert ("colour",) in error_locations(exc)
