"""Bus envelopes: the round trip, telling one's own messages apart cheaply, and several
updates of a document in one envelope."""

from __future__ import annotations

import pytest

from coreport.sync.envelope import (
    MAX_COALESCED_BYTES,
    BadEnvelope,
    Envelope,
    EnvelopeKind,
    coalesce,
)


def test_an_envelope_round_trips() -> None:
    envelope = Envelope(EnvelopeKind.UPDATE, 42, "i-1", b"\x01\x02")
    assert Envelope.decode(envelope.encode()) == envelope


@pytest.mark.parametrize(
    ("publisher", "listener", "own"),
    [("i-1", "i-1", True), ("i-1", "i-10", False), ("i-10", "i-1", False), ("", "", True)],
)
def test_published_by_compares_the_whole_instance_id(
    publisher: str, listener: str, own: bool
) -> None:
    data = Envelope(EnvelopeKind.AWARENESS, 0, publisher, b"i-1").encode()
    assert Envelope.published_by(data, listener.encode()) is own


def test_a_truncated_envelope_is_neither_ours_nor_decodable() -> None:
    data = Envelope(EnvelopeKind.UPDATE, 1, "instance", b"").encode()[:12]
    assert not Envelope.published_by(data, b"instance")
    with pytest.raises(BadEnvelope):
        Envelope.decode(data)


def update(seq: int, data: bytes, instance: str = "i-1") -> bytes:
    return Envelope(EnvelopeKind.UPDATE, seq, instance, data).encode()


def test_consecutive_updates_of_a_channel_travel_as_one_envelope() -> None:
    batch = [("doc:a", update(7, b"u7")), ("doc:a", update(8, b"")), ("doc:a", update(9, b"u9"))]
    ((channel, data),) = coalesce(batch)
    envelope = Envelope.decode(data)
    assert (channel, envelope.kind, envelope.seq, envelope.instance) == (
        "doc:a",
        EnvelopeKind.UPDATES,
        7,
        "i-1",
    )
    assert envelope.updates() == [(7, b"u7"), (8, b""), (9, b"u9")]


def test_a_lone_update_and_anything_not_an_update_pass_as_they_are() -> None:
    awareness = Envelope(EnvelopeKind.AWARENESS, 0, "i-1", b"state").encode()
    batch = [("doc:a", update(1, b"u1")), ("doc:b", awareness), ("doc:b", b"\x00garbage")]
    assert coalesce(batch) == batch
    assert Envelope.decode(batch[0][1]).updates() == [(1, b"u1")]


def test_runs_end_at_a_gap_another_instance_or_another_kind_and_channels_keep_order() -> None:
    awareness = Envelope(EnvelopeKind.AWARENESS, 0, "i-1", b"state").encode()
    batch = [
        ("doc:a", update(1, b"a1")),
        ("doc:b", update(5, b"b5")),
        ("doc:a", update(2, b"a2")),  # joins a1 across doc:b's message
        ("doc:b", update(6, b"b6")),
        ("doc:a", update(4, b"a4")),  # a gap: a new run
        ("doc:a", update(5, b"a5", instance="i-2")),  # another instance: a new run
        ("doc:a", awareness),
        ("doc:a", update(6, b"a6", instance="i-2")),  # after the awareness: a new run
    ]
    sent = [(channel, Envelope.decode(data)) for channel, data in coalesce(batch)]
    assert [
        (c, e.kind, e.payload if e.kind is EnvelopeKind.AWARENESS else e.updates()) for c, e in sent
    ] == [
        ("doc:a", EnvelopeKind.UPDATES, [(1, b"a1"), (2, b"a2")]),
        ("doc:b", EnvelopeKind.UPDATES, [(5, b"b5"), (6, b"b6")]),
        ("doc:a", EnvelopeKind.UPDATE, [(4, b"a4")]),
        ("doc:a", EnvelopeKind.UPDATE, [(5, b"a5")]),
        ("doc:a", EnvelopeKind.AWARENESS, b"state"),
        ("doc:a", EnvelopeKind.UPDATE, [(6, b"a6")]),
    ]


def test_a_run_stops_growing_at_the_size_limit() -> None:
    # Two of these fit in one payload (each behind its 4-byte length), three do not.
    half = b"x" * (MAX_COALESCED_BYTES // 2 - 8)
    batch = [("doc:a", update(seq, half)) for seq in range(1, 6)]
    sent = [Envelope.decode(data) for _, data in coalesce(batch)]
    assert [[seq for seq, _ in e.updates()] for e in sent] == [[1, 2], [3, 4], [5]]
    assert all(len(e.payload) <= MAX_COALESCED_BYTES for e in sent)


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00\x00", b"\x00\x00\x00\x05abc", b"\x00\x00\x00\x01a\x00"],
    ids=["empty", "cut-in-a-length", "cut-in-an-update", "trailing-bytes"],
)
def test_a_malformed_updates_envelope_is_refused(payload: bytes) -> None:
    envelope = Envelope.decode(Envelope(EnvelopeKind.UPDATES, 1, "i-1", payload).encode())
    with pytest.raises(BadEnvelope):
        envelope.updates()


def test_an_awareness_envelope_carries_no_updates() -> None:
    with pytest.raises(BadEnvelope):
        Envelope(EnvelopeKind.AWARENESS, 0, "i-1", b"").updates()
