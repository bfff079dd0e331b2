"""Soaks against real servers, with each server's memory and open file descriptors printed
as they go. Three kinds:

    .venv/bin/python -m tests.reliability.soak --seeds 1000
        many convergence seeds on an embedded server, then on a two-instance cluster
        (PostgreSQL + Redis); figures after every 100 seeds;
    .venv/bin/python -m tests.reliability.soak --minutes 10
        mixed load on a two-instance cluster for 10 minutes (tests/reliability/mixed.py);
        figures every minute (``--interval``), a summary and a verdict at the end;
    .venv/bin/python -m tests.reliability.soak --probe 1000 [--cluster] [--trim] [--trace 25]
        the memory probe (tests/reliability/memory.py): reports opened, edited and
        unloaded in rounds, with the server's live objects counted after each round.

Exits 1 when a seed fails, a bound of the mixed load is broken, or a probe round fails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tests.reliability.load_figures import STRICT
from tests.reliability.memory import probe
from tests.reliability.mixed import soak_two_instances
from tests.reliability.scenario import SERVER_ENV, Summary, run_seeds
from tests.support.cluster import cluster, metrics, process_figures
from tests.support.server import ServerProcess

CHUNK = 100


def resources(server: ServerProcess) -> str:
    figures = process_figures(server)
    rooms = int(metrics(server).get("coreport_loaded_rooms", -1))
    return (
        f"pid {server.pid}: RSS {figures.rss_kib // 1024} MiB, {figures.fds} fds, "
        f"{rooms} rooms loaded"
    )


async def soak(
    name: str, seeds: list[int], servers: list[ServerProcess], ws_bases: list[str]
) -> Summary:
    total = Summary()
    for start in range(0, len(seeds), CHUNK):
        chunk = seeds[start : start + CHUNK]
        began = time.monotonic()
        done = await run_seeds(chunk, ws_bases, f"soak-{start}-", name)
        total.seeds += done.seeds
        total.clients += done.clients
        total.edits += done.edits
        total.reconnects += done.reconnects
        total.failures.update(done.failures)
        figures = "; ".join(resources(server) for server in servers)
        print(
            f"{name} seeds {chunk[0]}-{chunk[-1]}: {done.line()} in "
            f"{time.monotonic() - began:.1f} s; {figures}",
            flush=True,
        )
    return total


async def seeds_soak(count: int) -> int:
    results: list[tuple[str, Summary]] = []
    with tempfile.TemporaryDirectory(prefix="coreport-soak-") as scratch:
        root = Path(scratch)
        with ServerProcess(root / "embedded", env=SERVER_ENV) as server:
            seeds = list(range(count))
            results.append(
                (
                    "embedded_converges",
                    await soak("embedded_converges", seeds, [server], [server.ws_base]),
                )
            )
        async with cluster(root / "cluster", 2, env=SERVER_ENV) as c:
            seeds = list(range(100_000, 100_000 + count))
            name = "two_instances_converge"
            results.append((name, await soak(name, seeds, c.servers, [c.ws(0), c.ws(1)])))
    failed = False
    for name, summary in results:
        print(f"{name}: {summary.line()}")
        for seed, failure in sorted(summary.failures.items()):
            failed = True
            print(f"  seed {seed}: {failure}")
    return 1 if failed else 0


async def mixed_soak(minutes: float, interval: float) -> int:
    with tempfile.TemporaryDirectory(prefix="coreport-soak-") as scratch:
        problems = await soak_two_instances(
            Path(scratch), minutes * 60, interval, STRICT, show=lambda s: print(s, flush=True)
        )
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--seeds", type=int, help="convergence seeds per variant (default 1000)")
    kind.add_argument("--minutes", type=float, help="mixed load on two instances for this long")
    kind.add_argument("--probe", type=int, metavar="REPORTS", help="memory probe over REPORTS")
    parser.add_argument(
        "--interval", type=float, default=60.0, help="seconds between figures (--minutes)"
    )
    parser.add_argument("--rounds", type=int, default=10, help="probe rounds (--probe)")
    parser.add_argument(
        "--cluster", action="store_true", help="probe a two-instance cluster (--probe)"
    )
    parser.add_argument(
        "--trim", action="store_true", help="also report RSS after malloc_trim (--probe)"
    )
    parser.add_argument(
        "--trace",
        type=int,
        default=0,
        metavar="FRAMES",
        help="run the servers under tracemalloc, tracebacks of FRAMES frames (--probe)",
    )
    arguments = parser.parse_args()
    if arguments.minutes is not None:
        return asyncio.run(mixed_soak(arguments.minutes, arguments.interval))
    if arguments.probe is not None:
        return asyncio.run(
            probe(
                arguments.probe,
                rounds=arguments.rounds,
                clustered=arguments.cluster,
                trim=arguments.trim,
                trace_frames=arguments.trace,
            )
        )
    return asyncio.run(seeds_soak(arguments.seeds or 1000))


if __name__ == "__main__":
    sys.exit(main())
