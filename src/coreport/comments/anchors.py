"""Text anchors made on the server: relative positions into the report's ``body`` for a
thread that an integration starts on some quoted words.

A relative position names the character it sticks to by its CRDT id, so it follows
concurrent edits; the editor resolves it with y-prosemirror's
``relativePositionToAbsolutePosition``. The start sticks to the first quoted character
(assoc 0), the end to the last one (assoc -1), as ``Y.createRelativePositionFromTypeIndex``
encodes them.

pycrdt cannot make a relative position inside a ``Y.XmlText``, and does not expose
character ids. Deleting a character does reveal its id: the update of that transaction
holds only a delete set with that id. So the ids are read from deletions made in a
throwaway copy of the document, never in the live one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pycrdt import Doc, TransactionEvent, XmlElement, XmlFragment, XmlText

from coreport.comments.threads import Anchor
from coreport.reports import layout as report_layout


class QuoteNotFound(LookupError):
    """The quoted words are not (or not that many times) in one run of the report's text."""


def text_anchor(report: Doc[Any], quote: str, *, occurrence: int = 0) -> Anchor:
    """An anchor on the ``occurrence``-th appearance of ``quote`` within one text run of
    the body (a run ends at a paragraph, a line break or a formula)."""
    if not quote:
        raise QuoteNotFound("quote some words")
    found = 0
    for path, text in _texts(report_layout.body(report)):
        plain = _plain(text)
        start = plain.find(quote)
        while start >= 0:
            if found == occurrence:
                begin = len(plain[:start].encode())
                end = begin + len(quote.encode())
                rel_start, rel_end = _relative_range(report, path, begin, end, quote)
                return Anchor(kind="text", rel_start=rel_start, rel_end=rel_end, quote=quote)
            found += 1
            start = plain.find(quote, start + 1)
    raise QuoteNotFound(f"{quote!r} appears {found} time(s) in the report's text")


def _texts(
    node: XmlFragment | XmlElement, path: tuple[int, ...] = ()
) -> Iterator[tuple[tuple[int, ...], XmlText]]:
    for index, child in enumerate(node.children):
        if isinstance(child, XmlText):
            yield (*path, index), child
        elif isinstance(child, XmlElement | XmlFragment):
            yield from _texts(child, (*path, index))


def _at(doc: Doc[Any], path: tuple[int, ...]) -> XmlText:
    node: Any = report_layout.body(doc)
    for index in path:
        node = node.children[index]
    assert isinstance(node, XmlText)
    return node


def _relative_range(
    report: Doc[Any], path: tuple[int, ...], begin: int, end: int, quote: str
) -> tuple[bytes, bytes]:
    """Encoded relative positions around the quote at UTF-8 offsets ``begin``..``end`` of
    the text at ``path``: the start on its first character (assoc 0) - or, at the text's
    very start, on the text itself (assoc -1, as y-prosemirror encodes that spot) - and
    the end on its last character (assoc -1)."""
    copy: Doc[Any] = Doc()
    copy.apply_update(report.get_update())
    text = _at(copy, path)
    last = len(quote[-1].encode())
    # The later character first, so deleting it does not move the earlier one.
    end_client, end_clock, end_length = _deleted_id(copy, text, end - last, last)
    rel_end = _encode(_ITEM, end_client, end_clock + end_length - 1, -1)
    if begin:
        start_client, start_clock, _ = _deleted_id(copy, text, begin, len(quote[0].encode()))
        return _encode(_ITEM, start_client, start_clock, 0), rel_end
    # The text's own id is the origin of a node inserted right after it.
    parent: Any = report_layout.body(copy)
    for index in path[:-1]:
        parent = parent.children[index]
    type_client, type_clock = _left_origin(copy, parent, path[-1] + 1)
    return _encode(_TYPE, type_client, type_clock, -1), rel_end


def _plain(text: XmlText) -> str:
    return "".join(insert for insert, _ in text.diff() if isinstance(insert, str))


def _deleted_id(doc: Doc[Any], text: XmlText, offset: int, length: int) -> tuple[int, int, int]:
    """Delete ``length`` bytes at ``offset`` (one character) and return the id range the
    deletion names: (client, clock, length in clock units)."""

    def delete() -> None:
        del text[offset : offset + length]

    return _single_deletion(_update_of(doc, delete))


def _left_origin(doc: Doc[Any], parent: XmlElement | XmlFragment, index: int) -> tuple[int, int]:
    """Insert a node at ``index`` of ``parent``'s children and return the id its update
    names as its left origin: the id of the child before it."""

    def insert() -> None:
        parent.children.insert(index, XmlElement("probe"))

    reader = _Reader(_update_of(doc, insert))
    reader.var_uint()  # clients
    reader.var_uint()  # structs of the first client
    reader.var_uint()  # its id
    reader.var_uint()  # its first clock
    info = reader.byte()
    if not info & 0x80:
        raise ValueError("the inserted node has no left origin")
    return reader.var_uint(), reader.var_uint()


def _update_of(doc: Doc[Any], change: Callable[[], None]) -> bytes:
    """The update of the one transaction that ``change`` makes."""
    updates: list[bytes] = []

    def keep(event: TransactionEvent) -> None:
        updates.append(event.update)

    subscription = doc.observe(keep)
    try:
        change()
    finally:
        doc.unobserve(subscription)
    (update,) = updates
    return update


def _single_deletion(update: bytes) -> tuple[int, int, int]:
    """The one deleted range of an update that only deletes (Yjs update format v1: no
    structs, then the delete set)."""
    reader = _Reader(update)
    if reader.var_uint() != 0:
        raise ValueError("expected an update without new structs")
    clients = reader.var_uint()
    ranges = []
    for _ in range(clients):
        client = reader.var_uint()
        for _ in range(reader.var_uint()):
            ranges.append((client, reader.var_uint(), reader.var_uint()))
    if len(ranges) != 1:
        raise ValueError(f"expected one deleted range, got {len(ranges)}")
    return ranges[0]


_ITEM = 0  # a position next to an item (a character)
_TYPE = 2  # a position at the start (assoc -1) or end of a nested type


def _encode(scope: int, client: int, clock: int, assoc: int) -> bytes:
    """``Y.encodeRelativePosition`` of a position on an item or a nested type's id."""
    out = bytearray([scope])
    out += _var_uint(client) + _var_uint(clock)
    out += _var_int(assoc)
    return bytes(out)


def _var_uint(number: int) -> bytes:
    out = bytearray()
    while number > 0x7F:
        out.append(0x80 | (number & 0x7F))
        number >>= 7
    out.append(number)
    return bytes(out)


def _var_int(number: int) -> bytes:
    """lib0's signed varint: sign in bit 6 of the first byte, 6 bits of value there."""
    negative = number < 0
    number = abs(number)
    first = (0x40 if negative else 0) | (number & 0x3F)
    number >>= 6
    out = bytearray([first | (0x80 if number else 0)])
    while number:
        out.append((0x80 if number > 0x7F else 0) | (number & 0x7F))
        number >>= 7
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def byte(self) -> int:
        self._pos += 1
        return self._data[self._pos - 1]

    def var_uint(self) -> int:
        number, shift = 0, 0
        while True:
            byte = self._data[self._pos]
            self._pos += 1
            number |= (byte & 0x7F) << shift
            if byte < 0x80:
                return number
            shift += 7
