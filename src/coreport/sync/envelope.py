"""What one instance tells the others about a document on the bus.

An envelope is a header (kind, sequence number, the publishing instance) and a payload.
The updates an instance committed one after another on one document travel as one
``UPDATES`` envelope: their sequence numbers are consecutive, so the header carries the
first, and the payload holds each update behind its length. Under load a group commit
stores tens of updates of one document at once, and one message on the bus instead of
one per update saves each instance a PUBLISH, and every instance a message to read,
per update (:func:`coalesce`, called by the outbox).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

_HEADER = struct.Struct(">BQH")
_LENGTH = struct.Struct(">I")

#: The largest payload :func:`coalesce` makes of several updates; a larger update travels
#: alone, as it came.
MAX_COALESCED_BYTES = 256 * 1024


class EnvelopeKind(IntEnum):
    UPDATE = 0
    AWARENESS = 1
    #: "I just loaded this document: tell me who is here" (answered with AWARENESS).
    QUERY_AWARENESS = 2
    #: Several updates with consecutive sequence numbers, from ``seq`` on.
    UPDATES = 3


class BadEnvelope(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: EnvelopeKind
    #: Store sequence number of an UPDATE (of the first of UPDATES); 0 otherwise.
    seq: int
    #: The publishing instance, so it can ignore its own messages.
    instance: str
    #: A Yjs update, updates each behind its 4-byte length, or an awareness payload.
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

    def updates(self) -> list[tuple[int, bytes]]:
        """The ``(seq, update)`` pairs an UPDATE or UPDATES envelope carries, in order."""
        if self.kind is EnvelopeKind.UPDATE:
            return [(self.seq, self.payload)]
        if self.kind is not EnvelopeKind.UPDATES:
            raise BadEnvelope(f"a {self.kind.name} envelope carries no updates")
        payload, at = self.payload, 0
        found: list[tuple[int, bytes]] = []
        while at < len(payload):
            if at + _LENGTH.size > len(payload):
                raise BadEnvelope("UPDATES payload ends inside a length")
            (size,) = _LENGTH.unpack_from(payload, at)
            at += _LENGTH.size
            if at + size > len(payload):
                raise BadEnvelope("UPDATES payload ends inside an update")
            found.append((self.seq + len(found), payload[at : at + size]))
            at += size
        if not found:
            raise BadEnvelope("UPDATES envelope without updates")
        return found


@dataclass(slots=True)
class _Run:
    """Updates of one channel and instance with consecutive sequence numbers."""

    first: bytes  # the first update's envelope, sent as it is if nothing joins it
    seq: int
    instance: bytes
    updates: list[bytes]
    size: int

    def encode(self) -> bytes:
        if len(self.updates) == 1:
            return self.first
        parts: list[bytes] = []
        for update in self.updates:
            parts += (_LENGTH.pack(len(update)), update)
        header = _HEADER.pack(EnvelopeKind.UPDATES, self.seq, len(self.instance))
        return header + self.instance + b"".join(parts)


def coalesce(messages: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """``messages`` (channel, encoded envelope) with every run of UPDATE envelopes on a
    channel from one instance with consecutive sequence numbers as one UPDATES envelope,
    up to :data:`MAX_COALESCED_BYTES`. Each channel's messages keep their order (those of
    different channels need none); anything else, malformed bytes included, passes as
    it is and ends the run of its channel."""
    if len(messages) < 2:  # the usual batch while the load is light
        return list(messages)
    out: list[tuple[str, bytes | _Run]] = []
    open_runs: dict[str, _Run] = {}
    for channel, data in messages:
        run = open_runs.get(channel)
        end = _HEADER.size + int.from_bytes(data[_HEADER.size - 2 : _HEADER.size], "big")
        if len(data) >= end and data[0] == EnvelopeKind.UPDATE:
            _, seq, _ = _HEADER.unpack_from(data)
            instance, update = data[_HEADER.size : end], data[end:]
            if (
                run is not None
                and run.instance == instance
                and run.seq + len(run.updates) == seq
                and run.size + _LENGTH.size + len(update) <= MAX_COALESCED_BYTES
            ):
                run.updates.append(update)
                run.size += _LENGTH.size + len(update)
                continue
            run = _Run(data, seq, instance, [update], _LENGTH.size + len(update))
            open_runs[channel] = run
            out.append((channel, run))
            continue
        open_runs.pop(channel, None)
        out.append((channel, data))
    return [(channel, m if isinstance(m, bytes) else m.encode()) for channel, m in out]
