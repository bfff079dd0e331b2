"""The exposition of the counters and histograms the event loop changes per message."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from coreport.metrics import LoopHistogram, Metrics, _LoopCollector


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


@pytest.mark.parametrize(
    ("buckets", "values"),
    [
        ((0.0005, 0.001, 0.002, 0.005, 0.01, 1, 5), [0.0001, 0.0005, 0.0007, 0.003, 0.5, 7.0]),
        ((1, 2, 4, 8), [1, 1, 2, 3, 8, 9, 100, 0]),
        ((1e-05, 2.5), []),
    ],
)
def test_a_loop_histogram_reads_as_prometheus_clients_own_given_the_same_values(
    buckets: tuple[float, ...], values: list[float]
) -> None:
    ours = CollectorRegistry()
    theirs = CollectorRegistry()
    histogram = LoopHistogram("h", "what it measures", buckets)
    ours.register(_LoopCollector([], [histogram]))
    reference = Histogram("h", "what it measures", buckets=buckets, registry=theirs)
    for value in values:
        histogram.observe(value)
        reference.observe(value)

    def samples(registry: CollectorRegistry) -> list[tuple[str, str, float]]:
        text = generate_latest(registry).decode()
        return sorted(
            (s.name, s.labels.get("le", ""), s.value)
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if not s.name.endswith("_created")  # prometheus_client's own start time
        )

    assert samples(ours) == samples(theirs)
    assert ("h_count", "", len(values)) in samples(ours)


@pytest.mark.parametrize("buckets", [(), (1, 1), (2, 1)])
def test_a_loop_histogram_refuses_buckets_that_do_not_increase(buckets: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="increasing"):
        LoopHistogram("h", "what it measures", buckets)


def test_the_commit_histograms_are_exposed_as_histograms() -> None:
    metrics = Metrics()
    metrics.commit_seconds.observe(0.0003)
    metrics.commit_batch_size.observe(3)
    text = generate_latest(metrics.registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["coreport_commit_seconds"].type == "histogram"
    samples = {
        (s.name, s.labels.get("le")): s.value
        for s in families["coreport_commit_batch_size"].samples
    }
    assert samples[("coreport_commit_batch_size_bucket", "2.0")] == 0
    assert samples[("coreport_commit_batch_size_bucket", "4.0")] == 1
    assert samples[("coreport_commit_batch_size_count", None)] == 1
