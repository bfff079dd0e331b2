"""The Redis bus: fan-out between server instances over Redis pub/sub.

Each bus holds one pub/sub connection that carries every channel this instance listens to
(Redis channel ``key_prefix + channel``), subscribing a channel when its first listener
arrives and unsubscribing it when its last one leaves, plus a small pool of ordinary
connections for PUBLISH and PING. One task owned by the bus connects, reads the pub/sub
connection and hands each message to the channel's listeners, in order.

``publish_many`` (the rooms' outbox) has a connection of its own, without redis-py's
per-command socket timeout: a batch is written at once, in the caller's step of the event
loop, instead of from a timeout task on the loop's next turn, and its replies are awaited
under the command timeout afterwards. A committed update thus leaves for the other
instances without a turn of the loop or a pipeline's set-up, which at the pace of typing
added about 200 us to a hop that Redis itself makes in about 230.

Connection loss and start-up:

* ``open()`` makes one connection attempt (bounded by ``connect_timeout``) and returns
  whether or not it succeeded. When Redis is down the bus starts disconnected and keeps
  retrying in the background, so a server can start before Redis and becomes ready once
  Redis answers. While disconnected ``ping()`` and ``publish()`` raise :class:`BusError`,
  and ``subscribe()`` records the listener and returns at once.
* After a loss the bus reconnects with capped exponential backoff and jitter, subscribes
  every channel again, waits for Redis to confirm, and only then calls ``on_gap()`` on
  every listener it had: messages published meanwhile are gone, the listeners catch up
  from the store.
* A connection that goes silent is found by a PING sent once a whole
  ``health_check_interval`` has passed without traffic (checked once per interval, not
  around every read); no answer within the next interval counts as a loss.

The bus speaks the few pub/sub commands itself over redis-py's ``Connection`` (which does
RESP, AUTH, TLS and SELECT) instead of using redis-py's ``PubSub``: ``PubSub`` reconnects
and resubscribes silently inside its own calls, so the bus could not tell its listeners
that messages may have been missed.

``sharded=True`` uses SSUBSCRIBE/SPUBLISH (Redis 7 sharded pub/sub). The bus still talks to
the one node named by the URL: that suits a standalone Redis or a single shard; routing
channels to the nodes of a Redis Cluster is not implemented.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from coreport.buses.health import BusHealth
from coreport.ports import BusError, BusListener, BusSubscription

log = logging.getLogger(__name__)

_Command = tuple[str | bytes, ...]


@dataclass(frozen=True, slots=True)
class _Dialect:
    """The pub/sub command names and reply kinds of classic or sharded pub/sub."""

    subscribe: str
    unsubscribe: str
    publish: str
    subscribed: bytes
    message: bytes


_CLASSIC = _Dialect("SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", b"subscribe", b"message")
_SHARDED = _Dialect("SSUBSCRIBE", "SUNSUBSCRIBE", "SPUBLISH", b"ssubscribe", b"smessage")


class _RedisSubscription:
    def __init__(self, bus: RedisBus, channel: bytes, listener: BusListener) -> None:
        self._bus = bus
        self.channel = channel
        self._listener = listener
        self.closed = False

    def deliver(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._listener.on_message(data)
        except Exception:
            # One broken listener must not stop delivery to the others.
            log.exception("bus listener on %r failed", self.channel)

    def gap(self) -> None:
        if self.closed:
            return
        try:
            self._listener.on_gap()
        except Exception:
            log.exception("bus listener on %r failed in on_gap", self.channel)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._bus._unsubscribe(self)


class RedisBus:
    """Redis pub/sub implementation of :class:`coreport.ports.Bus`.

    ``url`` is a redis-py URL (``redis://``, ``rediss://``, ``unix://``); every channel is
    ``key_prefix + channel`` in Redis. ``client_name`` names the connections in
    ``CLIENT LIST``. ``connect_timeout`` bounds a connection attempt, ``command_timeout``
    a PUBLISH or PING; the other knobs are described in the module docstring.
    ``health`` tells whether messages flow now and how often the bus reconnected.
    """

    def __init__(
        self,
        url: str,
        key_prefix: str = "coreport:",
        sharded: bool = False,
        *,
        client_name: str = "coreport-bus",
        connect_timeout: float = 2.0,
        command_timeout: float = 5.0,
        health_check_interval: float = 5.0,
        backoff_min: float = 0.05,
        backoff_max: float = 2.0,
    ) -> None:
        self._url = url
        self._prefix = key_prefix
        self._dialect = _SHARDED if sharded else _CLASSIC
        self._client_name = client_name
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._health_check_interval = health_check_interval
        self._backoff = EqualJitterBackoff(cap=backoff_max, base=backoff_min)
        self._listeners: dict[bytes, list[_RedisSubscription]] = {}
        # Futures waiting for Redis to confirm a SUBSCRIBE on the current connection, per
        # channel in the order sent (Redis confirms in that order).
        self._confirmations: dict[bytes, deque[asyncio.Future[None]]] = {}
        self._client: Redis | None = None
        self._conn: AbstractConnection | None = None
        # publish_many's own connection (made on first use, again after a failure), and
        # the lock that keeps its batches one at a time, in order.
        self._publisher_pool: ConnectionPool | None = None
        self._publisher: AbstractConnection | None = None
        self._publishing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._attempted = asyncio.Event()
        self._health = BusHealth(connected=False)
        self._has_connected = False
        self._failures = 0
        # Set by the reader at every reply, cleared by the health check at every interval.
        self._heard = False

    @property
    def health(self) -> BusHealth:
        """Connected now (pub/sub up, every channel subscribed), reconnects, last error."""
        return self._health

    # -- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Start the connection task; return after its first attempt, successful or not."""
        if self._client is not None:
            raise RuntimeError("the Redis bus is already open")
        options: dict[str, Any] = {
            "client_name": self._client_name,
            "socket_connect_timeout": self._connect_timeout,
            "socket_timeout": self._command_timeout,
        }
        # One retry replaces a pooled connection that died while idle.
        pool = ConnectionPool.from_url(self._url, retry=Retry(NoBackoff(), 1), **options)
        self._client = Redis(connection_pool=pool)
        # No socket timeout: redis-py would write each command from a task of its own.
        self._publisher_pool = ConnectionPool.from_url(
            self._url, **{**options, "socket_timeout": None}
        )
        # The pub/sub connection: RESP2 (pushes are plain arrays), and no retries inside
        # redis-py, since the connection task does the reconnecting.
        pubsub = ConnectionPool.from_url(
            self._url, retry=Retry(NoBackoff(), 0), protocol=2, decode_responses=False, **options
        )
        self._attempted = asyncio.Event()
        self._task = asyncio.create_task(self._run(pubsub), name="coreport-redis-bus")
        try:
            await asyncio.wait_for(
                self._attempted.wait(), self._connect_timeout + self._command_timeout
            )
        except TimeoutError:
            log.warning("Redis bus: no connection yet, still trying in the background")

    async def close(self) -> None:
        """Stop the connection task and close every connection; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        for subscriptions in self._listeners.values():
            for subscription in subscriptions:
                subscription.closed = True
        self._listeners.clear()
        self._release_confirmations()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose(close_connection_pool=True)
        await self._drop_publisher()
        publisher_pool, self._publisher_pool = self._publisher_pool, None
        if publisher_pool is not None:
            await publisher_pool.disconnect()
        self._health = replace(self._health, connected=False)

    # -- the Bus protocol ------------------------------------------------------------

    async def ping(self) -> None:
        client = self._require_client()
        if not self._health.connected:
            reason = self._health.last_error or "connecting"
            raise BusError(f"not connected to Redis: {reason}")
        try:
            await client.ping()
        except (RedisError, OSError) as exc:
            raise BusError(f"Redis did not answer PING: {exc}") from exc

    async def publish(self, channel: str, data: bytes) -> None:
        client = self._require_client()
        name = self._channel(channel)
        try:
            if self._dialect is _SHARDED:
                await client.spublish(name, data)
            else:
                await client.publish(name, data)
        except (RedisError, OSError) as exc:
            raise BusError(f"publishing to Redis failed: {exc}") from exc

    async def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> None:
        if not messages:
            return
        self._require_client()
        command = self._dialect.publish
        commands = [(command, self._channel(channel), data) for channel, data in messages]
        async with self._publishing:
            try:
                try:
                    await self._publish_on_own_connection(commands)
                except (RedisConnectionError, ConnectionError):
                    # A connection that died while idle fails on first use: once more on a
                    # new one. A batch that did reach Redis then arrives twice, which
                    # listeners take as they take any repeat (by sequence number or clock).
                    # (Not after a timeout: Redis is slow then, not gone.)
                    await self._drop_publisher()
                    await self._publish_on_own_connection(commands)
            except (RedisError, OSError, TimeoutError) as exc:
                # Replies may be left unread: the connection is not used again.
                await self._drop_publisher()
                raise BusError(
                    f"publishing {len(messages)} messages to Redis failed: {exc}"
                ) from exc

    async def _publish_on_own_connection(self, commands: Sequence[_Command]) -> None:
        """Write ``commands`` in one go (pipelined: one round trip, run in order), then
        read a reply for each; an error reply raises. redis-py disconnects a connection
        whose write or read is cut short (an error, a cancellation), so replies left
        unread are never taken for the next batch's: that batch finds it disconnected
        and makes another."""
        conn = self._publisher
        if conn is None or not conn.is_connected:
            if self._publisher_pool is None:
                raise BusError("the Redis bus is closed")
            conn = self._publisher_pool.make_connection()  # type: ignore[no-untyped-call]  # untyped upstream
            self._publisher = conn
            async with asyncio.timeout(self._connect_timeout + self._command_timeout):
                await conn.connect()
        # Written before this coroutine first waits (no socket timeout, no health check).
        await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
        async with asyncio.timeout(self._command_timeout):
            for _ in commands:
                await conn.read_response()

    async def _drop_publisher(self) -> None:
        conn, self._publisher = self._publisher, None
        if conn is not None:
            await conn.disconnect(nowait=True)

    async def subscribe(self, channel: str, listener: BusListener) -> BusSubscription:
        """Listen on ``channel``; once this returns while connected, Redis has confirmed
        the subscription. While disconnected it returns at once and ``on_gap()`` follows
        the reconnection."""
        self._require_client()
        name = self._channel(channel)
        subscription = _RedisSubscription(self, name, listener)
        subscribers = self._listeners.get(name)
        send_on: AbstractConnection | None = None
        if subscribers is None:
            self._listeners[name] = [subscription]
            send_on = self._conn
            if send_on is None:
                return subscription
            confirmed = self._expect_confirmation(name)
        else:
            subscribers.append(subscription)
            pending = self._confirmations.get(name)
            if not pending:
                return subscription
            confirmed = pending[-1]
        try:
            if send_on is not None:
                await self._send(send_on, [(self._dialect.subscribe, name)])
            # Shielded: several subscribers may wait on one confirmation.
            await asyncio.shield(confirmed)
        except BaseException:
            # The caller never gets the subscription, so it cannot close it. Redis may stay
            # subscribed until the next reconnection; messages for it are ignored.
            subscription.closed = True
            self._remove(subscription)
            raise
        return subscription

    # -- subscriptions ---------------------------------------------------------------

    def _channel(self, channel: str) -> bytes:
        return (self._prefix + channel).encode()

    def _require_client(self) -> Redis:
        if self._client is None:
            raise BusError("the Redis bus is not open")
        return self._client

    def _remove(self, subscription: _RedisSubscription) -> bool:
        """Forget ``subscription``; true when its channel has no listener left."""
        subscribers = self._listeners.get(subscription.channel)
        if subscribers is None or subscription not in subscribers:
            return False
        subscribers.remove(subscription)
        if subscribers:
            return False
        del self._listeners[subscription.channel]
        return True

    async def _unsubscribe(self, subscription: _RedisSubscription) -> None:
        if self._remove(subscription) and (conn := self._conn) is not None:
            await self._send(conn, [(self._dialect.unsubscribe, subscription.channel)])

    def _expect_confirmation(self, name: bytes) -> asyncio.Future[None]:
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(name, deque()).append(confirmed)
        return confirmed

    def _release_confirmations(self) -> None:
        # Whoever waits for a confirmation that can no longer come goes on: the channel is
        # subscribed again (and its listeners told about the gap) after reconnecting.
        for pending in self._confirmations.values():
            for confirmed in pending:
                if not confirmed.done():
                    confirmed.set_result(None)
        self._confirmations.clear()

    async def _send(self, conn: AbstractConnection, commands: Sequence[_Command]) -> None:
        if self._conn is not conn or not conn.is_connected:
            # The connection is gone; the next one subscribes every channel anew. (Sending
            # on a closed redis-py connection would silently open a new socket.)
            return
        try:
            await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
        except (RedisError, OSError) as exc:
            # redis-py has closed the connection; the reader fails on it and reconnects.
            log.info("Redis bus: writing to the pub/sub connection failed: %s", exc)

    # -- the connection task ---------------------------------------------------------

    async def _run(self, pubsub: ConnectionPool) -> None:
        while True:
            conn: AbstractConnection | None = None
            try:
                conn = pubsub.make_connection()  # type: ignore[no-untyped-call]  # untyped upstream
                await conn.connect()
                await self._serve(conn)
            except (RedisError, OSError) as exc:
                self._lost(exc)
            except Exception as exc:
                log.exception("Redis bus: unexpected failure; reconnecting")
                self._lost(exc)
            finally:
                self._conn = None
                self._release_confirmations()
                if conn is not None:
                    await conn.disconnect(nowait=True)
            await asyncio.sleep(self._backoff.compute(self._failures))
            self._failures += 1

    def _lost(self, exc: Exception) -> None:
        if self._health.connected:
            log.warning("Redis bus: connection lost (%s); reconnecting", exc)
        elif self._failures == 0:
            log.warning("Redis bus: cannot connect (%s); retrying", exc)
        else:
            log.debug("Redis bus: still cannot connect: %s", exc)
        self._health = replace(self._health, connected=False, last_error=str(exc))
        self._attempted.set()

    async def _serve(self, conn: AbstractConnection) -> None:
        """Subscribe every channel, then read and dispatch until the connection fails.

        Reads wait without a timeout: a timeout around every read is a timer armed and
        cancelled per message, a large share of the reader's work under load. Silence is
        watched once per interval instead (``_watch``)."""
        self._conn = conn
        missed = [s for subscribers in self._listeners.values() for s in subscribers]
        names = list(self._listeners)
        resubscribed = [self._expect_confirmation(name) for name in names]
        if names:
            await self._send(conn, [(self._dialect.subscribe, name) for name in names])
        reader = asyncio.create_task(
            self._read(conn, resubscribed, missed), name="coreport-redis-read"
        )
        watchdog = asyncio.create_task(self._watch(conn), name="coreport-redis-health")
        try:
            await asyncio.wait((reader, watchdog), return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            watchdog.cancel()
            await asyncio.gather(reader, watchdog, return_exceptions=True)
        for task in (reader, watchdog):
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                raise failure
        raise RedisConnectionError("Redis did not answer PING in time")

    async def _read(
        self,
        conn: AbstractConnection,
        resubscribed: list[asyncio.Future[None]],
        missed: list[_RedisSubscription],
    ) -> None:
        ready = False
        while True:
            if not ready and all(confirmed.done() for confirmed in resubscribed):
                ready = True
                self._ready(missed)
            reply = await conn.read_response(timeout=math.inf, push_request=True)
            self._heard = True
            self._dispatch(reply)

    async def _watch(self, conn: AbstractConnection) -> None:
        """Return once the connection has been silent for an interval, then stayed silent
        for another after a PING."""
        pinged = False
        while True:
            self._heard = False
            await asyncio.sleep(self._health_check_interval)
            if self._heard:
                pinged = False
            elif pinged:
                return
            else:
                pinged = True
                await self._send(conn, [("PING",)])

    def _ready(self, missed: list[_RedisSubscription]) -> None:
        reconnects = self._health.reconnects + (1 if self._has_connected else 0)
        self._has_connected = True
        self._failures = 0
        self._health = replace(self._health, connected=True, reconnects=reconnects)
        self._attempted.set()
        log.info("Redis bus: connected, %d channel(s) subscribed", len(self._listeners))
        for subscription in missed:
            subscription.gap()

    def _dispatch(self, reply: object) -> None:
        # Pushes are [kind, channel, payload]; PING answers ([b"pong", b""]) and
        # unsubscribe confirmations need nothing.
        if not isinstance(reply, list) or len(reply) != 3:
            return
        kind, channel, payload = reply
        if kind == self._dialect.message:
            for subscription in tuple(self._listeners.get(channel, ())):
                subscription.deliver(payload)
        elif kind == self._dialect.subscribed:
            pending = self._confirmations.get(channel)
            if pending:
                confirmed = pending.popleft()
                if not pending:
                    del self._confirmations[channel]
                if not confirmed.done():
                    confirmed.set_result(None)
