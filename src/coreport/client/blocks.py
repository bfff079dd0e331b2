"""Builders of report blocks and panels, so a script writes a report in a few lines::

    from coreport.client import blocks as b

    client.reports.create("Nightly", "mnist", [
        b.h1("Nightly training"),
        b.p("Loss of tonight's runs, ", b.bold("lower is better"), "."),
        b.panel_grid(
            runsets=[b.runset(filters={"tag": "nightly"})],
            panels=[b.line("loss"), b.bar("accuracy"), b.run_table("accuracy", "loss")],
        ),
    ])

Every builder returns the pydantic model of :mod:`coreport.reports.blocks` (the same
models the server validates with), so a mistake such as ``h(4, ...)`` fails here, at once.
Text arguments are strings or spans (:func:`bold`, :func:`italic`, :func:`code_span`,
:func:`link`, :func:`math`), concatenated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from coreport.reports.blocks import (
    BulletedListBlock,
    CalloutBlock,
    CalloutKind,
    CheckListBlock,
    CodeBlock,
    DividerBlock,
    GridLayout,
    HeadingBlock,
    ImageBlock,
    LatexBlock,
    ListItem,
    MarkdownBlock,
    NumberedListBlock,
    Panel,
    PanelGridBlock,
    PanelLayout,
    ParagraphBlock,
    QuoteBlock,
    Runset,
    Span,
    TableOfContentsBlock,
)

Text = str | Span

__all__ = [
    "bar",
    "bold",
    "bullets",
    "callout",
    "check_list",
    "code",
    "code_span",
    "divider",
    "h",
    "h1",
    "h2",
    "h3",
    "image",
    "italic",
    "latex",
    "line",
    "link",
    "markdown",
    "markdown_panel",
    "math",
    "media",
    "numbered",
    "p",
    "panel_grid",
    "quote",
    "run_table",
    "runset",
    "scalar",
    "scatter",
    "table_of_contents",
]

# -- inline text ---------------------------------------------------------------------


def _spans(parts: Iterable[Text]) -> list[Span]:
    return [Span(text=part) if isinstance(part, str) else part for part in parts]


def bold(text: str) -> Span:
    return Span(text=text, bold=True)


def italic(text: str) -> Span:
    return Span(text=text, italic=True)


def code_span(text: str) -> Span:
    return Span(text=text, code=True)


def link(text: str, url: str) -> Span:
    return Span(text=text, link=url)


def math(latex: str) -> Span:
    """An inline formula."""
    return Span(math=latex)


# -- text blocks ---------------------------------------------------------------------


def h(level: int, *text: Text) -> HeadingBlock:
    return HeadingBlock(level=level, text=_spans(text))


def h1(*text: Text) -> HeadingBlock:
    return h(1, *text)


def h2(*text: Text) -> HeadingBlock:
    return h(2, *text)


def h3(*text: Text) -> HeadingBlock:
    return h(3, *text)


def p(*text: Text) -> ParagraphBlock:
    """A paragraph: ``p("Loss is ", bold("down"), ".")``."""
    return ParagraphBlock(text=_spans(text))


def _items(items: Iterable[Text | Iterable[Text]]) -> list[ListItem]:
    out = []
    for item in items:
        parts = [item] if isinstance(item, str | Span) else list(item)
        out.append(ListItem(text=_spans(parts)))
    return out


def bullets(*items: Text | Iterable[Text]) -> BulletedListBlock:
    """``bullets("one", ["two with ", bold("bold")])``: an item is text or a list of parts."""
    return BulletedListBlock(items=_items(items))


def numbered(*items: Text | Iterable[Text], start: int = 1) -> NumberedListBlock:
    return NumberedListBlock(items=_items(items), start=start)


def check_list(items: Mapping[str, bool]) -> CheckListBlock:
    """``check_list({"baseline": True, "ablation": False})``."""
    return CheckListBlock(
        items=[ListItem(text=_spans([text]), checked=done) for text, done in items.items()]
    )


def code(source: str, language: str | None = None) -> CodeBlock:
    return CodeBlock(code=source, language=language)


def markdown(source: str) -> MarkdownBlock:
    """Markdown kept as source, rendered by the reader."""
    return MarkdownBlock(source=source)


def latex(source: str) -> LatexBlock:
    """A display formula."""
    return LatexBlock(source=source)


def image(url: str, caption: str | None = None, alt: str | None = None) -> ImageBlock:
    return ImageBlock(url=url, caption=caption, alt=alt)


def callout(*text: Text, kind: CalloutKind = "note") -> CalloutBlock:
    """``callout("Regression on CIFAR", kind="warning")``."""
    return CalloutBlock(text=_spans(text), kind=kind)


def quote(*text: Text) -> QuoteBlock:
    return QuoteBlock(text=_spans(text))


def divider() -> DividerBlock:
    return DividerBlock()


def table_of_contents() -> TableOfContentsBlock:
    return TableOfContentsBlock()


# -- panel grids ---------------------------------------------------------------------


def runset(
    project: str | None = None,
    *,
    filters: Mapping[str, Any] | Iterable[str] = (),
    run_ids: Iterable[str] = (),
    name: str = "Runs",
    frozen: bool = False,
) -> Runset:
    """Which runs a grid draws: those of ``project`` (default: the report's) matching
    every filter, plus ``run_ids``. Filters are expressions of the runs list's syntax
    (``["state=running", "summary.loss<0.5"]``) or a mapping of equalities
    (``{"tag": "nightly", "config.lr": 0.1}``)."""
    if isinstance(filters, Mapping):
        expressions = [f"{key}={_filter_value(value)}" for key, value in filters.items()]
    else:
        expressions = list(filters)
    return Runset(
        project=project, filters=expressions, run_ids=list(run_ids), name=name, frozen=frozen
    )


def _filter_value(value: Any) -> str:
    # Strings stay plain (``tag=nightly``); anything else as JSON (``config.lr=0.1``).
    return value if isinstance(value, str) else json.dumps(value)


def panel_grid(
    panels: Iterable[Panel],
    runsets: Iterable[Runset] | None = None,
    *,
    columns: int = 24,
) -> PanelGridBlock:
    """A grid of ``panels`` over ``runsets`` (default: every run of the report's
    project). Panels without a layout are placed two per row."""
    placed = []
    for i, panel in enumerate(panels):
        if panel.layout is None:
            width = columns // 2
            layout = PanelLayout(x=(i % 2) * width, y=(i // 2) * 6, w=width, h=6)
            panel = panel.model_copy(update={"layout": layout})
        placed.append(panel)
    return PanelGridBlock(
        runsets=list(runsets) if runsets is not None else [Runset()],
        panels=placed,
        layout=GridLayout(columns=columns),
    )


def _panel(kind: str, metrics: Iterable[str], **fields: Any) -> Panel:
    given = {key: value for key, value in fields.items() if value is not None}
    return Panel(type=kind, metrics=list(metrics), **given)


def line(
    *metrics: str,
    title: str | None = None,
    x_axis: str | None = None,
    smoothing: float | None = None,
    log_scale: bool | None = None,
    group_by: str | None = None,
    band: str | None = None,
    layout: PanelLayout | None = None,
) -> Panel:
    """A line chart of history ``metrics`` against ``x_axis`` (default ``"step"``);
    ``group_by="config.optimizer"`` draws each group's mean with a min/max ``band``."""
    return _panel(
        "line",
        metrics,
        title=title,
        x_axis=x_axis,
        smoothing=smoothing,
        log_scale=log_scale,
        group_by=group_by,
        band=band,
        layout=layout,
    )


def bar(
    *metrics: str,
    title: str | None = None,
    group_by: str | None = None,
    layout: PanelLayout | None = None,
) -> Panel:
    """A bar per run (or group) of each metric's latest value."""
    return _panel("bar", metrics, title=title, group_by=group_by, layout=layout)


def scalar(metric: str, *, title: str | None = None, layout: PanelLayout | None = None) -> Panel:
    """One big number: the metric's latest value."""
    return _panel("scalar", [metric], title=title, layout=layout)


def scatter(
    y: str, x: str, *, title: str | None = None, layout: PanelLayout | None = None
) -> Panel:
    """Each run as a point: history ``y`` against ``x``."""
    return _panel("scatter", [y], title=title, x_axis=x, layout=layout)


def run_table(*columns: str, title: str | None = None, layout: PanelLayout | None = None) -> Panel:
    """A table of the runs with these summary ``columns``."""
    return _panel("run_table", columns, title=title, layout=layout)


def media(key: str, *, title: str | None = None, layout: PanelLayout | None = None) -> Panel:
    """Images logged under ``key``, with a step slider."""
    return _panel("media", [], media_key=key, title=title, layout=layout)


def markdown_panel(
    text: str, *, title: str | None = None, layout: PanelLayout | None = None
) -> Panel:
    return _panel("markdown", [], markdown=text, title=title, layout=layout)
