"""A bounds check of Yjs updates (lib0 encoding v1) before they reach the CRDT engine.

Yrs keeps clocks as 32-bit integers and does not check the clocks an update names: a
struct starting near 2**32, or whose length carries it past, wraps around, and Yrs 0.28
(pycrdt 0.14.13) then panics or builds a document that panics later (when it is encoded
for the next client, applied on another replica, or loaded from the store). A real
client's clock counts the items it inserted, so it stays far below :data:`MAX_CLOCK`;
an update naming a clock beyond it is refused before anything applies it.

The walk reads every struct to find the clocks; it checks bounds, not meaning (Yrs still
decides whether an update makes sense), and never builds the content it skips over. It
also refuses what Yrs mishandles outright (empty ranges, pre-Yjs-13 JSON content, an item
whose two neighbours are one), and tells which clock ranges an update holds and whether it
skips clocks (see :class:`UpdateShape` and :func:`skips_clocks`).
"""

from __future__ import annotations

from dataclasses import dataclass

from coreport.protocol import codes
from coreport.protocol.messages import ProtocolError

#: The highest clock (exclusive end of a struct, delete range or referenced id) accepted.
MAX_CLOCK = 2**30

_MAX_VARUINT_BYTES = 8  # lib0 varuints carry at most 53 bits

# Struct kinds: the low five bits of a struct's info byte.
_GC = 0
_DELETED = 1
_JSON = 2
_BINARY = 3
_STRING = 4
_EMBED = 5
_FORMAT = 6
_TYPE = 7
_ANY = 8
_DOC = 9
_SKIP = 10

_HAS_ORIGIN = 0x80
_HAS_RIGHT_ORIGIN = 0x40
_HAS_PARENT_SUB = 0x20

# Shared type refs that carry a node name (Y.XmlElement, Y.XmlHook).
_NAMED_TYPE_REFS = (3, 5)

# lib0 ``writeAny`` tags.
_ANY_FIXED = {127: 0, 126: 0, 121: 0, 120: 0, 124: 4, 123: 8, 122: 8}
_ANY_VAR_INT = 125
_ANY_STRING = 119
_ANY_OBJECT = 118
_ANY_ARRAY = 117
_ANY_BYTES = 116


@dataclass(frozen=True, slots=True)
class UpdateShape:
    """The clock ranges an update's structs take, as :func:`check_update` found them."""

    #: ``(client, first clock, end clock)`` of each client's run of structs.
    ranges: list[tuple[int, int, int]]
    #: Whether a Skip struct leaves out some clocks inside a run.
    skips: bool
    #: ``(client, end clock)`` of the furthest range the delete set names for each client.
    deleted: list[tuple[int, int]]


class _Walk:
    __slots__ = ("_data", "_pos", "ranges")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self.ranges: list[tuple[int, int, int]] = []

    def _fail(self, detail: str) -> ProtocolError:
        return ProtocolError(f"invalid update: {detail}", codes.INVALID_PAYLOAD)

    def byte(self) -> int:
        if self._pos >= len(self._data):
            raise self._fail("truncated")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def var_uint(self) -> int:
        data, pos = self._data, self._pos
        if pos < len(data) and data[pos] < 0x80:
            # One byte: most lengths, counts and kinds, and every clock below 128.
            self._pos = pos + 1
            return data[pos]
        end = min(pos + _MAX_VARUINT_BYTES, len(data))
        value = shift = 0
        while pos < end:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self._pos = pos
                return value
            shift += 7
        if end < self._pos + _MAX_VARUINT_BYTES:  # the data ended first
            raise self._fail("truncated varint")
        raise self._fail("varint too long")

    def var_int(self) -> None:
        """Skip a lib0 signed varint (six bits and a sign in its first byte)."""
        for _ in range(_MAX_VARUINT_BYTES + 1):
            if self.byte() < 0x80:
                return
        raise self._fail("varint too long")

    def skip(self, length: int) -> None:
        if self._pos + length > len(self._data):
            raise self._fail("a length runs past the end")
        self._pos += length

    def var_bytes(self) -> int:
        """Skip a length-prefixed byte string; return its length."""
        length = self.var_uint()
        self.skip(length)
        return length

    def utf16_length(self) -> int:
        """Skip a string; return its length in UTF-16 code units (its clock length)."""
        length = self.var_bytes()
        raw = self._data[self._pos - length : self._pos]
        if raw.isascii():
            return length
        try:
            return len(raw.decode("utf-8").encode("utf-16-le")) // 2
        except UnicodeDecodeError:
            raise self._fail("a string that is not UTF-8") from None

    def clock(self, value: int, what: str) -> int:
        if value > MAX_CLOCK:
            raise self._fail(f"{what} clock {value} over {MAX_CLOCK}")
        return value

    def reference(self, what: str) -> tuple[int, int]:
        """Read an id (client, clock) another struct names."""
        client = self.var_uint()
        return client, self.clock(self.var_uint(), what)

    def any_values(self, count: int) -> None:
        """Skip ``count`` lib0 ``Any`` values, without recursion (nesting is untrusted)."""
        # Each entry: values still to read at this level, and whether they are object
        # entries (a key before each value).
        pending = [[count, False]]
        while pending:
            top = pending[-1]
            if top[0] == 0:
                pending.pop()
                continue
            top[0] -= 1
            if top[1]:
                self.var_bytes()
            tag = self.byte()
            if tag in _ANY_FIXED:
                self.skip(_ANY_FIXED[tag])
            elif tag == _ANY_VAR_INT:
                self.var_int()
            elif tag in (_ANY_STRING, _ANY_BYTES):
                self.var_bytes()
            elif tag in (_ANY_OBJECT, _ANY_ARRAY):
                pending.append([self.var_uint(), tag == _ANY_OBJECT])
            else:
                raise self._fail(f"unknown value tag {tag}")

    def _nonzero(self, length: int) -> int:
        # (An empty string is let through: y-py writes them, and Yrs takes them.)
        if length == 0:
            raise self._fail("an empty range")
        return length

    def content_length(self, kind: int) -> int:
        """Skip an item's content; return the number of clock ticks it takes."""
        if kind == _DELETED:
            return self._nonzero(self.var_uint())
        if kind == _JSON:
            # Only Yjs before 13 wrote JSON content, and Yrs 0.28 re-encodes it into
            # updates it cannot decode itself: a stored one would make the document
            # impossible to load.
            raise self._fail("JSON content (Yjs < 13) is not accepted")
        if kind in (_BINARY, _EMBED):
            self.var_bytes()
            return 1
        if kind == _STRING:
            return self.utf16_length()
        if kind == _FORMAT:
            self.var_bytes()
            self.var_bytes()
            return 1
        if kind == _TYPE:
            if self.var_uint() in _NAMED_TYPE_REFS:
                self.var_bytes()
            return 1
        if kind == _ANY:
            count = self._nonzero(self.var_uint())
            self.any_values(count)
            return count
        if kind == _DOC:
            self.var_bytes()
            self.any_values(1)
            return 1
        raise self._fail(f"unknown struct kind {kind}")

    def structs(self) -> bool:
        """Walk the structs; return whether a Skip was among them."""
        skipped = False
        for _ in range(self.var_uint()):
            count = self.var_uint()
            client = self.var_uint()
            clock = start = self.clock(self.var_uint(), "struct")
            for _ in range(count):
                info = self.byte()
                kind = info & 0x1F
                if kind in (_GC, _SKIP):
                    length = self.var_uint()
                    skipped = skipped or kind == _SKIP
                    if length == 0:
                        # Yrs divides by a block's last clock: an empty range panics it.
                        raise self._fail("an empty range")
                else:
                    origin = self.reference("origin") if info & _HAS_ORIGIN else None
                    right = self.reference("right origin") if info & _HAS_RIGHT_ORIGIN else None
                    if origin is not None and origin == right:
                        # No client makes one; Yrs places it differently on each replica.
                        raise self._fail("an item whose left and right neighbours are one")
                    if not info & (_HAS_ORIGIN | _HAS_RIGHT_ORIGIN):
                        if self.var_uint() == 1:
                            self.var_bytes()  # a root type's name
                        else:
                            self.reference("parent")
                        if info & _HAS_PARENT_SUB:
                            self.var_bytes()
                    length = self.content_length(kind)
                clock = self.clock(clock + length, "struct")
            self.ranges.append((client, start, clock))
        return skipped

    def delete_set(self) -> list[tuple[int, int]]:
        """Walk the delete set; return how far it reaches into each client's clocks."""
        reach = []
        for _ in range(self.var_uint()):
            client = self.var_uint()
            furthest = 0
            for _ in range(self.var_uint()):
                start = self.var_uint()
                end = self.clock(start + self.var_uint(), "deleted range")
                if end > furthest:
                    furthest = end
            if furthest:
                reach.append((client, furthest))
        return reach


def check_update(update: bytes) -> UpdateShape:
    """Raise ``ProtocolError`` (close 1007) if a clock ``update`` names (a struct's
    range, a referenced id, a deleted range) passes :data:`MAX_CLOCK`, if it holds what
    Yrs mishandles, or if it ends before its structs and delete set do; otherwise return
    the clock ranges it holds."""
    walk = _Walk(update)
    skips = walk.structs()
    deleted = walk.delete_set()
    return UpdateShape(walk.ranges, skips, deleted)


def decode_state_vector(state: bytes) -> dict[int, int]:
    """A state vector as Yrs encodes it (``Doc.get_state()``): each client's next clock."""
    walk = _Walk(state)
    clocks = {}
    for _ in range(walk.var_uint()):
        client = walk.var_uint()
        clocks[client] = walk.var_uint()
    return clocks


def skips_clocks(update: bytes) -> bool:
    """Whether ``update`` leaves out a range of some client's clocks (a Skip struct).

    What Yrs encodes from a sound document never does: every client's structs follow one
    another from clock 0. A skip in ``doc.get_update(state)`` means Yrs integrated a
    struct ahead of its client's earlier ones (it does so for a map entry that names no
    other struct), which no update it encodes as a change reports. Raises
    ``ProtocolError`` as :func:`check_update` does for structs it refuses.
    """
    return _Walk(update).structs()
