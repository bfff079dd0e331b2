"""The wire protocol: every message type round-trips, every malformed frame is refused
with the right close code, and random bytes never raise anything but ProtocolError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Awareness, Doc, Text, create_awareness_message, create_sync_message

from coreport.protocol import codes, messages
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


@given(st.binary(max_size=64))
def test_random_bytes_raise_only_protocol_errors(frame: bytes) -> None:
    try:
        parsed = parse_message(frame)
    except ProtocolError:
        return
    assert isinstance(
        parsed, SyncStep1 | SyncStep2 | SyncUpdate | AwarenessUpdate | QueryAwareness | Auth
    )


@given(st.binary(max_size=32), st.sampled_from([0, 1, 2]))
def test_sync_payloads_of_any_content_round_trip(payload: bytes, kind: int) -> None:
    encode = (messages.sync_step1, messages.sync_step2, messages.sync_update)[kind]
    parsed = parse_message(encode(payload))
    assert isinstance(parsed, SyncStep1 | SyncStep2 | SyncUpdate)
    assert (parsed.state_vector if isinstance(parsed, SyncStep1) else parsed.update) == payload
