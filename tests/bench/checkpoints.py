"""What the WAL's checkpoints cost the event loop, on a SQLite file of real size.

    .venv/bin/python -m tests.bench.checkpoints              # 20,000 documents, 1,200 appends/s
    .venv/bin/python -m tests.bench.checkpoints --docs 5000 --rate 300 --seconds 20

It fills a store with ``--docs`` documents of ``--rows`` stored updates each (about 150 MB
by default), then, on a copy of that file for each run, appends one small update at a time
to a random document at ``--rate`` a second (S3's pace by default) for ``--seconds``, on
uvloop, as the server's group commit does when each batch is one update, and times each
from when it was due (an update that comes while the loop is held waits in its socket) to
when it is durable. Meanwhile a task sleeps 1 ms at a time and notes how late it wakes: the
event loop's lag, which is what every other room and socket of the instance waits.

Two ways side by side, alternating, ``--repeat`` times each (medians):

* ``store``: the documents' store checkpoints the WAL itself, on its worker thread, after
  about a thousand pages of appends (the way it runs);
* ``in commit`` (the reference): SQLite checkpoints inside the ``COMMIT`` that takes the
  log past its ``wal_autocheckpoint`` (1,000 pages), which for an inline append runs on
  the event loop: the way before.

The CPU figure is the whole process's, the lag task's wake-ups included, and that task
wakes more often while the loop is free. The figures are for reading, not for passing: no
target is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uvloop

from coreport.stores.sqlite import SQLiteStore
from tests.bench.store_runs import append_at_pace, append_ms, on_copies, quantiles, side_by_side

MODES = ("store", "in commit")


class _CheckpointInCommit(SQLiteStore):
    """The reference: the documents' store as it was, leaving checkpoints to SQLite."""

    checkpoints = False


@dataclass(frozen=True)
class RunFigures:
    mode: str
    appends: int
    append_ms: dict[str, float]  # p50, p99, p99.9, max
    lag_ms: dict[str, float]  # the event loop's: p99, p99.9, max
    stalls: int  # the loop late by more than 5 ms
    cpu_us_per_append: float
    wal_mib: float  # the WAL file's size at the end


def _names(docs: int) -> list[str]:
    return [f"reports/bench{i:06d}" for i in range(docs)]


async def fill(path: Path, docs: int, rows: int) -> None:
    """Give ``docs`` documents ``rows`` stored updates each (of 300 bytes)."""
    store = SQLiteStore(path)
    await store.open()
    try:
        names = _names(docs)
        for _ in range(rows):
            for start in range(0, docs, 500):
                chunk = names[start : start + 500]
                await store.append([(name, os.urandom(300)) for name in chunk])
    finally:
        await store.close()


async def _run(path: Path, mode: str, docs: int, rate: float, seconds: float) -> RunFigures:
    store = SQLiteStore(path) if mode == "store" else _CheckpointInCommit(path)
    await store.open()
    names = _names(docs)
    rng = random.Random(7)
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)  # the probe itself: how late does a 1 ms timer fire?
            lags.append(max(0.0, time.perf_counter() - started - 0.001))

    ticking = asyncio.create_task(ticker())
    cpu = time.process_time()
    try:
        appends = await append_at_pace(store, names, rate, seconds, rng)
        cpu = time.process_time() - cpu
        wal = path.with_name(path.name + "-wal")
        wal_mib = wal.stat().st_size / 2**20 if wal.exists() else 0.0
    finally:
        stop.set()
        await ticking
        await store.close()
    l99, l999, ltop = quantiles(lags, (0.99, 0.999, 1.0))
    return RunFigures(
        mode,
        len(appends),
        append_ms(appends),
        {"p99": l99 * 1e3, "p99.9": l999 * 1e3, "max": ltop * 1e3},
        sum(1 for lag in lags if lag > 0.005),
        cpu / len(appends) * 1e6,
        wal_mib,
    )


async def measure(
    docs: int, rows: int, rate: float, seconds: float, repeat: int, folder: Path
) -> list[RunFigures]:
    """Every run's figures, the two modes alternating (each on a fresh copy of one file)."""
    filled = folder / "filled.db"
    await fill(filled, docs, rows)
    return await on_copies(
        filled, folder, MODES, repeat, lambda copy, mode: _run(copy, mode, docs, rate, seconds)
    )


_ROWS = [
    ("update due to durable, p50 (ms)", "append p50"),
    ("update due to durable, p99 (ms)", "append p99"),
    ("update due to durable, p99.9 (ms)", "append p99.9"),
    ("update due to durable, max (ms)", "append max"),
    ("event loop lag p99 (ms)", "lag p99"),
    ("event loop lag p99.9 (ms)", "lag p99.9"),
    ("event loop lag max (ms)", "lag max"),
    ("loop late by > 5 ms (times)", "stalls"),
    ("CPU per append (us, all threads, the lag task's included)", "cpu_us_per_append"),
    ("WAL file before closing (MiB)", "wal_mib"),
]


def table(results: list[RunFigures], docs: int, rows: int, rate: float, seconds: float) -> str:
    return side_by_side(
        results,
        MODES,
        f"WAL checkpoints: {docs:,} documents x {rows} stored updates, one append a time to a"
        f" random one at {rate:,.0f}/s for {seconds:g} s, on uvloop",
        ("store (checkpoints on its worker)", "in commit (reference)"),
        _ROWS,
        ("update due to durable p99.9, loop lag max", ("append p99.9", "lag max")),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=20_000, help="default %(default)s")
    parser.add_argument("--rows", type=int, default=20, help="default %(default)s")
    parser.add_argument("--rate", type=float, default=1200, help="default %(default)s")
    parser.add_argument("--seconds", type=float, default=10, help="default %(default)s")
    parser.add_argument("--repeat", type=int, default=3, help="default %(default)s")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the files")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        results = uvloop.run(
            measure(args.docs, args.rows, args.rate, args.seconds, args.repeat, Path(folder))
        )
    print(table(results, args.docs, args.rows, args.rate, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
