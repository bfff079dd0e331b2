"""Scaled mode: several real ``coreport serve`` processes on one PostgreSQL database and one
Redis, with faults injected through TCP proxies the test controls (the shared services
themselves are never stopped)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pycrdt import Doc, Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from coreport.protocol import codes, messages
from coreport.protocol.messages import AwarenessEntry
from tests.support.cluster import cluster, until_ready
from tests.support.postgres import scratch_database
from tests.support.proxy import TcpProxy, url_via
from tests.support.server import ServerProcess
from tests.support.services import REDIS_URL
from tests.support.yclient import close_code, next_awareness, synced_doc, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# What a client whose server died may raise out of its provider.
LOST_SERVER = (ConnectionClosed, OSError, TimeoutError, ExceptionGroup)


def text(doc: Doc) -> str:
    return str(doc.get("t", type=Text))


def append(doc: Doc, token: str) -> None:
    if "t" not in doc:
        doc["t"] = Text()
    doc.get("t", type=Text).insert(len(doc.get("t", type=Text)), token)


def presence(server: ServerProcess, report_id: str) -> list[dict[str, object]]:
    url = f"{server.url}api/reports/{report_id}/presence"
    with urllib.request.urlopen(url, timeout=10) as response:
        return list(json.loads(response.read())["present"])


async def until_present(
    server: ServerProcess, report_id: str, count: int
) -> list[dict[str, object]]:
    """Ask an instance who is in a report until it lists ``count`` clients (bounded)."""
    present: list[dict[str, object]] = []
    for _ in range(100):
        present = await asyncio.to_thread(presence, server, report_id)
        if len(present) == count and any(p["name"] == "Ada" for p in present):
            return present
        await asyncio.sleep(0.1)
    raise AssertionError(f"{server.url} lists {present}, not {count} clients")


async def test_clients_on_three_instances_converge_and_see_each_other(tmp_path: Path) -> None:
    async with cluster(tmp_path, 3) as c, contextlib.AsyncExitStack() as stack:
        docs = [await stack.enter_async_context(synced_doc(c.ws(i), "shared")) for i in range(6)]
        for round_ in range(10):
            for i, doc in enumerate(docs):
                append(doc, f"<{i}.{round_}>")
        expected = {f"<{i}.{r}>" for i in range(6) for r in range(10)}
        for doc in docs:
            await wait_until(doc, lambda d=doc: all(t in text(d) for t in expected), 30)
        assert len({text(d) for d in docs}) == 1

        # Awareness set through instance 0 reaches a client of instance 1 ...
        async with connect(c.ws(0) + "/shared") as ada, connect(c.ws(1) + "/shared") as bob:
            state = json.dumps({"user": {"name": "Ada", "color": "#f00"}})
            await ada.send(messages.awareness([AwarenessEntry(4242, 1, state)]))
            assert "Ada" in await next_awareness(bob, lambda s: "Ada" in s)
            # ... and a late joiner on instance 2 sees it at once.
            async with connect(c.ws(2) + "/shared") as late:
                assert "Ada" in await next_awareness(late, lambda s: "Ada" in s)
                # Every instance lists everyone: 6 editors, Ada, Bob and the late joiner.
                for server in c.servers:
                    present = await until_present(server, "shared", 9)
                    assert {p["instance"] for p in present} == {
                        "instance0",
                        "instance1",
                        "instance2",
                    }
                    assert [p["color"] for p in present if p["name"] == "Ada"] == ["#f00"]
            await ada.close()
            # Leaving removes it everywhere.
            assert await next_awareness(bob, lambda s: s == "null") == "null"


async def test_kill_9_of_an_instance_during_writes_loses_nothing(tmp_path: Path) -> None:
    async with cluster(tmp_path, 3) as c:
        writer, observer = Doc(), Doc()
        seen = ""
        with contextlib.suppress(*LOST_SERVER):
            async with synced_doc(c.ws(1), "kill", observer), synced_doc(c.ws(0), "kill", writer):
                for i in range(150):
                    append(writer, f"<{i}>")
                    if i == 100:
                        await wait_until(observer, lambda: "<80>" in text(observer))
                        seen = text(observer)
                        c.servers[0].kill()
                    await asyncio.sleep(0)  # let the provider send between edits
        assert "<80>" in seen
        # The writer's client reconnects to another instance and resends what it has.
        async with synced_doc(c.ws(2), "kill", writer):
            append(writer, "<after>")
            async with synced_doc(c.ws(1), "kill") as fresh:
                await wait_until(fresh, lambda: text(fresh) == text(writer), 30)
        # Everything the observer had seen, and everything the writer wrote, is there.
        assert text(writer).startswith(seen)
        assert "<100>" in text(writer)
        assert text(writer).endswith("<after>")


async def test_presence_forgets_the_clients_of_a_dead_instance(tmp_path: Path) -> None:
    env = {"COREPORT_PRESENCE_TTL_SECONDS": "2"}
    async with cluster(tmp_path, 2, env=env) as c, connect(c.ws(0) + "/who") as ada:
        state = json.dumps({"user": {"name": "Ada", "color": "#f00"}})
        await ada.send(messages.awareness([AwarenessEntry(7, 1, state)]))
        async with connect(c.ws(1) + "/who"):
            await until_present(c.servers[0], "who", 2)
            c.servers[1].kill()
            started = time.monotonic()
            await until_present(c.servers[0], "who", 1)
            print(f"dead instance's client forgotten after {time.monotonic() - started:.1f} s")


async def test_redis_outage_reconverges_within_5_s_of_its_return(tmp_path: Path) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    env = {"COREPORT_CATCH_UP_SECONDS": "600"}  # only the reconnect may heal it
    try:
        async with (
            cluster(tmp_path, 2, redis_url=url_via(REDIS_URL, proxy.port), env=env) as c,
            synced_doc(c.ws(0), "redis") as a,
            synced_doc(c.ws(1), "redis") as b,
        ):
            append(a, "before;")
            await wait_until(b, lambda: "before;" in text(b))
            await proxy.stop()
            await until_ready(c.servers[0], "degraded")
            for i in range(20):
                append(a, f"a{i};")
                append(b, f"b{i};")
            returned = time.monotonic()
            await proxy.start()
            await wait_until(b, lambda: "a19;" in text(b), 5)
            await wait_until(a, lambda: "b19;" in text(a), 5)
            print(f"reconverged {time.monotonic() - returned:.2f} s after Redis returned")
            assert text(a) == text(b)
            await until_ready(c.servers[0], "ready")
    finally:
        await proxy.stop()


async def test_postgres_outage_stops_relaying_then_recovers(tmp_path: Path) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    try:
        async with scratch_database() as dsn:
            proxied = url_via(dsn, proxy.port)
            async with (
                cluster(tmp_path, 2, database_url=proxied) as c,
                synced_doc(c.ws(1), "pg") as b,
            ):
                doc: Doc = Doc()
                append(doc, "kept;")
                async with connect(c.ws(0) + "/pg") as ws:
                    await ws.send(messages.sync_update(doc.get_update()))
                    await wait_until(b, lambda: "kept;" in text(b))
                    await proxy.stop()
                    before = doc.get_state()
                    append(doc, "during;")
                    await ws.send(messages.sync_update(doc.get_update(before)))
                    code, _ = await close_code(ws)
                    assert code == codes.INTERNAL_ERROR.code
                assert "during;" not in text(b)  # never relayed: it was never stored
                await until_ready(c.servers[0], "not ready")
                await proxy.start()
                recovery = await until_ready(c.servers[0], "ready")
                print(f"instance ready again {recovery:.2f} s after PostgreSQL returned")
                # The client reconnects and resends what the server lacks.
                async with synced_doc(c.ws(0), "pg", doc):
                    await wait_until(b, lambda: "during;" in text(b), 15)
                async with synced_doc(c.ws(1), "pg") as fresh:
                    assert "kept;" in text(fresh)
                    assert "during;" in text(fresh)
    finally:
        await proxy.stop()
