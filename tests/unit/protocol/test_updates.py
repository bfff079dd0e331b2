"""The bounds check of Yjs updates: every update real clients make passes, every clock
beyond the bound is refused wherever it stands, and random bytes raise nothing but
ProtocolError (close 1007)."""

from __future__ import annotations

import string
import time

import pytest
import y_py
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText, write_var_uint

from coreport.protocol import codes
from coreport.protocol.messages import ProtocolError
from coreport.protocol.updates import (
    MAX_CLOCK,
    check_update,
    decode_state_vector,
    skips_clocks,
)


def _vu(value: int) -> bytes:
    return write_var_uint(value)


def _string(value: bytes) -> bytes:
    return _vu(len(value)) + value


def _one_block(client: int, clock: int, *structs: bytes, deletes: bytes = b"\x00") -> bytes:
    return _vu(1) + _vu(len(structs)) + _vu(client) + _vu(clock) + b"".join(structs) + deletes


MAP_ENTRY = b"\x28\x01" + _string(b"panels") + _string(b"k") + b"\x01\x7d\x01"


def _refused(update: bytes) -> str:
    with pytest.raises(ProtocolError) as caught:
        check_update(update)
    assert caught.value.close == codes.INVALID_PAYLOAD
    return caught.value.detail


# -- what real clients send passes ---------------------------------------------------------

ALPHABET = string.ascii_letters + " "

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)

_edits = st.lists(
    st.one_of(
        # ASCII: pycrdt's text indexes are not code points, and that is not the point here.
        st.tuples(st.just("insert"), st.integers(0, 50), st.text(ALPHABET, min_size=1, max_size=6)),
        st.tuples(st.just("delete"), st.integers(0, 50), st.integers(1, 4)),
        st.tuples(st.just("format"), st.integers(0, 50), st.integers(1, 4)),
        st.tuples(st.just("set"), st.sampled_from("abc"), _values),
        st.tuples(st.just("append"), _values),
        st.tuples(st.just("nested"), st.sampled_from("abc")),
        st.tuples(st.just("xml"), st.text(max_size=6)),
        st.tuples(st.just("subdoc"), st.sampled_from("abc")),
    ),
    min_size=1,
    max_size=12,
)


def _apply(doc: Doc, edit: tuple[object, ...]) -> None:
    title = doc.get("title", type=Text)
    kind = edit[0]
    if kind == "insert":
        _, at, text = edit
        assert isinstance(at, int)
        assert isinstance(text, str)
        title.insert(min(at, len(title)), text)
    elif kind in ("delete", "format") and len(title):
        _, at, length = edit
        assert isinstance(at, int)
        assert isinstance(length, int)
        start = min(at, len(title) - 1)
        end = min(len(title), start + length)
        if kind == "delete":
            del title[start:end]
        else:
            title.format(start, end, {"bold": True})
    elif kind == "set":
        doc.get("panels", type=Map)[str(edit[1])] = edit[2]
    elif kind == "append":
        doc.get("list", type=Array).append(edit[1])
    elif kind == "nested":
        doc.get("panels", type=Map)[str(edit[1])] = Map(
            {"metrics": Array(["loss"]), "t": Text("x")}
        )
    elif kind == "xml":
        body = doc.get("body", type=XmlFragment)
        body.children.append(XmlElement("paragraph", {"align": "left"}, [XmlText(str(edit[1]))]))
    elif kind == "subdoc":
        doc.get("panels", type=Map)[str(edit[1])] = Doc()


@settings(max_examples=150, deadline=None)
@given(_edits)
def test_updates_pycrdt_makes_pass(edits: list[tuple[object, ...]]) -> None:
    doc: Doc = Doc()
    doc["title"] = Text()
    doc["panels"] = Map()
    doc["list"] = Array()
    doc["body"] = XmlFragment()
    for edit in edits:
        before = doc.get_state()
        _apply(doc, edit)
        change = doc.get_update(before)
        shape = check_update(change)
        assert not skips_clocks(change)
        assert not shape.skips
        # Each client's run starts where the document was and ends where it is now.
        was, now = decode_state_vector(before), decode_state_vector(doc.get_state())
        assert {c: (start, end) for c, start, end in shape.ranges} == {
            c: (was.get(c, 0), clock) for c, clock in now.items() if clock > was.get(c, 0)
        }
        # What a change deletes, the document holds.
        assert all(0 < end <= now.get(c, 0) for c, end in shape.deleted)
    check_update(doc.get_update())
    assert not skips_clocks(doc.get_update())


def test_updates_y_py_makes_pass() -> None:
    doc = y_py.YDoc()
    text = doc.get_text("title")
    panels = doc.get_map("panels")
    for i in range(30):
        before = y_py.encode_state_vector(doc)
        with doc.begin_transaction() as txn:
            text.insert(txn, 0, f"é{i}")
            panels.set(txn, f"p{i}", {"metrics": ["loss", 1.5, None, True], "n": i})
            if i % 3 == 0:
                text.delete_range(txn, 0, 1)
        check_update(y_py.encode_state_as_update(doc, before))
    check_update(y_py.encode_state_as_update(doc))


# -- clocks beyond the bound ---------------------------------------------------------------


def test_the_bound_itself_passes() -> None:
    check_update(_one_block(5, MAX_CLOCK - 1, MAP_ENTRY))
    check_update(_one_block(5, 0, b"\x00" + _vu(MAX_CLOCK)))  # a GC range up to the bound


@pytest.mark.parametrize(
    "update",
    [
        # a block starting beyond the bound
        _one_block(5, MAX_CLOCK + 1, MAP_ENTRY),
        # a garbage-collected range whose length carries it past the bound
        _one_block(5, 10, b"\x00" + _vu(MAX_CLOCK)),
        # clocks Yrs would truncate to 32 bits
        _one_block(5, 2**32 + 3, MAP_ENTRY),
        _one_block(5, 2**53 - 1, MAP_ENTRY),
        # a reference beyond the bound: origin, right origin, parent
        _one_block(5, 0, b"\x88\x07" + _vu(2**31 + 1) + b"\x01\x7e"),
        _one_block(5, 0, b"\x48\x07" + _vu(2**31 + 1) + b"\x01\x7e"),
        _one_block(5, 0, b"\x08\x00\x07" + _vu(2**32 - 10) + b"\x01\x7e"),
        # a deleted range beyond the bound
        _vu(0) + _vu(1) + _vu(5) + _vu(1) + _vu(MAX_CLOCK) + _vu(5),
    ],
)
def test_clocks_beyond_the_bound_are_refused(update: bytes) -> None:
    assert str(MAX_CLOCK) in _refused(update)


@pytest.mark.parametrize(
    ("update", "detail"),
    [
        (_one_block(5, 0, b"\xc8\x07\x01\x07\x01\x01\x7e"), "neighbours are one"),
        (_one_block(5, 0, b"\x00\x00"), "empty range"),  # a GC range of length 0
        (_one_block(5, 0, b"\x08\x01" + _string(b"list") + b"\x00"), "empty range"),
        (_one_block(5, 0, b"\x02\x01" + _string(b"list") + b"\x01" + _string(b"1")), "JSON"),
        (_one_block(5, 0, b"\x0b\x01" + _string(b"list")), "kind 11"),
        (_one_block(5, 0, b"\x08\x01" + _string(b"list") + b"\x01\x6f"), "value tag 111"),
        (_one_block(5, 0, MAP_ENTRY)[:-1], "truncated"),  # no delete set
        (_vu(1) + _vu(2**40) + _vu(5), "truncated"),  # more structs declared than bytes
        (_vu(1) + _vu(1) + b"\xff\xff", "truncated varint"),  # a client id cut short
        (_vu(1) + _vu(1) + b"\xff" * 8 + b"\x01", "varint too long"),  # past 8 bytes
        (_vu(1) + _vu(1) + b"\xff" * 8, "varint too long"),  # 8 bytes, all continued
    ],
)
def test_malformed_updates_are_refused(update: bytes, detail: str) -> None:
    assert detail in _refused(update)


@pytest.mark.parametrize("client", [0, 127, 128, 300, 2**21 - 1, 2**21, 2**32 + 5, 2**53 - 1])
def test_a_client_id_of_any_width_is_read_whole(client: int) -> None:
    shape = check_update(_one_block(client, 130, MAP_ENTRY))
    assert shape.ranges == [(client, 130, 131)]


def test_deep_nesting_is_walked_without_recursion() -> None:
    depth = 200_000
    nested = b"\x75\x01" * depth + b"\x7e"  # [[[...null...]]]
    update = _one_block(5, 0, b"\x28\x01" + _string(b"m") + _string(b"k") + b"\x01" + nested)
    started = time.perf_counter()
    check_update(update)
    assert time.perf_counter() - started < 5


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=128))
def test_random_bytes_raise_only_invalid_payload(data: bytes) -> None:
    try:
        check_update(data)
    except ProtocolError as exc:
        refused = exc.close
    else:
        refused = codes.INVALID_PAYLOAD
    assert refused == codes.INVALID_PAYLOAD


# -- skipped clocks ------------------------------------------------------------------------


def test_a_map_entry_ahead_of_its_client_shows_up_as_a_skip() -> None:
    """Yrs 0.28 integrates a root map entry whose client's earlier clocks are missing
    (other structs wait as pending) and leaves it out of the transaction's update; the
    document's own encoding then skips the missing clocks."""
    writer = Doc(client_id=5)
    writer["panels"] = panels = Map()
    panels["x"] = 1
    first = writer.get_state()
    panels["y"] = 2
    second = writer.get_update(first)

    doc: Doc = Doc()
    changes: list[bytes] = []
    doc.observe(lambda event: changes.append(event.update))
    before = doc.get_state()
    doc.apply_update(second)
    assert doc.get("panels", type=Map).to_py() == {"y": 2.0}  # visible...
    assert changes == [b"\x00\x00"]  # ...but not in the change
    assert skips_clocks(doc.get_update(before))


def test_string_lengths_count_utf16_units_and_invalid_utf8_is_refused() -> None:
    doc: Doc = Doc()
    doc["t"] = text = Text()
    text += "h\u00e9\U0001f600"  # 1 + 1 + 2 UTF-16 units in 1 + 2 + 4 UTF-8 bytes
    update = doc.get_update()
    ((_, start, end),) = check_update(update).ranges
    assert (start, end) == (0, 4)
    bad = update.replace("h\u00e9".encode(), b"h\xff\xfe")
    with pytest.raises(ProtocolError, match="not UTF-8"):
        check_update(bad)
    with pytest.raises(Exception, match="decode"):
        Doc().apply_update(bad)  # Yrs refuses it as well


def test_the_shape_says_how_far_deletions_reach() -> None:
    doc: Doc = Doc()
    doc["t"] = Text("hello world")
    before = doc.get_state()
    del doc.get("t", type=Text)[2:4]
    del doc.get("t", type=Text)[6:8]
    shape = check_update(doc.get_update(before))
    assert shape.ranges == []
    assert shape.deleted == [(doc.client_id, 10)]  # the last range is "rl", clocks 8-9
