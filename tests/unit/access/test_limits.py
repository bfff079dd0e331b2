"""Token buckets for message rates and new sockets per address, on a hand-driven clock."""

from __future__ import annotations

import pytest

from coreport.access.limits import AddressLimiter, TokenBucket


class Time:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_a_burst_then_the_rate() -> None:
    time = Time()
    bucket = TokenBucket(rate=8, burst=5, now=time)
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]
    time.t += 0.125  # one token
    assert bucket.take()
    assert not bucket.take()
    time.t += 60  # never more than the burst
    assert sum(bucket.take() for _ in range(10)) == 5


def test_bucket_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0, burst=1, now=Time())


def test_addresses_have_their_own_buckets() -> None:
    time = Time()
    limiter = AddressLimiter(per_minute=3, now=time)
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("10.0.0.2")
    time.t += 20  # a third of a minute: one more socket
    assert limiter.allow("10.0.0.1")
    assert not limiter.allow("10.0.0.1")


def test_memory_follows_recent_addresses_only() -> None:
    time = Time()
    limiter = AddressLimiter(per_minute=60, now=time, max_tracked=4)
    for n in range(4):
        assert limiter.allow(f"10.0.0.{n}")
    time.t += 60  # every bucket refilled: all forgettable
    assert limiter.allow("10.0.1.1")
    assert limiter.tracked == 1
    # Still active addresses are dropped oldest first rather than growing without bound.
    for n in range(10):
        limiter.allow(f"10.0.2.{n}")
    assert limiter.tracked <= 4
