"""Scratch PostgreSQL databases for tests: created per test, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.support.services import POSTGRES_URL, service_unavailable


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """Create a uniquely named database on the test server; yield its URL; drop it."""
    try:
        admin = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        service_unavailable("PostgreSQL", exc)
        raise  # service_unavailable skips or fails the test: this line is never reached
    name = f"coreport_test_{secrets.token_hex(6)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
