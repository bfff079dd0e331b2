"""The exposition of the counters the event loop bumps per message."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from coreport.metrics import Metrics


def test_loop_counters_are_exposed_as_counters_and_gauges() -> None:
    metrics = Metrics()
    metrics.updates_in.inc()
    metrics.updates_out.inc(19)
    metrics.bytes_out.inc(2048)
    metrics.pending_commits.inc(3)
    metrics.pending_commits.dec()
    families = {
        f.name: f
        for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())
    }
    samples = {s.name: s.value for f in families.values() for s in f.samples}
    assert families["coreport_updates_in"].type == "counter"
    assert families["coreport_pending_commits"].type == "gauge"
    assert samples["coreport_updates_in_total"] == 1
    assert samples["coreport_updates_out_total"] == 19
    assert samples["coreport_bytes_out_total"] == 2048
    assert samples["coreport_bytes_in_total"] == 0
    assert samples["coreport_pending_commits"] == 2
