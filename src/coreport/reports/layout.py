"""The report document's layout: the single source of truth for root names, node and
mark names, attributes and map keys (DESIGN.md section 2, docs/document-schema.md).

The ``body`` is what y-prosemirror (``@tiptap/y-tiptap``) makes of TipTap's ProseMirror
schema, so the editor and the Report API read and write the same structure:

* a node is a ``Y.XmlElement`` named after the node type (``paragraph``, ``heading``...);
  its ProseMirror attributes are element attributes stored as JSON values - numbers stay
  numbers (``level: 2``), booleans stay booleans (``checked: true``) - and attributes
  whose value is ``null`` are not stored at all;
* consecutive text nodes of a textblock are one ``Y.XmlText``; each mark is a formatting
  attribute on the text, named after the mark, whose value is the mark's attributes
  object (``bold: {}``, ``link: {href, target, rel, class, title}``). Marks that do not
  exclude themselves get a hash suffix (``comment--Ab12Cd34``); TipTap's do exclude
  themselves, so their names are plain;
* inline nodes that are not text (``hardBreak``, ``inlineMath``) are ``Y.XmlElement``
  children between the text runs.

Math uses the node names of TipTap's own Mathematics extension (``inlineMath`` and
``blockMath``, attribute ``latex``), so the frontend can use that extension unchanged.

Numbers come back from Yrs as floats (``2.0``); :func:`plain` turns integral floats back
into ints.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, cast

from pycrdt import Array, Doc, Map, Text, XmlFragment

# -- roots -------------------------------------------------------------------------

TITLE: Final = "title"  #: Y.Text, the report's title
BODY: Final = "body"  #: Y.XmlFragment, the rich text in TipTap's schema
GRIDS: Final = "grids"  #: Y.Map gridId -> Y.Map {runsetIds, panelIds, layout, ...}
PANELS: Final = "panels"  #: Y.Map panelId -> Y.Map {type, title, metrics, ...}
RUNSETS: Final = "runsets"  #: Y.Map runsetId -> Y.Map {name, project, filters, ...}


class Node(StrEnum):
    """ProseMirror node type names, as TipTap names them."""

    PARAGRAPH = "paragraph"
    HEADING = "heading"  # level: 1..3
    BULLET_LIST = "bulletList"
    ORDERED_LIST = "orderedList"  # start: int
    LIST_ITEM = "listItem"  # content: paragraph block*
    TASK_LIST = "taskList"
    TASK_ITEM = "taskItem"  # checked: bool; content: paragraph block* (nested: true)
    CODE_BLOCK = "codeBlock"  # language: str
    BLOCKQUOTE = "blockquote"
    HORIZONTAL_RULE = "horizontalRule"
    HARD_BREAK = "hardBreak"  # inline
    IMAGE = "image"  # src, alt, title (the caption)
    CALLOUT = "callout"  # kind; content: inline*
    BLOCK_MATH = "blockMath"  # latex
    INLINE_MATH = "inlineMath"  # latex; inline
    TABLE_OF_CONTENTS = "tableOfContents"
    MARKDOWN_BLOCK = "markdownBlock"  # source
    PANEL_GRID = "panelGrid"  # gridId


class Mark(StrEnum):
    """Mark names the editor's schema has (TipTap StarterKit)."""

    BOLD = "bold"
    ITALIC = "italic"
    CODE = "code"
    STRIKE = "strike"
    LINK = "link"
    UNDERLINE = "underline"


#: Attributes y-prosemirror writes for a TipTap link besides ``href`` (the defaults of
#: TipTap's Link mark); the Report API writes the same so the editor sees no difference.
LINK_DEFAULTS: Final[dict[str, Any]] = {
    "target": "_blank",
    "rel": "noopener noreferrer nofollow",
    "class": None,
    "title": None,
}

# -- node attributes -------------------------------------------------------------------

LEVEL: Final = "level"
START: Final = "start"
CHECKED: Final = "checked"
LANGUAGE: Final = "language"
SRC: Final = "src"
ALT: Final = "alt"
IMAGE_TITLE: Final = "title"
KIND: Final = "kind"
LATEX: Final = "latex"
SOURCE: Final = "source"
GRID_ID: Final = "gridId"

#: The attributes each node type declares in the frontend's schema, with their defaults.
#: y-prosemirror stores every attribute whose value is not null.
NODE_ATTRIBUTES: Final[dict[Node, dict[str, Any]]] = {
    Node.PARAGRAPH: {},
    Node.HEADING: {LEVEL: 1},
    Node.BULLET_LIST: {},
    Node.ORDERED_LIST: {START: 1, "type": None},
    Node.LIST_ITEM: {},
    Node.TASK_LIST: {},
    Node.TASK_ITEM: {CHECKED: False},
    Node.CODE_BLOCK: {LANGUAGE: None},
    Node.BLOCKQUOTE: {},
    Node.HORIZONTAL_RULE: {},
    Node.HARD_BREAK: {},
    Node.IMAGE: {SRC: None, ALT: None, IMAGE_TITLE: None, "width": None, "height": None},
    Node.CALLOUT: {KIND: "note"},
    Node.BLOCK_MATH: {LATEX: ""},
    Node.INLINE_MATH: {LATEX: ""},
    Node.TABLE_OF_CONTENTS: {},
    Node.MARKDOWN_BLOCK: {SOURCE: ""},
    Node.PANEL_GRID: {GRID_ID: None},
}

CALLOUT_KINDS: Final = ("note", "tip", "important", "warning", "caution")

# -- maps --------------------------------------------------------------------------

# grids[gridId]: a Y.Map with these keys (plus any unknown field of the block).
GRID_RUNSET_IDS: Final = "runsetIds"  #: Y.Array of runset ids, in order
GRID_PANEL_IDS: Final = "panelIds"  #: Y.Array of panel ids, in order
GRID_LAYOUT: Final = "layout"  #: JSON object {columns, ...}

# panels[panelId] and runsets[runsetId] are Y.Maps whose keys are the fields of the
# Panel and Runset models (snake_case, as DESIGN.md names them), values plain JSON.
PANEL_TYPES: Final = ("line", "bar", "scalar", "scatter", "run_table", "media", "markdown")


# -- roots of a live document ------------------------------------------------------


def title(doc: Doc[Any]) -> Text:
    return cast("Text", doc.get(TITLE, type=Text))


def body(doc: Doc[Any]) -> XmlFragment:
    return cast("XmlFragment", doc.get(BODY, type=XmlFragment))


def grids(doc: Doc[Any]) -> Map[Any]:
    return cast("Map[Any]", doc.get(GRIDS, type=Map))


def panels(doc: Doc[Any]) -> Map[Any]:
    return cast("Map[Any]", doc.get(PANELS, type=Map))


def runsets(doc: Doc[Any]) -> Map[Any]:
    return cast("Map[Any]", doc.get(RUNSETS, type=Map))


def plain(value: Any) -> Any:
    """A value read from the document as plain JSON-like Python: shared maps and arrays
    become dicts and lists, integral floats (how Yrs returns every number) become ints."""
    if isinstance(value, Map):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, Array):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
