"""An app from ``create_app()`` for the runs API tests, and an HTTP client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette

from coreport.ports import Bus
from coreport.runs.service import RunLimits
from coreport.settings import Settings
from coreport.web.app import create_app
from tests.support.asgi import lifespan


def instance_settings(data_dir: Path) -> Settings:
    """Settings of a test instance: its data dir, and no sign-in (access has its own tests)."""
    return Settings(data_dir=data_dir, insecure_no_auth=True)


def runs_app(
    settings: Settings,
    *,
    bus: Bus | None = None,
    limits: RunLimits | None = None,
    on_ready: Callable[[], None] | None = None,
) -> Starlette:
    """``create_app(settings, bus=bus, on_ready=on_ready)`` serving the runs API."""
    app = create_app(settings, bus=bus, on_ready=on_ready)
    if limits is not None:
        app.state.service.runs.limits = limits
    return app


@asynccontextmanager
async def client_of(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and yield an HTTP client bound to it."""
    async with (
        lifespan(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://testserver"
        ) as client,
    ):
        yield client
