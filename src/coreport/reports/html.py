"""Blocks -> one standalone HTML page (the report's export): everything escaped, links
and images only with safe URLs, a small inline stylesheet and no scripts. A panel grid
shows each panel's description and, when ``panel_rows`` gives them, its data as a table.
Formulas are left as TeX between ``\\(`` ``\\)`` / ``\\[`` ``\\]`` for a reader's math
renderer."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from html import escape

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
    Panel,
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
    safe_url,
    table_of_contents,
    without_title_heading,
)

STYLE = """
body{font:16px/1.6 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;margin:0}
main{max-width:52rem;margin:0 auto;padding:2rem 1.25rem}
h1,h2,h3,h4{line-height:1.25;margin:1.6em 0 .6em}
pre{background:#f6f8fa;padding:.8rem 1rem;overflow:auto;border-radius:6px}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace}
:not(pre)>code{background:#f0f1f3;padding:.1em .3em;border-radius:4px}
blockquote{margin:1em 0;padding:0 1em;border-left:.25em solid #d0d7de;color:#59636e}
figure{margin:1.2em 0}img{max-width:100%}figcaption{color:#59636e;font-size:.9em}
.callout{margin:1em 0;padding:.6em 1em;border-left:.25em solid #0969da;background:#f3f8ff}
.callout-tip{border-color:#1a7f37;background:#f2fbf4}
.callout-important{border-color:#8250df;background:#f8f4ff}
.callout-warning{border-color:#9a6700;background:#fff8e6}
.callout-caution{border-color:#cf222e;background:#fff3f3}
.checklist{list-style:none;padding-left:1.2em}
.toc ul{padding-left:1.2em}
.panel-grid{border:1px solid #d0d7de;border-radius:6px;padding:.5rem 1rem;margin:1.2em 0}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left}
.math{font-family:"Latin Modern Math","STIX Two Math",serif}
.muted{color:#59636e}
""".strip()

_CALLOUT_LABELS = {
    "note": "Note",
    "tip": "Tip",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
}
_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);", re.IGNORECASE)


def to_html(
    title: str,
    blocks: Sequence[Block],
    *,
    panel_rows: PanelRows | None = None,
    lang: str = "en",
) -> str:
    """The report as a standalone HTML document."""
    blocks = without_title_heading(title, blocks)
    renderer = _Renderer(table_of_contents(blocks), panel_rows)
    body = "\n".join(renderer.blocks(blocks))
    heading = f"<h1>{escape(title)}</h1>\n" if title else ""
    return (
        f'<!doctype html>\n<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title or 'Report')}</title>\n<style>\n{STYLE}\n</style>\n"
        f"</head>\n<body>\n<main>\n{heading}{body}\n</main>\n</body>\n</html>\n"
    )


class _Renderer:
    def __init__(self, toc: list[TocEntry], panel_rows: PanelRows | None) -> None:
        self.toc = toc
        self.anchors = iter([entry.anchor for entry in toc])
        self.panel_rows = panel_rows

    def blocks(self, blocks: Sequence[Block]) -> Iterator[str]:
        for block in blocks:
            yield self.block(block)

    def block(self, block: Block) -> str:
        match block:
            case HeadingBlock():
                # The title is the page's h1, so headings start at h2.
                tag = f"h{block.level + 1}"
                anchor = next(self.anchors, "")
                return f'<{tag} id="{escape(anchor)}">{inline(block.text)}</{tag}>'
            case ParagraphBlock():
                return f"<p>{inline(block.text)}</p>"
            case BulletedListBlock():
                return f"<ul>{self.items(block.items)}</ul>"
            case NumberedListBlock():
                start = f' start="{block.start}"' if block.start != 1 else ""
                return f"<ol{start}>{self.items(block.items)}</ol>"
            case CheckListBlock():
                return f'<ul class="checklist">{self.items(block.items, checkboxes=True)}</ul>'
            case CodeBlock():
                language = f' class="language-{escape(block.language)}"' if block.language else ""
                return f"<pre><code{language}>{escape(block.code)}</code></pre>"
            case MarkdownBlock():
                return self.markdown(block.source)
            case LatexBlock():
                return f'<div class="math">\\[{escape(block.source)}\\]</div>'
            case ImageBlock():
                return _image(block)
            case CalloutBlock():
                label = _CALLOUT_LABELS.get(block.kind, block.kind.title())
                return (
                    f'<aside class="callout callout-{escape(block.kind)}">'
                    f"<strong>{escape(label)}</strong> {inline(block.text)}</aside>"
                )
            case QuoteBlock():
                return f"<blockquote><p>{inline(block.text)}</p></blockquote>"
            case DividerBlock():
                return "<hr>"
            case TableOfContentsBlock():
                entries = "".join(
                    f'<li style="margin-left:{(entry.level - 1) * 1.2}em">'
                    f'<a href="#{escape(entry.anchor)}">{escape(entry.text)}</a></li>'
                    for entry in self.toc
                )
                return f'<nav class="toc" aria-label="Contents"><ul>{entries}</ul></nav>'
            case PanelGridBlock():
                return self.grid(block)
            case EditorNodeBlock():
                text = escape(node_text(block.node)).replace("\n", "<br>")
                return f'<div data-node="{escape(block.node.type)}">{text}</div>'

    def items(self, items: Sequence[ListItem], *, checkboxes: bool = False) -> str:
        out = []
        for item in items:
            box = ""
            if checkboxes:
                checked = " checked" if item.checked else ""
                box = f'<input type="checkbox" disabled{checked}> '
            children = "".join(self.block(child) for child in item.children)
            out.append(f"<li>{box}{inline(item.text)}{children}</li>")
        return "".join(out)

    def markdown(self, source: str) -> str:
        return f'<pre class="markdown">{escape(source)}</pre>'

    def grid(self, grid: PanelGridBlock) -> str:
        parts = [self.panel(grid, panel) for panel in grid.panels]
        if grid.runsets:
            runsets = "".join(
                f"<li><strong>{escape(runset.name)}</strong>: "
                f"{escape(runset_description(runset))}</li>"
                for runset in grid.runsets
            )
            parts.append(f'<p class="muted">Run sets</p><ul>{runsets}</ul>')
        content = "\n".join(parts) or '<p class="muted">Empty panel grid</p>'
        return f'<section class="panel-grid">\n{content}\n</section>'

    def panel(self, grid: PanelGridBlock, panel: Panel) -> str:
        about = [panel.type.replace("_", " ")]
        if panel.metrics:
            about.append(", ".join(panel.metrics))
        if panel.type in ("line", "scatter"):
            about.append(f"x: {panel.x_axis}")
        if settings := panel_settings(panel):
            about.append(settings)
        caption = (
            f"<figcaption><strong>{escape(panel_title(panel))}</strong> "
            f'<span class="muted">({escape("; ".join(about))})</span></figcaption>'
        )
        if panel.type == "markdown" and panel.markdown:
            return f'<figure class="panel">{caption}{self.markdown(panel.markdown)}</figure>'
        rows = self.panel_rows(grid, panel) if self.panel_rows else None
        if not rows:
            return f'<figure class="panel">{caption}</figure>'
        columns = row_columns(rows)
        head = "".join(f"<th>{escape(column)}</th>" for column in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(cell(row.get(c)))}</td>" for c in columns) + "</tr>"
            for row in rows
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return f'<figure class="panel">{caption}{table}</figure>'


def inline(spans: Sequence[Span]) -> str:
    out = []
    for span in spans:
        if span.math is not None:
            out.append(f'<span class="math">\\({escape(span.math)}\\)</span>')
            continue
        text = escape(span.text).replace("\n", "<br>")
        if span.code:
            text = f"<code>{text}</code>"
        if (span.model_extra or {}).get("underline") is not None:
            text = f"<u>{text}</u>"
        if span.strike:
            text = f"<s>{text}</s>"
        if span.italic:
            text = f"<em>{text}</em>"
        if span.bold:
            text = f"<strong>{text}</strong>"
        if span.link is not None:
            href = safe_url(span.link)
            if href is not None:
                text = f'<a href="{escape(href)}" rel="noopener noreferrer">{text}</a>'
        out.append(text)
    return "".join(out)


def _image(block: ImageBlock) -> str:
    src = block.url if _IMAGE_DATA.match(block.url) else safe_url(block.url)
    alt = escape(block.alt or block.caption or "")
    if src is None:
        image = f'<span class="muted">[image not shown: {escape(block.url)}]</span>'
    else:
        image = f'<img src="{escape(src)}" alt="{alt}">'
    caption = f"<figcaption>{escape(block.caption)}</figcaption>" if block.caption else ""
    return f"<figure>{image}{caption}</figure>"
