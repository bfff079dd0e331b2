"""Bus envelopes: the round trip, and telling one's own messages apart cheaply."""

from __future__ import annotations

import pytest

from coreport.sync.envelope import BadEnvelope, Envelope, EnvelopeKind


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
