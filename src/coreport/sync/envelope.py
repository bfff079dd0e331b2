"""What one instance tells the others about a document on the bus."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

_HEADER = struct.Struct(">BQH")


class EnvelopeKind(IntEnum):
    UPDATE = 0
    AWARENESS = 1
    #: "I just loaded this document: tell me who is here" (answered with AWARENESS).
    QUERY_AWARENESS = 2


class BadEnvelope(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: EnvelopeKind
    #: Store sequence number of an UPDATE; 0 otherwise.
    seq: int
    #: The publishing instance, so it can ignore its own messages.
    instance: str
    #: A Yjs update, or an awareness update payload.
    payload: bytes

    def encode(self) -> bytes:
        instance = self.instance.encode()
        return _HEADER.pack(self.kind, self.seq, len(instance)) + instance + self.payload

    @staticmethod
    def published_by(data: bytes, instance: bytes) -> bool:
        """Whether ``data`` is an envelope ``instance`` (encoded) published, without
        decoding the rest: an instance hears its own messages on the bus."""
        end = _HEADER.size + len(instance)
        return (
            data[_HEADER.size - 2 : _HEADER.size] == len(instance).to_bytes(2, "big")
            and data[_HEADER.size : end] == instance
        )

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        if len(data) < _HEADER.size:
            raise BadEnvelope("envelope shorter than its header")
        kind, seq, length = _HEADER.unpack_from(data)
        end = _HEADER.size + length
        if len(data) < end:
            raise BadEnvelope("envelope shorter than its instance id")
        try:
            return cls(EnvelopeKind(kind), seq, data[_HEADER.size : end].decode(), data[end:])
        except ValueError as exc:
            raise BadEnvelope(str(exc)) from exc
