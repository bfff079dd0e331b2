"""The outbox: what queues while a publish is in flight goes out as one batch, with a
document's consecutive updates in one message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from coreport.metrics import Metrics
from coreport.sync.envelope import Envelope, EnvelopeKind
from coreport.sync.outbox import Outbox
from tests.support.fakes import RecordingBus


class _HeldBus(RecordingBus):
    """Records each batch; the first waits until the test lets it through."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[tuple[str, bytes]]] = []
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        self.batches.append(list(messages))
        if len(self.batches) == 1:
            self.in_flight.set()
            await self.release.wait()


def update(seq: int) -> bytes:
    return Envelope(EnvelopeKind.UPDATE, seq, "me", f"u{seq}".encode()).encode()


async def test_updates_queued_behind_a_publish_go_out_as_one_message() -> None:
    bus = _HeldBus()
    outbox = Outbox(bus, Metrics())
    outbox.start()
    try:
        outbox.publish("doc:a", update(1))
        await bus.in_flight.wait()
        for seq in (2, 3, 4):
            outbox.publish("doc:a", update(seq))
        outbox.publish("doc:b", update(9))
        bus.release.set()
    finally:
        await outbox.stop()
    first, second = bus.batches
    assert first == [("doc:a", update(1))]
    assert [(channel, Envelope.decode(data).updates()) for channel, data in second] == [
        ("doc:a", [(2, b"u2"), (3, b"u3"), (4, b"u4")]),
        ("doc:b", [(9, b"u9")]),
    ]
