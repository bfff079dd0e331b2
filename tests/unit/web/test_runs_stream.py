"""The live stream of history rows: across instances, and without leaks when clients leave."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
import uvicorn

from coreport.buses.local import LocalBus
from coreport.buses.redis import RedisBus
from coreport.ports import Bus, BusError, BusListener, BusSubscription
from coreport.runs.stream import FeedEvent, RunFeed
from coreport.web.runs_stream import EventStream, frame
from tests.support.asgi import SseRequest
from tests.support.fakes import RecordingBus
from tests.support.redis import admin_client
from tests.support.runs import client_of, instance_settings, runs_app
from tests.support.services import REDIS_URL


class CountingBus:
    """A real bus that counts its open subscriptions to ``runs:*`` channels (other parts of
    the app subscribe to their own), so tests can see none are left."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner
        self.live = 0
        self._changed = asyncio.Condition()

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self.inner.ping()

    async def publish(self, channel: str, data: bytes) -> None:
        await self.inner.publish(channel, data)

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        await self.inner.publish_many(messages)

    async def subscribe(self, channel: str, listener: BusListener) -> BusSubscription:
        subscription = await self.inner.subscribe(channel, listener)
        if not channel.startswith("runs:"):
            return subscription
        await self._count(+1)
        return _Counted(self, subscription)

    async def wait_for_live(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.live == count)

    async def _count(self, delta: int) -> None:
        async with self._changed:
            self.live += delta
            self._changed.notify_all()


class _Counted:
    def __init__(self, bus: CountingBus, inner: BusSubscription) -> None:
        self._bus = bus
        self._inner: BusSubscription | None = inner

    async def close(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            await inner.close()
            await self._bus._count(-1)


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def two_buses(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[CountingBus, CountingBus]]:
    """The buses of two instances: one shared in-process bus, or two Redis connections."""
    if request.param == "local":
        shared = CountingBus(LocalBus())
        yield shared, shared
        return
    await (await admin_client(REDIS_URL)).aclose()  # skips (or fails under CI) without Redis
    prefix = f"coreport-test-{secrets.token_hex(4)}:"
    yield (
        CountingBus(RedisBus(REDIS_URL, key_prefix=prefix)),
        CountingBus(RedisBus(REDIS_URL, key_prefix=prefix)),
    )


async def test_a_row_logged_on_one_instance_reaches_a_subscriber_of_another_within_1s(
    tmp_path: Path, two_buses: tuple[CountingBus, CountingBus]
) -> None:
    bus_a, bus_b = two_buses
    settings = instance_settings(tmp_path)
    app_a, app_b = runs_app(settings, bus=bus_a), runs_app(settings, bus=bus_b)
    async with client_of(app_a) as instance_a, client_of(app_b):
        run_id = (await instance_a.post("/api/projects/p/runs", json={})).json()["id"]
        async with SseRequest(app_b, f"/api/runs/stream?runs={run_id}") as stream:
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert (await stream.next_event()).comment == "subscribed"
            assert bus_b.live == 1

            rows = [{"step": 7, "timestamp": 1.5, "metrics": {"loss": 0.25}}]
            async with asyncio.timeout(1.0):
                stored = await instance_a.post(f"/api/runs/{run_id}/history", json={"rows": rows})
                assert stored.status_code == 200
                event = await stream.next_data_event()
            assert event.event == "history"
            assert json.loads(event.data) == {"run_id": run_id, "rows": rows}
        # Leaving the block disconnected the client; SseRequest checked the handler ended.
        assert bus_b.live == 0


async def test_a_stream_of_several_runs_tells_them_apart(tmp_path: Path) -> None:
    bus = CountingBus(LocalBus())
    app = runs_app(instance_settings(tmp_path), bus=bus)
    async with client_of(app) as client:
        first = (await client.post("/api/projects/p/runs", json={})).json()["id"]
        second = (await client.post("/api/projects/p/runs", json={})).json()["id"]
        async with SseRequest(app, f"/api/runs/stream?runs={first},{second}") as stream:
            await stream.next_event()
            assert bus.live == 2
            for run_id in (second, first):
                rows = [{"step": 1, "metrics": {"x": 1.0}}]
                await client.post(f"/api/runs/{run_id}/history", json={"rows": rows})
            seen = [json.loads((await stream.next_data_event()).data)["run_id"] for _ in range(2)]
            assert seen == [second, first]
        assert bus.live == 0


async def test_bad_stream_requests(tmp_path: Path) -> None:
    app = runs_app(instance_settings(tmp_path))
    async with client_of(app) as client:
        missing = await client.get("/api/runs/stream")
        assert missing.status_code == 422
        assert missing.json()["detail"][0]["loc"] == ["query", "runs"]
        malformed = await client.get("/api/runs/stream?runs=ok,not%20an%20id")
        assert malformed.json()["detail"][0]["loc"] == ["query", "runs", 1]


async def test_closing_the_connection_over_real_http_ends_the_stream(tmp_path: Path) -> None:
    """Through uvicorn, as a browser would: dropping the TCP connection must be noticed even
    though the stream is idle (no heartbeat due yet)."""
    bus = CountingBus(LocalBus())
    app = runs_app(instance_settings(tmp_path), bus=bus)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, ws="none"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            run_id = (await http.post("/api/projects/p/runs", json={})).json()["id"]
            async with http.stream("GET", f"/api/runs/stream?runs={run_id}") as response:
                assert response.status_code == 200
                async for chunk in response.aiter_raw():
                    if b"subscribed" in chunk:
                        break
                assert bus.live == 1
        async with asyncio.timeout(5):
            await bus.wait_for_live(0)
    finally:
        server.should_exit = True
        await serving
        listener.close()


async def test_heartbeats_flow_while_nothing_happens() -> None:
    feed = RunFeed(RecordingBus(), ["r1"])
    async with SseRequest(EventStream(feed, heartbeat=0.01), "/") as stream:
        assert (await stream.next_event()).comment == "subscribed"
        assert (await stream.next_event()).comment == "keep-alive"


class UnreachableBus(RecordingBus):
    async def subscribe(self, channel: str, listener: BusListener) -> BusSubscription:
        raise BusError("bus is down")


async def test_an_unreachable_bus_is_a_503_before_the_stream_starts() -> None:
    feed = RunFeed(UnreachableBus(), ["r1"])
    async with SseRequest(EventStream(feed), "/") as stream:
        assert stream.status == 503
        assert json.loads(await stream.read_body()) == {
            "error": "live updates are unavailable, retry"
        }


def test_multi_line_data_becomes_several_data_fields() -> None:
    assert frame(FeedEvent("gap", b'{"a":\n1}')) == b'event: gap\ndata: {"a":\ndata: 1}\n\n'
