"""Mixed load on a two-instance cluster (PostgreSQL + Redis) for a fixed time, with each
instance's memory, open file descriptors, rooms, sockets and CPU, and the end-to-end
latency of edits, printed every interval, and a verdict at the end.

Running at once, all from this one process:

* latency: in each of a few reports a writer on one instance sets a counter every
  ``ping_seconds``; observers on the *other* instance note how long after the write each
  new value reaches them (send to seen, through both servers, PostgreSQL and Redis);
* churn: clients join a report on a random instance, edit its title, leave, and half the
  time edit offline and reconnect to the other instance;
* REST: the Report API creates reports, appends blocks, starts comment threads anchored
  on the appended text and replies to them, on alternating instances;
* convergence seeds (``scenario.run_seed``), back to back;
* a loop-lag probe: how late this process's own event loop wakes up, so client-side delays
  can be told apart from the servers'.

At the end every client leaves, and the run checks that fresh clients on both instances
hold every churn edit, both instances render every REST block and thread, every observer
saw the last value, and no socket, room or bus subscription is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Doc, Map, MapEvent, Text

from tests.reliability.load_figures import (
    HEADER,
    Bounds,
    CpuMeter,
    InstanceFigures,
    Samples,
    Window,
    line,
    summary,
    verdict,
)
from tests.reliability.scenario import SERVER_ENV, Client, run_seeds
from tests.support.cluster import LEAK_GAUGES, cluster, metrics, process_figures, until_metrics
from tests.support.server import ServerProcess
from tests.support.yclient import synced_doc, wait_until

#: glibc raises its mmap threshold each time a large mmapped block is freed, so later large
#: buffers come from the heap and the freed ones stay in RSS: under this load RSS rose
#: 2-3 MiB a minute with the defaults although memory in use was flat (docs/reliability.md).
#: A fixed threshold keeps RSS close to memory in use, so a leak stands out.
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


@dataclass(frozen=True)
class Load:
    """How much of each kind of work runs at once."""

    latency_reports: int = 3
    observers: int = 2
    ping_seconds: float = 0.1
    churners: int = 6
    churn_reports: int = 12
    rest_seconds: float = 0.5
    seed_workers: int = 1


class MixedLoad:
    def __init__(self, servers: Sequence[ServerProcess], load: Load) -> None:
        self.servers = list(servers)
        self.load = load
        self.ws = [server.ws_base for server in servers]
        self.stop = asyncio.Event()
        self.errors: list[str] = []
        self.seed_failures: dict[int, str] = {}
        self._samples = Samples()
        self._prefix = f"mixed-{secrets.token_hex(3)}-"
        self._churn_tokens: dict[str, set[str]] = {}
        self._rest_texts: dict[str, list[str]] = {}
        self._rest_threads: dict[str, int] = {}
        self._next_seed = 200_000
        self._cpu = CpuMeter()

    # -- running ---------------------------------------------------------------------

    async def run(
        self, seconds: float, interval: float, show: Callable[[str], None] = print
    ) -> list[Window]:
        """Run the load for ``seconds``, printing a line every ``interval``; then stop it,
        check the end state (problems go to ``errors``) and return the windows."""
        await self.figures()  # the CPU baselines
        self.own_cpu_percent()
        windows: list[Window] = []
        loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as group:
            for k in range(self.load.latency_reports):
                group.create_task(self._latency(k))
            for i in range(self.load.churners):
                group.create_task(self._churn(i))
            group.create_task(self._rest())
            for _ in range(self.load.seed_workers):
                group.create_task(self._seeds())
            group.create_task(self._lag())
            started = loop.time()
            show(HEADER)
            for number in range(1, max(1, round(seconds / interval)) + 1):
                await asyncio.sleep(max(0.0, started + number * interval - loop.time()))
                samples, self._samples = self._samples, Samples()
                window = Window(
                    number * interval, await self.figures(), samples, self.own_cpu_percent()
                )
                windows.append(window)
                show(line(window))
            self.stop.set()
        await self._check_end()
        return windows

    async def figures(self) -> list[InstanceFigures]:
        found = []
        for i, server in enumerate(self.servers):
            process = await asyncio.to_thread(process_figures, server)
            gauges = await asyncio.to_thread(metrics, server)
            found.append(
                InstanceFigures(
                    process,
                    int(gauges.get("coreport_open_sockets", -1)),
                    int(gauges.get("coreport_loaded_rooms", -1)),
                    self._cpu.percent(i, process.cpu_seconds),
                )
            )
        return found

    def own_cpu_percent(self) -> float:
        """This process's CPU use since the last call: the load generator's own share."""
        times = os.times()
        return self._cpu.percent("driver", times.user + times.system)

    def _error(self, where: str, exc: BaseException) -> None:
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]  # the providers' task groups wrap what ended them
        self.errors.append(f"{where}: {type(exc).__name__}: {exc}")

    # -- workloads -------------------------------------------------------------------

    async def _latency(self, k: int) -> None:
        """One report: observers on one instance, then a writer on the other."""
        room = f"{self._prefix}lat{k}"
        writer_at, observer_at = k % 2, (k + 1) % 2
        sent: dict[int, float] = {}
        seen: list[int] = []
        progress = asyncio.Event()
        try:
            async with contextlib.AsyncExitStack() as stack:
                observed = []  # pycrdt drops an observer once its Map object is garbage
                for j in range(self.load.observers):
                    doc: Doc[Any] = Doc()
                    await stack.enter_async_context(synced_doc(self.ws[observer_at], room, doc))
                    seen.append(0)
                    observed.append(doc.get("pings", type=Map))
                    observed[j].observe(self._observer(j, seen, sent, progress))
                writer: Doc[Any] = Doc()
                await stack.enter_async_context(synced_doc(self.ws[writer_at], room, writer))
                pings = writer.get("pings", type=Map)
                n = 0
                while not self.stop.is_set():
                    n += 1
                    sent[n] = time.monotonic()
                    pings["n"] = n
                    sent.pop(n - 1000, None)
                    await asyncio.sleep(self.load.ping_seconds)
                async with asyncio.timeout(20):
                    while min(seen) < n:
                        await progress.wait()
                        progress.clear()
        except Exception as exc:
            self._error(f"latency report {k} (seen {seen})", exc)

    def _observer(
        self, j: int, seen: list[int], sent: dict[int, float], progress: asyncio.Event
    ) -> Callable[[MapEvent], None]:
        """Observer ``j`` of a latency report: notes each new value it sees and when."""

        def observe(event: MapEvent) -> None:
            value = event.target.get("n")
            if value is None or int(value) <= seen[j]:
                return
            seen[j] = int(value)
            progress.set()
            at = sent.get(seen[j])
            if at is not None:
                self._samples.latency.append(time.monotonic() - at)

        return observe

    async def _churn(self, i: int) -> None:
        rng = random.Random(i)
        reports = [f"{self._prefix}churn{r}" for r in range(self.load.churn_reports)]
        edits = 0
        while not self.stop.is_set():
            report = rng.choice(reports)
            tokens = self._churn_tokens.setdefault(report, set())
            client = Client(i, report)
            at = rng.randrange(len(self.ws))
            try:
                for hop in range(2 if rng.random() < 0.5 else 1):
                    edits += 1
                    token = f"<{i}.{edits}>"
                    title = client.report.get("title", type=Text)
                    title.insert(len(str(title)), token)  # offline on the second hop
                    tokens.add(token)
                    began = time.monotonic()
                    instance = (at + hop) % len(self.ws)
                    await client.connect(self.ws[instance], instance)
                    self._samples.joins.append(time.monotonic() - began)
                    await asyncio.sleep(rng.uniform(0.2, 1.5))  # stays a while, then leaves
                    await client.disconnect()
            except Exception as exc:
                self._error(f"churner {i} on {report}", exc)
                with contextlib.suppress(Exception):
                    await client.disconnect()

    async def _rest(self) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            n = 0
            report = ""
            while not self.stop.is_set():
                server = self.servers[n % len(self.servers)]
                try:
                    if n % 40 == 0:
                        report = await self._call(
                            http, "POST", server, "api/reports", {"title": f"mixed {n}"}, 201
                        )
                        self._rest_texts[report] = []
                        self._rest_threads[report] = 0
                    text = f"appended {n}"
                    await self._call(
                        http,
                        "POST",
                        server,
                        f"api/reports/{report}/blocks",
                        {"blocks": [{"type": "paragraph", "text": text}]},
                        200,
                    )
                    self._rest_texts[report].append(text)
                    if n % 3 == 0:
                        anchor = {"kind": "text", "quote": text}
                        thread = await self._call(
                            http,
                            "POST",
                            server,
                            f"api/reports/{report}/comments",
                            {"text": f"about {text}", "anchor": anchor},
                            201,
                        )
                        self._rest_threads[report] += 1
                        await self._call(
                            http,
                            "POST",
                            server,
                            f"api/reports/{report}/comments/{thread}/replies",
                            {"text": "agreed"},
                            201,
                        )
                except Exception as exc:
                    self._error(f"REST call {n} on {server.url}", exc)
                n += 1
                await asyncio.sleep(self.load.rest_seconds)

    async def _call(
        self,
        http: httpx.AsyncClient,
        method: str,
        server: ServerProcess,
        path: str,
        body: dict[str, Any],
        status: int,
    ) -> str:
        """One timed REST call; the ``id`` of what it created, if anything."""
        began = time.monotonic()
        response = await http.request(method, server.url + path, json=body)
        self._samples.rest.append(time.monotonic() - began)
        if response.status_code != status:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return str(response.json().get("id", ""))

    async def _seeds(self) -> None:
        while not self.stop.is_set():
            seed, self._next_seed = self._next_seed, self._next_seed + 1
            done = await run_seeds([seed], self.ws, self._prefix, "two_instances_converge", 1)
            self._samples.seeds += 1
            self._samples.seed_failures += len(done.failures)
            self.seed_failures.update(done.failures)

    async def _lag(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            await asyncio.sleep(0.05)
            self._samples.lag.append(time.monotonic() - began - 0.05)

    # -- the end state ---------------------------------------------------------------

    async def _check_end(self) -> None:
        for report, tokens in self._churn_tokens.items():
            for at in range(len(self.ws)):
                await self._churn_converged(report, tokens, at)
        async with httpx.AsyncClient(timeout=30) as http:
            for report, texts in self._rest_texts.items():
                for server in self.servers:
                    try:
                        await self._rest_converged(http, server, report, texts)
                    except Exception as exc:
                        self._error(f"REST report {report} on {server.url}", exc)
        for server in self.servers:
            try:
                await until_metrics(server, dict.fromkeys(LEAK_GAUGES, 0.0), 60)
            except AssertionError as exc:
                self._error("leak gauges", exc)

    async def _churn_converged(self, report: str, tokens: set[str], at: int) -> None:
        """A fresh client of instance ``at`` holds every title edit made in ``report``."""
        fresh = Client(99, report)
        title = fresh.report.get("title", type=Text)
        try:
            await fresh.connect(self.ws[at], at)
            await wait_until(fresh.report, lambda: all(t in str(title) for t in tokens), 20)
        except Exception as exc:
            missing = sorted(t for t in tokens if t not in str(title))
            self._error(f"churn report {report} on instance {at} lacks {missing}", exc)
        finally:
            await fresh.disconnect()

    async def _rest_converged(
        self, http: httpx.AsyncClient, server: ServerProcess, report: str, texts: list[str]
    ) -> None:
        """Every appended block and thread, read on ``server`` (bounded polling of another
        process: it may still be catching up from the other instance)."""
        deadline = time.monotonic() + 20
        while True:
            markdown = (await http.get(f"{server.url}api/reports/{report}/markdown")).text
            listed = await http.get(f"{server.url}api/reports/{report}/comments")
            threads = len(listed.json()["threads"])
            if all(t in markdown for t in texts) and threads == self._rest_threads[report]:
                return
            if time.monotonic() > deadline:
                missing = [t for t in texts if t not in markdown]
                raise AssertionError(f"lacks {missing}, {threads} threads")
            await asyncio.sleep(0.2)


async def soak_two_instances(
    root: Path,
    seconds: float,
    interval: float,
    bounds: Bounds,
    load: Load | None = None,
    show: Callable[[str], None] = print,
) -> list[str]:
    """Start a two-instance cluster under ``root``, run the mixed load on it, print the
    figures and the summary; return every problem found (empty: the run passed)."""
    async with cluster(root, 2, env={**SERVER_ENV, **ALLOCATOR_ENV}) as c:
        show(f"servers run with {ALLOCATOR_ENV}")
        for i, server in enumerate(c.servers):
            start = process_figures(server)
            show(
                f"instance {i}: pid {server.pid}, RSS {start.rss_kib / 1024:.1f} MiB, "
                f"{start.fds} fds before the load"
            )
        runner = MixedLoad(c.servers, load or Load())
        windows = await runner.run(seconds, interval, show)
        settled = await runner.figures()
    for text in summary(windows):
        show(text)
    for i, figures in enumerate(settled):
        show(
            f"instance {i} after every client left and every room unloaded: RSS "
            f"{figures.process.rss_kib / 1024:.1f} MiB, {figures.process.fds} fds"
        )
    problems = verdict(windows, bounds) + runner.errors
    problems += [
        f"seed {seed}: {failure}" for seed, failure in sorted(runner.seed_failures.items())
    ]
    show("PASSED" if not problems else f"FAILED ({len(problems)} problems):")
    for problem in problems:
        show(f"  {problem}")
    return problems
