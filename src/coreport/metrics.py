"""Prometheus metrics of one server instance.

Each app builds its own :class:`Metrics` in its own registry, so several apps in one
process (tests, benchmarks) never share counters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


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


class _LoopCounters(Collector):
    def __init__(self, counters: list[LoopCounter]) -> None:
        self._counters = counters

    def collect(self) -> Iterator[Metric]:
        for c in self._counters:
            family = CounterMetricFamily if c.kind == "counter" else GaugeMetricFamily
            yield family(c.name, c.documentation, value=c.value)


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
        r.register(_LoopCounters(hot))
        self.commit_seconds = Histogram(
            "coreport_commit_seconds",
            "Time to commit one group of updates to the store",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.commit_batch_size = Histogram(
            "coreport_commit_batch_size",
            "Updates per store transaction (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.compactions = Counter(
            "coreport_compactions", "Snapshots written by compaction", registry=r
        )
        self.errors = Counter("coreport_errors", "Errors by kind", labelnames=("kind",), registry=r)
