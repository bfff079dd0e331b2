"""The benchmark harness in its quickest form, against coreport, the reference server and
its peers (Hocuspocus, pycrdt-websocket).

It checks that the harness works end to end (figures come out, nothing is lost, each peer
is spoken to in its own protocol); it sets no speed targets, which are figures to read,
not tests to pass.
"""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.bench import charts, checkpoints, durable, maintenance, merge, reads, run
from tests.support.services import service_unavailable

SMOKE = {
    "S1": {**run.QUICK["S1"], "warmup": 0.5, "duration": 1.5},
    "S5": {"edits": 2000, "syncs": 2},
    "S6": {"sockets": 200, "docs": 20, "hold": 0.5, "settle": 0.5},
    "S7": {"docs": 400, "batch": 50, "sampleEvery": 100, "warmDocs": 100, "check": 5},
    "S8": {"clients": 10, "rate": 5, "warmup": 0.5, "duration": 1.5},
    "S9": {
        "runs": 3,
        "viewers": 5,
        "rate": 10,
        "metrics": 2,
        "warmup": 0.5,
        "duration": 1.5,
        # A long run, whose history a panel reads during the measurement.
        "longRun": 12_000,
        "readEvery": 0.3,
    },
    "S10": {"runs": 3, "steps": 11_000, "metrics": 2, "viewers": 3, "rounds": 1},
}


def require_servers() -> None:
    if shutil.which("node") is None:
        service_unavailable("node", "no `node` on PATH")
    if not run.REFERENCE_SCRIPT.exists():
        service_unavailable("@y/websocket-server", f"run `npm ci` in {run.BENCH_DIR}")
    if not run.HOCUSPOCUS_PACKAGE.exists():
        service_unavailable("@hocuspocus/server", f"run `npm ci` in {run.BENCH_DIR}")
    if importlib.util.find_spec("pycrdt.websocket") is None:
        service_unavailable("pycrdt-websocket", "pip install -e '.[dev]' (it includes [bench])")


@pytest.mark.node
@pytest.mark.timeout(200)
def test_harness_produces_figures_for_every_server() -> None:
    require_servers()

    report = run.run_benchmark(["S1", "S5", "S8"], params=SMOKE, repeat=1, disk_writes=10)

    assert report.servers == ["coreport", run.REFERENCE, run.HOCUSPOCUS, run.PYCRDT_WS]
    assert report.disk_before is not None
    assert report.disk_after is not None
    assert report.disk_before.writes == 10
    # coreport's metrics say what its commits took: one per update at S1's pace, or fewer.
    commits = report.outcomes[("S1", "coreport")][0].commits
    s1_sent = report.outcomes[("S1", "coreport")][0].details["sent"]
    assert commits is not None
    assert 0 < commits["commits"] <= s1_sent
    assert commits["mean_ms"] is not None
    assert commits["mean_ms"] > 0
    assert report.outcomes[("S1", run.REFERENCE)][0].commits is None
    assert "durable commits in each run" in run.render(report)
    for server in report.servers:
        s1 = report.outcomes[("S1", server)][0]
        assert s1.ok, f"S1 on {server}: {s1.error}"
        assert s1.details["lost"] == 0
        assert s1.details["samples"] > 0
        assert s1.details["received"] == s1.details["expected"] > 0
        assert s1.figures["p99_ms"] >= s1.figures["p50_ms"] > 0

        s5 = report.outcomes[("S5", server)][0]
        assert s5.ok, f"S5 on {server}: {s5.error}"
        # loadgen checks that every new client's text equals the writer's.
        assert s5.details["edits"] == 2000
        assert len(s5.details["sync_ms_all"]) == 2
        assert s5.figures["sync_ms"] > 0
        assert 0 < s5.figures["state_ms"] <= s5.figures["sync_ms"]
        assert len(s5.details["state_ms_all"]) == 2

        s8 = report.outcomes[("S8", server)][0]
        assert s8.ok, f"S8 on {server}: {s8.error}"
        # Every observer ended with every other client's last cursor state...
        assert s8.details["behind_after_drain"] == 0
        # ...and saw each move, or a later one of the same client, within the window.
        assert s8.details["samples"] == 9 * s8.details["moves_in_window"] > 0
        assert s8.figures["p99_ms"] >= s8.figures["p50_ms"] > 0

    table = run.format_table(report)
    assert "FAILED" not in table
    for ratio in ("coreport/reference", "hocuspocus/reference", "pycrdt-websocket/reference"):
        assert ratio in table


@pytest.mark.node
@pytest.mark.timeout(120)
def test_many_sockets_and_documents_cycling() -> None:
    require_servers()

    report = run.run_benchmark(
        ["S6", "S7", "S9", "S10"],
        params=SMOKE,
        repeat=1,
        servers=["coreport", run.REFERENCE],
        disk_writes=0,
    )

    for server in report.servers:
        s6 = report.outcomes[("S6", server)][0]
        assert s6.ok, f"S6 on {server}: {s6.error}"
        assert s6.figures["synced"] == 200
        assert s6.figures["lost"] == 0
        assert s6.details["received"] == s6.details["expected"] == 180
        assert s6.figures["rss_mib"] > 0

    # S7 runs against coreport only: the reference has no load/unload cycle.
    assert ("S7", run.REFERENCE) not in report.outcomes
    s7 = report.outcomes[("S7", "coreport")][0]
    assert s7.ok, f"S7: {s7.error}"
    # Every document was unloaded by the end, and the reopened ones kept their content.
    assert s7.details["loaded_end"] == 0
    assert s7.details["reopened"] == 5
    assert [x["docs"] for x in s7.details["samples"]] == [0, 100, 200, 300, 400]
    assert isinstance(s7.figures["growth_kib_per_1000"], int | float)

    # S9 too (the peers have no Runs API): every viewer saw every row of every run live.
    assert ("S9", run.REFERENCE) not in report.outcomes
    s9 = report.outcomes[("S9", "coreport")][0]
    assert s9.ok, f"S9: {s9.error}"
    assert s9.details["gaps"] == s9.details["behind_after_drain"] == 0
    assert s9.details["rows_received"] == 5 * s9.details["rows_due"] > 0
    assert s9.details["samples"] == 5 * s9.details["rows_in_window"] > 0
    assert 0 < s9.details["requests"] <= s9.details["rows_due"]
    assert s9.figures["p99_ms"] >= s9.figures["p50_ms"] > 0
    assert s9.details["long_run_steps"] == 12_000
    assert s9.details["long_run_reads"] >= 2
    assert s9.details["long_run_read_ms"] > 0
    # S10 (coreport only): one viewer, then three at once, had every chart's points.
    assert ("S10", run.REFERENCE) not in report.outcomes
    s10 = report.outcomes[("S10", "coreport")][0]
    assert s10.ok, f"S10: {s10.error}"
    assert s10.details["runs"] == 3
    assert s10.details["steps_per_run"] == 11_000
    assert s10.details["mb_per_viewer"] > 0
    assert s10.figures["last_ms"] >= s10.figures["p50_ms"] > 0
    assert s10.figures["alone_ms"] > 0
    assert "n/a" in run.format_table(report)
    assert report.disk_before is None
    assert "disk where" not in run.render(report)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_maintenance_bench_times_every_pass(store: str) -> None:
    """The maintenance pass bench in its smallest form: every pass is timed and every room
    catches up (the bench itself checks that against the store)."""
    times = await maintenance.measure(store, rooms_count=60, passes=2, moved_every=10)

    assert times.rooms == 60
    for wall, cpu in (times.tick, times.sweep, times.periodic, times.every_room):
        assert wall > 0
        assert cpu >= 0
    assert "| 60 |" in maintenance.table(store, [times], moved_every=10)


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_charts_bench_reads_both_ways_to_the_same_points(store: str) -> None:
    """The long chart bench in its smallest form: both ways read every metric, alternating,
    keep the same points (the bench itself checks that) and are timed, and the table has a
    row for each figure."""
    results = await charts.measure(store, steps=3_000, metrics=2, max_points=100, repeat=2)

    assert [r.mode for r in results] == [*charts.MODES, *charts.MODES[::-1]]
    for r in results:
        assert r.points == 2 * 100
        assert r.wall_ms > 0
        assert r.cpu_ms >= 0
        assert 0 <= r.late_ms["p50"] <= r.late_ms["p99"] <= r.late_ms["max"]
    text = charts.table(results, store, steps=3_000, metrics=2, max_points=100)
    assert "| event loop late, p99 (ms) |" in text
    assert "medians of 2 runs each" in text


async def test_checkpoint_bench_measures_both_ways(tmp_path: Path) -> None:
    """The checkpoint bench in its smallest form: both ways run on copies of one file,
    every due append is timed, and the table has a row for each figure."""
    results = await checkpoints.measure(
        docs=200, rows=3, rate=400, seconds=0.5, repeat=2, folder=tmp_path
    )

    assert [r.mode for r in results] == ["store", "in commit", "in commit", "store"]
    for r in results:
        assert abs(r.appends - 200) <= 1  # one due every 2.5 ms for 0.5 s, whatever the lateness
        assert 0 < r.append_ms["p50"] <= r.append_ms["p99"] <= r.append_ms["max"]
        assert r.lag_ms["max"] >= 0
        assert r.cpu_us_per_append > 0
    text = checkpoints.table(results, docs=200, rows=3, rate=400, seconds=0.5)
    assert "| event loop lag max (ms) |" in text
    assert "medians of 2 runs each" in text


async def test_reads_bench_measures_both_ways(tmp_path: Path) -> None:
    """The long-reads bench in its smallest form: both ways run on copies of one file,
    every due append is timed while both kinds of read come round (each checked against
    the file), and the table has a row for each figure."""
    results = await reads.measure(
        docs=300, big_rows=600, rate=400, seconds=0.6, every=0.1, repeat=2, folder=tmp_path
    )

    assert [r.mode for r in results] == ["apart", "one connection", "one connection", "apart"]
    for r in results:
        assert abs(r.appends - 240) <= 1  # one due every 2.5 ms for 0.6 s
        assert 0 < r.append_ms["p50"] <= r.append_ms["p99"] <= r.append_ms["max"]
        assert r.reads >= 2
        assert r.positions_ms > 0
        assert r.load_ms > 0
    text = reads.table(results, docs=300, big_rows=600, rate=400, every=0.1)
    assert "| the large document, one load (ms) |" in text
    assert "medians of 2 runs each" in text


def test_merge_bench_times_both_ways_on_the_same_rows() -> None:
    """The merge bench in its smallest form: both ways merge the same snapshot and rows
    (the bench itself checks they give the same bytes), and the table has each count."""
    timings = merge.measure(edits=300, row_counts=[70, 200], repeat=1)

    assert [t.rows for t in timings] == [70, 200]
    for t in timings:
        assert t.snapshot_bytes > 0
        assert t.one_call_ms > 0
        assert t.grouped_ms > 0
    text = merge.table(timings, edits=300, repeat=1)
    assert "| 200 |" in text
    assert "groups / reference" in text


def test_durable_bench_commits_every_way(tmp_path: Path) -> None:
    """The durable-appends bench in its smallest form: every way commits at the pace asked,
    alternating, the SQLite ways really append to the store's file, and the table has a
    row for each way and the estimate of a log beside SQLite."""
    results, refused = durable.measure(rate=200, seconds=0.2, repeat=2, folder=tmp_path)

    ran = [w for w in durable.WAYS if w not in refused]
    assert set(refused) <= {"log O_DIRECT|O_DSYNC"}  # only a tmpfs refuses, and only that
    assert [r.way for r in results] == ran + ran[::-1]
    for r in results:
        assert r.commits == 40
        assert r.cpu_us > 0
        assert 0 < r.wall_us["p50"] <= r.wall_us["p99"]
    with sqlite3.connect(tmp_path / "coreport.db") as conn:
        (rows,) = conn.execute("SELECT count(*) FROM updates").fetchone()
    assert rows == 4 * 40  # the store's way and NORMAL, twice each
    text = durable.table(results, refused, rate=200)
    for way in ran:
        assert f"| {way} |" in text
    assert "A log beside SQLite" in text


def test_durable_bench_names_the_file_system_and_warns_of_one_in_memory() -> None:
    mounts = "/dev/vda / ext4 rw 0 0\ntmpfs /tmp tmpfs rw 0 0\n/dev/vdb /tmp/disk xfs rw 0 0\n"

    assert durable.file_system(Path("/srv/data"), mounts) == "ext4 (/dev/vda on /)"
    assert durable.file_system(Path("/tmp/disk/x"), mounts) == "xfs (/dev/vdb on /tmp/disk)"
    in_memory = durable.file_system(Path("/tmp/x"), mounts)
    assert in_memory.startswith("tmpfs (tmpfs on /tmp), in memory")
