"""The wire protocol: every message type round-trips, every malformed frame is refused
with the right close code, and random bytes never raise anything but ProtocolError.

The fuzz tests at the end (hypothesis) feed the decoder random bytes, truncated messages,
overlong varints and lying lengths, then feed a room sync messages whose updates are
garbage: the room refuses them without the document drifting from what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pycrdt import (
    Array,
    Awareness,
    Decoder,
    Doc,
    Map,
    Text,
    XmlElement,
    XmlFragment,
    XmlText,
    create_awareness_message,
    create_sync_message,
    write_var_uint,
)

from coreport.metrics import Metrics
from coreport.protocol import codes, messages
from coreport.protocol.codes import CloseCode
from coreport.protocol.messages import (
    Auth,
    AwarenessEntry,
    AwarenessUpdate,
    ProtocolError,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    parse_message,
)
from coreport.sync.room import Room
from tests.support.fakes import ManualClock, RecordingPeer


def _update() -> bytes:
    doc: Doc = Doc()
    doc["t"] = text = Text()
    text += "hello"
    return doc.get_update()


def test_sync_messages_round_trip() -> None:
    update = _update()
    assert parse_message(messages.sync_step1(b"\x00")) == SyncStep1(b"\x00")
    assert parse_message(messages.sync_step2(update)) == SyncStep2(update)
    assert parse_message(messages.sync_update(update)) == SyncUpdate(update)


def test_parses_what_pycrdt_encodes() -> None:
    doc: Doc = Doc()
    parsed = parse_message(create_sync_message(doc))
    assert isinstance(parsed, SyncStep1)
    assert parsed.state_vector == doc.get_state()

    awareness = Awareness(doc)
    awareness.set_local_state({"user": {"name": "Ada"}})
    raw = create_awareness_message(awareness.encode_awareness_update([doc.client_id]))
    parsed_aw = parse_message(raw)
    assert isinstance(parsed_aw, AwarenessUpdate)
    (entry,) = parsed_aw.entries
    assert entry.client_id == doc.client_id
    assert entry.state == '{"user":{"name":"Ada"}}'


def test_awareness_round_trip_and_removal() -> None:
    entries = (AwarenessEntry(7, 3, '{"a":1}'), AwarenessEntry(2**40, 1, "null"))
    parsed = parse_message(messages.awareness(entries))
    assert parsed == AwarenessUpdate(entries)
    assert parsed.entries[1].removed
    assert not parsed.entries[0].removed


def test_query_awareness_and_auth() -> None:
    assert parse_message(messages.query_awareness()) == QueryAwareness()
    assert isinstance(parse_message(b"\x02\x00\x03abc"), Auth)


def test_ack_round_trip() -> None:
    assert messages.parse_ack(messages.ack(5, 300)) == (5, 300)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"", codes.PROTOCOL_ERROR),  # empty frame: no message type
        (b"\x80", codes.PROTOCOL_ERROR),  # truncated varint
        (b"\xff" * 9, codes.PROTOCOL_ERROR),  # varint longer than lib0 allows
        (b"\x00", codes.PROTOCOL_ERROR),  # sync without sub-type
        (b"\x00\x02", codes.PROTOCOL_ERROR),  # update without length
        (b"\x00\x02\x05ab", codes.PROTOCOL_ERROR),  # length beyond the frame
        (b"\x00\x02\x01a\x00", codes.PROTOCOL_ERROR),  # trailing bytes
        (b"\x00\x07\x00", codes.UNSUPPORTED_DATA),  # unknown sync type
        (b"\x09", codes.UNSUPPORTED_DATA),  # unknown message type
        (b"\x01\x04\x01\x01\x01\x05", codes.PROTOCOL_ERROR),  # awareness state cut short
        (b"\x01\x06\x01\x01\x01\x02\xff\xfe", codes.INVALID_PAYLOAD),  # state not UTF-8
        (b"\x01\x06\x01\x01\x01\x02{x", codes.INVALID_PAYLOAD),  # state not JSON
        (b"\x01\x03\x7f\x00\x00", codes.PROTOCOL_ERROR),  # count larger than the payload
        (b"\x03\x00", codes.PROTOCOL_ERROR),  # query-awareness with trailing bytes
    ],
)
def test_malformed_frames_are_refused_with_a_close_code(frame: bytes, code: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_message(frame)
    assert caught.value.close == code
    assert caught.value.detail


# -- fuzzing the decoder -----------------------------------------------------------------

#: Close codes a decoding failure may carry (docs/protocol.md, "Close codes").
DECODE_CODES = {codes.PROTOCOL_ERROR, codes.UNSUPPORTED_DATA, codes.INVALID_PAYLOAD}
MAX_VARUINT = 2**53 - 1


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=256))
def test_random_bytes_raise_only_protocol_errors(frame: bytes) -> None:
    try:
        parsed = parse_message(frame)
    except ProtocolError as exc:
        refused = exc.close
    else:
        refused = None
    if refused is not None:
        assert refused in DECODE_CODES
        return
    assert isinstance(
        parsed, SyncStep1 | SyncStep2 | SyncUpdate | AwarenessUpdate | QueryAwareness | Auth
    )


def _awareness_entries() -> st.SearchStrategy[list[AwarenessEntry]]:
    state = st.one_of(
        st.just("null"),
        st.dictionaries(st.text(max_size=5), st.integers(-5, 5), max_size=3).map(json.dumps),
    )
    entry = st.builds(AwarenessEntry, st.integers(0, MAX_VARUINT), st.integers(0, 2**32), state)
    return st.lists(entry, max_size=4)


def _valid_messages() -> st.SearchStrategy[bytes]:
    """Well-formed client messages of every kind whose prefixes are all incomplete (auth
    is opaque after its type byte, so a cut auth message is still an auth message)."""
    payload = st.binary(max_size=40)
    return st.one_of(
        payload.map(messages.sync_step1),
        payload.map(messages.sync_step2),
        payload.map(messages.sync_update),
        _awareness_entries().map(messages.awareness),
    )


@settings(max_examples=500, deadline=None)
@given(_valid_messages(), st.data())
def test_truncated_messages_are_refused_as_malformed(frame: bytes, data: st.DataObject) -> None:
    parse_message(frame)  # the whole message is fine...
    cut = data.draw(st.integers(0, len(frame) - 1), label="cut")
    with pytest.raises(ProtocolError) as caught:
        parse_message(frame[:cut])  # ...every proper prefix of it is not
    assert caught.value.close == codes.PROTOCOL_ERROR


def _overlong_varint() -> st.SearchStrategy[bytes]:
    """Varints lib0 cannot produce: nine bytes or more, or a value beyond 2**53 - 1."""
    too_long = st.integers(9, 40).map(lambda n: b"\xff" * n + b"\x01")
    too_big = st.integers(MAX_VARUINT + 1, 2**56 - 1).map(write_var_uint)
    return st.one_of(too_long, too_big)


@settings(max_examples=300, deadline=None)
@given(_overlong_varint(), st.integers(0, 4), st.binary(max_size=16))
def test_overlong_varints_are_refused_wherever_they_stand(
    varint: bytes, position: int, tail: bytes
) -> None:
    frame = [
        varint + tail,  # message type
        b"\x00" + varint + tail,  # sync sub-type
        b"\x00\x02" + varint + tail,  # sync payload length
        b"\x01" + varint + tail,  # awareness payload length
        # awareness entry count, inside a payload whose own length is right
        b"\x01" + write_var_uint(len(varint + tail)) + varint + tail,
    ][position]
    with pytest.raises(ProtocolError) as caught:
        parse_message(frame)
    assert caught.value.close == codes.PROTOCOL_ERROR


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01"]),
    st.integers(1, MAX_VARUINT - 64),
    st.binary(max_size=64),
)
def test_lengths_beyond_the_frame_are_refused_without_allocating(
    prefix: bytes, extra: int, body: bytes
) -> None:
    declared = len(body) + extra
    with pytest.raises(ProtocolError) as caught:
        parse_message(prefix + write_var_uint(declared) + body)
    assert caught.value.close == codes.PROTOCOL_ERROR
    assert str(declared) in caught.value.detail


@settings(max_examples=200, deadline=None)
@given(st.integers(1, MAX_VARUINT), _awareness_entries())
def test_awareness_counts_beyond_the_payload_are_refused(
    extra: int, entries: list[AwarenessEntry]
) -> None:
    payload = messages.encode_awareness_payload(entries)
    count_len = len(write_var_uint(len(entries)))
    lying = write_var_uint(len(entries) + extra) + payload[count_len:]
    with pytest.raises(ProtocolError) as caught:
        parse_message(b"\x01" + write_var_uint(len(lying)) + lying)
    assert caught.value.close == codes.PROTOCOL_ERROR


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=32), st.sampled_from([0, 1, 2]))
def test_sync_payloads_of_any_content_round_trip(payload: bytes, kind: int) -> None:
    encode = (messages.sync_step1, messages.sync_step2, messages.sync_update)[kind]
    parsed = parse_message(encode(payload))
    assert isinstance(parsed, SyncStep1 | SyncStep2 | SyncUpdate)
    assert (parsed.state_vector if isinstance(parsed, SyncStep1) else parsed.update) == payload


# -- fuzzing the room with sync messages that carry garbage updates ------------------------
#
# A sync step 2 or update is well-framed, but its update is garbage: random bytes, a valid
# update mangled, or structs built by hand with clocks and references no client makes. Yrs
# has no rollback and panics on some of these, so the room must either refuse the update
# with the document untouched, or refuse it and reload from the store (close 1011 for the
# others), or take it with the document still equal to what is stored.

WRITER_ID = 2**40 + 17  # the good client's id; the garbage below never names it
ROOM_METRICS = Metrics()


class _InstantCommitter:
    """Stands in for the group committer: stores every update at once, in order."""

    def __init__(self) -> None:
        self.stored: list[bytes] = []

    def submit(
        self, doc: str, data: bytes, done: Callable[[int | None, BaseException | None], None]
    ) -> None:
        self.stored.append(data)
        done(len(self.stored), None)


@dataclass(eq=False)
class _Peer(RecordingPeer):
    """A recording peer whose first close wins, as a session's does."""

    def close(self, code: CloseCode, detail: str = "") -> None:
        if self.closed is None:
            self.closed = code


@pytest.mark.parametrize("size", [1, 3, 200])  # update lengths of one and two var-uint bytes
def test_merged_sync_update_leaves_a_client_where_each_update_would(size: int) -> None:
    writer: Doc = Doc()
    writer["title"] = title = Text()
    run = []
    for i in range(size):
        before = writer.get_state()
        title.insert(0, f"{i:03d}" * (1 + i % 60))
        run.append(messages.sync_update(writer.get_update(before)))
    merged = parse_message(messages.merged_sync_update(run))
    assert isinstance(merged, SyncUpdate)
    one_by_one: Doc = Doc()
    for message in run:
        parsed = parse_message(message)
        assert isinstance(parsed, SyncUpdate)
        one_by_one.apply_update(parsed.update)
    at_once: Doc = Doc()
    at_once.apply_update(merged.update)
    assert str(at_once.get("title", type=Text)) == str(one_by_one.get("title", type=Text))
    assert str(at_once.get("title", type=Text)) == str(title)


def test_merged_sync_update_takes_only_document_updates() -> None:
    run = [messages.sync_update(messages.EMPTY_UPDATE), messages.ack(1, 1)]
    with pytest.raises(ValueError, match="only document updates"):
        messages.merged_sync_update(run)


def _state(doc: Doc) -> dict[int, int]:
    """The state vector, without clients it knows nothing of (Yrs lists a client at clock 0
    once an update named it, even if nothing of it could be applied yet)."""
    decoder = Decoder(doc.get_state())
    count = decoder.read_var_uint()
    pairs = [(decoder.read_var_uint(), decoder.read_var_uint()) for _ in range(count)]
    return {client: clock for client, clock in pairs if clock}


def _content(doc: Doc) -> tuple[str, object]:
    return str(doc.get("title", type=Text)), _plain(doc.get("panels", type=Map))


def _plain(value: object) -> object:
    """A shared value as plain data, XML types (which have no Python form) as their XML
    text: an update may put any type anywhere, and the room takes what Yrs can apply."""
    if isinstance(value, XmlElement | XmlFragment | XmlText):
        return (type(value).__name__, str(value))
    if isinstance(value, Map):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Array):
        return [_plain(item) for item in value]
    if isinstance(value, Text):
        return str(value)
    return value


def _valid_updates() -> list[bytes]:
    """Updates of several layouts, the raw material of the mangled ones."""
    text = Doc(client_id=5)
    text["title"] = title = Text("hello")
    title.insert(2, "XY")
    del title[0:1]
    other = Doc(client_id=6)
    other["panels"] = panels = Map()
    panels["a"] = 1
    panels["b"] = {"x": [1, 2]}
    panels["c"] = Array([1, "s"])
    xml = Doc(client_id=7)
    xml["body"] = body = XmlFragment()
    body.children.append(XmlElement("p", {"a": "b"}, [XmlText("hi")]))
    # The report's roots with other types than the report layout gives them.
    foreign = Doc(client_id=7)
    foreign["title"] = Map({"k": "v"})
    foreign["panels"] = Array([1, 2])
    return [text.get_update(), other.get_update(), xml.get_update(), foreign.get_update()]


VALID_UPDATES = _valid_updates()
CLOCKS = [0, 1, 2, 3, 10, 2**30, 2**31 - 1, 2**31 + 1, 2**32 - 10, 2**32 - 1, 2**32 + 3]


def _vu(value: int) -> bytes:
    return write_var_uint(value)


def _string(value: bytes) -> bytes:
    return _vu(len(value)) + value


@st.composite
def _structs_by_hand(draw: st.DrawFn) -> bytes:
    """An update of lib0 v1 structs with chosen clocks and references."""
    clock = st.one_of(st.sampled_from(CLOCKS), st.integers(0, 2**53 - 1))
    reference = st.tuples(st.sampled_from([5, 6, 7]), clock)
    any_value = st.sampled_from([b"\x7e", b"\x7d\x05", b"\x77\x01x"])
    struct = st.one_of(
        # an entry of a root map
        st.tuples(
            st.sampled_from([b"panels", b"title"]), st.sampled_from([b"a", b"b"]), any_value
        ).map(lambda t: b"\x28\x01" + _string(t[0]) + _string(t[1]) + b"\x01" + t[2]),
        # a nested array type under a root map
        st.just(b"\x27\x01" + _string(b"panels") + _string(b"c") + b"\x00"),
        # a value whose parent is another struct
        st.tuples(reference, any_value).map(
            lambda t: b"\x08\x00" + _vu(t[0][0]) + _vu(t[0][1]) + b"\x01" + t[1]
        ),
        # a value with an origin
        st.tuples(reference, any_value).map(
            lambda t: b"\x88" + _vu(t[0][0]) + _vu(t[0][1]) + b"\x01" + t[1]
        ),
        # a value with both neighbours
        st.tuples(reference, reference, any_value).map(
            lambda t: (
                b"\xc8" + _vu(t[0][0]) + _vu(t[0][1]) + _vu(t[1][0]) + _vu(t[1][1]) + b"\x01" + t[2]
            )
        ),
        # text in a root
        st.just(b"\x04\x01" + _string(b"title") + _string(b"ab")),
        # garbage-collected and skipped ranges
        st.tuples(st.sampled_from([b"\x00", b"\x0a"]), clock).map(lambda t: t[0] + _vu(t[1])),
    )
    blocks = draw(
        st.lists(
            st.tuples(st.sampled_from([5, 6, 7]), clock, st.lists(struct, min_size=1, max_size=4)),
            min_size=1,
            max_size=3,
            unique_by=lambda b: b[0],
        )
    )
    update = _vu(len(blocks))
    for client, start, structs in blocks:
        update += _vu(len(structs)) + _vu(client) + _vu(start) + b"".join(structs)
    deletes = draw(
        st.lists(st.tuples(st.sampled_from([5, 6, 7]), clock, st.integers(1, 9)), max_size=2)
    )
    update += _vu(len(deletes))
    for client, start, length in deletes:
        update += _vu(client) + b"\x01" + _vu(start) + _vu(length)
    return update


@st.composite
def _mangled(draw: st.DrawFn) -> bytes:
    """A valid update with bytes flipped, cut, inserted or replaced by long varints."""
    update = bytearray(draw(st.sampled_from(VALID_UPDATES)))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(update) - 1))
        how = draw(st.integers(0, 3))
        if how == 0:
            update[where] = draw(st.integers(0, 255))
        elif how == 1:
            del update[where:]
        elif how == 2:
            update[where:where] = draw(st.binary(min_size=1, max_size=6))
        else:
            update[where : where + 1] = b"\xff" * draw(st.integers(1, 8)) + b"\x01"
        if not update:
            break
    return bytes(update)


GARBAGE_UPDATES = st.one_of(st.binary(max_size=96), _mangled(), _structs_by_hand())

# Found by the strategies above; each broke the room before it was fixed.
#: An entry ``panels.a = 1`` then a value whose parent is that entry (not a type): Yrs
#: applies the first, then fails; the room kept ``panels.a`` in memory, never stored.
PARTIAL_UPDATE = (
    b"\x01\x02\x05\x00"
    + b"\x28\x01"
    + _string(b"panels")
    + _string(b"a")
    + b"\x01\x7d\x01"
    + b"\x08\x00\x05\x00\x01\x7d\x02"
    + b"\x00"
)
#: Structs from clock 2**31 + 1 with a value whose parent is a missing earlier clock: Yrs
#: 0.28 panics (an index underflow) after applying the first struct.
PANIC_UPDATE = (
    b"\x01\x02\x05"
    + _vu(2**31 + 1)
    + b"\x27\x01"
    + _string(b"panels")
    + _string(b"c")
    + b"\x00"
    + b"\x08\x00\x05\x00\x01\x7e"
    + b"\x00"
)


#: Text ``a`` (clock 1) and ``bcd`` after it, then ``e`` with ``c`` as its left neighbour and
#: ``b``, which stands left of ``c``, as its right one.
MISPLACED_ITEM = (
    b"\x01\x04\x05\x00"
    + b"\x01\x01"
    + _string(b"title")
    + b"\x01"
    + b"\x84\x05\x00"
    + _string(b"a")
    + b"\x84\x05\x01"
    + _string(b"bcd")
    + b"\xc4\x05\x03\x05\x02"
    + _string(b"e")
    + b"\x00"
)

#: A valid update that puts an XML element into ``panels`` (found after the checks read
#: the panels with ``to_py``, which XML types do not have).
XML_IN_PANELS = (
    b"\x01\x03\x00\x00(\x01\x00\x06\x00\x00\x00\x00\x00\x00\x01|\x00\x00\x00\x00(\x01\x00\x06"
    b"\x00\x00\x00\x00\x00\x00\x01v\x01\x00u\x02|\x00\x00\x00\x00|\x00\x00\x00\x00'\x01\x06"
    b"panels\x00\x03\x00\x00"
)


def _edit(doc: Doc, change: Callable[[Doc], None]) -> bytes:
    before = doc.get_state()
    change(doc)
    return doc.get_update(before)


def _write_base(doc: Doc) -> None:
    doc["title"] = Text("base")
    doc["panels"] = Map({"p1": 1})


@settings(max_examples=1500, deadline=None)
@given(GARBAGE_UPDATES, st.booleans())
@example(PARTIAL_UPDATE, True)
@example(PANIC_UPDATE, False)
@example(MISPLACED_ITEM, False)
@example(XML_IN_PANELS, False)
@example(_vu(1) + _vu(1) + _vu(5) + _vu(0) + b"\x00" + _vu(2**53 - 1) + b"\x00", False)
def test_room_refuses_garbage_updates_without_drifting_from_the_store(
    garbage: bytes, as_step2: bool
) -> None:
    committer = _InstantCommitter()
    dropped: list[Room] = []
    room = Room(
        "reports/fuzz",
        instance="me",
        committer=committer,
        publish=lambda channel, data: None,
        metrics=ROOM_METRICS,
        clock=ManualClock(),
        on_broken=dropped.append,
    )
    writer, reader, hostile = _Peer("writer"), _Peer("reader"), _Peer("hostile")
    for peer in (writer, reader, hostile):
        room.join(peer)
        room.receive(peer, SyncStep1(b"\x00"))
    good = Doc(client_id=WRITER_ID)
    room.receive(writer, SyncUpdate(_edit(good, _write_base)))
    stored_before, state_before, content_before = (
        len(committer.stored),
        _state(room.doc),
        _content(room.doc),
    )
    relayed_before = len(reader.updates())

    frame = (messages.sync_step2 if as_step2 else messages.sync_update)(garbage)
    try:
        room.receive(hostile, parse_message(frame))
        refused: ProtocolError | None = None
    except ProtocolError as exc:
        refused = exc

    if room.broken:
        # Refused after Yrs had changed the document (or panicked): the sender is told its
        # update was invalid, everyone else reconnects (1011) to a room loaded from the
        # store, which never saw any of it.
        assert refused is not None
        assert refused.close == codes.INVALID_PAYLOAD
        assert hostile.closed == codes.INVALID_PAYLOAD
        assert writer.closed == reader.closed == codes.INTERNAL_ERROR
        assert dropped == [room]
        assert len(committer.stored) == stored_before
        assert len(reader.updates()) == relayed_before
        reloaded: Doc = Doc()
        for update in committer.stored:
            reloaded.apply_update(update)
        assert _content(reloaded) == content_before
        return
    if refused is not None:
        assert refused.close == codes.INVALID_PAYLOAD
        assert _state(room.doc) == state_before
        assert _content(room.doc) == content_before
        assert len(committer.stored) == stored_before
    # Whatever the room holds now is exactly what the store holds, the others were sent
    # exactly what was stored, and the good client's content is intact and still editable.
    # (Text is compared as characters, not in order: an item whose right neighbour stands
    # left of its left one, which no client makes, lands in one place in the room and in
    # another on replicas built from the stored change; docs/reliability.md.)
    replica: Doc = Doc()
    for update in committer.stored:
        replica.apply_update(update)
    assert _state(replica) == _state(room.doc)
    (replica_title, replica_panels), (room_title, room_panels) = (
        _content(replica),
        _content(room.doc),
    )
    assert sorted(replica_title) == sorted(room_title)
    assert replica_panels == room_panels
    assert reader.updates()[relayed_before:] == committer.stored[stored_before:]
    room.receive(
        writer, SyncUpdate(_edit(good, lambda d: d.get("title", type=Text).insert(0, "!")))
    )
    # (Garbage the room took may have put text of its own in the title too.)
    assert "!" in str(room.doc.get("title", type=Text))
    assert "base" in str(room.doc.get("title", type=Text))
    assert room.doc.get("panels", type=Map)["p1"] == 1
    assert writer.closed is None
    assert reader.closed is None
