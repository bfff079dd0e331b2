"""Several real ``coreport serve`` processes on one PostgreSQL database and one Redis, and
what tests ask of them from outside: readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.postgres import scratch_database
from tests.support.redis import admin_client, delete_keys
from tests.support.server import ServerProcess
from tests.support.services import REDIS_URL


@dataclass
class Cluster:
    servers: list[ServerProcess]
    prefix: str

    def ws(self, i: int) -> str:
        return self.servers[i % len(self.servers)].ws_base


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path,
    count: int,
    *,
    database_url: str | None = None,
    redis_url: str = REDIS_URL,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Cluster]:
    redis = await admin_client(REDIS_URL)
    prefix = f"coreport-test-{secrets.token_hex(4)}:"
    try:
        async with contextlib.AsyncExitStack() as stack:
            if database_url is None:
                database_url = await stack.enter_async_context(scratch_database())
            servers = []
            for i in range(count):
                server = ServerProcess(
                    tmp_path / f"instance{i}",
                    env={
                        "COREPORT_DATABASE_URL": database_url,
                        "COREPORT_REDIS_URL": redis_url,
                        "COREPORT_REDIS_PREFIX": prefix,
                        "COREPORT_INSTANCE_ID": f"instance{i}",
                        **(env or {}),
                    },
                )
                # Start in a thread: proxies on this event loop must keep forwarding.
                await asyncio.to_thread(server.start)
                stack.callback(server.kill)
                servers.append(server)
            yield Cluster(servers, prefix)
    finally:
        await delete_keys(redis, prefix)
        await redis.aclose()


def samples(server: ServerProcess) -> dict[str, float]:
    """Every sample of the instance's ``/metrics``: ``name`` or ``name{labels}`` -> value."""
    return samples_at(server.url + "metrics")


def samples_at(url: str) -> dict[str, float]:
    """Every sample of the Prometheus text at ``url``: ``name`` or ``name{labels}`` -> value."""
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    values: dict[str, float] = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            # The value is the last field; label values may hold spaces.
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def metrics(server: ServerProcess) -> dict[str, float]:
    """The unlabelled samples of the instance's ``/metrics`` (name -> value)."""
    return {name: value for name, value in samples(server).items() if "{" not in name}


#: Gauges that return to zero once no client is connected and idle rooms have unloaded.
LEAK_GAUGES = ("coreport_open_sockets", "coreport_loaded_rooms", "coreport_bus_subscriptions")


async def until_metrics(
    server: ServerProcess, expected: dict[str, float], seconds: float = 30.0
) -> float:
    """Ask the instance for its metrics until every gauge of ``expected`` has its value;
    return the elapsed time. Bounded polling of another process, not a sleep for an event."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen: dict[str, float] = {}
    while loop.time() - started < seconds:
        seen = await asyncio.to_thread(metrics, server)
        if all(seen.get(name) == value for name, value in expected.items()):
            return loop.time() - started
        await asyncio.sleep(0.1)
    got = {name: seen.get(name) for name in expected}
    raise AssertionError(f"{server.url} metrics are {got}, not {expected} after {seconds} s")


def readiness(server: ServerProcess) -> str:
    try:
        with urllib.request.urlopen(server.url + "readyz", timeout=10) as response:
            return str(json.loads(response.read())["status"])
    except urllib.error.HTTPError as exc:
        status = str(json.loads(exc.read())["status"])
    if status != "not ready":
        raise AssertionError(f"HTTP 503 with status {status!r}")
    return status


async def until_ready(server: ServerProcess, expected: str, seconds: float = 20.0) -> float:
    """Ask another process for its readiness until it answers ``expected``; the elapsed time."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(int(seconds / 0.1)):
        if await asyncio.to_thread(readiness, server) == expected:
            return loop.time() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{server.url} did not become {expected} within {seconds} s")


@dataclass(frozen=True)
class ProcessFigures:
    """What the kernel says about a server process (Linux ``/proc``)."""

    rss_kib: int
    fds: int
    #: User and system CPU time used so far.
    cpu_seconds: float


def process_figures(server: ServerProcess) -> ProcessFigures:
    status = Path(f"/proc/{server.pid}/status").read_text()
    rss = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{server.pid}/fd"))
    # /proc/PID/stat: the command name (field 2) is in parentheses and may hold spaces;
    # utime and stime are fields 14 and 15, in clock ticks.
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ProcessFigures(int(rss), fds, ticks / os.sysconf("SC_CLK_TCK"))
