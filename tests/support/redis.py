"""Redis helpers for tests: a checked admin client and cleanup."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.support.services import service_unavailable


async def admin_client(url: str) -> Redis:
    """A plain client for ``url``; skips (or fails under CI) when Redis does not answer."""
    client = Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=5.0)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        service_unavailable("Redis", exc)
    return client


async def delete_keys(client: Redis, prefix: str) -> None:
    """Delete every key that starts with ``prefix``."""
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)


async def pubsub_connections(client: Redis, client_name: str) -> list[dict[str, str]]:
    """``CLIENT LIST`` entries of the connections named ``client_name`` that subscribe."""
    return [
        info
        for info in await client.client_list()
        if info.get("name") == client_name
        and int(info.get("sub", 0)) + int(info.get("ssub", 0)) > 0
    ]


async def kill_pubsub_connections(client: Redis, client_name: str) -> int:
    """Close, server-side, the pub/sub connections named ``client_name``; return how many."""
    found = await pubsub_connections(client, client_name)
    for info in found:
        await client.client_kill_filter(_id=info["id"])
    return len(found)
