"""What a chart of a long run costs the instance that serves it.

    .venv/bin/python -m tests.bench.charts                         # SQLite, 200,000 steps x 4
    .venv/bin/python -m tests.bench.charts --store postgres --steps 50000

It fills a run store with one run of ``--steps`` steps of ``--metrics`` metrics (a noisy
curve, logged every step as the SDK logs them), then reads every metric for a chart of
``--max-points`` points, the two ways alternating, ``--repeat`` times each (medians):

* ``in the store``: ``read_history`` with the budget, as the service asks since the
  twenty-second round: the store picks the points (SQLite on its reading thread, PostgreSQL
  in the database);
* ``whole series`` (the reference): ``read_history`` without a budget and
  ``min_max_indices`` on a thread, as the service did before.

Both must keep the same points. Each read is timed (wall and this process's CPU, every
thread of it, which leaves out PostgreSQL's own), while an asyncio task sleeping 1 ms at a
time measures how late the event loop gets to it: what every socket of the instance waits
meanwhile. The figures are for reading, not for passing: no target is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import uvloop

from coreport.runs.ports import CodeRef, HistoryRow, Run, RunStore, Series, downsample
from coreport.stores.postgres_runs import PostgresRunStore
from coreport.stores.sqlite_runs import SQLiteRunStore
from tests.bench.store_runs import alternating, quantiles, side_by_side

MODES = ("in the store", "whole series")
_T0 = datetime(2025, 1, 1, tzinfo=UTC)
_RUN = "bench-long-run"


@dataclass(frozen=True)
class ReadFigures:
    mode: str
    wall_ms: float
    cpu_ms: float
    #: How late the event loop's 1 ms ticks came during the read: p50, p99 and the worst.
    late_ms: dict[str, float]
    points: int  # kept, over every metric


@asynccontextmanager
async def _store(kind: str) -> AsyncIterator[RunStore]:
    """An open run store on fresh storage, removed afterwards."""
    if kind == "postgres":
        from tests.support.postgres import scratch_database

        async with scratch_database() as dsn:
            store: RunStore = PostgresRunStore(dsn)
            await store.open()
            try:
                yield store
            finally:
                await store.close()
        return
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteRunStore(Path(folder) / "coreport.db")
        await store.open()
        try:
            yield store
        finally:
            await store.close()


def metric_names(metrics: int) -> list[str]:
    return [f"metric{m}" for m in range(metrics)]


async def fill(store: RunStore, steps: int, metrics: int) -> None:
    code = CodeRef(None, None, None)
    await store.create_run(Run(_RUN, "bench", _RUN, "running", {}, {}, (), code, _T0, _T0))
    rng = random.Random(3)
    names = metric_names(metrics)
    for first in range(0, steps, 500):
        rows = []
        for step in range(first, min(steps, first + 500)):
            # A loss-like curve per metric, decaying at its own rate, with noise.
            values = {
                name: math.exp(-step / steps * (m + 1)) + rng.gauss(0, 0.05)
                for m, name in enumerate(names)
            }
            rows.append(HistoryRow(step, 1.7e9 + step / 10, values))
        await store.append_history(_RUN, rows, _T0)


async def _whole_series(store: RunStore, keys: list[str], max_points: int) -> dict[str, Series]:
    stored = await store.read_history(_RUN, keys)
    return await asyncio.to_thread(
        lambda: {key: downsample(read.points, max_points) for key, read in stored.items()}
    )


async def _in_the_store(store: RunStore, keys: list[str], max_points: int) -> dict[str, Series]:
    stored = await store.read_history(_RUN, keys, max_points=max_points)
    return {key: read.points for key, read in stored.items()}


async def read_once(
    store: RunStore, mode: str, keys: list[str], max_points: int
) -> tuple[ReadFigures, dict[str, Series]]:
    late: list[float] = []
    done, ticking_now = asyncio.Event(), asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            due = time.perf_counter() + 0.001
            await asyncio.sleep(0.001)
            late.append(max(0.0, time.perf_counter() - due))
            ticking_now.set()

    ticking = asyncio.create_task(ticker())
    await ticking_now.wait()  # the ticker has ticked before the read starts
    late.clear()  # only the ticks during the read count
    wall, cpu = time.perf_counter(), time.process_time()
    read = _in_the_store if mode == "in the store" else _whole_series
    kept = await read(store, keys, max_points)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done.set()
    await ticking
    p50, p99, worst = quantiles(late, (0.5, 0.99, 1.0))
    figures = ReadFigures(
        mode,
        wall * 1e3,
        cpu * 1e3,
        {"p50": p50 * 1e3, "p99": p99 * 1e3, "max": worst * 1e3},
        sum(len(series.steps) for series in kept.values()),
    )
    return figures, kept


async def measure(
    kind: str, steps: int, metrics: int, max_points: int, repeat: int
) -> list[ReadFigures]:
    """Every read's figures, the two ways alternating (the order reversed every other
    round); fails unless both ways keep the same points."""
    keys = metric_names(metrics)
    results = []
    async with _store(kind) as store:
        await fill(store, steps, metrics)
        kept_by: dict[str, dict[str, Series]] = {}
        for _, mode in alternating(MODES, repeat):
            figures, kept = await read_once(store, mode, keys, max_points)
            if kept_by.setdefault(mode, kept) != kept:
                raise AssertionError(f"{mode}: a read kept other points than the first")
            results.append(figures)
        if kept_by[MODES[0]] != kept_by[MODES[1]]:
            raise AssertionError("the store kept other points than min_max_indices")
    return results


_ROWS = [
    ("one chart's read, wall (ms)", "wall_ms"),
    ("this process's CPU for it (ms)", "cpu_ms"),
    ("event loop late, p50 (ms)", "late p50"),
    ("event loop late, p99 (ms)", "late p99"),
    ("event loop late, worst (ms)", "late max"),
]


def table(
    results: Sequence[ReadFigures], kind: str, steps: int, metrics: int, max_points: int
) -> str:
    points = statistics.median(r.points for r in results)
    return side_by_side(
        results,
        MODES,
        f"A long run's chart on {kind}: {metrics} metrics of {steps:,} steps read for"
        f" {max_points:,} points each ({points:,.0f} kept in all)",
        ("in the store", "whole series, reduced in Python (reference)"),
        _ROWS,
        ("wall, loop late at p99", ("wall_ms", "late p99")),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--steps", type=int, default=200_000, help="default %(default)s")
    parser.add_argument("--metrics", type=int, default=4, help="default %(default)s")
    parser.add_argument("--max-points", type=int, default=1000, help="default %(default)s")
    parser.add_argument("--repeat", type=int, default=5, help="default %(default)s")
    args = parser.parse_args(argv)
    results = uvloop.run(
        measure(args.store, args.steps, args.metrics, args.max_points, args.repeat)
    )
    print(table(results, args.store, args.steps, args.metrics, args.max_points))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
