"""The rooms' maintenance pass with many documents loaded, on a real store.

    .venv/bin/python -m tests.bench.maintenance                  # SQLite, 1,000 and 10,000 rooms
    .venv/bin/python -m tests.bench.maintenance --store postgres --rooms 1000,10000

For each count of loaded rooms it times four passes, each over every room (the median of
``--passes`` of each, wall and CPU time of this process):

* ``tick``: what the loop does between sweeps (``fill_gaps``: rooms with an old gap in
  sequence numbers; none here);
* ``sweep``: a sweep with no catch-up due (idle checks, resting, compaction checks,
  cursors), once a second;
* ``periodic``: a pass with the periodic catch-up due, as the server runs it: one query for
  every loaded document's position, then a read of each document that moved;
* ``every room``: the reference, the same pass reading every loaded document from the
  store instead (what the periodic catch-up did before ``Store.last_seqs``).

Before each timed catch-up pass another store (standing for another instance that wrote
behind the bus's back) appends to one room in ``--moved`` of them, so both catch-up passes
have the same documents to bring up to date. The figures are for reading, not for passing:
no target is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pycrdt import Doc, Text

from coreport.buses.local import LocalBus
from coreport.metrics import Metrics
from coreport.ports import Store
from coreport.stores.postgres import PostgresStore
from coreport.stores.sqlite import SQLiteStore
from coreport.sync.clock import SystemClock
from coreport.sync.rooms import RoomPolicy, Rooms

#: A catch-up pass on every maintain() call, or never.
_ALWAYS, _NEVER = 0.0, float("inf")


@dataclass(frozen=True)
class PassTimes:
    rooms: int
    tick: tuple[float, float]  # wall ms, CPU ms
    sweep: tuple[float, float]
    periodic: tuple[float, float]
    every_room: tuple[float, float]


def _edit(text: str) -> bytes:
    doc: Doc = Doc()
    doc["t"] = Text(text)
    return doc.get_update()


@asynccontextmanager
async def _storage(kind: str) -> AsyncIterator[Callable[[], Store]]:
    """A way to make stores on one fresh storage, which is removed afterwards."""
    if kind == "postgres":
        from tests.support.postgres import scratch_database

        async with scratch_database() as dsn:
            yield lambda: PostgresStore(dsn)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "coreport.db"
        yield lambda: SQLiteStore(path)


async def _timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    if asyncio.iscoroutine(result):
        await result
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _median(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


async def measure(kind: str, rooms_count: int, passes: int, moved_every: int) -> PassTimes:
    async with _storage(kind) as make:
        store, elsewhere = make(), make()
        await store.open()
        await elsewhere.open()
        names = [f"reports/bench{i}" for i in range(rooms_count)]
        for start in range(0, rooms_count, 500):
            await store.append([(name, _edit("hello")) for name in names[start : start + 500]])
        bus = LocalBus()
        await bus.open()
        # No resting, no unloading: every room stays loaded and live through the passes.
        policy = RoomPolicy(idle_unload_seconds=1e9, rest_after_seconds=0, tick_seconds=1e9)
        rooms = Rooms(store, bus, Metrics(), SystemClock(), instance="bench", policy=policy)
        try:
            async with rooms:
                for name in names:
                    await rooms.acquire(name)

                async def moved() -> None:
                    await elsewhere.append([(n, _edit("x")) for n in names[::moved_every]])

                async def every_room() -> None:
                    await rooms.maintain()
                    for name in names:
                        room = rooms.get(name)
                        if room is not None:
                            await rooms.catch_up(room)

                times: dict[str, list[tuple[float, float]]] = {
                    "tick": [],
                    "sweep": [],
                    "periodic": [],
                    "every room": [],
                }
                never = replace(policy, catch_up_seconds=_NEVER)
                always = replace(policy, catch_up_seconds=_ALWAYS)
                for _ in range(passes):
                    rooms.policy = never
                    times["tick"].append(await _timed(rooms.fill_gaps))
                    times["sweep"].append(await _timed(rooms.maintain))
                    await moved()
                    rooms.policy = always
                    times["periodic"].append(await _timed(rooms.maintain))
                    await moved()
                    rooms.policy = never
                    times["every room"].append(await _timed(every_room))
                    assert all(
                        room.known_seq == stored
                        for name, stored in (await store.last_seqs(names)).items()
                        if (room := rooms.get(name)) is not None
                    ), "a catch-up pass left a room behind the store"
        finally:
            await bus.close()
            await elsewhere.close()
            await store.close()
    return PassTimes(
        rooms_count,
        _median(times["tick"]),
        _median(times["sweep"]),
        _median(times["periodic"]),
        _median(times["every room"]),
    )


def table(kind: str, results: Sequence[PassTimes], moved_every: int) -> str:
    lines = [
        f"Maintenance pass, {kind} store, one room in {moved_every} moved before each"
        " catch-up pass (medians; ms wall / ms CPU)",
        "",
        "| rooms | tick | sweep | periodic (positions query) | every room read (reference)"
        " | periodic / reference (CPU) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = r.periodic[1] / r.every_room[1] if r.every_room[1] else float("nan")
        lines.append(
            f"| {r.rooms:,} | {r.tick[0]:.2f} / {r.tick[1]:.2f}"
            f" | {r.sweep[0]:.1f} / {r.sweep[1]:.1f}"
            f" | {r.periodic[0]:.1f} / {r.periodic[1]:.1f}"
            f" | {r.every_room[0]:.1f} / {r.every_room[1]:.1f} | {ratio:.3f}x |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rooms", default="1000,10000", help="default %(default)s")
    parser.add_argument("--passes", type=int, default=5, help="default %(default)s")
    parser.add_argument(
        "--moved", type=int, default=100, help="one room in this many moved (default 100)"
    )
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.rooms.split(",")]

    async def all_counts() -> list[PassTimes]:
        return [await measure(args.store, n, args.passes, args.moved) for n in counts]

    print(table(args.store, asyncio.run(all_counts()), args.moved))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
