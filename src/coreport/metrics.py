"""Prometheus metrics of one server instance.

Each app builds its own :class:`Metrics` in its own registry, so several apps in one
process (tests, benchmarks) never share counters.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# How prometheus_client writes a bucket's bound (its ``le`` label); untyped there.
_bound_label: Callable[[float], str] = floatToGoString


class LoopCounter:
    """A counter or gauge bumped on the event loop's hot path (per message, per
    recipient): a plain number, read when the registry is scraped. ``prometheus_client``'s
    own take a lock on every change, which costs more than the change itself there.
    Only the event loop's thread may change one."""

    __slots__ = ("documentation", "kind", "name", "value")

    def __init__(self, name: str, documentation: str, kind: Literal["counter", "gauge"]) -> None:
        self.name = name
        self.documentation = documentation
        self.kind = kind
        self.value: float = 0

    def inc(self, amount: float = 1) -> None:
        self.value += amount

    def dec(self, amount: float = 1) -> None:
        self.value -= amount


class LoopHistogram:
    """A histogram observed on the event loop's hot path (per commit), kept as plain
    counts per bucket for the same reason as :class:`LoopCounter` (``prometheus_client``'s
    takes two locks per observation). Only the event loop's thread may observe."""

    __slots__ = ("_bounds", "_counts", "_sum", "documentation", "name")

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        bounds = tuple(float(b) for b in buckets)
        if not bounds or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"{name}: buckets must be increasing and not empty, not {buckets}")
        self.name = name
        self.documentation = documentation
        self._bounds = bounds
        # One count per bucket (a value lands in the first whose bound it does not
        # pass), and one more for values above every bound.
        self._counts = [0] * (len(bounds) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._bounds, value)] += 1
        self._sum += value

    def family(self) -> HistogramMetricFamily:
        cumulative = list(accumulate(self._counts))
        labels = [*(_bound_label(b) for b in self._bounds), "+Inf"]
        return HistogramMetricFamily(
            self.name,
            self.documentation,
            buckets=list(zip(labels, cumulative, strict=True)),
            sum_value=self._sum,
        )


class _LoopCollector(Collector):
    def __init__(self, counters: list[LoopCounter], histograms: list[LoopHistogram]) -> None:
        self._counters = counters
        self._histograms = histograms

    def collect(self) -> Iterator[Metric]:
        for c in self._counters:
            family = CounterMetricFamily if c.kind == "counter" else GaugeMetricFamily
            yield family(c.name, c.documentation, value=c.value)
        for h in self._histograms:
            yield h.family()


class Metrics:
    """Every collector coreport exports; see docs/operations.md for their meaning."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.open_sockets = Gauge("coreport_open_sockets", "Open WebSocket connections", registry=r)
        self.loaded_rooms = Gauge("coreport_loaded_rooms", "Documents loaded in memory", registry=r)
        self.loading_rooms = Gauge(
            "coreport_loading_rooms", "Documents being loaded from the store", registry=r
        )
        self.resting_rooms = Gauge(
            "coreport_resting_rooms",
            "Loaded documents kept encoded, not live, until next needed",
            registry=r,
        )
        self.bus_subscriptions = Gauge(
            "coreport_bus_subscriptions", "Open bus subscriptions (one per loaded room)", registry=r
        )
        self.pending_commits = LoopCounter(
            "coreport_pending_commits", "Updates waiting to be committed", "gauge"
        )
        self.updates_in = LoopCounter(
            "coreport_updates_in", "Document updates received from clients", "counter"
        )
        self.updates_out = LoopCounter(
            "coreport_updates_out", "Document update messages sent to clients", "counter"
        )
        self.bytes_in = LoopCounter("coreport_bytes_in", "Bytes received on WebSockets", "counter")
        self.bytes_out = LoopCounter("coreport_bytes_out", "Bytes sent on WebSockets", "counter")
        hot = [
            self.pending_commits,
            self.updates_in,
            self.updates_out,
            self.bytes_in,
            self.bytes_out,
        ]
        self.commit_seconds = LoopHistogram(
            "coreport_commit_seconds",
            "Time to commit one group of updates to the store",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.commit_batch_size = LoopHistogram(
            "coreport_commit_batch_size",
            "Updates per store transaction (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        )
        r.register(_LoopCollector(hot, [self.commit_seconds, self.commit_batch_size]))
        self.compactions = Counter(
            "coreport_compactions", "Snapshots written by compaction", registry=r
        )
        self.errors = Counter("coreport_errors", "Errors by kind", labelnames=("kind",), registry=r)
