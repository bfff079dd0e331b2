"""The benchmark: coreport, the reference server and its peers side by side, one table.

    .venv/bin/python -m tests.bench.run [--quick] [--repeat N] [--scenarios S1,S3,S6]
        [--servers coreport,reference,hocuspocus,pycrdt-websocket]

Each server is started fresh for every scenario and repetition (coreport with its
durable-before-relay persistence, which is always on; the reference, Hocuspocus and
pycrdt-websocket in memory, as they run by default), one at a time on this machine, and
driven by the same Node load generator (``loadgen.mjs``). Figures are medians over the
repetitions, with each server's ratio to the reference; a scenario that fails for a server
shows the failure instead of a number.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import re
import secrets
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

if __package__ in {None, ""}:  # run as a script: make ``tests.support`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability.load_figures import percentile
from tests.support.cluster import samples_at
from tests.support.redis import admin_client, delete_keys
from tests.support.server import ServerProcess
from tests.support.services import POSTGRES_URL, REDIS_URL

BENCH_DIR = Path(__file__).resolve().parent
LOADGEN = BENCH_DIR / "loadgen.mjs"
REFERENCE_SCRIPT = BENCH_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
HOCUSPOCUS_SCRIPT = BENCH_DIR / "peers" / "hocuspocus.mjs"
HOCUSPOCUS_PACKAGE = BENCH_DIR / "node_modules" / "@hocuspocus" / "server" / "package.json"
PYCRDT_WS_SCRIPT = BENCH_DIR / "peers" / "pycrdt_ws.py"
REFERENCE = "reference"
HOCUSPOCUS = "hocuspocus"
PYCRDT_WS = "pycrdt-websocket"
SCALED = "coreport-scaled"

# Scenario parameters handed to the load generator (see loadgen.mjs for their meaning).
FULL: dict[str, dict[str, Any]] = {
    "S1": {"clients": 50, "writers": 5, "rate": 20, "warmup": 2, "duration": 10},
    "S2": {
        "clients": 20,
        "writers": 5,
        "warmup": 1,
        "duration": 5,
        # At most a quarter apart from 4,000/s on: a server between two steps counts as
        # the lower one, so the coarser the steps, the less a ratio of two servers means.
        "steps": [
            *(500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 16000),
            *(20000, 24000, 28000, 32000),
        ],
        "p99Limit": 100,
    },
    "S3": {"docs": 200, "clients": 3, "rate": 2, "warmup": 2, "duration": 10},
    "S4": {"docs": 1000, "settle": 8},
    "S5": {"edits": 20000, "syncs": 9},
    "S6": {"sockets": 1000, "docs": 100, "hold": 10, "settle": 2},
    "S7": {"docs": 10000, "batch": 100, "sampleEvery": 1000, "warmDocs": 1000, "check": 20},
    "S8": {"clients": 50, "rate": 5, "warmup": 2, "duration": 10},
    "S9": {"runs": 10, "viewers": 50, "rate": 10, "metrics": 4, "warmup": 2, "duration": 10},
    "S10": {"runs": 20, "steps": 20000, "metrics": 4, "viewers": 10, "rounds": 3},
}
QUICK: dict[str, dict[str, Any]] = {
    "S1": {**FULL["S1"], "warmup": 0.5, "duration": 2},
    "S2": {**FULL["S2"], "warmup": 0.5, "duration": 1.5, "steps": [500, 2000, 8000]},
    "S3": {**FULL["S3"], "docs": 50, "warmup": 0.5, "duration": 2},
    "S4": {"docs": 200, "settle": 1},
    "S5": {"edits": 2000, "syncs": 3},
    "S6": {**FULL["S6"], "hold": 2, "settle": 1},
    "S7": {"docs": 2000, "batch": 100, "sampleEvery": 250, "warmDocs": 500, "check": 10},
    "S8": {**FULL["S8"], "warmup": 0.5, "duration": 2},
    "S9": {**FULL["S9"], "warmup": 0.5, "duration": 2},
    "S10": {**FULL["S10"], "runs": 5, "steps": 12000, "viewers": 3, "rounds": 1},
}
DEFAULT_SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10")
# Scenarios that only some servers take part in. S7 measures documents going through load
# from the store and unload back to it; the peers run in memory and have no such cycle: the
# reference keeps every document until it stops, Hocuspocus and pycrdt-websocket drop a
# document and its content when its last client leaves. S9 and S10 measure coreport's Runs
# API (its live stream of metrics, its charts' history), which the peers do not have.
ONLY: dict[str, tuple[str, ...]] = {
    "S7": ("coreport",),
    "S9": ("coreport", SCALED),
    "S10": ("coreport", SCALED),
}
# Server settings a scenario needs: S7 has coreport unload a document 1 s after its last
# client left (30 s by default), so that 10,000 documents cycle in a run of minutes.
COREPORT_SCENARIO_ENV: dict[str, dict[str, str]] = {"S7": {"COREPORT_ROOM_IDLE_SECONDS": "1"}}
TIMEOUTS = {"S2": 900.0, "S7": 1800.0}
# Other work the machine may be doing when a run starts, in CPUs (see wait_for_quiet).
QUIET_CPUS = 0.3


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    digits: int = 1


FIGURES: dict[str, tuple[Figure, ...]] = {
    "S1": (
        Figure("p50_ms", "fan-out latency p50 (ms)", 2),
        Figure("p99_ms", "fan-out latency p99 (ms)", 2),
        Figure("server_cpu_pct", "server CPU (% of one core)"),
    ),
    "S2": (Figure("sustained_updates_per_s", "sustained updates/s, p99 <= 100 ms, no loss", 0),),
    "S3": (
        Figure("server_cpu_pct", "server CPU (% of one core)"),
        Figure("p50_ms", "latency p50 (ms)", 2),
        Figure("p99_ms", "latency p99 (ms)", 2),
    ),
    "S4": (Figure("kib_per_doc", "memory per open document (KiB)"),),
    "S5": (
        Figure("state_ms", "new client has the state (ms)", 1),
        Figure("sync_ms", "new client has applied it (ms)", 1),
        Figure("build_s", "time to ingest and relay the edits (s)", 2),
    ),
    "S6": (
        Figure("synced", "sockets connected and synced", 0),
        Figure("connect_s", "time to connect and sync them all (s)", 2),
        Figure("rss_mib", "server RSS while holding them (MiB)", 1),
        Figure("kib_per_socket", "memory per socket (KiB)", 1),
        Figure("relay_p99_ms", "one update per document, delivery p99 (ms)", 2),
    ),
    "S7": (
        Figure("growth_kib_per_1000", "RSS growth per 1,000 documents cycled (KiB)", 0),
        Figure("rss_end_mib", "server RSS once all are unloaded (MiB)", 1),
        Figure("docs_per_s", "documents opened, written, closed per second", 0),
    ),
    "S8": (
        Figure("server_cpu_pct", "server CPU (% of one core)"),
        Figure("p50_ms", "cursor move seen, p50 (ms)", 2),
        Figure("p99_ms", "cursor move seen, p99 (ms)", 2),
    ),
    "S9": (
        Figure("server_cpu_pct", "server CPU (% of one core)"),
        Figure("p50_ms", "metric row logged to seen live, p50 (ms)", 2),
        Figure("p99_ms", "metric row logged to seen live, p99 (ms)", 2),
    ),
    "S10": (
        Figure("alone_ms", "one viewer opens the grid: every chart's points (ms)", 0),
        Figure("p50_ms", "viewers opening it at once: the median viewer (ms)", 0),
        Figure("last_ms", "viewers opening it at once: the last viewer (ms)", 0),
    ),
}


def describe(scenario: str, params: dict[str, Any]) -> str:
    p = params
    if scenario == "S1":
        return (
            f"S1 fan-out: 1 doc x {p['clients']} clients, {p['writers']} writers x "
            f"{p['rate']} updates/s, {p['duration']} s measured"
        )
    if scenario == "S2":
        steps = ", ".join(str(s) for s in p["steps"])
        return (
            f"S2 saturation: 1 doc x {p['clients']} clients ({p['writers']} writers), steps "
            f"{steps} updates/s of {p['duration']} s each; a failed step is tried once more"
        )
    if scenario == "S3":
        return (
            f"S3 many docs: {p['docs']} docs x {p['clients']} clients, every client writing "
            f"{p['rate']} updates/s, {p['duration']} s measured"
        )
    if scenario == "S4":
        return f"S4 memory: {p['docs']} docs of ~1 KB, one client each"
    if scenario == "S5":
        return f"S5 sync: a doc built from {p['edits']:,} edits, median of {p['syncs']} new clients"
    if scenario == "S6":
        return (
            f"S6 sockets: {p['sockets']:,} sockets over {p['docs']} docs on one instance, held "
            f"{p['hold']} s, then one update per doc to every other socket"
        )
    if scenario == "S8":
        return (
            f"S8 presence: 1 doc x {p['clients']} clients, each moving its cursor {p['rate']} "
            f"times/s (awareness), {p['duration']} s measured"
        )
    if scenario == "S9":
        return (
            f"S9 live panels: {p['runs']} runs each logging a row of {p['metrics']} metrics "
            f"{p['rate']} times/s (Runs API), {p['viewers']} viewers following every run "
            f"(live stream), {p['duration']} s measured"
        )
    if scenario == "S10":
        return (
            f"S10 a report opened in a meeting: a grid of {p['runs']} runs x {p['steps']:,} "
            f"steps x {p['metrics']} metrics (1,000 points per chart), opened by one viewer, "
            f"then by {p['viewers']} at once; medians of {p['rounds']} rounds"
        )
    return (
        f"S7 load/unload: {p['docs']:,} docs of ~1 KB opened, written and closed {p['batch']} "
        f"at a time (coreport unloads after 1 s idle); RSS every {p['sampleEvery']:,} docs, "
        f"growth fitted after the first {p['warmDocs']:,}; {p['check']} docs reopened and checked"
    )


# -- servers -----------------------------------------------------------------------------


@dataclass
class Running:
    """A started server: where its rooms are, which processes to measure, how to stop it."""

    url_template: str  # with ``{room}``
    pids: list[int]
    command: str
    stop: Callable[[], None]
    alive: Callable[[], bool]
    protocol: str = "y-websocket"  # or "hocuspocus" (see loadgen.mjs)
    # coreport's Prometheus text, one per instance: S7 reads the first's during the run,
    # and each run ends by reading what every instance says of its commits.
    metrics_urls: list[str] = field(default_factory=list)
    # How many lines (warnings, errors) the server printed after it was ready, the last few.
    printed: Callable[[], tuple[int, list[str]]] = lambda: (0, [])
    # More instances of the same service (scaled mode): clients are spread over all URLs.
    more_urls: list[str] = field(default_factory=list)


# The reference has no sign-in and no rate limits; coreport runs without them too, so both
# are measured on the same work (durable-before-relay persistence stays on: it cannot be
# turned off). The per-socket message rate and per-address connect limits would otherwise
# close the load generator's sockets, which all come from 127.0.0.1.
COREPORT_ENV = {
    "COREPORT_INSECURE_NO_AUTH": "1",
    "COREPORT_MESSAGES_PER_SECOND": "1000000000",
    "COREPORT_MESSAGE_BURST": "1000000000",
    "COREPORT_CONNECTS_PER_MINUTE": "1000000000",
    # The peers log warnings only; so does coreport here (uvicorn logs two INFO lines
    # per WebSocket, 20,000 in S7).
    "COREPORT_LOG_LEVEL": "warning",
}


def start_coreport(workdir: Path, scenario: str) -> Running:
    settings = {**COREPORT_ENV, **COREPORT_SCENARIO_ENV.get(scenario, {})}
    process = ServerProcess(workdir / "data", env=settings).start()
    popen = process._process
    assert popen is not None
    env = " ".join(f"{k}={v}" for k, v in settings.items())
    command = (
        f"{env} {Path(sys.executable).name} -m coreport serve --host 127.0.0.1 --port 0 "
        "--data-dir DIR  (embedded default: SQLite, in-process bus)"
    )
    at_ready = len(process.output)

    def stop() -> None:
        process.stop()

    def printed() -> tuple[int, list[str]]:
        # "coreport: ..." lines are its start-up banner, which may end after the ready line.
        lines = [
            line
            for line in process.output[at_ready:]
            if _worth_noting(line) and not line.startswith("coreport: ")
        ]
        return len(lines), lines[-3:]

    return Running(
        url_template=process.ws_base + "/{room}",
        pids=[process.pid],
        command=command,
        stop=stop,
        alive=lambda: popen.poll() is None,
        metrics_urls=[process.url.rstrip("/") + "/metrics"],
        printed=printed,
    )


def start_coreport_scaled(workdir: Path, scenario: str) -> Running:
    """Two coreport instances on one scratch PostgreSQL database and one Redis (key prefix
    of their own), the load generator's clients spread over both."""
    settings = {**COREPORT_ENV, **COREPORT_SCENARIO_ENV.get(scenario, {})}
    database = f"coreport_bench_{secrets.token_hex(4)}"
    prefix = f"coreport-bench-{secrets.token_hex(4)}:"
    asyncio.run(_admin_sql(f'CREATE DATABASE "{database}"'))
    url = urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{database}"))
    scaled = {**settings, "COREPORT_DATABASE_URL": url, "COREPORT_REDIS_URL": REDIS_URL}
    scaled["COREPORT_REDIS_PREFIX"] = prefix
    processes: list[ServerProcess] = []

    def stop() -> None:
        for process in processes:
            process.stop()
        asyncio.run(_admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        asyncio.run(_drop_keys(prefix))

    try:
        for i in range(2):
            env = {**scaled, "COREPORT_INSTANCE_ID": f"bench{i}"}
            processes.append(ServerProcess(workdir / f"instance{i}", env=env).start())
    except BaseException:
        stop()
        raise
    env_text = " ".join(f"{k}={v}" for k, v in settings.items())
    command = (
        f"{env_text} COREPORT_DATABASE_URL=postgresql://.../SCRATCH COREPORT_REDIS_URL={REDIS_URL} "
        f"{Path(sys.executable).name} -m coreport serve --port 0   (x2: PostgreSQL + Redis)"
    )
    marks = [len(p.output) for p in processes]

    def printed() -> tuple[int, list[str]]:
        lines = [
            line
            for p, mark in zip(processes, marks, strict=True)
            for line in p.output[mark:]
            if _worth_noting(line) and not line.startswith("coreport: ")
        ]
        return len(lines), lines[-3:]

    return Running(
        url_template=processes[0].ws_base + "/{room}",
        more_urls=[p.ws_base + "/{room}" for p in processes[1:]],
        pids=[p.pid for p in processes],
        command=command,
        stop=stop,
        alive=lambda: all(p._process is not None and p._process.poll() is None for p in processes),
        metrics_urls=[p.url.rstrip("/") + "/metrics" for p in processes],
        printed=printed,
    )


async def _admin_sql(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _drop_keys(prefix: str) -> None:
    redis = await admin_client(REDIS_URL)
    try:
        await delete_keys(redis, prefix)
    finally:
        await redis.aclose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# uvicorn (coreport, pycrdt-websocket) logs every WebSocket accepted, opened and closed at
# INFO: such lines are not worth a note; warnings and errors are.
_INFO = re.compile(r"^INFO:|\sINFO\s")


def _worth_noting(line: str) -> bool:
    return _INFO.search(line) is None


@dataclass
class _Peer:
    """A peer server's process and what it printed after its ready line."""

    process: subprocess.Popen[str]
    ready: re.Match[str]
    stop: Callable[[], None]
    printed: Callable[[], tuple[int, list[str]]]


def _start_process(
    name: str, argv: list[str], workdir: Path, ready: re.Pattern[str], env: dict[str, str]
) -> _Peer:
    """Starts a peer server with environment ``env`` and waits (up to 20 s) for a line that
    ``ready`` matches; stopping it is SIGTERM, then SIGKILL after 10 s."""
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=workdir
    )
    started = threading.Event()
    found: list[re.Match[str]] = []
    before: deque[str] = deque(maxlen=20)  # why it did not start
    after: deque[str] = deque(maxlen=3)  # what it printed while measured (errors, mostly)
    count = [0]

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if found:
                if _worth_noting(line):
                    count[0] += 1
                    after.append(line.rstrip("\n"))
                continue
            before.append(line.rstrip("\n"))
            match = ready.search(line)
            if match:
                found.append(match)
                started.set()
        started.set()

    reader = threading.Thread(target=drain, daemon=True, name=f"{name}-out-{process.pid}")
    reader.start()

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        reader.join(10)
        if process.stdout is not None:
            process.stdout.close()

    if not started.wait(20.0) or not found or process.poll() is not None:
        stop()
        raise RuntimeError(f"{name} did not start:\n" + "\n".join(before))
    return _Peer(process, found[0], stop, lambda: (count[0], list(after)))


def start_reference(workdir: Path, scenario: str) -> Running:
    if not REFERENCE_SCRIPT.exists():
        raise RuntimeError(f"{REFERENCE_SCRIPT} is missing: run `npm ci` in {BENCH_DIR}")
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    env.pop("YPERSISTENCE", None)  # in memory, as the reference runs by default
    argv = ["node", str(REFERENCE_SCRIPT)]
    peer = _start_process(REFERENCE, argv, workdir, re.compile("running at"), env)
    return Running(
        url_template=f"ws://127.0.0.1:{port}/{{room}}",
        pids=[peer.process.pid],
        command="HOST=127.0.0.1 PORT=PORT node tests/bench/"
        + str(REFERENCE_SCRIPT.relative_to(BENCH_DIR)),
        stop=peer.stop,
        alive=lambda: peer.process.poll() is None,
        printed=peer.printed,
    )


_RUNNING_AT = re.compile(r"running at (ws://\S+)")


def start_hocuspocus(workdir: Path, scenario: str) -> Running:
    if not HOCUSPOCUS_PACKAGE.exists():
        raise RuntimeError(f"@hocuspocus/server is missing: run `npm ci` in {BENCH_DIR}")
    argv = ["node", str(HOCUSPOCUS_SCRIPT), "--host", "127.0.0.1", "--port", "0"]
    peer = _start_process(HOCUSPOCUS, argv, workdir, _RUNNING_AT, dict(os.environ))
    return Running(
        url_template=peer.ready.group(1) + "/{room}",
        pids=[peer.process.pid],
        command="node tests/bench/peers/hocuspocus.mjs --host 127.0.0.1 --port 0",
        stop=peer.stop,
        alive=lambda: peer.process.poll() is None,
        protocol="hocuspocus",
        printed=peer.printed,
    )


def start_pycrdt_websocket(workdir: Path, scenario: str) -> Running:
    if importlib.util.find_spec("pycrdt.websocket") is None:
        raise RuntimeError("pycrdt-websocket is not installed: pip install -e '.[bench]'")
    argv = [sys.executable, str(PYCRDT_WS_SCRIPT), "--host", "127.0.0.1", "--port", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    peer = _start_process(PYCRDT_WS, argv, workdir, _RUNNING_AT, env)
    return Running(
        url_template=peer.ready.group(1) + "/{room}",
        pids=[peer.process.pid],
        command=f"{Path(sys.executable).name} tests/bench/peers/pycrdt_ws.py "
        "--host 127.0.0.1 --port 0",
        stop=peer.stop,
        alive=lambda: peer.process.poll() is None,
        printed=peer.printed,
    )


def busy_cores(seconds: float = 1.0) -> float:
    """How many CPUs' worth of work the whole machine did over the next ``seconds``."""

    def busy() -> float:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    start, started = busy(), time.perf_counter()
    time.sleep(seconds)
    return (busy() - start) / (time.perf_counter() - started)


def wait_for_quiet(max_wait: float, threshold: float) -> float:
    """Before a run (no server up), wait up to ``max_wait`` s for other work on this shared
    machine to drop to ``threshold`` CPUs; returns the last reading."""
    deadline = time.monotonic() + max_wait
    while True:
        other = busy_cores()
        if other <= threshold or time.monotonic() >= deadline:
            return other


SERVERS: dict[str, Callable[[Path, str], Running]] = {
    "coreport": start_coreport,
    SCALED: start_coreport_scaled,
    REFERENCE: start_reference,
    HOCUSPOCUS: start_hocuspocus,
    PYCRDT_WS: start_pycrdt_websocket,
}
# Scaled mode needs PostgreSQL and Redis and is compared with embedded coreport, so it
# runs only when asked for: --servers coreport,coreport-scaled,...
DEFAULT_SERVERS = tuple(name for name in SERVERS if name != SCALED)


# -- running -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """One run of one scenario against one server."""

    ok: bool
    figures: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0
    # CPUs' worth of other work on the machine just before the server started.
    busy_before: float = 0.0
    # Lines the server printed while it was measured, and the last of them.
    printed: int = 0
    printed_last: str = ""
    # What coreport's instances said of their durable commits at the end (read_commits).
    commits: dict[str, float | None] | None = None


def loadgen_command(
    scenario: str, running: Running, prefix: str, params: dict[str, Any]
) -> list[str]:
    command = ["node", str(LOADGEN), "--scenario", scenario, "--prefix", prefix]
    for url in [running.url_template, *running.more_urls]:
        command += ["--url", url]
    for pid in running.pids:
        command += ["--pid", str(pid)]
    if running.protocol != "y-websocket":
        command += ["--protocol", running.protocol]
    if scenario == "S7" and running.metrics_urls:
        params = {**params, "metricsUrl": running.metrics_urls[0]}
    return [*command, "--params", json.dumps(params, separators=(",", ":"))]


def run_once(
    server: str, scenario: str, params: dict[str, Any], prefix: str, timeout: float
) -> tuple[Outcome, list[str]]:
    """Start ``server`` fresh, run one scenario against it, stop it."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{server}-") as tmp:
        try:
            running = SERVERS[server](Path(tmp), scenario)
        except Exception as exc:
            return Outcome(ok=False, error=f"server did not start: {exc}".splitlines()[0]), []
        command = loadgen_command(scenario, running, prefix, params)
        try:
            outcome = _drive(command, timeout)
            if not running.alive():
                outcome = Outcome(ok=False, error="the server process exited during the run")
            elif running.metrics_urls:
                outcome.commits = read_commits(running.metrics_urls)
        finally:
            running.stop()
        outcome.printed, last = running.printed()
        outcome.printed_last = last[-1] if last else ""
        return outcome, [running.command, _shown(command, running)]


def _shown(command: list[str], running: Running) -> str:
    """The load generator's command as one would type it from the repository root."""
    port = running.url_template.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
    pids = {str(p) for p in running.pids}
    shown = [
        "tests/bench/loadgen.mjs"
        if part == str(LOADGEN)
        else "PID"
        if part in pids
        else part.replace(f":{port}/", ":PORT/")
        for part in command
    ]
    return shlex.join(shown)


def _drive(command: list[str], timeout: float) -> Outcome:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=BENCH_DIR, check=False
        )
    except subprocess.TimeoutExpired:
        return Outcome(ok=False, error=f"load generator timed out after {timeout:.0f} s")
    result: dict[str, Any] | None = None
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("type") == "result":
                result = record
    if result is None:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(ok=False, error=f"load generator exited {done.returncode}: {tail}")
    return Outcome(
        ok=bool(result.get("ok")),
        figures=result.get("figures", {}),
        details=result.get("details", {}),
        error=str(result.get("error") or ""),
        seconds=float(result.get("seconds", 0.0)),
    )


# -- what the servers wait for --------------------------------------------------------------


def read_commits(metrics_urls: Sequence[str]) -> dict[str, float | None] | None:
    """What coreport's instances say of their durable commits so far (a run's warm-up
    included), summed over them: how many, how many updates each on average, their mean
    time, and the histogram bounds within which half and 99 % of them finished (``None``:
    beyond the last bound). ``None`` if an instance does not answer."""
    count = seconds = updates = 0.0
    within: dict[float, float] = {}
    try:
        for url in metrics_urls:
            answer = samples_at(url)
            count += answer.get("coreport_commit_seconds_count", 0.0)
            seconds += answer.get("coreport_commit_seconds_sum", 0.0)
            updates += answer.get("coreport_commit_batch_size_sum", 0.0)
            for name, value in answer.items():
                if name.startswith(_COMMIT_BUCKET):
                    bound = float(name.removeprefix(_COMMIT_BUCKET).removesuffix('"}'))
                    within[bound] = within.get(bound, 0.0) + value
    except (OSError, ValueError) as exc:
        print(f"could not read coreport's commit metrics: {exc}", file=sys.stderr)
        return None
    if not count:
        return {"commits": 0, "updates_per_commit": None, "mean_ms": None}

    def bound_ms(share: float) -> float | None:
        bound = next(b for b in sorted(within) if within[b] >= share * count)
        return None if bound == float("inf") else bound * 1000

    return {
        "commits": count,
        "updates_per_commit": updates / count,
        "mean_ms": seconds / count * 1000,
        "p50_within_ms": bound_ms(0.5),
        "p99_within_ms": bound_ms(0.99),
    }


# A bucket's sample as ``samples_at`` names it, up to its bound: ``...{le="0.001"}``.
_COMMIT_BUCKET = 'coreport_commit_seconds_bucket{le="'


@dataclass(frozen=True)
class DiskSync:
    """How long ``writes`` 4 KiB appends to a file, each followed by ``fdatasync``, took at
    ``gap_ms`` apart: what a durable commit waits for at the least."""

    directory: str
    writes: int
    gap_ms: float
    p50_us: float
    p99_us: float
    max_us: float


def probe_disk(directory: Path, writes: int, gap: float = 0.01) -> DiskSync:
    """Time ``writes`` appends of 4 KiB with ``fdatasync`` in ``directory``, ``gap`` seconds
    apart (a disk that idles between commits may answer more slowly than one kept busy).
    The file is removed afterwards."""
    if writes < 1:
        raise ValueError(f"writes must be >= 1, not {writes}")
    block = os.urandom(4096)
    times: list[float] = []
    with tempfile.NamedTemporaryFile(dir=directory, prefix="bench-disk-") as file:
        fd = file.fileno()
        for i in range(writes):
            if i and gap:
                time.sleep(gap)  # the idle pause between commits that is being measured
            started = time.perf_counter()
            os.pwrite(fd, block, i * len(block))
            os.fdatasync(fd)
            times.append(time.perf_counter() - started)
    return DiskSync(
        directory=str(directory),
        writes=writes,
        gap_ms=gap * 1000,
        p50_us=percentile(times, 0.5) * 1e6,
        p99_us=percentile(times, 0.99) * 1e6,
        max_us=max(times) * 1e6,
    )


@dataclass
class Report:
    scenarios: list[str]
    servers: list[str]
    params: dict[str, dict[str, Any]]
    repeat: int
    outcomes: dict[tuple[str, str], list[Outcome]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0
    # The disk where coreport's data lives in the runs, before and after them (probe_disk).
    disk_before: DiskSync | None = None
    disk_after: DiskSync | None = None


def run_benchmark(
    scenarios: Sequence[str],
    *,
    params: dict[str, dict[str, Any]],
    repeat: int,
    servers: Sequence[str] = DEFAULT_SERVERS,
    progress: Callable[[str], None] | None = None,
    quiet_wait: float = 0.0,
    disk_writes: int = 200,
) -> Report:
    """Run every scenario ``repeat`` times against every server that takes part in it
    (``ONLY``), one at a time; time the disk before and after (``disk_writes`` synced
    writes, 0: not at all)."""
    report = Report(list(scenarios), list(servers), params, repeat)
    data_dir = Path(tempfile.gettempdir())  # where run_once's servers keep their data
    if disk_writes:
        report.disk_before = probe_disk(data_dir, disk_writes)
    report.load_before = os.getloadavg()
    started = time.perf_counter()
    run_id = f"{int(time.time()):x}"
    for rep in range(repeat):
        for scenario in scenarios:
            # Rotate the order, so no server always runs on a machine another one warmed.
            taking_part = [s for s in servers if s in ONLY.get(scenario, servers)]
            shift = rep % len(taking_part) if taking_part else 0
            order = taking_part[shift:] + taking_part[:shift]
            for server in order:
                timeout = TIMEOUTS.get(scenario, 300.0)
                prefix = f"b{run_id}-{rep}-{server[:4]}"
                busy = wait_for_quiet(quiet_wait, QUIET_CPUS) if quiet_wait > 0 else 0.0
                outcome, commands = run_once(server, scenario, params[scenario], prefix, timeout)
                outcome.busy_before = busy
                report.outcomes.setdefault((scenario, server), []).append(outcome)
                if commands:
                    report.commands.setdefault(server, commands[:1])
                    report.commands.setdefault(f"{scenario} load", [commands[1]])
                if progress is not None:
                    shown = outcome.figures if outcome.ok else f"FAILED: {outcome.error}"
                    progress(f"[{rep + 1}/{repeat}] {scenario} {server}: {shown}")
    report.load_after = os.getloadavg()
    report.seconds = time.perf_counter() - started
    if disk_writes:
        report.disk_after = probe_disk(data_dir, disk_writes)
    return report


# -- the table ---------------------------------------------------------------------------


def _median(outcomes: list[Outcome], key: str) -> float | None:
    values = [o.figures.get(key) for o in outcomes]
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return statistics.median(numbers) if numbers and len(numbers) == len(values) else None


def cell(report: Report, scenario: str, server: str, figure: Figure) -> tuple[str, float | None]:
    outcomes = report.outcomes.get((scenario, server), [])
    if not outcomes:
        return ("n/a" if server not in ONLY.get(scenario, (server,)) else "not run"), None
    failed = [o for o in outcomes if not o.ok]
    if failed:
        return f"FAILED {len(failed)}/{len(outcomes)}: {failed[0].error[:60]}", None
    value = _median(outcomes, figure.key)
    if value is None:
        return "no figure", None
    text = f"{value:,.{figure.digits}f}"
    if scenario == "S2" and any(o.figures.get("generator_limited") for o in outcomes):
        text = f">= {text} (*)"
    elif scenario == "S2" and any(o.figures.get("all_held") for o in outcomes):
        text = f">= {text} (all steps held)"
    return text, value


def format_table(report: Report) -> str:
    others = [s for s in report.servers if s != REFERENCE]
    header = ["scenario", "figure", *report.servers]
    if REFERENCE in report.servers:
        header += [f"{s}/{REFERENCE}" for s in others]
    # Scaled mode is judged against embedded coreport (issue: within 1.5x).
    scaled = SCALED in report.servers and "coreport" in report.servers
    if scaled:
        header.append(f"{SCALED}/coreport")
    rows: list[list[str]] = []
    for scenario in report.scenarios:
        for figure in FIGURES[scenario]:
            row = [scenario, figure.label]
            values: dict[str, float | None] = {}
            for server in report.servers:
                text, values[server] = cell(report, scenario, server, figure)
                row.append(text)
            if REFERENCE in report.servers:
                ref = values[REFERENCE]
                for server in others:
                    mine = values[server]
                    if mine is None or ref is None or ref == 0:
                        row.append("-")
                    else:
                        row.append(f"{mine / ref:.2f}x")
            if scaled:
                mine, base = values[SCALED], values["coreport"]
                row.append("-" if mine is None or not base else f"{mine / base:.2f}x")
            rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    return "\n".join(lines)


# Scenarios whose figures time updates through coreport's durable commit before relay:
# the notes say, per run, what coreport's commits took in them.
COMMIT_NOTES = ("S1", "S2", "S3", "S6")


def commit_note(scenario: str, server: str, outcomes: list[Outcome]) -> str | None:
    """One line on coreport's commits in each run of ``scenario`` (slashes between runs)."""
    runs = [o.commits for o in outcomes if o.commits and o.commits.get("commits")]
    if not runs:
        return None

    def each(key: str, shown: Callable[[float], str]) -> str:
        values = [run.get(key) for run in runs]
        return "/".join("-" if v is None else shown(v) for v in values)

    return (
        f"{scenario} {server}: durable commits in each run (warm-up included): "
        f"{each('commits', lambda v: f'{v:,.0f}')} of "
        f"{each('updates_per_commit', lambda v: f'{v:.1f}')} updates on average, "
        f"mean {each('mean_ms', lambda v: f'{v:.2f}')} ms, "
        f"half within {each('p50_within_ms', lambda v: f'{v:g}')} ms, "
        f"99 % within {each('p99_within_ms', lambda v: f'{v:g}')} ms"
    )


def disk_line(before: DiskSync | None, after: DiskSync | None) -> str | None:
    probes = [(when, d) for when, d in (("before", before), ("after", after)) if d is not None]
    if not probes:
        return None
    first = probes[0][1]
    timed = "; ".join(
        f"p50 {d.p50_us:,.0f} us, p99 {d.p99_us:,.0f} us, max {d.max_us:,.0f} us {when} the runs"
        for when, d in probes
    )
    return (
        f"disk where the servers keep their data ({first.directory}): 4 KiB append + "
        f"fdatasync, {first.writes} of them {first.gap_ms:g} ms apart: {timed}"
    )


def notes(report: Report) -> list[str]:
    out: list[str] = []
    for (scenario, server), outcomes in report.outcomes.items():
        if scenario in COMMIT_NOTES:
            line = commit_note(scenario, server, outcomes)
            if line is not None:
                out.append(line)
    for (scenario, server), outcomes in report.outcomes.items():
        for i, o in enumerate(outcomes):
            run = f"{scenario} {server} run {i + 1}"
            if o.busy_before > QUIET_CPUS:
                out.append(f"{run}: started while other work used {o.busy_before:.1f} CPUs")
            if o.printed:
                out.append(
                    f"{run}: the server printed {o.printed} lines (not INFO) while it ran "
                    f"(last: {o.printed_last[:160]})"
                )
            if not o.ok:
                out.append(f"{run} failed: {o.error}")
                continue
            if scenario == "S7":
                shown = " ".join(
                    f"{x['docs']}:{x['rss_kib'] / 1024:.1f}" for x in o.details.get("samples", [])
                )
                out.append(f"{run}: RSS (MiB) after N docs {shown}; end {o.figures['rss_end_mib']}")
            if scenario == "S2":
                out.append(f"{run} stopped at {o.figures.get('stopped_by')}")
                if o.figures.get("generator_limited"):
                    out.append("  (*) the load generator was short of CPU or time: a lower bound")
            limits = o.details.get("generator_limits")
            if limits:
                out.append(f"{run}: the load generator was limited ({', '.join(limits)})")
            steps = o.details.get("steps") or [o.details]
            duplicates = sum(int(step.get("duplicates") or 0) for step in steps)
            if duplicates:
                out.append(f"{run}: {duplicates} updates were delivered twice to the same client")
            other = o.details.get("other_cpu_pct")
            if isinstance(other, int | float) and other > 20:
                out.append(f"{run}: other processes used {other:.0f}% of a core meanwhile")
    return out


def machine() -> list[str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    versions = []
    for package in ("@y/websocket-server", "@hocuspocus/server", "yjs", "ws"):
        manifest = BENCH_DIR / "node_modules" / package / "package.json"
        if manifest.exists():
            versions.append(f"{package} {json.loads(manifest.read_text())['version']}")
    python = [
        f"{name} {version(name)}"
        for name in ("coreport", "pycrdt", "pycrdt-websocket", "uvicorn", "websockets")
        if _installed(name)
    ]
    return [
        f"machine: {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, {', '.join(python)}; "
        f"node {node.stdout.strip()}, " + ", ".join(versions),
    ]


def _installed(distribution: str) -> bool:
    try:
        version(distribution)
    except PackageNotFoundError:
        return False
    return True


def render(report: Report) -> str:
    lines = [format_table(report), ""]
    lines += machine()
    before = " ".join(f"{x:.2f}" for x in report.load_before)
    after = " ".join(f"{x:.2f}" for x in report.load_after)
    lines.append(f"load average before {before}, after {after}; took {report.seconds:.0f} s")
    disk = disk_line(report.disk_before, report.disk_after)
    if disk is not None:
        lines.append(disk)
    lines.append(f"figures are medians of {report.repeat} run(s); each run starts a fresh server")
    lines.append("")
    lines += [describe(s, report.params[s]) for s in report.scenarios]
    lines.append("")
    lines.append("commands:")
    for name, commands in report.commands.items():
        lines += [f"  {name}: {c}" for c in commands]
    extra = notes(report)
    if extra:
        lines += ["", "notes:", *(f"  {n}" for n in extra)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    parser.add_argument(
        "--repeat", type=int, help="repetitions (median); default 3, or 1 with --quick"
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(DEFAULT_SCENARIOS),
        help="comma-separated, from S1 ... S10 (default %(default)s)",
    )
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS), help="default %(default)s")
    parser.add_argument("--json", type=Path, help="also write every raw result to this file")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        help=f"before each run, wait up to this many seconds for other work on the machine to "
        f"drop below {QUIET_CPUS} CPUs (default 120, or 0 with --quick)",
    )
    args = parser.parse_args(argv)

    scenarios = [s.strip().upper() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in FIGURES]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown += [s for s in servers if s not in SERVERS]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    repeat = args.repeat or (1 if args.quick else 3)
    params = QUICK if args.quick else FULL
    report = run_benchmark(
        scenarios,
        params=params,
        repeat=repeat,
        servers=servers,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
        quiet_wait=args.quiet_wait if args.quiet_wait is not None else (0 if args.quick else 120),
        disk_writes=50 if args.quick else 200,
    )
    print(render(report))
    if args.json:
        raw = {
            f"{scenario} {server}": [o.__dict__ for o in outcomes]
            for (scenario, server), outcomes in report.outcomes.items()
        }
        disk = {"before": report.disk_before, "after": report.disk_after}
        shown = {when: d and d.__dict__ for when, d in disk.items()}
        args.json.write_text(
            json.dumps({"params": params, "disk": shown, "results": raw}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
