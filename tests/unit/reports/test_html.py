"""Blocks -> standalone HTML."""

from __future__ import annotations

from coreport.reports.blocks import Panel, PanelGridBlock, parse_blocks
from coreport.reports.html import to_html
from coreport.reports.render import Rows
from tests.unit.reports.examples import EVERY_BLOCK


def test_a_standalone_page() -> None:
    page = to_html("Weekly", parse_blocks(EVERY_BLOCK))
    assert page.startswith('<!doctype html>\n<html lang="en">')
    assert "<title>Weekly</title>" in page
    assert "<style>" in page
    assert "<script" not in page
    for fragment in [
        "<h1>Weekly</h1>",
        '<h2 id="results">Results</h2>',
        '<h4 id="deep"><em>Deep</em></h4>',
        "<strong>fell</strong>",
        '<a href="https://example.com/runs/7" rel="noopener noreferrer">run 7</a>',
        "<code>train.py</code>",
        "<br>next line",
        '<span class="math">\\(e^{i\\pi}+1=0\\)</span>',
        '<ol start="4"><li>four</li>',
        '<input type="checkbox" disabled checked> done',
        '<pre><code class="language-python">print(&quot;hi&quot;)',
        '<figure><img src="https://example.com/a.png" alt="plot"><figcaption>Accuracy</figcaption>',
        '<aside class="callout callout-warning"><strong>Warning</strong>',
        "<blockquote><p>Measure twice.</p></blockquote>",
        '<a href="#deep">Deep</a>',
        '<section class="panel-grid">',
        "config.lr&lt;0.1",
    ]:
        assert fragment in page, fragment


def test_everything_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    page = to_html(
        evil,
        parse_blocks(
            [
                {"type": "heading", "text": evil},
                {"type": "paragraph", "text": [{"text": evil, "link": "javascript:alert(1)"}]},
                {"type": "code", "language": '"><script>', "code": evil},
                {"type": "image", "url": "javascript:alert(1)", "caption": evil},
                {"type": "image", "url": 'x" onerror="alert(1)'},
                {"type": "markdown", "source": evil},
                {"type": "panel_grid", "panels": [{"title": evil}], "runsets": [{"name": evil}]},
                {
                    "type": "editor_node",
                    "node": {"type": '"><b', "content": [{"type": "text", "text": evil}]},
                },
            ]
        ),
        panel_rows=lambda _grid, _panel: [{evil: evil}],
    )
    assert "<script>" not in page
    assert "javascript:" not in page.replace("[image not shown: javascript:alert(1)]", "")
    assert 'src="x&quot; onerror=&quot;alert(1)"' in page


def test_panel_rows_become_tables() -> None:
    (grid,) = parse_blocks(
        [{"type": "panel_grid", "panels": [{"title": "Loss", "metrics": ["loss"]}]}]
    )
    assert isinstance(grid, PanelGridBlock)
    asked: list[Panel] = []

    def rows(_: PanelGridBlock, panel: Panel) -> Rows | None:
        asked.append(panel)
        return [{"run": "a", "loss": 1 / 3}, {"run": "b"}]

    page = to_html("", [grid], panel_rows=rows)
    assert asked == grid.panels
    assert "<thead><tr><th>run</th><th>loss</th></tr></thead>" in page
    assert "<tr><td>a</td><td>0.333333</td></tr><tr><td>b</td><td></td></tr>" in page


def test_a_leading_heading_that_repeats_the_title_is_shown_once() -> None:
    blocks = parse_blocks(
        [
            {"type": "heading", "level": 1, "text": "MNIST sweep"},
            {"type": "table_of_contents"},
            {"type": "heading", "level": 1, "text": "Results"},
        ]
    )
    page = to_html("MNIST sweep", blocks)
    assert page.count("MNIST sweep</h") == 1
    assert '<h2 id="results">Results</h2>' in page
    assert 'href="#mnist-sweep"' not in page  # nor is it in the table of contents
