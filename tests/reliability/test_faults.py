"""Faults injected into real server processes, each asserting: nothing relayed is lost, the
clients converge within a stated bound, coreport recovers without a restart (but for the
kill -9 trials, which restart the killed instance) and its gauges return to their baseline
(no leaked sockets, rooms or bus subscriptions). The figures are printed (``pytest -s``)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import subprocess
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pycrdt import Doc, Text, TextEvent
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from coreport.protocol import codes, messages
from tests.support.cluster import LEAK_GAUGES, cluster, until_metrics, until_ready
from tests.support.postgres import scratch_database
from tests.support.proxy import TcpProxy, url_via
from tests.support.server import ServerProcess
from tests.support.services import REDIS_URL
from tests.support.yclient import close_code, synced_doc, wait_until

# What a client whose server died may raise out of its provider.
LOST_SERVER = (ConnectionClosed, OSError, TimeoutError, ExceptionGroup)

#: Rooms unload 1 s after their last client, so the gauges return to zero quickly.
ENV = {
    "COREPORT_ROOM_IDLE_SECONDS": "1",
    "COREPORT_CONNECTS_PER_MINUTE": "100000",
    "COREPORT_COMPACT_EVERY_UPDATES": "50",
    "COREPORT_COMPACT_LOG_RATIO": "0",
}
BASELINE = dict.fromkeys(LEAK_GAUGES, 0.0)


def text(doc: Doc[Any]) -> str:
    return str(doc.get("t", type=Text))


def append(doc: Doc[Any], token: str) -> None:
    t = doc.get("t", type=Text)
    t.insert(len(t), token)


def contains(doc: Doc[Any], token: str) -> bool:
    return token in text(doc)


def has_all(doc: Doc[Any], tokens: list[str]) -> bool:
    content = text(doc)
    return all(token in content for token in tokens)


async def back_to_baseline(*servers: ServerProcess) -> None:
    for server in servers:
        await until_metrics(server, BASELINE, 20)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(240)
async def test_repeated_kill_9_under_load_loses_nothing(tmp_path: Path) -> None:
    trials, recoveries = 5, []
    async with cluster(tmp_path, 3, env=ENV) as c:
        for trial in range(trials):
            victim, survivor = trial % 3, (trial + 1) % 3
            room = f"kill{trial}"
            writer: Doc[Any] = Doc()
            observer: Doc[Any] = Doc()
            written: list[str] = []
            seen = ""
            killed_at = 0.0
            with contextlib.suppress(*LOST_SERVER):
                async with (
                    synced_doc(c.ws(survivor), room, observer),
                    synced_doc(c.ws(victim), room, writer),
                ):
                    for i in range(200):
                        written.append(f"<{i}>")
                        append(writer, written[-1])
                        if i == 120:
                            await wait_until(observer, partial(contains, observer, "<100>"))
                            seen = text(observer)
                            killed_at = time.monotonic()
                            c.servers[victim].kill()
                        await asyncio.sleep(0)  # let the provider send between edits
            assert "<100>" in seen
            # The writer reconnects to a surviving instance and resends what it has.
            async with (
                synced_doc(c.ws(survivor), room, writer),
                synced_doc(c.ws(survivor), room) as fresh,
            ):
                await wait_until(fresh, partial(has_all, fresh, written), 15)
                recoveries.append(time.monotonic() - killed_at)
                assert text(fresh).startswith(seen)  # everything relayed before the kill
                assert text(fresh) == text(writer)
            await asyncio.to_thread(c.servers[victim].start)  # same port: back for later trials
        await back_to_baseline(*c.servers)
    print(
        f"kill -9: {trials} trials, losses 0, recovery (kill to full state on a survivor) "
        f"max {max(recoveries):.2f} s, mean {statistics.mean(recoveries):.2f} s"
    )
    assert max(recoveries) < 15


@pytest.mark.postgres
@pytest.mark.redis
async def test_redis_blackholed_converges_through_the_store(tmp_path: Path) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    env = {**ENV, "COREPORT_CATCH_UP_SECONDS": "2"}
    try:
        async with cluster(tmp_path, 2, redis_url=url_via(REDIS_URL, proxy.port), env=env) as c:
            async with synced_doc(c.ws(0), "hole") as a, synced_doc(c.ws(1), "hole") as b:
                append(a, "before;")
                await wait_until(b, lambda: "before;" in text(b))
                proxy.blackhole()  # a dead path: nothing arrives, nothing is closed
                started = time.monotonic()
                tokens = []
                for i in range(20):
                    tokens += [f"a{i};", f"b{i};"]
                    append(a, tokens[-2])
                    append(b, tokens[-1])
                await wait_until(b, lambda: has_all(b, tokens), 10)
                await wait_until(a, lambda: has_all(a, tokens), 10)
                during = time.monotonic() - started
                assert text(a) == text(b)
                await proxy.cut()  # the path comes back: new connections get through
                healed = time.monotonic()
                await until_ready(c.servers[0], "ready", 30)
                await until_ready(c.servers[1], "ready", 30)
                append(a, "after;")
                await wait_until(b, lambda: "after;" in text(b), 10)
                print(
                    f"Redis blackholed: 40 edits converged through the store in {during:.2f} s "
                    f"(bound 10 s), losses 0; fan-out back {time.monotonic() - healed:.2f} s "
                    "after the path returned"
                )
            await back_to_baseline(*c.servers)
    finally:
        await proxy.stop()


@pytest.mark.postgres
@pytest.mark.redis
async def test_postgres_slow_edits_wait_and_none_is_lost(tmp_path: Path) -> None:
    hold = 2.0
    async with scratch_database() as dsn, cluster(tmp_path, 2, database_url=dsn, env=ENV) as c:
        async with synced_doc(c.ws(0), "slow") as writer, synced_doc(c.ws(1), "slow") as reader:
            append(writer, "first;")
            await wait_until(reader, lambda: "first;" in text(reader))
            arrived: dict[str, float] = {}
            sent: dict[str, float] = {}

            def note(event: TextEvent) -> None:
                now = time.monotonic()
                for change in event.delta:  # type: ignore[attr-defined]  # a __slots__ attribute
                    inserted = change.get("insert")
                    if isinstance(inserted, str):
                        for token in re.findall(r"<\d+>", inserted):
                            arrived.setdefault(token, now)

            reader_text = reader.get("t", type=Text)
            subscription = reader_text.observe(note)
            tokens = [f"<{i}>" for i in range(100)]
            locker = await asyncpg.connect(dsn)
            try:
                async with locker.transaction():
                    await locker.execute(
                        "SELECT 1 FROM documents WHERE name = $1 FOR UPDATE", "reports/slow"
                    )
                    locked_at = time.monotonic()
                    for i, token in enumerate(tokens[:50]):
                        sent[token] = time.monotonic()
                        append(writer, token)
                        if i % 5 == 0:
                            await asyncio.sleep(0.05)  # a paced writer, not a wait for an event
                    assert not any(t in text(reader) for t in tokens[:50])  # nothing unstored
                    remaining = hold - (time.monotonic() - locked_at)
                    await asyncio.sleep(max(remaining, 0))  # the lock is held this long
                for token in tokens[50:]:
                    sent[token] = time.monotonic()
                    append(writer, token)
                    await asyncio.sleep(0.01)  # a paced writer
                await wait_until(reader, lambda: has_all(reader, tokens), 15)
            finally:
                reader_text.unobserve(subscription)
                await locker.close()
            async with synced_doc(c.ws(0), "slow") as fresh:
                assert text(fresh) == text(writer) == text(reader)
        latencies = sorted(arrived[t] - sent[t] for t in tokens)
        p99 = latencies[int(0.99 * (len(latencies) - 1))]
        p50 = statistics.median(latencies)
        print(
            f"Postgres row locked {hold:.1f} s: 100 edits, losses 0, latency p50 {p50:.3f} s, "
            f"p99 {p99:.3f} s, max {latencies[-1]:.3f} s"
        )
        assert p99 < hold + 5
        await back_to_baseline(*c.servers)


@contextlib.contextmanager
def tiny_filesystem(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    try:
        mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)]
        subprocess.run(mount, check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.fail(f"cannot mount a tmpfs here ({exc}); see docs/reliability.md")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


async def watch(
    ws_base: str, room: str, doc: Doc[Any], synced: asyncio.Event, leave: asyncio.Event
) -> None:
    """Keep ``doc`` synced with ``room`` until ``leave`` is set or the server closes it."""
    with contextlib.suppress(*LOST_SERVER):
        async with synced_doc(ws_base, room, doc):
            synced.set()
            await leave.wait()


def alive(server: ServerProcess) -> bool:
    return Path(f"/proc/{server.pid}").exists()


def rss_bytes(server: ServerProcess) -> int:
    for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


async def test_full_disk_on_the_embedded_default_refuses_then_recovers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with tiny_filesystem(data, "3m"), ServerProcess(data, env=ENV) as server:
        doc: Doc[Any] = Doc()
        observer: Doc[Any] = Doc()
        written: list[str] = []
        seen = ""
        synced, leave = asyncio.Event(), asyncio.Event()
        watching = asyncio.create_task(watch(server.ws_base, "full", observer, synced, leave))
        await asyncio.wait_for(synced.wait(), 15)
        async with connect(server.ws_base + "/full", max_size=None) as ws:
            closed = asyncio.create_task(close_code(ws))
            for i in range(400):  # 400 x 32 KiB: far beyond the 3 MiB filesystem
                if closed.done():
                    break
                before = doc.get_state()
                written.append(f"<{i}:" + f"{i:08d}" * 4096 + ">")
                append(doc, written[-1])
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(messages.sync_update(doc.get_update(before)))
                seen = text(observer)
                await asyncio.sleep(0.005)  # a paced writer, not a wait for an event
            code, reason = await asyncio.wait_for(closed, 30)
        # A store failure closes every socket of the room (1011): the observer's too.
        leave.set()
        await watching
        assert code in (codes.INTERNAL_ERROR.code, codes.TRY_AGAIN_LATER.code), reason
        assert len(written) < 400
        assert alive(server)
        # Room to write again, without restarting coreport.
        remount = ["mount", "-o", "remount,size=64m", str(data)]
        await asyncio.to_thread(subprocess.run, remount, check=True, capture_output=True)
        started = time.monotonic()
        async with (
            synced_doc(server.ws_base, "full", observer),
            synced_doc(server.ws_base, "full", doc),
        ):
            await wait_until(observer, lambda: has_all(observer, written), 30)
            recovered = time.monotonic() - started
        async with synced_doc(server.ws_base, "full") as fresh:
            assert text(fresh) == text(doc)
            assert text(fresh).startswith(seen)  # everything relayed before the failure
        await back_to_baseline(server)
        print(
            f"disk full: refused with close {code} after {len(written)} x 32 KiB on a 3 MiB "
            f"tmpfs; losses 0; all resent edits stored {recovered:.2f} s after space returned"
        )


async def test_a_client_that_stops_reading_is_dropped_and_memory_stays_bounded(
    tmp_path: Path,
) -> None:
    env = {**ENV, "COREPORT_SEND_BUFFER_BYTES": str(1 << 20)}
    with ServerProcess(tmp_path / "data", env=env) as server:
        async with (
            synced_doc(server.ws_base, "deaf") as writer,
            synced_doc(server.ws_base, "deaf") as reader,
        ):
            rss_before = peak = rss_bytes(server)
            async with connect(server.ws_base + "/deaf", max_size=None, max_queue=1) as deaf:
                # It asks for the document (updates flow only after that), then never reads.
                await deaf.send(messages.sync_step1(Doc().get_state()))
                written = 0
                for i in range(96):  # 96 x 128 KiB = 12 MiB relayed to a client that never reads
                    append(writer, f"<{i}:" + f"{i:08d}" * 16384 + ">")
                    written += 128 * 1024
                    # Each edit is relayed before the next: the server's queue for the deaf
                    # client grows unless it is bounded.
                    await wait_until(reader, partial(contains, reader, f"<{i}:"), 30)
                    if i % 8 == 0:
                        peak = max(peak, rss_bytes(server))
                code, _ = await close_code(deaf)
            assert code == codes.SLOW_CONSUMER.code
            assert text(reader) == text(writer)
        growth = peak - rss_before
        print(
            f"slow reader: closed {code} after {written >> 20} MiB relayed; server RSS grew "
            f"{growth / 2**20:.0f} MiB (bound 160 MiB)"
        )
        assert growth < 160 * 2**20
        await back_to_baseline(server)
