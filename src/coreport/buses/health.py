"""What a bus reports about its connection, for ``/metrics`` and logs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BusHealth:
    """A snapshot of a bus's connection state.

    ``connected`` is true while messages flow (for Redis: the pub/sub connection is up and
    every channel is subscribed again); ``reconnects`` counts connections re-established
    after a loss; ``last_error`` describes the latest failure, if any.
    """

    connected: bool
    reconnects: int = 0
    last_error: str | None = None
