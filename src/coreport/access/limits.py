"""Rate limits: a token bucket per socket (messages) and per client address (new sockets).

Time comes from a ``now`` function (monotonic seconds), so tests drive it by hand.
"""

from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; :meth:`take` spends one."""

    __slots__ = ("_burst", "_now", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: float, now: Callable[[], float]) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._now = now
        self._tokens = float(burst)
        self._stamp = now()

    def take(self) -> bool:
        """Spend one token; ``False`` (and nothing spent) when the bucket is empty."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def full(self) -> bool:
        self._refill()
        return self._tokens >= self._burst

    def _refill(self) -> None:
        now = self._now()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now


class AddressLimiter:
    """One bucket per client address: ``per_minute`` new sockets, all of them at once at
    most. Buckets that refilled are forgotten, so memory follows recent addresses only."""

    def __init__(
        self, per_minute: int, now: Callable[[], float], *, max_tracked: int = 10_000
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = per_minute
        self._now = now
        self._max_tracked = max_tracked
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, address: str) -> bool:
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= self._max_tracked:
                self._forget_full()
            bucket = self._buckets[address] = TokenBucket(self._rate, self._burst, self._now)
        return bucket.take()

    @property
    def tracked(self) -> int:
        return len(self._buckets)

    def _forget_full(self) -> None:
        for address in [a for a, b in self._buckets.items() if b.full]:
            del self._buckets[address]
        if len(self._buckets) >= self._max_tracked:
            # Still full of active addresses: drop the oldest half rather than grow.
            for address in list(self._buckets)[: self._max_tracked // 2]:
                del self._buckets[address]
