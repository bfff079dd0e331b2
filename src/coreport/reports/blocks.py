"""The Report API's blocks: pydantic models of what a report holds, as scripts and the
REST API write and read them.

Each block is one top-level node of the document's ``body``, so a block's position is
its index there. Unknown fields are kept (``extra="allow"``) and stored in the document:
a block's as attributes of its node, a span's as marks on its text, a panel's, run set's
or grid's as keys of its map (see :mod:`coreport.reports.convert`).

Rich text is a list of :class:`Span`; a plain string is shorthand for one unformatted
span. Spans are normalised (adjacent spans with the same formatting merged, empty ones
dropped, a line break ``"\\n"`` always in an unformatted span of its own or merged into
unformatted text) so what is written reads back equal.

Reading a document validates with :data:`READING` in the context: policy checks that an
editor may legitimately outgrow (panel types, filter syntax) are then not applied, so an
editor's newer panel still reads instead of failing the whole report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import quote

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from coreport.reports.layout import (
    CHECKED,
    GRID_PANEL_IDS,
    GRID_RUNSET_IDS,
    IMAGE_TITLE,
    KIND,
    LANGUAGE,
    LATEX,
    LEVEL,
    PANEL_TYPES,
    SOURCE,
    SRC,
    START,
)
from coreport.runs.filters import QueryError, parse_run_query

#: Validation context key set while reading a live document (see the module docstring).
READING = "coreport.reading"

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _reading(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(READING))


class _Open(BaseModel):
    """A model that keeps fields it does not know."""

    model_config = ConfigDict(extra="allow")

    #: Storage names the model's own fields use; an unknown field may not take them.
    reserved_keys: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _extras_do_not_clash(self) -> Self:
        clash = sorted(set(self.model_extra or ()) & self.reserved_keys)
        if clash:
            raise ValueError(f"field(s) {', '.join(clash)} are reserved by the document layout")
        return self

    @property
    def extras(self) -> dict[str, Any]:
        """The unknown fields, kept as given."""
        return dict(self.model_extra or {})


# -- rich text ---------------------------------------------------------------------

_FLAGS = ("bold", "italic", "code", "strike")


class Span(BaseModel):
    """A run of text with the same formatting, or one inline formula (``math``).

    Unknown fields are further editor marks (e.g. ``{"underline": {}}``): their value is
    the mark's attributes object (``true`` is shorthand for ``{}``). The editor drops
    text carrying a mark its schema lacks, so send only marks the frontend knows.
    """

    model_config = ConfigDict(extra="allow")

    text: str = ""
    bold: bool = False
    italic: bool = False
    code: bool = False
    strike: bool = False
    link: str | None = None
    #: Inline LaTeX; such a span has no text and no formatting.
    math: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        extra = self.model_extra or {}
        for name, value in extra.items():
            if value is True:
                extra[name] = {}
            elif not isinstance(value, dict):
                raise ValueError(
                    f"unknown span field {name!r}: further marks take an attributes object or true"
                )
        if self.math is not None and (self.text or self.is_formatted):
            raise ValueError("a math span holds only `math`: no text, no formatting")
        return self

    @property
    def is_formatted(self) -> bool:
        return any(getattr(self, flag) for flag in _FLAGS) or bool(self.link or self.model_extra)

    def style(self) -> dict[str, Any]:
        """Everything but the text: spans with equal styles are merged."""
        return {
            **{flag: getattr(self, flag) for flag in _FLAGS},
            "link": self.link,
            "math": self.math,
            **(self.model_extra or {}),
        }

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {
            key: value
            for key, value in data.items()
            if not (key in (*_FLAGS, "link", "math") and (value is False or value is None))
            and not (key == "text" and value == "" and self.math is not None)
        }


def _rich_text_input(value: Any) -> Any:
    if isinstance(value, str):
        return [{"text": value}] if value else []
    if isinstance(value, list):
        return [{"text": item} if isinstance(item, str) else item for item in value]
    return value


def normalize_spans(spans: Sequence[Span]) -> list[Span]:
    """The canonical form of rich text (see the module docstring)."""
    out: list[Span] = []

    def push(span: Span) -> None:
        last = out[-1] if out else None
        if last is not None and last.math is None and last.style() == span.style():
            out[-1] = last.model_copy(update={"text": last.text + span.text})
        else:
            out.append(span)

    for span in spans:
        if span.math is not None:
            out.append(span)
            continue
        for i, piece in enumerate(span.text.split("\n")):
            if i:
                push(Span(text="\n"))
            if piece:
                push(span.model_copy(update={"text": piece}))
    return out


RichText = Annotated[list[Span], BeforeValidator(_rich_text_input), AfterValidator(normalize_spans)]


def plain_text(spans: Sequence[Span]) -> str:
    """The text of rich text without formatting (formulas as their LaTeX)."""
    return "".join(span.math if span.math is not None else span.text for span in spans)


# -- text blocks -------------------------------------------------------------------


class HeadingBlock(_Open):
    type: Literal["heading"] = "heading"
    level: int = Field(1, ge=1, le=3)
    text: RichText = []
    reserved_keys = frozenset({LEVEL})


class ParagraphBlock(_Open):
    type: Literal["paragraph"] = "paragraph"
    text: RichText = []


class ListItem(_Open):
    """One list entry: its text and, nested under it, any blocks (usually a list)."""

    text: RichText = []
    #: Only for ``check_list`` items.
    checked: bool = False
    children: list[Block] = []
    reserved_keys = frozenset({CHECKED})


def _items_input(kind: str) -> Any:
    """Accept ``"text"`` for ``{"text": "text"}`` and an item's ``items`` as a nested
    list of the same kind (appended to its ``children``)."""

    def convert(value: Any) -> Any:
        if not isinstance(value, list):
            return value
        items = []
        for item in value:
            if isinstance(item, str):
                item = {"text": item}
            elif isinstance(item, dict) and "items" in item:
                item = dict(item)
                nested = {"type": kind, "items": item.pop("items")}
                item["children"] = [*item.get("children", []), nested]
            items.append(item)
        return items

    return convert


def _no_checkboxes(block: Any) -> Any:
    if any(item.checked for item in block.items):
        raise ValueError("`checked` is for check_list items")
    return block


class BulletedListBlock(_Open):
    type: Literal["bulleted_list"] = "bulleted_list"
    items: list[ListItem] = []

    _items = field_validator("items", mode="before")(_items_input("bulleted_list"))
    _unchecked = model_validator(mode="after")(_no_checkboxes)


class NumberedListBlock(_Open):
    type: Literal["numbered_list"] = "numbered_list"
    start: int = Field(1, ge=0)
    items: list[ListItem] = []
    reserved_keys = frozenset({START})

    _items = field_validator("items", mode="before")(_items_input("numbered_list"))
    _unchecked = model_validator(mode="after")(_no_checkboxes)


class CheckListBlock(_Open):
    type: Literal["check_list"] = "check_list"
    items: list[ListItem] = []

    _items = field_validator("items", mode="before")(_items_input("check_list"))


class CodeBlock(_Open):
    type: Literal["code"] = "code"
    language: str | None = None
    code: str = ""
    reserved_keys = frozenset({LANGUAGE})


class MarkdownBlock(_Open):
    """Markdown kept as source and rendered by the reader (the editor's markdownBlock)."""

    type: Literal["markdown"] = "markdown"
    source: str = ""
    reserved_keys = frozenset({SOURCE})


class LatexBlock(_Open):
    """A display formula."""

    type: Literal["latex"] = "latex"
    source: str = ""
    reserved_keys = frozenset({LATEX})


class ImageBlock(_Open):
    type: Literal["image"] = "image"
    url: str = Field(min_length=1)
    caption: str | None = None
    alt: str | None = None
    reserved_keys = frozenset({SRC, IMAGE_TITLE})


CalloutKind = Literal["note", "tip", "important", "warning", "caution"]


class CalloutBlock(_Open):
    type: Literal["callout"] = "callout"
    kind: CalloutKind = "note"
    text: RichText = []
    reserved_keys = frozenset({KIND})


class QuoteBlock(_Open):
    type: Literal["quote"] = "quote"
    text: RichText = []


class DividerBlock(_Open):
    type: Literal["divider"] = "divider"


class TableOfContentsBlock(_Open):
    type: Literal["table_of_contents"] = "table_of_contents"


# -- panel grids -------------------------------------------------------------------


def _check_filters(filters: list[str], info: ValidationInfo) -> list[str]:
    if _reading(info):
        return filters
    for expression in filters:
        name = expression.split("=", 1)[0].rstrip("<>!")
        if name in ("sort", "limit", "offset", "id"):
            raise ValueError(f"{expression!r}: a run set filters runs; put run ids in run_ids")
        try:
            parse_run_query(quote(expression, safe=""))
        except QueryError as exc:
            raise ValueError(str(exc)) from None
    return filters


class Runset(_Open):
    """Which runs a grid's panels draw: those matching ``filters`` in ``project``, plus
    ``run_ids``. ``filters`` use the query syntax of the runs list (``state=running``,
    ``tag=baseline``, ``config.lr=0.1``, ``summary.loss<0.5``); all must hold. A frozen
    run set stops following new runs and new points."""

    id: Id | None = None
    name: str = "Runs"
    #: ``None`` in a report's input means the report's project.
    project: str | None = None
    filters: list[str] = []
    run_ids: list[str] = []
    frozen: bool = False

    _filters = field_validator("filters")(_check_filters)


class PanelLayout(_Open):
    """Where a panel sits in its grid, in grid columns and rows."""

    x: int = Field(0, ge=0)
    y: int = Field(0, ge=0)
    w: int = Field(8, ge=1)
    h: int = Field(6, ge=1)


def _one_of(allowed: Sequence[str]) -> Any:
    def check(value: str, info: ValidationInfo) -> str:
        if not _reading(info) and value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return value

    return check


class Panel(_Open):
    """A chart or view in a grid. ``metrics`` are history keys for line, bar, scalar and
    scatter panels (scatter: the first is y) and summary columns for ``run_table``;
    ``group_by`` a config key whose runs are drawn as one ``aggregate`` line with a
    ``band``; ``media_key`` the image key of a media panel; ``markdown`` the text of a
    markdown panel. Without ``layout`` the editor places the panel itself."""

    id: Id | None = None
    type: str = Field("line", json_schema_extra={"enum": list(PANEL_TYPES)})
    title: str | None = None
    metrics: list[str] = []
    x_axis: str = "step"
    smoothing: float = Field(0.0, ge=0.0, le=1.0)
    log_scale: bool = False
    group_by: str | None = None
    aggregate: str = Field("mean", json_schema_extra={"enum": ["mean", "median"]})
    band: str = Field("min_max", json_schema_extra={"enum": ["min_max", "std", "none"]})
    media_key: str | None = None
    markdown: str | None = None
    layout: PanelLayout | None = None

    _type = field_validator("type")(_one_of(PANEL_TYPES))
    _aggregate = field_validator("aggregate")(_one_of(("mean", "median")))
    _band = field_validator("band")(_one_of(("min_max", "std", "none")))


class GridLayout(_Open):
    """Grid-wide layout settings."""

    columns: int = Field(24, ge=1, le=48)


class PanelGridBlock(_Open):
    type: Literal["panel_grid"] = "panel_grid"
    id: Id | None = None
    runsets: list[Runset] = []
    panels: list[Panel] = []
    layout: GridLayout = GridLayout()
    reserved_keys = frozenset({GRID_RUNSET_IDS, GRID_PANEL_IDS})

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        for what, ids in (
            ("run set", [r.id for r in self.runsets if r.id]),
            ("panel", [p.id for p in self.panels if p.id]),
        ):
            if len(ids) != len(set(ids)):
                raise ValueError(f"{what} ids repeat within the grid")
        return self


# -- anything else the editor made --------------------------------------------------


class EditorMark(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    attrs: Any = None


class EditorNode(BaseModel):
    """A node as the editor stored it: an element (``type`` is its name) with ``attrs``
    and ``content``, or a text run (``type == "text"``) with ``text`` and ``marks``."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1)
    attrs: dict[str, Any] = {}
    content: list[EditorNode] = []
    text: str | None = None
    marks: list[EditorMark] = []

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value not in ({}, [], None)}


class EditorNodeBlock(BaseModel):
    """A top-level node the Report API has no block for (or one whose content does not
    fit its block), kept verbatim so it round-trips."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["editor_node"] = "editor_node"
    node: EditorNode


Block = Annotated[
    HeadingBlock
    | ParagraphBlock
    | BulletedListBlock
    | NumberedListBlock
    | CheckListBlock
    | CodeBlock
    | MarkdownBlock
    | LatexBlock
    | ImageBlock
    | CalloutBlock
    | QuoteBlock
    | DividerBlock
    | TableOfContentsBlock
    | PanelGridBlock
    | EditorNodeBlock,
    Field(discriminator="type"),
]

ListItem.model_rebuild()

ListBlock = BulletedListBlock | NumberedListBlock | CheckListBlock


class Report(BaseModel):
    """A report as created over the API: its title, project and blocks."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field("", max_length=1000)
    project: str | None = None
    blocks: list[Block] = []

    @model_validator(mode="after")
    def _runsets_default_to_the_project(self) -> Self:
        if self.project is not None:
            for runset in iter_runsets(self.blocks):
                if runset.project is None:
                    runset.project = self.project
        return self


BLOCKS: TypeAdapter[list[Block]] = TypeAdapter(list[Block])


def parse_blocks(data: Any, *, reading: bool = False) -> list[Block]:
    """Validate JSON-like data as a list of blocks (raises pydantic's ValidationError)."""
    return BLOCKS.validate_python(data, context={READING: reading})


def iter_blocks(blocks: Sequence[Block]) -> list[Block]:
    """Every block, including those nested in list items, in document order."""
    out: list[Block] = []
    for block in blocks:
        out.append(block)
        if isinstance(block, BulletedListBlock | NumberedListBlock | CheckListBlock):
            for item in block.items:
                out.extend(iter_blocks(item.children))
    return out


def iter_runsets(blocks: Sequence[Block]) -> list[Runset]:
    """Every run set of every panel grid."""
    return [
        runset
        for block in iter_blocks(blocks)
        if isinstance(block, PanelGridBlock)
        for runset in block.runsets
    ]
