"""What long reads of the documents' store cost the appends of every other room.

    .venv/bin/python -m tests.bench.reads                    # 10,000 documents, 1,200 appends/s
    .venv/bin/python -m tests.bench.reads --docs 2000 --big-rows 2000 --seconds 20

It fills a store with ``--docs`` documents of one stored update each and one large document
of ``--big-rows`` rows, then, on a copy of that file for each run, appends one small update
at a time to a random document at ``--rate`` a second (S3's pace by default) for
``--seconds``, on uvloop, and times each from when it was due to when it is durable (as in
``checkpoints.py``). Meanwhile, every ``--every`` seconds, a task reads, in turn, what the
server reads at such times: the position of every document (the periodic catch-up's one
query, every 10 s in the server) and the large document (a room opening it, or catching up).

Two ways side by side, alternating, ``--repeat`` times each (medians):

* ``apart``: the documents' store as it runs, reading on a second connection with a thread
  of its own, so appends go on meanwhile;
* ``one connection`` (the reference): every call on the one writing connection and its
  thread, in order, so appends that come during a read wait for it: the way before.

Both ways share the GIL: what a read does in Python (a row object per stored update) holds
the event loop up either way. The figures are for reading, not for passing: no target is
asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uvloop

from coreport.stores.sqlite import SQLiteStore
from tests.bench.store_runs import append_at_pace, append_ms, on_copies, side_by_side

MODES = ("apart", "one connection")
_BIG = "reports/bench-big"


class _OneConnection(SQLiteStore):
    """The reference: the documents' store as it was, reading on its writing connection."""

    readers = 0


@dataclass(frozen=True)
class RunFigures:
    mode: str
    appends: int
    append_ms: dict[str, float]  # p50, p99, p99.9, max
    positions_ms: float  # median of the reads of every document's position
    load_ms: float  # median of the large document's loads
    reads: int


def _names(docs: int) -> list[str]:
    return [f"reports/bench{i:06d}" for i in range(docs)]


async def fill(path: Path, docs: int, big_rows: int) -> None:
    """``docs`` documents of one stored update (of 100 bytes) and one of ``big_rows``."""
    store = SQLiteStore(path)
    await store.open()
    try:
        names = _names(docs)
        for start in range(0, docs, 500):
            await store.append([(name, os.urandom(100)) for name in names[start : start + 500]])
        for start in range(0, big_rows, 500):
            count = min(500, big_rows - start)
            await store.append([(_BIG, os.urandom(100)) for _ in range(count)])
    finally:
        await store.close()


async def _run(
    path: Path, mode: str, docs: int, rate: float, seconds: float, every: float
) -> RunFigures:
    store = SQLiteStore(path) if mode == "apart" else _OneConnection(path)
    await store.open()
    names = _names(docs)
    rng = random.Random(7)
    positions: list[float] = []
    loads: list[float] = []
    stop = asyncio.Event()

    async def reader() -> None:
        turn = 0
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            started = time.perf_counter()
            if turn % 2 == 0:
                found = await store.last_seqs(names)
                assert len(found) == docs  # every document has a position
                positions.append(time.perf_counter() - started)
            else:
                state = await store.load(_BIG)
                assert state.updates  # the large document's rows
                loads.append(time.perf_counter() - started)
            turn += 1

    reading = asyncio.create_task(reader())
    try:
        appends = await append_at_pace(store, names, rate, seconds, rng)
    finally:
        stop.set()
        await reading
        await store.close()
    return RunFigures(
        mode,
        len(appends),
        append_ms(appends),
        statistics.median(positions) * 1e3 if positions else 0.0,
        statistics.median(loads) * 1e3 if loads else 0.0,
        len(positions) + len(loads),
    )


async def measure(
    docs: int,
    big_rows: int,
    rate: float,
    seconds: float,
    every: float,
    repeat: int,
    folder: Path,
) -> list[RunFigures]:
    """Every run's figures, the two ways alternating (each on a fresh copy of one file)."""
    filled = folder / "filled.db"
    await fill(filled, docs, big_rows)
    return await on_copies(
        filled,
        folder,
        MODES,
        repeat,
        lambda copy, mode: _run(copy, mode, docs, rate, seconds, every),
    )


_ROWS = [
    ("update due to durable, p50 (ms)", "append p50"),
    ("update due to durable, p99 (ms)", "append p99"),
    ("update due to durable, p99.9 (ms)", "append p99.9"),
    ("update due to durable, max (ms)", "append max"),
    ("positions of every document, one read (ms)", "positions_ms"),
    ("the large document, one load (ms)", "load_ms"),
]


def table(results: list[RunFigures], docs: int, big_rows: int, rate: float, every: float) -> str:
    return side_by_side(
        results,
        MODES,
        f"Long reads: {docs:,} documents and one of {big_rows:,} rows; one append at a time to"
        f" a random one at {rate:,.0f}/s while, every {every:g} s, the positions of all or a load"
        " of the large one",
        ("apart (reads on their own connection)", "one connection (reference)"),
        _ROWS,
        ("update due to durable p99, max", ("append p99", "append max")),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=10_000, help="default %(default)s")
    parser.add_argument("--big-rows", type=int, default=5_000, help="default %(default)s")
    parser.add_argument("--rate", type=float, default=1200, help="default %(default)s")
    parser.add_argument("--seconds", type=float, default=10, help="default %(default)s")
    parser.add_argument("--every", type=float, default=0.5, help="default %(default)s")
    parser.add_argument("--repeat", type=int, default=3, help="default %(default)s")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the files")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        results = uvloop.run(
            measure(
                args.docs,
                args.big_rows,
                args.rate,
                args.seconds,
                args.every,
                args.repeat,
                Path(folder),
            )
        )
    print(table(results, args.docs, args.big_rows, args.rate, args.every))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
