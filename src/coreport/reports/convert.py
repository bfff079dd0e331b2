"""Blocks <-> the live report document.

The write functions are ``change`` functions for ``Rooms.edit``: they run inside the
caller's transaction and change only what they add, so people typing at that moment keep
everything they typed. Yrs has no rollback, so every check (positions, id clashes) runs
before the first change.

The read functions turn whatever is in the document - written here or by the editor -
into blocks. A node that no block describes (or whose content does not fit its block)
becomes an :class:`~coreport.reports.blocks.EditorNodeBlock` holding it verbatim, so it
survives a read-modify-write such as a clone or a restore.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from pycrdt import Array, Doc, Map, XmlElement, XmlFragment, XmlText
from pydantic import BaseModel, TypeAdapter, ValidationError

from coreport.reports import layout
from coreport.reports.blocks import (
    READING,
    Block,
    BulletedListBlock,
    CalloutBlock,
    CheckListBlock,
    CodeBlock,
    DividerBlock,
    EditorMark,
    EditorNode,
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
    Report,
    Span,
    TableOfContentsBlock,
    iter_blocks,
)
from coreport.reports.layout import Mark, Node

#: A bare ``Y.XmlText`` where an element was expected (y-prosemirror never makes one).
BARE_TEXT = "#text"
#: A non-text insert inside a ``Y.XmlText`` (y-prosemirror never makes one either).
EMBED = "#embed"

_BLOCK: TypeAdapter[Block] = TypeAdapter(Block)
_READING = {READING: True}


class BlockConflict(ValueError):
    """Blocks name grid, panel or run set ids that the document already uses."""


class BlockPositionError(IndexError):
    """An insertion position outside ``0..len(blocks)``."""


def new_id() -> str:
    return uuid.uuid4().hex


# -- writing -----------------------------------------------------------------------


def write_report(doc: Doc[Any], report: Report) -> list[Block]:
    """Fill a new report's document: its title and blocks (see :func:`write_blocks`)."""
    set_title(doc, report.title)
    return write_blocks(doc, report.blocks)


def set_title(doc: Doc[Any], text: str) -> None:
    title = layout.title(doc)
    if str(title) != text:
        title.clear()
        title += text


def block_count(doc: Doc[Any]) -> int:
    return len(layout.body(doc).children)


def write_blocks(doc: Doc[Any], blocks: Sequence[Block], index: int | None = None) -> list[Block]:
    """Insert ``blocks`` at block position ``index`` (append when ``None``), with their
    panel grids' maps. Returns the blocks as written: copies with every missing grid,
    panel and run set id filled in.

    Raises :class:`BlockPositionError` or :class:`BlockConflict` before changing
    anything.
    """
    body = layout.body(doc)
    count = len(body.children)
    position = count if index is None else index
    if not 0 <= position <= count:
        raise BlockPositionError(f"block position {index} is outside 0..{count}")
    written = with_ids(blocks)
    _check_ids_are_free(doc, written)
    for offset, block in enumerate(written):
        _write_block(doc, body, position + offset, block)
    return written


def replace_blocks(doc: Doc[Any], blocks: Sequence[Block]) -> list[Block]:
    """Make ``blocks`` the whole body (e.g. restoring a version): every block and every
    grid, panel and run set is replaced, as one edit that can itself be undone."""
    written = with_ids(blocks)
    body = layout.body(doc)
    del body.children[0 : len(body.children)]
    for root in (layout.grids(doc), layout.panels(doc), layout.runsets(doc)):
        root.clear()
    for offset, block in enumerate(written):
        _write_block(doc, body, offset, block)
    return written


def with_ids(blocks: Sequence[Block]) -> list[Block]:
    """Copies of ``blocks`` whose grids, panels and run sets all have ids; raises
    :class:`BlockConflict` if an id repeats."""
    copies = [block.model_copy(deep=True) for block in blocks]
    seen: set[tuple[str, str]] = set()
    for grid in _grids(copies):
        grid.id = grid.id or new_id()
        for runset in grid.runsets:
            runset.id = runset.id or new_id()
        for panel in grid.panels:
            panel.id = panel.id or new_id()
        for key in _grid_keys(grid):
            if key in seen:
                raise BlockConflict(f"{key[0]} id {key[1]!r} is given twice")
            seen.add(key)
    return copies


def _grids(blocks: Sequence[Block]) -> list[PanelGridBlock]:
    return [block for block in iter_blocks(blocks) if isinstance(block, PanelGridBlock)]


def _grid_keys(grid: PanelGridBlock) -> Iterable[tuple[str, str]]:
    yield layout.GRIDS, grid.id or ""
    for runset in grid.runsets:
        yield layout.RUNSETS, runset.id or ""
    for panel in grid.panels:
        yield layout.PANELS, panel.id or ""


def _check_ids_are_free(doc: Doc[Any], blocks: Sequence[Block]) -> None:
    roots = {
        layout.GRIDS: layout.grids(doc),
        layout.PANELS: layout.panels(doc),
        layout.RUNSETS: layout.runsets(doc),
    }
    taken = [
        f"{root} id {key!r}"
        for grid in _grids(blocks)
        for root, key in _grid_keys(grid)
        if key in roots[root]
    ]
    if taken:
        raise BlockConflict(f"already in this report: {', '.join(taken)}")


def _element(
    parent: XmlFragment | XmlElement, index: int, name: str, attributes: dict[str, Any]
) -> XmlElement:
    element = parent.children.insert(index, XmlElement(name))
    for key, value in attributes.items():
        element.attributes[key] = value
    return element


def _append(parent: XmlElement, name: str, attributes: dict[str, Any]) -> XmlElement:
    return _element(parent, len(parent.children), name, attributes)


def _present(**attributes: Any) -> dict[str, Any]:
    """Attributes as y-prosemirror stores them: ``None`` means absent."""
    return {key: value for key, value in attributes.items() if value is not None}


def _write_block(doc: Doc[Any], parent: XmlFragment | XmlElement, index: int, block: Block) -> None:
    extras = block.extras if not isinstance(block, EditorNodeBlock) else {}
    match block:
        case HeadingBlock():
            element = _element(parent, index, Node.HEADING, {layout.LEVEL: block.level, **extras})
            _write_inline(element, block.text)
        case ParagraphBlock():
            _write_inline(_element(parent, index, Node.PARAGRAPH, extras), block.text)
        case BulletedListBlock():
            element = _element(parent, index, Node.BULLET_LIST, extras)
            _write_items(doc, element, Node.LIST_ITEM, block.items)
        case NumberedListBlock():
            attributes = {layout.START: block.start, **extras}
            element = _element(parent, index, Node.ORDERED_LIST, attributes)
            _write_items(doc, element, Node.LIST_ITEM, block.items)
        case CheckListBlock():
            element = _element(parent, index, Node.TASK_LIST, extras)
            _write_items(doc, element, Node.TASK_ITEM, block.items)
        case CodeBlock():
            element = _element(
                parent, index, Node.CODE_BLOCK, {**_present(language=block.language), **extras}
            )
            if block.code:
                element.children.append(XmlText()).insert(0, block.code)
        case MarkdownBlock():
            _element(parent, index, Node.MARKDOWN_BLOCK, {layout.SOURCE: block.source, **extras})
        case LatexBlock():
            _element(parent, index, Node.BLOCK_MATH, {layout.LATEX: block.source, **extras})
        case ImageBlock():
            attributes = _present(src=block.url, alt=block.alt, title=block.caption)
            _element(parent, index, Node.IMAGE, {**attributes, **extras})
        case CalloutBlock():
            element = _element(parent, index, Node.CALLOUT, {layout.KIND: block.kind, **extras})
            _write_inline(element, block.text)
        case QuoteBlock():
            element = _element(parent, index, Node.BLOCKQUOTE, extras)
            _write_inline(_append(element, Node.PARAGRAPH, {}), block.text)
        case DividerBlock():
            _element(parent, index, Node.HORIZONTAL_RULE, extras)
        case TableOfContentsBlock():
            _element(parent, index, Node.TABLE_OF_CONTENTS, extras)
        case PanelGridBlock():
            _write_grid_maps(doc, block)
            _element(parent, index, Node.PANEL_GRID, {layout.GRID_ID: block.id})
        case EditorNodeBlock():
            _write_editor_node(parent, index, block.node)


def _write_items(
    doc: Doc[Any], list_element: XmlElement, item_name: Node, items: Sequence[ListItem]
) -> None:
    for item in items:
        attributes = {layout.CHECKED: item.checked} if item_name == Node.TASK_ITEM else {}
        element = _append(list_element, item_name, {**attributes, **item.extras})
        _write_inline(_append(element, Node.PARAGRAPH, {}), item.text)
        for child in item.children:
            _write_block(doc, element, len(element.children), child)


def _marks(span: Span) -> dict[str, Any]:
    marks: dict[str, Any] = {
        flag: {} for flag in (Mark.BOLD, Mark.ITALIC, Mark.CODE, Mark.STRIKE) if getattr(span, flag)
    }
    if span.link is not None:
        marks[Mark.LINK] = {"href": span.link, **layout.LINK_DEFAULTS}
    marks.update(span.model_extra or {})
    return marks


def _write_inline(element: XmlElement, spans: Sequence[Span]) -> None:
    """Rich text as y-prosemirror lays it out: one XmlText per run of text, hard breaks
    and formulas as elements between runs, marks as formatting attributes."""
    text: XmlText | None = None
    for span in spans:
        if span.math is not None:
            _append(element, Node.INLINE_MATH, {layout.LATEX: span.math})
            text = None
            continue
        for i, piece in enumerate(span.text.split("\n")):
            if i:
                _append(element, Node.HARD_BREAK, {})
                text = None
            if piece:
                if text is None:
                    text = element.children.append(XmlText())
                text.insert(len(text), piece, _marks(span))


def _write_grid_maps(doc: Doc[Any], grid: PanelGridBlock) -> None:
    runsets, panels = layout.runsets(doc), layout.panels(doc)
    for runset in grid.runsets:
        assert runset.id is not None  # with_ids() gave every run set one
        runsets[runset.id] = Map(_map_fields(runset))
    for panel in grid.panels:
        assert panel.id is not None
        panels[panel.id] = Map(_map_fields(panel))
    assert grid.id is not None
    layout.grids(doc)[grid.id] = Map(
        {
            layout.GRID_RUNSET_IDS: Array([runset.id for runset in grid.runsets]),
            layout.GRID_PANEL_IDS: Array([panel.id for panel in grid.panels]),
            layout.GRID_LAYOUT: grid.layout.model_dump(mode="json"),
            **grid.extras,
        }
    )


def _map_fields(model: BaseModel) -> dict[str, Any]:
    """A panel's or run set's fields as map values; the id is the map key."""
    data = model.model_dump(mode="json", exclude={"id"})
    return {key: value for key, value in data.items() if value is not None}


def _write_editor_node(parent: XmlFragment | XmlElement, index: int, node: EditorNode) -> None:
    if node.type == BARE_TEXT:
        _write_runs(parent.children.insert(index, XmlText()), node.content)
        return
    element = _element(parent, index, node.type, node.attrs)
    runs: list[EditorNode] = []
    for child in [*node.content, None]:
        if child is not None and child.type in ("text", EMBED):
            runs.append(child)
            continue
        if runs:
            _write_runs(element.children.append(XmlText()), runs)
            runs = []
        if child is not None:
            _write_editor_node(element, len(element.children), child)


def _write_runs(text: XmlText, runs: Sequence[EditorNode]) -> None:
    for run in runs:
        marks = {mark.type: mark.attrs for mark in run.marks}
        if run.type == EMBED:
            text.insert_embed(len(text), run.attrs.get("value"), marks or None)
        else:
            text.insert(len(text), run.text or "", marks)


# -- reading -----------------------------------------------------------------------


class _NoBlock(Exception):
    """The node does not fit any block; it is kept as an editor node."""


def read_report(doc: Doc[Any]) -> tuple[str, list[Block]]:
    """The report's title and blocks, read from the live document."""
    return str(layout.title(doc)), read_blocks(doc)


def read_blocks(doc: Doc[Any]) -> list[Block]:
    return [_read_block(doc, node) for node in layout.body(doc).children]


def _read_block(doc: Doc[Any], node: XmlElement | XmlText | XmlFragment) -> Block:
    try:
        return _BLOCK.validate_python(_block_data(doc, node), context=_READING)
    except (_NoBlock, ValidationError):
        return EditorNodeBlock(node=editor_node(node))


def _attributes(element: XmlElement) -> dict[str, Any]:
    # pycrdt annotates the view's __iter__ as returning an Iterable, so iterate that.
    pairs: Iterable[tuple[str, Any]] = element.attributes.__iter__()
    return {key: layout.plain(value) for key, value in pairs}


def _data(model: type[BaseModel], fields: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    """A block's (or item's) input: its fields plus the node's other attributes as
    unknown fields - unless one would shadow a field."""
    if set(extras) & set(model.model_fields):
        raise _NoBlock
    return {**extras, **fields}


def _children(element: XmlElement) -> list[XmlElement | XmlText | XmlFragment]:
    return list(element.children)


def _is(node: object, name: str) -> bool:
    return isinstance(node, XmlElement) and node.tag == name


def _no_content(element: XmlElement) -> None:
    if len(element.children):
        raise _NoBlock


def _block_data(doc: Doc[Any], node: XmlElement | XmlText | XmlFragment) -> dict[str, Any]:
    if not isinstance(node, XmlElement):
        raise _NoBlock
    attributes = _attributes(node)
    pop = attributes.pop
    match node.tag:
        case Node.PARAGRAPH:
            return _data(ParagraphBlock, {"type": "paragraph", "text": _inline(node)}, attributes)
        case Node.HEADING:
            fields = {"type": "heading", "level": pop(layout.LEVEL, 1), "text": _inline(node)}
            return _data(HeadingBlock, fields, attributes)
        case Node.BULLET_LIST:
            fields = {"type": "bulleted_list", "items": _items(doc, node, Node.LIST_ITEM)}
            return _data(BulletedListBlock, fields, attributes)
        case Node.ORDERED_LIST:
            fields = {
                "type": "numbered_list",
                "start": pop(layout.START, 1),
                "items": _items(doc, node, Node.LIST_ITEM),
            }
            if attributes.get("type") is None:
                attributes.pop("type", None)
            return _data(NumberedListBlock, fields, attributes)
        case Node.TASK_LIST:
            fields = {"type": "check_list", "items": _items(doc, node, Node.TASK_ITEM)}
            return _data(CheckListBlock, fields, attributes)
        case Node.CODE_BLOCK:
            fields = {"type": "code", "language": pop(layout.LANGUAGE, None), "code": _code(node)}
            return _data(CodeBlock, fields, attributes)
        case Node.MARKDOWN_BLOCK:
            _no_content(node)
            fields = {"type": "markdown", "source": pop(layout.SOURCE, "")}
            return _data(MarkdownBlock, fields, attributes)
        case Node.BLOCK_MATH:
            _no_content(node)
            fields = {"type": "latex", "source": pop(layout.LATEX, "")}
            return _data(LatexBlock, fields, attributes)
        case Node.IMAGE:
            _no_content(node)
            fields = {
                "type": "image",
                "url": pop(layout.SRC, None),
                "alt": pop(layout.ALT, None),
                "caption": pop(layout.IMAGE_TITLE, None),
            }
            return _data(ImageBlock, fields, attributes)
        case Node.CALLOUT:
            fields = {"type": "callout", "kind": pop(layout.KIND, "note"), "text": _inline(node)}
            return _data(CalloutBlock, fields, attributes)
        case Node.BLOCKQUOTE:
            children = _children(node)
            if len(children) != 1 or not _is(children[0], Node.PARAGRAPH):
                raise _NoBlock
            paragraph = children[0]
            assert isinstance(paragraph, XmlElement)
            if _attributes(paragraph):
                raise _NoBlock
            return _data(QuoteBlock, {"type": "quote", "text": _inline(paragraph)}, attributes)
        case Node.HORIZONTAL_RULE:
            _no_content(node)
            return _data(DividerBlock, {"type": "divider"}, attributes)
        case Node.TABLE_OF_CONTENTS:
            _no_content(node)
            return _data(TableOfContentsBlock, {"type": "table_of_contents"}, attributes)
        case Node.PANEL_GRID:
            _no_content(node)
            grid_id = pop(layout.GRID_ID, None)
            if not isinstance(grid_id, str) or attributes:
                raise _NoBlock
            return _grid_data(doc, grid_id)
    raise _NoBlock


def _items(doc: Doc[Any], list_element: XmlElement, item_name: Node) -> list[dict[str, Any]]:
    items = []
    for item in _children(list_element):
        if not isinstance(item, XmlElement) or item.tag != item_name:
            raise _NoBlock
        children = _children(item)
        first, rest = (children[0], children[1:]) if children else (None, [])
        if not isinstance(first, XmlElement) or first.tag != Node.PARAGRAPH:
            raise _NoBlock
        if _attributes(first):
            raise _NoBlock
        attributes = _attributes(item)
        fields: dict[str, Any] = {
            "text": _inline(first),
            "children": [_read_block(doc, child) for child in rest],
        }
        if item_name == Node.TASK_ITEM:
            fields["checked"] = attributes.pop(layout.CHECKED, False)
        items.append(_data(ListItem, fields, attributes))
    return items


def _code(element: XmlElement) -> str:
    code = []
    for child in _children(element):
        if not isinstance(child, XmlText):
            raise _NoBlock
        for insert, marks in child.diff():
            if not isinstance(insert, str) or marks:
                raise _NoBlock
            code.append(insert)
    return "".join(code)


_FLAG_MARKS = (Mark.BOLD, Mark.ITALIC, Mark.CODE, Mark.STRIKE)


def _inline(element: XmlElement) -> list[dict[str, Any]]:
    spans: list[dict[str, Any]] = []
    for child in _children(element):
        if isinstance(child, XmlText):
            for insert, marks in child.diff():
                if not isinstance(insert, str):
                    raise _NoBlock
                spans.append(_span(insert, marks or {}))
        elif _is(child, Node.HARD_BREAK):
            assert isinstance(child, XmlElement)
            _no_content(child)
            if _attributes(child):
                raise _NoBlock
            spans.append({"text": "\n"})
        elif _is(child, Node.INLINE_MATH):
            assert isinstance(child, XmlElement)
            attributes = _attributes(child)
            if set(attributes) - {layout.LATEX}:
                raise _NoBlock
            spans.append({"math": attributes.get(layout.LATEX, "")})
        else:
            raise _NoBlock
    return spans


def _span(text: str, marks: dict[str, Any]) -> dict[str, Any]:
    span: dict[str, Any] = {"text": text}
    for name, value in marks.items():
        if value is None:  # a removed format
            continue
        if name in _FLAG_MARKS:
            if value not in ({}, True):
                raise _NoBlock
            span[name] = True
        elif name == Mark.LINK:
            href = value.get("href") if isinstance(value, dict) else None
            if not isinstance(href, str):
                raise _NoBlock
            span["link"] = href
        elif name in Span.model_fields:
            raise _NoBlock
        else:
            span[name] = layout.plain(value)
    return span


def _grid_data(doc: Doc[Any], grid_id: str) -> dict[str, Any]:
    stored = layout.grids(doc).get(grid_id)
    grid = layout.plain(stored) if isinstance(stored, Map | dict) else {}
    fields: dict[str, Any] = {
        "type": "panel_grid",
        "id": grid_id,
        "runsets": _map_entries(layout.runsets(doc), grid.pop(layout.GRID_RUNSET_IDS, [])),
        "panels": _map_entries(layout.panels(doc), grid.pop(layout.GRID_PANEL_IDS, [])),
    }
    if layout.GRID_LAYOUT in grid:
        fields["layout"] = grid.pop(layout.GRID_LAYOUT)
    return _data(PanelGridBlock, fields, grid)


def _map_entries(root: Map[Any], ids: Any) -> list[dict[str, Any]]:
    """The maps ``ids`` name, in that order; an id whose map was removed concurrently is
    left out (the grid no longer shows it)."""
    if not isinstance(ids, list):
        raise _NoBlock
    entries = []
    for key in ids:
        stored = root.get(key) if isinstance(key, str) else None
        if stored is None:
            continue
        values = layout.plain(stored)
        if not isinstance(values, dict):
            raise _NoBlock
        values.pop("id", None)
        entries.append({**values, "id": key})
    return entries


def editor_node(node: XmlElement | XmlText | XmlFragment) -> EditorNode:
    """A node of the document as stored, whatever it is."""
    if isinstance(node, XmlText):
        return EditorNode(type=BARE_TEXT, content=_runs(node))
    if not isinstance(node, XmlElement):
        raise TypeError(f"unexpected {type(node).__name__} in the body")
    content: list[EditorNode] = []
    for child in node.children:
        if isinstance(child, XmlText):
            content.extend(_runs(child))
        else:
            content.append(editor_node(child))
    return EditorNode(type=node.tag or "", attrs=_attributes(node), content=content)


def _runs(text: XmlText) -> list[EditorNode]:
    runs = []
    for insert, marks in text.diff():
        mark_list = [
            EditorMark(type=name, attrs=layout.plain(value))
            for name, value in (marks or {}).items()
            if value is not None
        ]
        if isinstance(insert, str):
            runs.append(EditorNode(type="text", text=insert, marks=mark_list))
        else:
            value = {"value": layout.plain(insert)}
            runs.append(EditorNode(type=EMBED, attrs=value, marks=mark_list))
    return runs
