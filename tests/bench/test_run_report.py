"""What the benchmark reports beside its figures: coreport's own account of its commits,
read from its metrics, and how fast the disk under the runs syncs a write."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest

from coreport.metrics import Metrics
from tests.bench import run


def exposition(tmp_path: Path, name: str, metrics: Metrics) -> str:
    """``metrics`` as an instance's /metrics would answer, at a file:// URL."""
    path = tmp_path / name
    path.write_bytes(generate_latest(metrics.registry))
    return path.as_uri()


def test_commits_are_summed_over_every_instance(tmp_path: Path) -> None:
    first, second = Metrics(), Metrics()
    for seconds in (0.0003, 0.0004, 0.0015):
        first.commit_seconds.observe(seconds)
        first.commit_batch_size.observe(1)
    second.commit_seconds.observe(0.03)
    second.commit_batch_size.observe(5)

    commits = run.read_commits(
        [exposition(tmp_path, "a.txt", first), exposition(tmp_path, "b.txt", second)]
    )

    assert commits == {
        "commits": 4,
        "updates_per_commit": 2.0,
        "mean_ms": pytest.approx((0.3 + 0.4 + 1.5 + 30) / 4),
        # Two of four within the first bound (0.5 ms); all four only within 50 ms.
        "p50_within_ms": 0.5,
        "p99_within_ms": 50.0,
    }


def test_commits_beyond_the_last_bound_have_no_bound(tmp_path: Path) -> None:
    metrics = Metrics()
    metrics.commit_seconds.observe(0.0002)
    metrics.commit_seconds.observe(9.0)
    metrics.commit_batch_size.observe(1)
    metrics.commit_batch_size.observe(1)

    commits = run.read_commits([exposition(tmp_path, "m.txt", metrics)])

    assert commits is not None
    assert commits["p50_within_ms"] == 0.5
    assert commits["p99_within_ms"] is None
    assert commits["commits"] == 2


def test_no_commits_and_no_answer(tmp_path: Path) -> None:
    assert run.read_commits([exposition(tmp_path, "idle.txt", Metrics())]) == {
        "commits": 0,
        "updates_per_commit": None,
        "mean_ms": None,
    }
    assert run.read_commits([(tmp_path / "gone.txt").as_uri()]) is None


def test_commit_note_shows_each_run() -> None:
    runs = [
        run.Outcome(
            ok=True,
            commits={
                "commits": 1192,
                "updates_per_commit": 1.0,
                "mean_ms": 1.8,
                "p50_within_ms": 2.0,
                "p99_within_ms": 10.0,
            },
        ),
        run.Outcome(
            ok=True,
            commits={
                "commits": 1201,
                "updates_per_commit": 1.04,
                "mean_ms": 0.75,
                "p50_within_ms": 1.0,
                "p99_within_ms": None,
            },
        ),
        run.Outcome(ok=False),
    ]

    assert run.commit_note("S1", "coreport", runs) == (
        "S1 coreport: durable commits in each run (warm-up included): 1,192/1,201 of 1.0/1.0 "
        "updates on average, mean 1.80/0.75 ms, half within 2/1 ms, 99 % within 10/- ms"
    )
    assert run.commit_note("S1", "reference", [run.Outcome(ok=True)]) is None


def test_disk_probe_times_each_write_and_leaves_nothing(tmp_path: Path) -> None:
    disk = run.probe_disk(tmp_path, writes=5, gap=0.0)

    assert (disk.writes, disk.gap_ms, disk.directory) == (5, 0.0, str(tmp_path))
    assert 0 < disk.p50_us <= disk.p99_us <= disk.max_us
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="writes must be >= 1"):
        run.probe_disk(tmp_path, writes=0)


def test_disk_line() -> None:
    before = run.DiskSync("/tmp", 200, 10.0, 480.4, 1615.0, 4455.2)
    after = run.DiskSync("/tmp", 200, 10.0, 520.0, 3020.0, 14306.0)

    assert run.disk_line(before, after) == (
        "disk where the servers keep their data (/tmp): 4 KiB append + fdatasync, 200 of them "
        "10 ms apart: p50 480 us, p99 1,615 us, max 4,455 us before the runs; "
        "p50 520 us, p99 3,020 us, max 14,306 us after the runs"
    )
    assert run.disk_line(None, None) is None
