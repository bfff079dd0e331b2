"""An app from ``create_app()`` with the runs API wired in, and an HTTP client for it.

Until the app factory wires runs itself (``Service.runs`` and ``runs_api.routes``), this adds
what it will: a :class:`RunService` on a :class:`SQLiteRunStore` in the app's data dir,
opened and closed by the app's lifespan, and the routes ahead of the frontend's catch-all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from coreport.ports import Bus
from coreport.runs.service import RunLimits, RunService
from coreport.settings import Settings
from coreport.stores.sqlite_runs import SQLiteRunStore
from coreport.sync.clock import SystemClock
from coreport.web import runs_api
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
    service = app.state.service
    if hasattr(service, "runs"):
        if limits is not None:
            service.runs.limits = limits
        return app
    store = SQLiteRunStore(settings.data_dir / "coreport.sqlite3")
    service.runs = RunService(store, service.bus, SystemClock(), limits=limits)
    app.router.routes[0:0] = runs_api.routes
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def with_runs(app: Starlette) -> AsyncIterator[Any]:
        async with serve(app) as state:
            await store.open()
            try:
                yield state
            finally:
                await store.close()

    app.router.lifespan_context = with_runs
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
