"""The Bus contract, run against every bus: in-process, Redis pub/sub, Redis sharded pub/sub.

For the local bus, "two instances" are two users of one shared ``LocalBus`` (that is how
tests run several app instances in one process). Redis tests use a random key prefix so
parallel runs do not collide.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from coreport.buses import LocalBus, RedisBus
from coreport.ports import Bus, BusError, BusSubscription
from tests.support.proxy import TcpProxy, url_via
from tests.support.redis import (
    admin_client,
    delete_keys,
    kill_pubsub_connections,
    pubsub_connections,
)
from tests.support.services import REDIS_URL

#: Upper bound for anything the bus should do promptly (reconnects wait out a backoff).
TIMEOUT = 10.0

AnyBus = LocalBus | RedisBus
BusFactory = Callable[[], Awaitable[AnyBus]]


class Recorder:
    """A BusListener that queues what it receives and flags gaps."""

    def __init__(self) -> None:
        self.messages: asyncio.Queue[bytes] = asyncio.Queue()
        self.tasks: list[asyncio.Task[object] | None] = []
        self.gaps = 0
        self.gapped = asyncio.Event()

    def on_message(self, data: bytes) -> None:
        self.tasks.append(asyncio.current_task())
        self.messages.put_nowait(data)

    def on_gap(self) -> None:
        self.gaps += 1
        self.gapped.set()

    async def take(self, count: int = 1) -> list[bytes]:
        return [await asyncio.wait_for(self.messages.get(), TIMEOUT) for _ in range(count)]

    async def next(self) -> bytes:
        return (await self.take())[0]

    async def gap(self) -> None:
        await asyncio.wait_for(self.gapped.wait(), TIMEOUT)


async def _listening(bus: Bus) -> Recorder:
    """Open ``bus`` and subscribe a new recorder to ``reports/r1``."""
    await bus.open()
    listener = Recorder()
    await bus.subscribe("reports/r1", listener)
    return listener


class Exploding(Recorder):
    def on_message(self, data: bytes) -> None:
        super().on_message(data)
        raise RuntimeError("listener bug")


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def key_prefix() -> str:
    return f"coreport-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_admin(key_prefix: str) -> AsyncIterator[Redis]:
    client = await admin_client(REDIS_URL)
    yield client
    await delete_keys(client, key_prefix)
    await client.aclose()


@pytest.fixture(
    params=[
        pytest.param("local"),
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-sharded", marks=pytest.mark.redis),
    ]
)
async def new_bus(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[BusFactory]:
    """Opens one more bus instance per call; every one is closed after the test."""
    opened: list[AnyBus] = []
    make: Callable[[], AnyBus]
    admin: Redis | None = None
    if request.param == "local":
        shared = LocalBus()

        def make() -> AnyBus:
            return shared

    else:
        admin = await admin_client(REDIS_URL)  # skips (fails under CI) when Redis is down
        sharded = request.param == "redis-sharded"

        def make() -> AnyBus:
            return RedisBus(REDIS_URL, key_prefix=key_prefix, sharded=sharded)

    async def open_bus() -> AnyBus:
        bus = make()
        await asyncio.wait_for(bus.open(), TIMEOUT)
        opened.append(bus)
        return bus

    yield open_bus
    for bus in reversed(opened):
        await bus.close()
    if admin is not None:
        await delete_keys(admin, key_prefix)
        await admin.aclose()


@pytest.fixture
async def bus(new_bus: BusFactory) -> AnyBus:
    return await new_bus()


# -- the contract ------------------------------------------------------------------------


async def test_publish_reaches_a_subscriber(bus: AnyBus) -> None:
    listener = Recorder()
    await bus.subscribe("reports/r1", listener)

    await bus.publish("reports/r1", b"hello")

    assert await listener.next() == b"hello"


async def test_many_messages_arrive_in_publish_order(bus: AnyBus) -> None:
    listener = Recorder()
    await bus.subscribe("reports/r1", listener)
    sent = [f"update {i}".encode() for i in range(500)]

    for data in sent:
        await bus.publish("reports/r1", data)

    assert await listener.take(len(sent)) == sent


async def test_listeners_hear_only_their_own_channel(bus: AnyBus) -> None:
    first_a, second_a, only_b = Recorder(), Recorder(), Recorder()
    await bus.subscribe("reports/a", first_a)
    await bus.subscribe("reports/a", second_a)
    await bus.subscribe("reports/ab", only_b)

    await bus.publish("reports/a", b"for a")
    await bus.publish("reports/ab", b"for ab")
    await bus.publish("reports/a", b"end a")
    await bus.publish("reports/ab", b"end ab")

    assert await first_a.take(2) == [b"for a", b"end a"]
    assert await second_a.take(2) == [b"for a", b"end a"]
    assert await only_b.take(2) == [b"for ab", b"end ab"]
    assert first_a.messages.empty()
    assert second_a.messages.empty()
    assert only_b.messages.empty()


async def test_concurrent_subscribers_of_a_new_channel_are_all_subscribed(bus: AnyBus) -> None:
    listeners = [Recorder() for _ in range(3)]
    await asyncio.gather(*(bus.subscribe("reports/r1", listener) for listener in listeners))

    await bus.publish("reports/r1", b"x")

    for listener in listeners:
        assert await listener.next() == b"x"


async def test_closing_a_subscription_stops_delivery_to_it_only(bus: AnyBus) -> None:
    leaving, staying = Recorder(), Recorder()
    subscription = await bus.subscribe("reports/r1", leaving)
    await bus.subscribe("reports/r1", staying)
    await bus.publish("reports/r1", b"before")
    assert await leaving.next() == b"before"
    assert await staying.next() == b"before"

    await subscription.close()
    await subscription.close()
    await bus.publish("reports/r1", b"after")

    # ``leaving`` subscribed first, so it would have been handed "after" before ``staying``.
    assert await staying.next() == b"after"
    assert leaving.messages.empty()


async def test_a_channel_can_be_subscribed_again_after_its_last_listener_left(
    bus: AnyBus,
) -> None:
    first = await bus.subscribe("reports/r1", Recorder())
    await first.close()
    listener = Recorder()
    await bus.subscribe("reports/r1", listener)

    await bus.publish("reports/r1", b"again")

    assert await listener.next() == b"again"


async def test_two_instances_hear_each_other(new_bus: BusFactory) -> None:
    server_1, server_2 = await new_bus(), await new_bus()
    heard_by_1, heard_by_2 = Recorder(), Recorder()
    await server_1.subscribe("reports/r1", heard_by_1)
    await server_2.subscribe("reports/r1", heard_by_2)

    await server_1.publish("reports/r1", b"from 1")
    await server_2.publish("reports/r1", b"from 2")

    assert await heard_by_1.take(2) == [b"from 1", b"from 2"]
    assert await heard_by_2.take(2) == [b"from 1", b"from 2"]


async def test_a_large_binary_payload_arrives_intact(bus: AnyBus) -> None:
    listener = Recorder()
    await bus.subscribe("reports/r1", listener)
    payload = bytes(range(256)) + b"\r\n$-1\r\n\x00" + random.Random(7).randbytes(1 << 20)

    await bus.publish("reports/r1", payload)

    assert await listener.next() == payload


async def test_listeners_run_on_the_bus_task_never_inside_publish(bus: AnyBus) -> None:
    listener = Recorder()
    await bus.subscribe("reports/r1", listener)

    await bus.publish("reports/r1", b"x")
    await listener.next()

    assert listener.tasks[0] is not None
    assert listener.tasks[0] is not asyncio.current_task()


async def test_a_failing_listener_is_logged_and_does_not_stop_delivery(
    bus: AnyBus, caplog: pytest.LogCaptureFixture
) -> None:
    failing, healthy = Exploding(), Recorder()
    await bus.subscribe("reports/r1", failing)
    await bus.subscribe("reports/r1", healthy)

    with caplog.at_level(logging.ERROR, logger="coreport.buses"):
        await bus.publish("reports/r1", b"one")
        await bus.publish("reports/r1", b"two")
        assert await healthy.take(2) == [b"one", b"two"]

    assert await failing.take(2) == [b"one", b"two"]
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(failures) == 2


async def test_an_open_bus_answers_ping(bus: AnyBus) -> None:
    await bus.ping()

    assert bus.health.connected


async def test_close_leaves_no_task_behind(new_bus: BusFactory) -> None:
    before = asyncio.all_tasks()
    bus = await new_bus()
    listener = Recorder()
    await bus.subscribe("reports/r1", listener)
    await bus.subscribe("reports/r2", Recorder())
    await bus.publish("reports/r1", b"x")
    await listener.next()

    await bus.close()
    await bus.close()

    assert asyncio.all_tasks() == before


async def test_a_closed_bus_refuses_work(new_bus: BusFactory) -> None:
    bus = await new_bus()
    await bus.close()

    with pytest.raises(BusError):
        await bus.ping()
    with pytest.raises(BusError):
        await bus.publish("reports/r1", b"x")
    with pytest.raises(BusError):
        await bus.subscribe("reports/r1", Recorder())


# -- local bus only ----------------------------------------------------------------------


async def test_a_shared_local_bus_runs_until_its_last_user_closes_it() -> None:
    bus = LocalBus()
    await bus.open()
    listener = await _listening(bus)

    await bus.close()
    await bus.publish("reports/r1", b"still open")
    assert await listener.next() == b"still open"

    await bus.close()
    with pytest.raises(BusError):
        await bus.publish("reports/r1", b"closed")


async def test_the_local_bus_delivers_what_was_published_before_close() -> None:
    bus = LocalBus()
    listener = await _listening(bus)

    await bus.publish("reports/r1", b"last words")
    await bus.close()

    assert await listener.next() == b"last words"


# -- Redis only: connection loss -----------------------------------------------------------


def _redis_target() -> tuple[str, int]:
    parts = urlsplit(REDIS_URL)
    return parts.hostname or "127.0.0.1", parts.port or 6379


@pytest.fixture
async def proxy(redis_admin: Redis) -> AsyncIterator[TcpProxy]:
    """A TCP proxy to the test Redis that a test can take down and bring back."""
    proxy = TcpProxy(*_redis_target())
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture(params=[False, True], ids=["classic", "sharded"])
def sharded(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


class RedisBusFactory(Protocol):
    """Makes a Redis bus on the test's key prefix, closed after the test."""

    def __call__(
        self, url: str, client_name: str, *, health_check_interval: float = ...
    ) -> RedisBus: ...


@pytest.fixture
async def redis_bus_factory(key_prefix: str, sharded: bool) -> AsyncIterator[RedisBusFactory]:
    buses: list[RedisBus] = []

    def make(url: str, client_name: str, *, health_check_interval: float = 5.0) -> RedisBus:
        bus = RedisBus(
            url,
            key_prefix=key_prefix,
            sharded=sharded,
            client_name=client_name,
            health_check_interval=health_check_interval,
        )
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        await bus.close()


async def _publish_directly(admin: Redis, sharded: bool, channel: str, data: bytes) -> None:
    """Publish as another server instance would, without going through the bus under test."""
    if sharded:
        await admin.spublish(channel, data)
    else:
        await admin.publish(channel, data)


@pytest.mark.redis
async def test_the_bus_reconnects_after_redis_drops_it_and_reports_the_gap(
    redis_admin: Redis,
    redis_bus_factory: Callable[[str, str], RedisBus],
    key_prefix: str,
    sharded: bool,
) -> None:
    name = f"coreport-test-{uuid.uuid4().hex}"
    bus = redis_bus_factory(REDIS_URL, name)
    await bus.open()
    on_r1, also_on_r1, on_r2 = Recorder(), Recorder(), Recorder()
    subscriptions: list[BusSubscription] = [
        await bus.subscribe("reports/r1", on_r1),
        await bus.subscribe("reports/r1", also_on_r1),
        await bus.subscribe("reports/r2", on_r2),
    ]

    assert await kill_pubsub_connections(redis_admin, name) == 1

    for listener in (on_r1, also_on_r1, on_r2):
        await listener.gap()
    assert bus.health.connected
    assert bus.health.reconnects == 1
    await bus.ping()
    # Another instance publishes right after the gap: the channels are subscribed again.
    await _publish_directly(redis_admin, sharded, key_prefix + "reports/r1", b"after r1")
    await bus.publish("reports/r2", b"after r2")
    assert await on_r1.next() == b"after r1"
    assert await also_on_r1.next() == b"after r1"
    assert await on_r2.next() == b"after r2"
    assert [on_r1.gaps, also_on_r1.gaps, on_r2.gaps] == [1, 1, 1]
    for subscription in subscriptions:
        await subscription.close()


@pytest.mark.redis
async def test_the_bus_starts_while_redis_is_down_and_becomes_ready_when_it_is_back(
    redis_admin: Redis,
    proxy: TcpProxy,
    redis_bus_factory: Callable[[str, str], RedisBus],
    key_prefix: str,
    sharded: bool,
) -> None:
    await proxy.stop()  # the port now refuses connections
    bus = redis_bus_factory(url_via(REDIS_URL, proxy.port), "coreport-test")

    # open() gives up waiting after one attempt and keeps retrying in the background.
    await asyncio.wait_for(bus.open(), TIMEOUT)
    assert not bus.health.connected
    with pytest.raises(BusError):
        await bus.ping()
    with pytest.raises(BusError):
        await bus.publish("reports/r1", b"lost")
    listener = Recorder()
    await asyncio.wait_for(bus.subscribe("reports/r1", listener), TIMEOUT)

    await proxy.start()

    await listener.gap()
    await bus.ping()
    assert bus.health.connected
    assert bus.health.reconnects == 0  # a first connection, not a reconnection
    await _publish_directly(redis_admin, sharded, key_prefix + "reports/r1", b"hello")
    assert await listener.next() == b"hello"


@pytest.mark.redis
async def test_ping_and_publish_fail_while_redis_is_unreachable_then_recover(
    redis_admin: Redis,
    proxy: TcpProxy,
    redis_bus_factory: Callable[[str, str], RedisBus],
    sharded: bool,
) -> None:
    bus = redis_bus_factory(url_via(REDIS_URL, proxy.port), "coreport-test")
    listener = await _listening(bus)
    await bus.ping()

    await proxy.stop()

    with pytest.raises(BusError):
        await bus.ping()
    with pytest.raises(BusError):
        await bus.publish("reports/r1", b"lost")

    await proxy.start()

    await listener.gap()
    await bus.ping()
    assert bus.health.reconnects == 1
    await bus.publish("reports/r1", b"back")
    assert await listener.next() == b"back"


@pytest.mark.redis
async def test_on_gap_comes_only_once_the_channels_are_subscribed_again(
    redis_admin: Redis,
    proxy: TcpProxy,
    redis_bus_factory: Callable[[str, str], RedisBus],
    key_prefix: str,
    sharded: bool,
) -> None:
    bus = redis_bus_factory(url_via(REDIS_URL, proxy.port), "coreport-test")
    listener = await _listening(bus)
    # What the bus sends now reaches Redis late, the resubscription included.
    proxy.latency = 0.2

    await proxy.cut()
    await listener.gap()

    # A listener catches up from the store on on_gap, so anything committed after that
    # must come through the bus.
    await _publish_directly(redis_admin, sharded, key_prefix + "reports/r1", b"just after")
    assert await listener.next() == b"just after"


@pytest.mark.redis
async def test_a_silently_dead_connection_is_found_by_the_health_check(
    proxy: TcpProxy, redis_bus_factory: RedisBusFactory
) -> None:
    bus = redis_bus_factory(
        url_via(REDIS_URL, proxy.port), "coreport-test", health_check_interval=0.1
    )
    listener = await _listening(bus)

    proxy.blackhole()  # no error, no close: the connection just goes quiet

    await listener.gap()
    assert bus.health.reconnects == 1
    await bus.publish("reports/r1", b"back")
    assert await listener.next() == b"back"


@pytest.mark.redis
async def test_a_quiet_connection_that_answers_the_health_check_stays_up(
    redis_admin: Redis, redis_bus_factory: RedisBusFactory, key_prefix: str, sharded: bool
) -> None:
    name = f"coreport-test-{uuid.uuid4().hex}"
    bus = redis_bus_factory(REDIS_URL, name, health_check_interval=0.05)
    listener = await _listening(bus)
    (connection,) = await pubsub_connections(redis_admin, name)

    # Nothing flows, so the health check PINGs. A PONG must count as traffic: were it not
    # heard, the bus would give the connection up one interval after its first PING and
    # the next PINGs would come from a new connection.
    pings = 0
    async with redis_admin.monitor() as monitor, asyncio.timeout(10):
        while pings < 3:
            command = await monitor.next_command()
            sender = f"{command['client_address']}:{command['client_port']}"
            if command["command"].upper() == "PING" and sender == connection["addr"]:
                pings += 1

    assert [info["id"] for info in await pubsub_connections(redis_admin, name)] == [
        connection["id"]
    ]
    assert bus.health.connected
    assert bus.health.reconnects == 0
    assert listener.gaps == 0
    await _publish_directly(redis_admin, sharded, key_prefix + "reports/r1", b"still here")
    assert await listener.next() == b"still here"


async def test_a_batch_arrives_in_order_on_each_channel(bus: AnyBus) -> None:
    on_a, on_b = Recorder(), Recorder()
    await bus.subscribe("reports/a", on_a)
    await bus.subscribe("reports/b", on_b)
    batch = [(f"reports/{'ab'[i % 2]}", f"m{i}".encode()) for i in range(300)]

    await bus.publish_many(batch)
    await bus.publish_many([])

    assert await on_a.take(150) == [data for channel, data in batch if channel == "reports/a"]
    assert await on_b.take(150) == [data for channel, data in batch if channel == "reports/b"]


async def _publishers(admin: Redis, client_name: str) -> list[dict[str, str]]:
    """``CLIENT LIST`` entries of the connections named ``client_name`` that do not
    subscribe (``publish_many``'s own, and the pool's for PUBLISH and PING)."""
    return [
        info
        for info in await admin.client_list()
        if info.get("name") == client_name
        and int(info.get("sub", 0)) + int(info.get("ssub", 0)) == 0
    ]


@pytest.mark.redis
async def test_publish_many_goes_out_on_a_new_connection_after_redis_closed_its_own(
    redis_admin: Redis, redis_bus_factory: RedisBusFactory
) -> None:
    name = f"coreport-test-{uuid.uuid4().hex}"
    bus = redis_bus_factory(REDIS_URL, name)
    listener = await _listening(bus)
    await bus.publish_many([("reports/r1", b"first")])
    assert await listener.next() == b"first"
    (publisher,) = await _publishers(redis_admin, name)

    # Closed while idle (a Redis restart, an idle timeout): found out on the next write.
    await redis_admin.client_kill_filter(_id=publisher["id"])
    await bus.publish_many([("reports/r1", b"second"), ("reports/r1", b"third")])

    assert await listener.take(2) == [b"second", b"third"]
    assert [info["id"] for info in await _publishers(redis_admin, name)] != [publisher["id"]]
    assert listener.gaps == 0  # the subscription's own connection was not touched


@pytest.mark.redis
async def test_publish_many_fails_while_redis_is_unreachable_then_recovers(
    proxy: TcpProxy, redis_bus_factory: RedisBusFactory
) -> None:
    bus = redis_bus_factory(url_via(REDIS_URL, proxy.port), "coreport-test")
    listener = await _listening(bus)
    await bus.publish_many([("reports/r1", b"before")])
    assert await listener.next() == b"before"

    await proxy.stop()
    with pytest.raises(BusError, match="publishing 1 messages to Redis failed"):
        await bus.publish_many([("reports/r1", b"lost")])

    await proxy.start()
    await listener.gap()
    await bus.publish_many([("reports/r1", b"back")])
    assert await listener.next() == b"back"


@pytest.mark.redis
async def test_a_cancelled_publish_many_leaves_no_replies_behind_for_the_next(
    redis_admin: Redis, proxy: TcpProxy, redis_bus_factory: RedisBusFactory
) -> None:
    name = f"coreport-test-{uuid.uuid4().hex}"
    bus = redis_bus_factory(url_via(REDIS_URL, proxy.port), name)
    listener = await _listening(bus)
    await bus.publish_many([("reports/r1", b"warm")])
    assert await listener.next() == b"warm"
    (publisher,) = await _publishers(redis_admin, name)

    # The batch is written in the task's first step, which then waits for the replies;
    # cancelled there, while they are still due (the proxy holds what the bus sends for
    # half a second, so Redis has not even read it yet). That it was written shows below.
    proxy.latency = 0.5
    waiting = asyncio.create_task(bus.publish_many([("reports/r1", b"slow")] * 3))
    await asyncio.sleep(0)  # one turn of the loop: the task's first step
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    proxy.latency = 0.0

    # Its connection is given up (its three replies unread); the next batch has its own.
    # (Two connections: which of the two batches Redis reads first is the proxy's timing.)
    await bus.publish_many([("reports/r1", b"next")])
    assert sorted(await listener.take(4)) == [b"next", b"slow", b"slow", b"slow"]
    assert publisher["id"] not in [info["id"] for info in await _publishers(redis_admin, name)]


@pytest.mark.redis
async def test_publish_many_gives_up_when_redis_stops_answering_without_sending_again(
    proxy: TcpProxy, key_prefix: str, sharded: bool
) -> None:
    bus = RedisBus(
        url_via(REDIS_URL, proxy.port),
        key_prefix=key_prefix,
        sharded=sharded,
        client_name="coreport-test",
        command_timeout=0.3,
    )
    try:
        listener = await _listening(bus)
        await bus.publish_many([("reports/r1", b"before")])
        assert await listener.next() == b"before"

        # The connections open now go silent: a slow Redis, not a closed connection, so
        # the batch is not sent again on a new one (where it would go through, and this
        # would not raise).
        proxy.blackhole()
        with pytest.raises(BusError, match="publishing 1 messages to Redis failed"):
            await bus.publish_many([("reports/r1", b"unanswered")])
    finally:
        await bus.close()
