"""The y-websocket wire protocol (y-protocols sync, awareness, auth): bytes in, messages out.

Encoding uses pycrdt's framing helpers. Decoding is strict and written here because
pycrdt's ``Decoder`` does not check bounds: a truncated varint raises ``IndexError`` and a
length prefix longer than the frame silently yields a short slice. Every malformed input
raises :class:`ProtocolError` carrying the close code for the socket that sent it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from pycrdt import Encoder, write_message, write_var_uint

from coreport.protocol import codes
from coreport.protocol.codes import CloseCode
from coreport.protocol.merge import merge_updates

# lib0 varuints carry at most 53 bits (JavaScript's safe integers): 8 bytes of 7 bits.
_MAX_VARUINT_BYTES = 8
_MAX_SAFE_INTEGER = 2**53 - 1


class MessageType(IntEnum):
    """Top-level message types of the y-websocket protocol, plus coreport's ack."""

    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3
    # Sent only to clients that connected with ``?ack=1``; standard clients never see it.
    ACK = 100


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


class ProtocolError(Exception):
    """A message that cannot be decoded; ``close`` says how to close the socket."""

    def __init__(self, detail: str, close: CloseCode = codes.PROTOCOL_ERROR) -> None:
        super().__init__(detail)
        self.detail = detail
        self.close = close


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    # The JSON text of the client's state; ``"null"`` means the client left.
    state: str

    @property
    def removed(self) -> bool:
        return self.state == "null"


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    entries: tuple[AwarenessEntry, ...]


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class Auth:
    payload: bytes


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessUpdate | QueryAwareness | Auth


class _Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def var_uint(self, what: str) -> int:
        data, pos = self._data, self._pos
        value = 0
        shift = 0
        for n in range(_MAX_VARUINT_BYTES):
            if pos + n >= len(data):
                raise ProtocolError(f"truncated varint in {what}")
            byte = data[pos + n]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self._pos = pos + n + 1
                if value > _MAX_SAFE_INTEGER:
                    raise ProtocolError(f"varint out of range in {what}")
                return value
            shift += 7
        raise ProtocolError(f"varint too long in {what}")

    def var_bytes(self, what: str) -> bytes:
        length = self.var_uint(what)
        end = self._pos + length
        if end > len(self._data):
            raise ProtocolError(f"{what} declares {length} bytes but the frame is shorter")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def var_string(self, what: str) -> str:
        raw = self.var_bytes(what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"{what} is not UTF-8", codes.INVALID_PAYLOAD) from exc

    def end(self, what: str) -> None:
        if self._pos != len(self._data):
            raise ProtocolError(f"{len(self._data) - self._pos} trailing bytes after {what}")


def parse_message(data: bytes) -> Message:
    """Decode one binary WebSocket frame of the y-websocket protocol."""
    reader = _Reader(data)
    kind = reader.var_uint("message type")
    message: Message
    if kind == MessageType.SYNC:
        sync_kind = reader.var_uint("sync message type")
        payload = reader.var_bytes("sync payload")
        if sync_kind == SyncType.STEP1:
            message = SyncStep1(payload)
        elif sync_kind == SyncType.STEP2:
            message = SyncStep2(payload)
        elif sync_kind == SyncType.UPDATE:
            message = SyncUpdate(payload)
        else:
            raise ProtocolError(f"unknown sync message type {sync_kind}", codes.UNSUPPORTED_DATA)
    elif kind == MessageType.AWARENESS:
        message = parse_awareness(reader.var_bytes("awareness payload"))
    elif kind == MessageType.QUERY_AWARENESS:
        message = QueryAwareness()
    elif kind == MessageType.AUTH:
        # y-protocols auth: a varuint sub-type then a reason string; kept opaque.
        message = Auth(data[1:])
        return message
    else:
        raise ProtocolError(f"unknown message type {kind}", codes.UNSUPPORTED_DATA)
    reader.end("message")
    return message


def parse_awareness(payload: bytes) -> AwarenessUpdate:
    """Decode an awareness update (the payload inside an AWARENESS message)."""
    reader = _Reader(payload)
    count = reader.var_uint("awareness entry count")
    # Each entry takes at least three bytes, so a count beyond that is a lie.
    if count * 3 > len(payload):
        raise ProtocolError(f"awareness declares {count} entries in {len(payload)} bytes")
    entries = []
    for _ in range(count):
        client_id = reader.var_uint("awareness client id")
        clock = reader.var_uint("awareness clock")
        state = reader.var_string("awareness state")
        if state != "null":
            try:
                json.loads(state)
            except ValueError as exc:
                raise ProtocolError("awareness state is not JSON", codes.INVALID_PAYLOAD) from exc
        entries.append(AwarenessEntry(client_id, clock, state))
    reader.end("awareness update")
    return AwarenessUpdate(tuple(entries))


def sync_step1(state_vector: bytes) -> bytes:
    return bytes((MessageType.SYNC, SyncType.STEP1)) + write_message(state_vector)


def sync_step2(update: bytes) -> bytes:
    return bytes((MessageType.SYNC, SyncType.STEP2)) + write_message(update)


def sync_update(update: bytes) -> bytes:
    return bytes((MessageType.SYNC, SyncType.UPDATE)) + write_message(update)


_SYNC_UPDATE_PREFIX = bytes((MessageType.SYNC, SyncType.UPDATE))


def is_sync_update(message: bytes) -> bool:
    """Whether an encoded message is a document update (``sync_update``)."""
    return message.startswith(_SYNC_UPDATE_PREFIX)


def merged_sync_update(run: Sequence[bytes]) -> bytes:
    """Encoded ``sync_update`` messages as one message whose update is theirs merged: a
    client that applies it ends where applying each in turn would have left it, with one
    frame and one apply instead of ``len(run)``. The updates must be ones the server
    applied, in messages this module encoded (merging checks nothing a room has not)."""
    return sync_update(merge_updates([_update_in(message) for message in run]))


def _update_in(message: bytes) -> bytes:
    """The update an encoded ``sync_update`` message carries: what follows its type bytes
    and the update's length (a var uint, whose last byte has the high bit clear)."""
    if not message.startswith(_SYNC_UPDATE_PREFIX):
        raise ValueError("only document updates merge")
    end = 2
    while message[end] & 0x80:
        end += 1
    return message[end + 1 :]


def encode_awareness_entry(entry: AwarenessEntry) -> bytes:
    """One entry of an awareness payload (see :func:`awareness_of_encoded`)."""
    encoder = Encoder()
    encoder.write_var_uint(entry.client_id)
    encoder.write_var_uint(entry.clock)
    encoder.write_var_string(entry.state)
    return encoder.to_bytes()


def encode_awareness_payload(entries: Sequence[AwarenessEntry]) -> bytes:
    return awareness_payload_of_encoded([encode_awareness_entry(entry) for entry in entries])


def awareness_payload_of_encoded(encoded: Sequence[bytes]) -> bytes:
    """An awareness payload (a bus message's) of entries encoded by
    :func:`encode_awareness_entry`."""
    return write_var_uint(len(encoded)) + b"".join(encoded)


def awareness(entries: Sequence[AwarenessEntry]) -> bytes:
    """An AWARENESS message carrying ``entries``."""
    return bytes((MessageType.AWARENESS,)) + write_message(encode_awareness_payload(entries))


def awareness_of_encoded(encoded: Sequence[bytes]) -> bytes:
    """An AWARENESS message carrying entries encoded by :func:`encode_awareness_entry`:
    a room that sends different subsets of the same entries to different clients encodes
    each entry once."""
    return bytes((MessageType.AWARENESS,)) + write_message(awareness_payload_of_encoded(encoded))


def query_awareness() -> bytes:
    return bytes((MessageType.QUERY_AWARENESS,))


def ack(acked: int, seq: int) -> bytes:
    """coreport's durable acknowledgement: ``acked`` updates of this socket are stored,
    the last of them with store sequence number ``seq``."""
    return bytes((MessageType.ACK,)) + write_var_uint(acked) + write_var_uint(seq)


def parse_ack(data: bytes) -> tuple[int, int]:
    reader = _Reader(data)
    if reader.var_uint("message type") != MessageType.ACK:
        raise ProtocolError("not an ack message")
    acked = reader.var_uint("ack count")
    seq = reader.var_uint("ack seq")
    reader.end("ack")
    return acked, seq


# y-protocols' "empty update": no structs and an empty delete set.
EMPTY_UPDATE = b"\x00\x00"
