"""Blocks -> Markdown."""

from __future__ import annotations

from coreport.reports.blocks import PanelGridBlock, parse_blocks
from coreport.reports.markdown import to_markdown
from coreport.reports.render import Rows
from tests.unit.reports.examples import EVERY_BLOCK


def markdown(blocks: list[dict[str, object]], title: str = "") -> str:
    return to_markdown(title, parse_blocks(blocks))


def test_every_block_renders() -> None:
    text = to_markdown("Weekly", parse_blocks(EVERY_BLOCK))
    lines = text.splitlines()
    assert lines[0] == "# Weekly"
    for line in [
        "# Results",
        "### *Deep*",
        "- one",
        "  - two.a",
        "4. four",
        "5. five",
        "- [x] done",
        "- [ ] todo",
        "  - [x] sub",
        "```python",
        'print("hi")',
        "| a | b |",
        "$$",
        "\\int_0^1 x^2\\,dx",
        '![plot](https://example.com/a.png "Accuracy")',
        "*Accuracy*",
        "> [!WARNING]",
        "> **Careful**",
        "> Measure twice.",
        "---",
        "- [Results](#results)",
        "    - [Deep](#deep)",
        "| Panel | Type | Metrics | X axis | Settings |",
        "- **Baselines**: project mnist; where tag=baseline and config.lr\\<0.1 and "
        "state=finished; runs r1, r2; frozen",
    ]:
        assert line in lines, line
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


def test_inline_formatting() -> None:
    (line,) = markdown([EVERY_BLOCK[2]]).splitlines()[:1]
    assert line == (
        "Loss **fell** ***by half***, see [run 7](https://example.com/runs/7) and `train.py` "
        "~~old~~\\"
    )
    assert "next line $e^{i\\pi}+1=0$ underlined" in markdown([EVERY_BLOCK[2]])


def test_text_is_escaped() -> None:
    text = markdown([{"type": "paragraph", "text": "# not a *heading* [x](y) 1. <b>"}])
    assert text == "\\# not a \\*heading\\* \\[x\\](y) 1. \\<b\\>\n"
    assert markdown([{"type": "paragraph", "text": "1. first"}]) == "1\\. first\n"


def test_code_keeps_backticks() -> None:
    text = markdown(
        [
            {"type": "code", "code": "a ``` b"},
            {"type": "paragraph", "text": [{"text": "x`y", "code": True}]},
        ]
    )
    assert text == "````\na ``` b\n````\n\n``x`y``\n"


def test_emphasis_hugs_its_text() -> None:
    text = markdown([{"type": "paragraph", "text": ["a", {"text": " b ", "bold": True}, "c"]}])
    assert text == "a **b** c\n"


def test_panel_data_when_given() -> None:
    (grid,) = parse_blocks([EVERY_BLOCK[-1]])
    assert isinstance(grid, PanelGridBlock)

    def rows(_: PanelGridBlock, panel: object) -> Rows | None:
        return [{"run": "r|1", "loss": 0.25}] if panel is grid.panels[0] else None

    lines = to_markdown("", [grid], panel_rows=rows).splitlines()
    assert "**Loss**" in lines
    assert "| run | loss |" in lines
    assert "| r\\|1 | 0.25 |" in lines


def test_a_leading_heading_that_repeats_the_title_is_shown_once() -> None:
    blocks = parse_blocks(
        [
            {"type": "heading", "level": 1, "text": "MNIST sweep"},
            {"type": "heading", "level": 1, "text": "Results"},
        ]
    )
    assert to_markdown("MNIST sweep", blocks) == "# MNIST sweep\n\n# Results\n"
    # A different first heading, or one at another level, is kept.
    assert to_markdown("Other", blocks).count("# MNIST sweep") == 1
    assert to_markdown("Other", blocks).startswith("# Other\n\n# MNIST sweep")
    sub = parse_blocks([{"type": "heading", "level": 2, "text": "MNIST sweep"}])
    assert to_markdown("MNIST sweep", sub) == "# MNIST sweep\n\n## MNIST sweep\n"
