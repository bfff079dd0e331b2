"""Prometheus metrics of one server instance.

Each app builds its own :class:`Metrics` in its own registry, so several apps in one
process (tests, benchmarks) never share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.bus_subscriptions = Gauge(
            "coreport_bus_subscriptions", "Open bus subscriptions (one per loaded room)", registry=r
        )
        self.pending_commits = Gauge(
            "coreport_pending_commits", "Updates waiting to be committed", registry=r
        )
        self.updates_in = Counter(
            "coreport_updates_in", "Document updates received from clients", registry=r
        )
        self.updates_out = Counter(
            "coreport_updates_out", "Document update messages sent to clients", registry=r
        )
        self.bytes_in = Counter("coreport_bytes_in", "Bytes received on WebSockets", registry=r)
        self.bytes_out = Counter("coreport_bytes_out", "Bytes sent on WebSockets", registry=r)
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
