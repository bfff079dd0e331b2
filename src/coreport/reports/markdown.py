"""Blocks -> GitHub-flavoured Markdown (the report's export).

The title is a level-1 heading and headings keep their levels. Callouts use GitHub's
alert syntax (``> [!WARNING]``), formulas ``$...$`` and ``$$...$$``, a table of contents
links to GitHub's heading anchors, and a panel grid becomes a table of its panels, a list
of its run sets and, when ``panel_rows`` gives them, a table of each panel's data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from coreport.reports.blocks import (
    Block,
    BulletedListBlock,
    CalloutBlock,
    CheckListBlock,
    CodeBlock,
    DividerBlock,
    EditorNodeBlock,
    HeadingBlock,
    ImageBlock,
    LatexBlock,
    ListItem,
    MarkdownBlock,
    NumberedListBlock,
    PanelGridBlock,
    ParagraphBlock,
    QuoteBlock,
    Span,
    TableOfContentsBlock,
)
from coreport.reports.render import (
    PanelRows,
    TocEntry,
    cell,
    node_text,
    panel_settings,
    panel_title,
    row_columns,
    runset_description,
    table_of_contents,
    without_title_heading,
)

_ESCAPED = re.compile(r"([\\`*_\[\]<>~|$])")
_BLOCK_MARKER = re.compile(r"^(\s*)([#+\-=])", re.MULTILINE)
_ORDERED_MARKER = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def escape_inline(text: str) -> str:
    """Text that Markdown shows as written where no block can start (a table cell)."""
    return _ESCAPED.sub(r"\\\1", text)


def escape(text: str) -> str:
    """Text that Markdown shows as written."""
    text = escape_inline(text)
    text = _BLOCK_MARKER.sub(r"\1\\\2", text)
    return _ORDERED_MARKER.sub(r"\1\\\2", text)


def to_markdown(title: str, blocks: Sequence[Block], *, panel_rows: PanelRows | None = None) -> str:
    """The report as one Markdown document."""
    blocks = without_title_heading(title, blocks)
    renderer = _Renderer(table_of_contents(blocks), panel_rows)
    parts = [f"# {escape(title)}"] if title else []
    parts.extend(renderer.blocks(blocks))
    return "\n\n".join(part for part in parts if part) + "\n"


class _Renderer:
    def __init__(self, toc: list[TocEntry], panel_rows: PanelRows | None) -> None:
        self.toc = toc
        self.panel_rows = panel_rows

    def blocks(self, blocks: Sequence[Block]) -> Iterator[str]:
        for block in blocks:
            yield self.block(block)

    def block(self, block: Block) -> str:
        match block:
            case HeadingBlock():
                return f"{'#' * block.level} {inline(block.text)}"
            case ParagraphBlock():
                return inline(block.text)
            case BulletedListBlock():
                return self.items(block.items, lambda _: "-")
            case NumberedListBlock():
                return self.items(block.items, lambda i: f"{block.start + i}.")
            case CheckListBlock():
                return self.items(block.items, lambda _: "-", checkboxes=True)
            case CodeBlock():
                fence = "`" * max(3, _longest_run(block.code, "`") + 1)
                code = block.code
                if code and not code.endswith("\n"):
                    code += "\n"
                return f"{fence}{block.language or ''}\n{code}{fence}"
            case MarkdownBlock():
                return block.source.strip("\n")
            case LatexBlock():
                return f"$$\n{block.source}\n$$"
            case ImageBlock():
                alt = escape(block.alt or block.caption or "")
                title = f' "{_quoted(block.caption)}"' if block.caption else ""
                image = f"![{alt}]({_url(block.url)}{title})"
                return f"{image}\n*{escape(block.caption)}*" if block.caption else image
            case CalloutBlock():
                return _quote(f"[!{block.kind.upper()}]\n{inline(block.text)}")
            case QuoteBlock():
                return _quote(inline(block.text))
            case DividerBlock():
                return "---"
            case TableOfContentsBlock():
                return "\n".join(
                    f"{'  ' * (entry.level - 1)}- [{escape(entry.text)}](#{entry.anchor})"
                    for entry in self.toc
                )
            case PanelGridBlock():
                return self.grid(block)
            case EditorNodeBlock():
                return escape(node_text(block.node))

    def items(
        self,
        items: Sequence[ListItem],
        marker: Callable[[int], str],
        *,
        checkboxes: bool = False,
    ) -> str:
        lines = []
        for i, item in enumerate(items):
            prefix = str(marker(i))
            box = ("[x] " if item.checked else "[ ] ") if checkboxes else ""
            text = inline(item.text).replace("\n", "\n" + " " * (len(prefix) + 1))
            lines.append(f"{prefix} {box}{text}")
            for child in item.children:
                nested = self.block(child)
                lines.append(_indent(nested, len(prefix) + 1))
        return "\n".join(lines)

    def grid(self, grid: PanelGridBlock) -> str:
        parts = []
        if grid.panels:
            rows = [
                "| Panel | Type | Metrics | X axis | Settings |",
                "| --- | --- | --- | --- | --- |",
            ]
            for panel in grid.panels:
                cells = [
                    panel_title(panel),
                    panel.type,
                    ", ".join(panel.metrics),
                    panel.x_axis,
                    panel_settings(panel),
                ]
                rows.append("| " + " | ".join(_cell(text) for text in cells) + " |")
            parts.append("\n".join(rows))
        if grid.runsets:
            parts.append(
                "Run sets:\n\n"
                + "\n".join(
                    f"- **{escape(runset.name)}**: {escape(runset_description(runset))}"
                    for runset in grid.runsets
                )
            )
        for panel in grid.panels:
            data = self.panel_rows(grid, panel) if self.panel_rows else None
            if data:
                columns = row_columns(data)
                table = [
                    "| " + " | ".join(_cell(column) for column in columns) + " |",
                    "| " + " | ".join("---" for _ in columns) + " |",
                    *(
                        "| " + " | ".join(_cell(cell(row.get(c))) for c in columns) + " |"
                        for row in data
                    ),
                ]
                parts.append(f"**{escape(panel_title(panel))}**\n\n" + "\n".join(table))
        return "\n\n".join(parts) or "*Empty panel grid*"


def inline(spans: Sequence[Span]) -> str:
    """Rich text as Markdown; a line break is a backslash at the end of the line."""
    out = []
    for span in spans:
        if span.math is not None:
            out.append(f"${span.math}$")
            continue
        if "\n" in span.text:  # only ever in unformatted spans (see normalize_spans)
            out.append(escape(span.text).replace("\n", "\\\n"))
            continue
        if span.code:
            ticks = "`" * (_longest_run(span.text, "`") + 1)
            pad = " " if span.text.startswith("`") or span.text.endswith("`") else ""
            text = f"{ticks}{pad}{span.text}{pad}{ticks}"
        else:
            text = escape(span.text)
        for flag, mark in (("strike", "~~"), ("italic", "*"), ("bold", "**")):
            if getattr(span, flag):
                text = _wrap(text, mark)
        if span.link is not None:
            text = f"[{text}]({_url(span.link)})"
        out.append(text)
    return "".join(out)


def _wrap(text: str, mark: str) -> str:
    """Emphasis must hug its text: spaces go outside the markers."""
    stripped = text.strip(" ")
    if not stripped:
        return text
    start = text.index(stripped)
    return f"{text[:start]}{mark}{stripped}{mark}{text[start + len(stripped) :]}"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(run) for run in runs), default=0)


def _url(url: str) -> str:
    return f"<{url}>" if re.search(r"[\s()<>]", url) else url


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _indent(text: str, width: int) -> str:
    pad = " " * width
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _cell(text: str) -> str:
    return escape_inline(text).replace("\n", " ")
