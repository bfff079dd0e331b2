"""The Redis presence registry: who is connected to which document, across every instance.

Per document, two keys (``doc`` never contains ``:``, see :mod:`coreport.sync.names`, so
the two cannot collide with another document's):

* ``{prefix}presence:{doc}``, a sorted set: member -> expiry time (score);
* ``{prefix}presence:{doc}:data``, a hash: member -> the entry as JSON.

Expiry times come from the Redis server's clock (``TIME``, read inside the scripts below),
not from the instance's: every instance then judges expiry by one clock, so a host whose
clock is a few seconds off neither forgets live users early nor keeps dead ones late, and
it is the same clock that runs the keys' own EXPIRE.

The registry stays bounded without any sweeper task: ``put`` and ``list`` drop the expired
members of the documents they touch, and every ``put`` sets a key-level expiry slightly
beyond ``ttl`` on both keys, so the keys of a document nobody refreshes any more (its
instance died) vanish on their own. Removing the last member deletes the keys at once
(Redis deletes an empty sorted set or hash).

Each script reads and writes only the two keys of one document, so they are atomic per
document and would suit a Redis Cluster if the keys were given a hash tag.
"""

from __future__ import annotations

import builtins
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from coreport.ports import BusError, DocName, PresenceEntry

log = logging.getLogger(__name__)

#: How much longer than ``ttl`` the keys themselves live after the last ``put``.
KEY_TTL_MARGIN = 1.0

# Shared by both scripts: the server's time, and dropping the members whose expiry has
# passed from the sorted set and the hash together. HDEL takes the members in batches
# because Lua's unpack() has a limit on the number of values.
_EXPIRY_LUA = """
local function server_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function drop_expired(index, data, now)
  local until_now = string.format('%.6f', now)
  local expired = redis.call('ZRANGEBYSCORE', index, '-inf', until_now)
  if #expired == 0 then
    return
  end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', until_now)
  for i = 1, #expired, 500 do
    redis.call('HDEL', data, unpack(expired, i, math.min(i + 499, #expired)))
  end
end
"""

# KEYS: the sorted set, the hash. ARGV: ttl (s), key ttl (ms), then member, JSON pairs.
_PUT_LUA = (
    _EXPIRY_LUA
    + """
local now = server_now()
drop_expired(KEYS[1], KEYS[2], now)
local expiry = string.format('%.6f', now + tonumber(ARGV[1]))
for i = 3, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return (#ARGV - 2) / 2
"""
)

# KEYS: the sorted set, the hash. Returns member, JSON pairs of the unexpired entries.
_LIST_LUA = (
    _EXPIRY_LUA
    + """
drop_expired(KEYS[1], KEYS[2], server_now())
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local found = {}
for i = 1, #members, 500 do
  local last = math.min(i + 499, #members)
  local values = redis.call('HMGET', KEYS[2], unpack(members, i, last))
  for j = 1, last - i + 1 do
    if values[j] then
      found[#found + 1] = members[i + j - 1]
      found[#found + 1] = values[j]
    end
  end
end
return found
"""
)


class RedisPresence:
    """Redis implementation of :class:`coreport.ports.PresenceRegistry`.

    ``url`` is a redis-py URL; keys start with ``key_prefix``. An entry not refreshed by
    ``put`` within ``ttl`` seconds is gone. ``open()`` makes no connection: the first call
    does, so an instance can start while Redis is down, and every call raises
    :class:`BusError` while Redis does not answer.
    """

    def __init__(
        self,
        url: str,
        key_prefix: str = "coreport:",
        ttl: float = 30.0,
        *,
        client_name: str = "coreport-presence",
        connect_timeout: float = 2.0,
        command_timeout: float = 5.0,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"presence ttl must be positive, got {ttl}")
        self._url = url
        self._prefix = key_prefix
        self._ttl = ttl
        self._key_ttl_ms = math.ceil((ttl + KEY_TTL_MARGIN) * 1000)
        self._client_name = client_name
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._client: Redis | None = None
        self._put_script: AsyncScript | None = None
        self._list_script: AsyncScript | None = None

    @property
    def ttl(self) -> float:
        return self._ttl

    async def open(self) -> None:
        """Set up the connection pool (connections are made on first use)."""
        if self._client is not None:
            raise RuntimeError("the Redis presence registry is already open")
        pool = ConnectionPool.from_url(
            self._url,
            # One retry replaces a pooled connection that died while idle; every script
            # and command here is idempotent, so a retry cannot do anything twice.
            retry=Retry(NoBackoff(), 1),
            client_name=self._client_name,
            socket_connect_timeout=self._connect_timeout,
            socket_timeout=self._command_timeout,
            decode_responses=False,
        )
        self._client = Redis(connection_pool=pool)
        self._put_script = self._client.register_script(_PUT_LUA)
        self._list_script = self._client.register_script(_LIST_LUA)

    async def close(self) -> None:
        """Close every connection; idempotent. Entries stay until they expire."""
        client, self._client = self._client, None
        self._put_script = self._list_script = None
        if client is not None:
            await client.aclose(close_connection_pool=True)

    async def put(self, entries: Sequence[PresenceEntry]) -> None:
        """Add or refresh ``entries``: each expires ``ttl`` seconds from now."""
        client, script = self._require(self._put_script)
        by_doc: dict[DocName, builtins.list[str]] = {}
        for entry in entries:
            by_doc.setdefault(entry.doc, []).extend((entry.member, json.dumps(asdict(entry))))
        if not by_doc:
            return
        try:
            async with client.pipeline(transaction=False) as pipe:
                for doc, pairs in by_doc.items():
                    await script(
                        keys=self._keys(doc),
                        args=[repr(self._ttl), self._key_ttl_ms, *pairs],
                        client=pipe,
                    )
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BusError(f"writing presence to Redis failed: {exc}") from exc

    async def remove(self, doc: DocName, member: str) -> None:
        """Forget ``member`` of ``doc`` now; nothing happens if it is not there."""
        client = self._require_client()
        index, data = self._keys(doc)
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.zrem(index, member)
                pipe.hdel(data, member)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BusError(f"removing presence from Redis failed: {exc}") from exc

    async def list(self, docs: Sequence[DocName]) -> builtins.list[PresenceEntry]:
        """The unexpired entries of ``docs``, oldest ``since`` first.

        Entries whose stored JSON cannot be read are logged and left out.
        """
        client, script = self._require(self._list_script)
        wanted = builtins.list(dict.fromkeys(docs))
        if not wanted:
            return []
        try:
            async with client.pipeline(transaction=False) as pipe:
                for doc in wanted:
                    await script(keys=self._keys(doc), client=pipe)
                replies = await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BusError(f"reading presence from Redis failed: {exc}") from exc
        found: builtins.list[PresenceEntry] = []
        for doc, reply in zip(wanted, replies, strict=True):
            for member, raw in zip(reply[::2], reply[1::2], strict=True):
                entry = _parse(doc, member, raw)
                if entry is not None:
                    found.append(entry)
        found.sort(key=lambda entry: (entry.since, entry.member))
        return found

    def _keys(self, doc: DocName) -> tuple[str, str]:
        index = f"{self._prefix}presence:{doc}"
        return index, index + ":data"

    def _require_client(self) -> Redis:
        if self._client is None:
            raise BusError("the Redis presence registry is not open")
        return self._client

    def _require(self, script: AsyncScript | None) -> tuple[Redis, AsyncScript]:
        client = self._require_client()
        assert script is not None  # set together with the client
        return client, script


def _parse(doc: DocName, member: bytes, raw: bytes) -> PresenceEntry | None:
    """The entry stored as ``raw``, or ``None`` (logged) when it is not a valid entry."""
    try:
        fields = json.loads(raw)
        if not isinstance(fields, dict):
            raise ValueError("not a JSON object")
        entry = PresenceEntry(
            member=_text(fields, "member"),
            doc=_text(fields, "doc"),
            name=_text(fields, "name"),
            color=_text(fields, "color"),
            since=_number(fields, "since"),
            instance=_text(fields, "instance"),
        )
        if entry.doc != doc or entry.member.encode() != member:
            raise ValueError(f"stored under another key ({entry.doc!r}, {entry.member!r})")
    except ValueError as exc:  # json.JSONDecodeError and UnicodeDecodeError included
        log.warning("presence: skipping unreadable entry %r of %s: %s", member, doc, exc)
        return None
    return entry


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name!r} is not a string")
    return value


def _number(fields: dict[str, Any], name: str) -> float:
    value = fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name!r} is not a number")
    return float(value)
