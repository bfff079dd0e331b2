"""The block and panel builders make the Report API's own models."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from coreport.client import blocks as b
from coreport.client.reports import BlockLike, blocks_json
from coreport.reports.blocks import (
    HeadingBlock,
    PanelGridBlock,
    ParagraphBlock,
    Report,
    parse_blocks,
)


def test_text_builders_make_block_models() -> None:
    heading = b.h2("Results")
    assert isinstance(heading, HeadingBlock)
    assert heading.level == 2
    paragraph = b.p("Loss is ", b.bold("down"), " by ", b.math("3\\%"), ".")
    assert isinstance(paragraph, ParagraphBlock)
    assert [span.text for span in paragraph.text] == ["Loss is ", "down", " by ", "", "."]
    assert paragraph.text[1].bold
    assert paragraph.text[3].math == "3\\%"


def test_a_heading_level_outside_1_to_3_fails_at_once() -> None:
    with pytest.raises(ValidationError):
        b.h(4, "too deep")


def test_lists_take_text_or_parts() -> None:
    block = b.bullets("one", ["two ", b.link("docs", "https://example.com")])
    assert [len(item.text) for item in block.items] == [1, 2]
    checks = b.check_list({"baseline": True, "ablation": False})
    assert [item.checked for item in checks.items] == [True, False]


def test_panel_grid_places_panels_two_per_row() -> None:
    grid = b.panel_grid([b.line("loss"), b.bar("acc"), b.run_table("loss", "acc")])
    assert isinstance(grid, PanelGridBlock)
    layouts = [(p.layout.x, p.layout.y, p.layout.w) for p in grid.panels if p.layout]
    assert layouts == [(0, 0, 12), (12, 0, 12), (0, 6, 12)]
    assert [p.type for p in grid.panels] == ["line", "bar", "run_table"]
    assert grid.runsets[0].project is None  # the report's project


def test_runset_filters_from_a_mapping() -> None:
    runset = b.runset("mnist", filters={"tag": "nightly", "config.lr": 0.1, "config.wd": None})
    assert runset.filters == ["tag=nightly", "config.lr=0.1", "config.wd=null"]


def test_an_invalid_filter_fails_at_once() -> None:
    with pytest.raises(ValidationError, match="put run ids in run_ids"):
        b.runset(filters=["id=abc"])


def test_line_panel_options() -> None:
    panel = b.line("loss", "val_loss", smoothing=0.6, log_scale=True, group_by="config.opt")
    assert panel.metrics == ["loss", "val_loss"]
    assert (panel.smoothing, panel.log_scale, panel.group_by) == (0.6, True, "config.opt")
    assert b.scatter("acc", "lr").x_axis == "lr"
    assert b.media("samples").media_key == "samples"


def test_built_blocks_are_what_the_server_validates() -> None:
    built: list[BlockLike] = [
        b.h1("Nightly"),
        b.p("text"),
        b.code("print(1)", "python"),
        b.callout("careful", kind="warning"),
        b.divider(),
        b.table_of_contents(),
        b.panel_grid([b.line("loss"), b.scalar("acc")], [b.runset(filters=["state=running"])]),
        {"type": "quote", "text": "a dict block passes through"},
    ]
    data = blocks_json(built)
    report = Report.model_validate({"title": "t", "project": "mnist", "blocks": data})
    assert len(report.blocks) == len(built)
    assert parse_blocks(data)[:7] == built[:7]
