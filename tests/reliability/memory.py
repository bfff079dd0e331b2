"""The memory probe: reports opened, edited and unloaded in rounds against real servers,
with the live objects of each server process counted after every round.

Each server runs with ``tests/reliability/memprobe`` on ``PYTHONPATH`` (see its
``sitecustomize``). After a round of convergence seeds (each one report and its comments,
2-4 clients, disconnects and reconnects) the probe waits until every room has unloaded,
then asks each process for a dump (SIGUSR2) and prints its RSS, its live ``Room``,
pycrdt ``Doc`` and ``Session`` objects and the object types that grew most. A per-document
leak shows as counts that grow with the number of reports; allocator behaviour as RSS that
levels off while the counts stay flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.scenario import SERVER_ENV, run_seeds
from tests.support.cluster import LEAK_GAUGES, cluster, until_metrics
from tests.support.server import ServerProcess

PROBE_DIR = Path(__file__).parent / "memprobe"

ROOM = "coreport.sync.room.Room"
DOC = "pycrdt._doc.Doc"
SESSION = "coreport.sync.session.Session"


@dataclass
class Dump:
    """One dump of a server process (see ``memprobe/sitecustomize.py``)."""

    rss_kib: int
    objects: int
    types: dict[str, int]
    growth: list[tuple[str, int, int]]
    raw: dict[str, Any] = field(repr=False)

    def count(self, kind: str) -> int:
        return self.types.get(kind, 0)


def probe_env(directory: Path, *, trim: bool = False, trace_frames: int = 0) -> dict[str, str]:
    """Environment that loads the probe into a server process, dumps going to ``directory``."""
    paths = [str(PROBE_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {"PYTHONPATH": os.pathsep.join(paths), "COREPORT_MEMPROBE": str(directory)}
    if trim:
        env["COREPORT_MEMPROBE_TRIM"] = "1"
    if trace_frames:
        env["PYTHONTRACEMALLOC"] = str(trace_frames)
    return env


def _dumps(directory: Path, pid: int) -> list[Path]:
    return sorted(directory.glob(f"{pid}-*.json"))


class MemoryProbe:
    """Rounds of reports against ``servers``, which run with ``probe_env(dumps)``."""

    def __init__(self, servers: list[ServerProcess], dumps: Path) -> None:
        self.servers = servers
        self.ws_bases = [server.ws_base for server in servers]
        self.dumps = dumps
        self.reports = 0
        self.failures: dict[int, str] = {}

    async def dump(self, server: ServerProcess, seconds: float = 60.0) -> Dump:
        """Wait until ``server`` has unloaded every room, then ask it for a dump and wait
        for the file (bounded polling of another process)."""
        await until_metrics(server, dict.fromkeys(LEAK_GAUGES, 0.0), 60)
        taken = set(await asyncio.to_thread(_dumps, self.dumps, server.pid))
        os.kill(server.pid, signal.SIGUSR2)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            found = await asyncio.to_thread(_dumps, self.dumps, server.pid)
            fresh = [p for p in found if p not in taken]
            if fresh:
                raw = json.loads(await asyncio.to_thread(fresh[0].read_text))
                growth = [(str(n), int(d), int(c)) for n, d, c in raw["growth"]]
                return Dump(raw["rss_kib"], raw["objects"], raw["types"], growth, raw)
            await asyncio.sleep(0.05)
        raise AssertionError(f"server {server.pid} wrote no memory dump within {seconds} s")

    async def dump_all(self) -> list[Dump]:
        return [await self.dump(server) for server in self.servers]

    async def round(self, reports: int) -> list[Dump]:
        """Open, edit and unload ``reports`` more reports; a dump of every server after."""
        seeds = list(range(self.reports, self.reports + reports))
        summary = await run_seeds(seeds, self.ws_bases, "probe-", "memory_probe")
        self.failures.update(summary.failures)
        self.reports += reports
        return await self.dump_all()


@contextlib.asynccontextmanager
async def probed(
    root: Path, *, clustered: bool, trim: bool = False, trace_frames: int = 0
) -> AsyncIterator[MemoryProbe]:
    """An embedded server, or a two-instance cluster, loaded with the probe."""
    dumps = root / "dumps"
    dumps.mkdir()
    env = {**SERVER_ENV, **probe_env(dumps, trim=trim, trace_frames=trace_frames)}
    if clustered:
        async with cluster(root / "cluster", 2, env=env) as c:
            yield MemoryProbe(c.servers, dumps)
    else:
        with ServerProcess(root / "embedded", env=env) as server:
            yield MemoryProbe([server], dumps)


async def probe(
    reports: int,
    *,
    rounds: int,
    clustered: bool,
    trim: bool,
    trace_frames: int,
    show: Callable[[str], None] = print,
) -> int:
    """Open, edit and unload ``reports`` reports in ``rounds`` rounds; print each server's
    figures after every round. Returns 1 if a seed failed."""
    with tempfile.TemporaryDirectory(prefix="coreport-memprobe-") as scratch:
        async with probed(
            Path(scratch), clustered=clustered, trim=trim, trace_frames=trace_frames
        ) as memory:
            first = await memory.dump_all()
            for i, (server, start) in enumerate(zip(memory.servers, first, strict=True)):
                show(f"instance {i} (pid {server.pid}) before any report: {describe(start)}")
            for _ in range(rounds):
                for i, now in enumerate(await memory.round(max(1, reports // rounds))):
                    show(round_line(memory.reports, i, now, first[i]))
    for seed, failure in sorted(memory.failures.items()):
        show(f"seed {seed}: {failure}")
    return 1 if memory.failures else 0


def describe(dump: Dump) -> str:
    watched = ", ".join(f"{kind.rsplit('.', 1)[1]} {dump.count(kind)}" for kind in (ROOM, DOC))
    text = f"RSS {dump.rss_kib / 1024:.1f} MiB, {dump.objects} objects (live {watched})"
    if "trimmed_rss_kib" in dump.raw:
        text += f", RSS after malloc_trim {dump.raw['trimmed_rss_kib'] / 1024:.1f} MiB"
    if "traced_bytes" in dump.raw:
        text += f", tracemalloc {dump.raw['traced_bytes'] / 1024 / 1024:.1f} MiB"
    return text


def round_line(reports: int, instance: int, now: Dump, first: Dump) -> str:
    per_report = (now.rss_kib - first.rss_kib) / max(1, reports)
    growth = ", ".join(f"{name} {delta:+d}" for name, delta, _ in now.growth[:6])
    lines = [
        f"{reports:5d} reports, instance {instance}: {describe(now)}; "
        f"{per_report:+.1f} KiB/report since the start",
        f"      grew since the previous dump: {growth}",
    ]
    for stat in now.raw.get("traced_growth", [])[:5]:
        where = " <- ".join(line.strip() for line in stat["traceback"][-3:] if line.strip())
        lines.append(f"      {stat['size_diff'] / 1024:+.1f} KiB {where}")
    return "\n".join(lines)
