"""The PresenceRegistry contract, run against the in-process and the Redis registry.

"Two instances" are two users of one shared ``LocalPresence`` (as several app instances in
one process share it), or two ``RedisPresence`` on the same key prefix. Expiry is the
subject here, so time must pass: the local registry runs on a manual clock that the test
advances; the Redis one uses a 1 s ttl and the test waits real seconds, because its expiry
runs on the Redis server's clock. Redis tests use a random key prefix and delete it after.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from coreport.buses import LocalPresence, RedisPresence
from coreport.buses.presence_redis import KEY_TTL_MARGIN
from coreport.ports import BusError, PresenceEntry
from tests.support.fakes import ManualClock
from tests.support.proxy import TcpProxy, url_via
from tests.support.redis import admin_client, delete_keys
from tests.support.services import REDIS_URL

AnyPresence = LocalPresence | RedisPresence

#: The Redis registry's ttl: short, since the tests wait it out in real time.
REDIS_TTL = 1.0
#: Real time allowed past an expiry before checking it happened (the test's own delay).
SLACK = 0.1

R1 = "reports/r1"
R1_COMMENTS = "reports/r1/comments"
R2 = "reports/r2"


def entry(
    member: str, doc: str = R1, since: float = 1_700_000_000.0, **fields: str
) -> PresenceEntry:
    values = {"name": f"user {member}", "color": "#30bced", "instance": "i1", **fields}
    return PresenceEntry(member=member, doc=doc, since=since, **values)


@dataclass
class Registries:
    """Makes registry instances on one shared state and lets time pass for them."""

    ttl: float
    make: Callable[[], AnyPresence]
    #: Let ``seconds`` pass as the registries see time.
    elapse: Callable[[float], Awaitable[None]]
    #: What the registries hold under the test's name: Redis keys, or local documents.
    held: Callable[[], Awaitable[list[str]]]
    opened: list[AnyPresence] = field(default_factory=list)

    async def new(self) -> AnyPresence:
        registry = self.make()
        await registry.open()
        self.opened.append(registry)
        return registry


@pytest.fixture
def key_prefix() -> str:
    return f"coreport-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_admin(key_prefix: str) -> AsyncIterator[Redis]:
    client = await admin_client(REDIS_URL)  # skips (fails under CI) when Redis is down
    yield client
    await delete_keys(client, key_prefix)
    await client.aclose()


async def _scan(admin: Redis, prefix: str) -> list[str]:
    return sorted([key.decode() async for key in admin.scan_iter(match=prefix + "*")])


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def registries(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Registries]:
    chosen: Registries
    admin: Redis | None = None
    if request.param == "local":
        clock = ManualClock()
        shared = LocalPresence(ttl=30.0, clock=clock)

        async def advance(seconds: float) -> None:
            clock.advance(seconds)

        async def held_docs() -> list[str]:
            return sorted(shared.docs)

        chosen = Registries(shared.ttl, lambda: shared, advance, held_docs)
    else:
        admin = client = await admin_client(REDIS_URL)

        async def wait(seconds: float) -> None:
            # The passage of time is what is under test, not a stand-in for an event.
            await asyncio.sleep(seconds)

        async def held_keys() -> list[str]:
            return await _scan(client, key_prefix)

        chosen = Registries(
            REDIS_TTL,
            lambda: RedisPresence(REDIS_URL, key_prefix=key_prefix, ttl=REDIS_TTL),
            wait,
            held_keys,
        )
    yield chosen
    for registry in reversed(chosen.opened):
        await registry.close()
    if admin is not None:
        await delete_keys(admin, key_prefix)
        await admin.aclose()


# -- the contract ------------------------------------------------------------------------


async def test_an_entry_put_on_one_instance_is_listed_on_another(registries: Registries) -> None:
    one, other = await registries.new(), await registries.new()
    ann = entry("ann", since=1_700_000_005.25, instance="one", name="Zoë Lee 🚀", color="#ee6352")
    bob = entry("bob", since=1_700_000_001.5, instance="other")

    await one.put([ann])
    await other.put([bob])

    assert await other.list([R1]) == [bob, ann]
    assert await one.list([R1]) == [bob, ann]


async def test_list_covers_the_documents_asked_for_oldest_first(registries: Registries) -> None:
    registry = await registries.new()
    in_r1 = entry("a", R1, since=30.0)
    in_comments = entry("b", R1_COMMENTS, since=10.0)
    also_in_r1 = entry("c", R1, since=20.0)
    in_r2 = entry("d", R2, since=5.0)
    await registry.put([in_r1, in_comments, also_in_r1, in_r2])

    assert await registry.list([R1, R1_COMMENTS]) == [in_comments, also_in_r1, in_r1]
    assert await registry.list([R1_COMMENTS, R1, R1]) == [in_comments, also_in_r1, in_r1]
    assert await registry.list([R2]) == [in_r2]
    assert await registry.list(["reports/nobody-here"]) == []
    assert await registry.list([]) == []


async def test_put_with_no_entries_does_nothing(registries: Registries) -> None:
    registry = await registries.new()

    await registry.put([])

    assert await registry.list([R1]) == []
    assert await registries.held() == []


async def test_putting_again_refreshes_the_expiry_and_the_entry(registries: Registries) -> None:
    one, other = await registries.new(), await registries.new()
    await one.put([entry("ann")])
    await registries.elapse(0.7 * registries.ttl)
    renamed = entry("ann", name="Ann (away)")

    await one.put([renamed])
    await registries.elapse(0.5 * registries.ttl)

    # Past the first put's expiry, within the second's.
    assert await other.list([R1]) == [renamed]


async def test_an_entry_not_refreshed_expires_after_ttl(registries: Registries) -> None:
    registry = await registries.new()
    ann, bob = entry("ann", since=1.0), entry("bob", since=2.0)
    await registry.put([ann, bob])
    await registries.elapse(0.5 * registries.ttl)
    await registry.put([bob])

    await registries.elapse(0.5 * registries.ttl + SLACK)

    assert await registry.list([R1]) == [bob]
    await registries.elapse(0.5 * registries.ttl)
    assert await registry.list([R1]) == []
    assert await registries.held() == []


async def test_remove_forgets_an_entry_at_once(registries: Registries) -> None:
    one, other = await registries.new(), await registries.new()
    ann, bob = entry("ann", since=1.0), entry("bob", since=2.0)
    await one.put([ann, bob, entry("cy", R2)])

    await other.remove(R1, "ann")

    assert await one.list([R1]) == [bob]
    await other.remove(R1, "ann")  # twice is harmless
    await other.remove(R1, "nobody")
    await other.remove("reports/unknown", "ann")
    assert await one.list([R1]) == [bob]


async def test_nothing_is_left_behind_after_the_last_remove(registries: Registries) -> None:
    registry = await registries.new()
    await registry.put([entry("ann"), entry("bob"), entry("cy", R2)])

    await registry.remove(R1, "ann")
    await registry.remove(R1, "bob")
    await registry.remove(R2, "cy")

    assert await registries.held() == []


async def test_a_closed_registry_refuses_work(registries: Registries) -> None:
    registry = await registries.new()
    await registry.close()
    await registry.close()  # idempotent

    with pytest.raises(BusError):
        await registry.put([entry("ann")])
    with pytest.raises(BusError):
        await registry.remove(R1, "ann")
    with pytest.raises(BusError):
        await registry.list([R1])


def test_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="ttl"):
        LocalPresence(ttl=0)
    with pytest.raises(ValueError, match="ttl"):
        RedisPresence(REDIS_URL, ttl=-1.0)


# -- local registry only -----------------------------------------------------------------


async def test_expired_entries_of_idle_documents_are_dropped_by_any_later_call() -> None:
    clock = ManualClock()
    registry = LocalPresence(ttl=30.0, clock=clock)
    await registry.open()
    await registry.put([entry("ann", R1), entry("bob", R2)])
    clock.advance(20.0)
    await registry.put([entry("bob", R2)])
    clock.advance(10.0)

    await registry.list([R2])

    assert registry.docs == (R2,)
    clock.advance(30.0)
    await registry.remove(R1, "nobody")
    assert registry.docs == ()
    await registry.close()


async def test_a_shared_local_registry_forgets_everything_when_its_last_user_closes() -> None:
    registry = LocalPresence()
    await registry.open()
    await registry.open()
    await registry.put([entry("ann")])

    await registry.close()
    assert await registry.list([R1]) == [entry("ann")]

    await registry.close()
    assert registry.docs == ()
    await registry.open()
    assert await registry.list([R1]) == []
    await registry.close()


# -- Redis registry only -----------------------------------------------------------------


@pytest.fixture
async def redis_presence(key_prefix: str, redis_admin: Redis) -> AsyncIterator[RedisPresence]:
    registry = RedisPresence(REDIS_URL, key_prefix=key_prefix, ttl=REDIS_TTL)
    await registry.open()
    yield registry
    await registry.close()


@pytest.mark.redis
async def test_the_keys_of_an_abandoned_document_expire_on_their_own(
    redis_presence: RedisPresence, redis_admin: Redis, key_prefix: str
) -> None:
    await redis_presence.put([entry("ann"), entry("bob")])
    index, data = f"{key_prefix}presence:{R1}", f"{key_prefix}presence:{R1}:data"
    assert await _scan(redis_admin, key_prefix) == [index, data]
    key_ttl_ms = (REDIS_TTL + KEY_TTL_MARGIN) * 1000
    for key in (index, data):
        assert REDIS_TTL * 1000 < await redis_admin.pttl(key) <= key_ttl_ms

    # Nobody lists or removes (the instance died): the keys go by themselves.
    await asyncio.sleep(REDIS_TTL + KEY_TTL_MARGIN + SLACK)

    assert await _scan(redis_admin, key_prefix) == []


@pytest.mark.redis
async def test_the_next_put_drops_expired_members_from_both_keys(
    redis_presence: RedisPresence, redis_admin: Redis, key_prefix: str
) -> None:
    await redis_presence.put([entry("ann"), entry("bob")])
    await asyncio.sleep(REDIS_TTL + SLACK)

    await redis_presence.put([entry("cy")])

    index, data = f"{key_prefix}presence:{R1}", f"{key_prefix}presence:{R1}:data"
    assert await redis_admin.zrange(index, 0, -1) == [b"cy"]
    assert await redis_admin.hkeys(data) == [b"cy"]


@pytest.mark.redis
async def test_unreadable_stored_entries_are_logged_and_skipped(
    redis_presence: RedisPresence,
    redis_admin: Redis,
    key_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ann = entry("ann")
    await redis_presence.put([ann])
    index, data = f"{key_prefix}presence:{R1}", f"{key_prefix}presence:{R1}:data"
    bad = {
        "not-json": b"{not json",
        "not-utf8": b'{"member": "\xff"}',
        "not-an-object": b"[1, 2]",
        "missing-fields": b'{"member": "missing-fields", "doc": "reports/r1"}',
        "since-is-text": b'{"member": "since-is-text", "doc": "reports/r1", "name": "n",'
        b' "color": "c", "since": "yesterday", "instance": "i"}',
        "elsewhere": b'{"member": "elsewhere", "doc": "reports/r2", "name": "n",'
        b' "color": "c", "since": 1, "instance": "i"}',
    }
    far_future = 4_000_000_000
    await redis_admin.zadd(index, dict.fromkeys(bad, far_future))
    await redis_admin.hset(data, mapping=bad)

    with caplog.at_level(logging.WARNING, logger="coreport.buses"):
        assert await redis_presence.list([R1]) == [ann]

    skipped = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(skipped) == len(bad)
    for member in bad:
        assert any(repr(member.encode()) in message for message in skipped), member


def _redis_target() -> tuple[str, int]:
    parts = urlsplit(REDIS_URL)
    return parts.hostname or "127.0.0.1", parts.port or 6379


@pytest.mark.redis
async def test_redis_errors_raise_bus_error_and_the_registry_recovers(
    redis_admin: Redis, key_prefix: str
) -> None:
    proxy = TcpProxy(*_redis_target())
    await proxy.start()
    registry = RedisPresence(url_via(REDIS_URL, proxy.port), key_prefix=key_prefix, ttl=REDIS_TTL)
    try:
        await registry.open()
        await registry.put([entry("ann")])
        await proxy.stop()  # Redis is gone, and the port refuses new connections

        with pytest.raises(BusError):
            await registry.put([entry("bob")])
        with pytest.raises(BusError):
            await registry.remove(R1, "ann")
        with pytest.raises(BusError):
            await registry.list([R1])

        await proxy.start()  # Redis is back, on the same port
        await registry.put([entry("bob", since=2.0)])
        assert await registry.list([R1]) == [entry("bob", since=2.0), entry("ann")]
    finally:
        await registry.close()
        await proxy.stop()
