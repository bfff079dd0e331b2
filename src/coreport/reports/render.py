"""What the Markdown and HTML renderings share: heading anchors, how a panel and a run set
are described in words, which URLs are safe to link, and where panel data comes from."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coreport.reports.blocks import (
    Block,
    EditorNode,
    HeadingBlock,
    Panel,
    PanelGridBlock,
    Runset,
    iter_blocks,
    plain_text,
)

#: Rows of data for one panel of a grid, e.g. one row per run with the panel's metrics
#: (the runs service provides them; a renderer without it describes the panel only).
Rows = Sequence[Mapping[str, Any]]
PanelRows = Callable[[PanelGridBlock, Panel], Rows | None]


@dataclass(frozen=True, slots=True)
class TocEntry:
    level: int
    text: str
    anchor: str


def slug(text: str) -> str:
    """A GitHub-style heading anchor: lower case, punctuation dropped, spaces to ``-``."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def without_title_heading(title: str, blocks: Sequence[Block]) -> Sequence[Block]:
    """``blocks`` without a leading level-1 heading that only repeats the title (reports
    written as Markdown often start so); the rendering shows the title once."""
    if title and blocks:
        first = blocks[0]
        if (
            isinstance(first, HeadingBlock)
            and first.level == 1
            and plain_text(first.text).strip() == title.strip()
        ):
            return blocks[1:]
    return blocks


def table_of_contents(blocks: Sequence[Block]) -> list[TocEntry]:
    """The headings of ``blocks`` with unique anchors, as GitHub numbers repeats."""
    seen: dict[str, int] = {}
    entries = []
    for block in iter_blocks(blocks):
        if isinstance(block, HeadingBlock):
            text = plain_text(block.text)
            base = slug(text) or "section"
            count = seen.get(base, 0)
            seen[base] = count + 1
            entries.append(TocEntry(block.level, text, base if not count else f"{base}-{count}"))
    return entries


def panel_settings(panel: Panel) -> str:
    """A panel's options in words: ``smoothing 0.6, log scale, grouped by config.lr``."""
    parts = []
    if panel.smoothing:
        parts.append(f"smoothing {panel.smoothing:g}")
    if panel.log_scale:
        parts.append("log scale")
    if panel.group_by:
        band = "" if panel.band == "none" else f", {panel.band.replace('_', '/')} band"
        parts.append(f"grouped by {panel.group_by} ({panel.aggregate}{band})")
    if panel.media_key:
        parts.append(f"images {panel.media_key}")
    return ", ".join(parts)


def panel_title(panel: Panel) -> str:
    return panel.title or ", ".join(panel.metrics) or panel.type.replace("_", " ")


def runset_description(runset: Runset) -> str:
    parts = []
    if runset.project:
        parts.append(f"project {runset.project}")
    if runset.filters:
        parts.append("where " + " and ".join(runset.filters))
    if runset.run_ids:
        parts.append("runs " + ", ".join(runset.run_ids))
    if runset.frozen:
        parts.append("frozen")
    return "; ".join(parts) or "all runs"


def row_columns(rows: Rows) -> list[str]:
    """The columns of ``rows``: every key, in the order first seen."""
    return list(dict.fromkeys(key for row in rows for key in row))


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


_SAFE_SCHEMES = ("http", "https", "mailto")


def safe_url(url: str) -> str | None:
    """``url`` if following it cannot run script (http, https, mailto or relative)."""
    candidate = "".join(ch for ch in url if ch >= " " and not ch.isspace())
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):", candidate)
    if scheme is None or scheme.group(1).lower() in _SAFE_SCHEMES:
        return url
    return None


def node_text(node: EditorNode) -> str:
    """The text of an editor node, its block children on lines of their own."""
    if node.type == "text":
        return node.text or ""
    inline = all(child.type == "text" for child in node.content)
    return ("" if inline else "\n").join(node_text(child) for child in node.content)
