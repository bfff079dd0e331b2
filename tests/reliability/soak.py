"""Soak: many convergence seeds against an embedded server and a two-instance cluster, with
each server's memory and open file descriptors printed after every chunk.

    .venv/bin/python -m tests.reliability.soak --seeds 1000

Exits 1 when any seed fails, after printing how to replay it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from tests.reliability.scenario import SERVER_ENV, Summary, run_seeds
from tests.support.cluster import cluster, metrics
from tests.support.server import ServerProcess

CHUNK = 100


def resources(server: ServerProcess) -> str:
    status = Path(f"/proc/{server.pid}/status").read_text()
    rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{server.pid}/fd"))
    rooms = int(metrics(server).get("coreport_loaded_rooms", -1))
    return f"pid {server.pid}: RSS {int(rss) // 1024} MiB, {fds} fds, {rooms} rooms loaded"


async def soak(
    name: str, seeds: list[int], servers: list[ServerProcess], ws_bases: list[str]
) -> Summary:
    total = Summary()
    for start in range(0, len(seeds), CHUNK):
        chunk = seeds[start : start + CHUNK]
        began = time.monotonic()
        done = await run_seeds(chunk, ws_bases, f"soak-{secrets.token_hex(3)}-", name)
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


async def main(count: int) -> int:
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1000, help="seeds per variant (default 1000)")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.seeds)))
