"""The app factory and composition root: picks the store and bus from settings and wires
them into the sync core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route

from coreport.access.limits import AddressLimiter
from coreport.access.live import LiveAccess
from coreport.access.ports import AccessStore
from coreport.access.service import AccessService
from coreport.metrics import Metrics
from coreport.ports import Bus, Clock, PresenceRegistry, Store
from coreport.protocol import codes
from coreport.reports.ports import ReportStore
from coreport.reports.service import ReportService
from coreport.reports.versions import EditActivity, ReportVersions, VersionPolicy
from coreport.runs.ports import RunStore
from coreport.runs.service import RunService
from coreport.settings import Settings
from coreport.sync.clock import SystemClock
from coreport.sync.cork import SendCork
from coreport.sync.presence import PresenceTracker
from coreport.sync.rooms import RoomPolicy, Rooms
from coreport.sync.session import Session
from coreport.web import (
    access_api,
    comments_api,
    embed_api,
    ops,
    presence_api,
    reports_api,
    runs_api,
    ws,
)
from coreport.web.auth import AccessMiddleware, AuthConfig
from coreport.web.static import Frontend

log = logging.getLogger(__name__)


@dataclass
class Service:
    """Everything one running instance owns; lives in ``app.state.service``."""

    settings: Settings
    store: Store
    bus: Bus
    metrics: Metrics
    rooms: Rooms
    presence_registry: PresenceRegistry
    presence: PresenceTracker
    instance: str
    access: AccessService
    auth: AuthConfig
    live: LiveAccess
    runs: RunService
    reports: ReportService
    sessions: set[Session] = field(default_factory=set)
    #: Shared by the sessions and the group committer: what a turn of the loop (or a
    #: committed batch) sends a socket goes in one write.
    cork: SendCork = field(default_factory=SendCork)
    stopping: bool = False


def make_store(settings: Settings) -> Store:
    if settings.database_url:
        from coreport.stores.postgres import PostgresStore

        return PostgresStore(
            settings.database_url,
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
        )
    from coreport.stores.sqlite import SQLiteStore

    return SQLiteStore(settings.data_dir / "coreport.sqlite3")


def make_access_store(settings: Settings) -> AccessStore:
    if settings.database_url:
        from coreport.stores.postgres_access import PostgresAccessStore

        return PostgresAccessStore(settings.database_url)
    from coreport.stores.sqlite_access import SQLiteAccessStore

    return SQLiteAccessStore(settings.data_dir / "coreport.sqlite3")


def make_run_store(settings: Settings) -> RunStore:
    # Its own connections: big history reads and ingest batches must not queue in front
    # of the document appends live editors wait on.
    if settings.database_url:
        from coreport.stores.postgres_runs import PostgresRunStore

        return PostgresRunStore(
            settings.database_url, max_size=max(2, settings.database_pool_max // 2)
        )
    from coreport.stores.sqlite_runs import SQLiteRunStore

    return SQLiteRunStore(settings.data_dir / "coreport.sqlite3")


def make_report_store(settings: Settings) -> ReportStore:
    if settings.database_url:
        from coreport.stores.postgres_reports import PostgresReportStore

        return PostgresReportStore(settings.database_url)
    from coreport.stores.sqlite_reports import SQLiteReportStore

    return SQLiteReportStore(settings.data_dir / "coreport.sqlite3")


def make_bus(settings: Settings) -> Bus:
    if settings.redis_url:
        from coreport.buses.redis import RedisBus

        return RedisBus(settings.redis_url, key_prefix=settings.redis_prefix)
    from coreport.buses.local import LocalBus

    return LocalBus()


def make_presence(settings: Settings) -> PresenceRegistry:
    if settings.redis_url:
        from coreport.buses.presence_redis import RedisPresence

        return RedisPresence(
            settings.redis_url, key_prefix=settings.redis_prefix, ttl=settings.presence_ttl_seconds
        )
    from coreport.buses.presence_local import LocalPresence

    return LocalPresence(ttl=settings.presence_ttl_seconds)


def room_policy(settings: Settings) -> RoomPolicy:
    return RoomPolicy(
        idle_unload_seconds=settings.room_idle_seconds,
        rest_after_seconds=settings.room_rest_seconds,
        awareness_interval_seconds=settings.awareness_interval_seconds,
        compact_every_updates=settings.compact_every_updates,
        compact_log_ratio=settings.compact_log_ratio,
        compact_max_updates=max(settings.compact_max_updates, settings.compact_every_updates),
        compact_max_age_seconds=settings.compact_max_age_seconds,
        catch_up_seconds=settings.catch_up_seconds,
    )


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    bus: Bus | None = None,
    presence: PresenceRegistry | None = None,
    clock: Clock | None = None,
    access_store: AccessStore | None = None,
    run_store: RunStore | None = None,
    report_store: ReportStore | None = None,
    on_ready: Callable[[], None] | None = None,
) -> Starlette:
    """Build the ASGI app. ``store`` and ``bus`` default to what the settings name; tests
    pass their own (e.g. one LocalBus shared by two apps to act as two instances)."""
    settings = settings or Settings()
    auth = AuthConfig.from_settings(settings)
    instance = settings.instance_id or (
        f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )
    metrics = Metrics()
    chosen_store = store or make_store(settings)
    chosen_bus = bus or make_bus(settings)
    registry = presence or make_presence(settings)
    clock = clock or SystemClock()
    # Automatic report versions follow the updates this instance commits.
    activity = EditActivity(clock)
    cork = SendCork()
    rooms = Rooms(
        activity.observe(chosen_store),
        chosen_bus,
        metrics,
        clock,
        instance=instance,
        policy=room_policy(settings),
        cork=cork,
        # An in-process bus made here has no other instance on it (tests that stand for
        # several instances pass one bus to each app).
        fan_out=bus is not None or bool(settings.redis_url),
    )
    tracker = PresenceTracker(
        registry,
        clock,
        metrics,
        instance=instance,
        refresh_seconds=settings.presence_ttl_seconds / 3,
    )
    chosen_access_store = access_store or make_access_store(settings)
    access = AccessService(
        chosen_access_store,
        clock,
        chosen_bus,
        session_seconds=settings.session_days * 24 * 3600,
    )
    live = LiveAccess(access, chosen_bus, clock, recheck_seconds=settings.access_recheck_seconds)
    chosen_run_store = run_store or make_run_store(settings)
    chosen_report_store = report_store or make_report_store(settings)
    runs = RunService(chosen_run_store, chosen_bus, clock)
    version_policy = VersionPolicy(
        quiet_seconds=settings.version_quiet_seconds,
        active_seconds=settings.version_active_seconds,
    )
    versions = ReportVersions(
        chosen_report_store, rooms, runs, clock, activity, policy=version_policy
    )
    service = Service(
        settings,
        chosen_store,
        chosen_bus,
        metrics,
        rooms,
        registry,
        tracker,
        instance,
        access=access,
        auth=auth,
        live=live,
        runs=runs,
        reports=ReportService(chosen_report_store, rooms, access, versions, runs, clock),
        cork=cork,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            parts = (
                chosen_store,
                chosen_access_store,
                chosen_run_store,
                chosen_report_store,
                chosen_bus,
                registry,
            )
            for part in parts:
                await part.open()
                stack.push_async_callback(part.close)
            secret = settings.secret_key.encode() if settings.secret_key else None
            await access.start(secret)
            if not auth.enabled:
                log.warning(
                    "COREPORT_INSECURE_NO_AUTH=1: authentication is OFF; every request acts "
                    "as an administrator. Never expose this server to a network."
                )
            await stack.enter_async_context(rooms)
            await stack.enter_async_context(versions)
            await stack.enter_async_context(tracker)
            await stack.enter_async_context(live)
            if on_ready is not None:
                on_ready()
            yield
            await _close_sessions(service)

    routes = [
        Route("/healthz", ops.healthz),
        Route("/readyz", ops.readyz),
        Route("/metrics", ops.metrics),
        Route("/api/reports/{report_id}/presence", presence_api.presence),
        *access_api.routes,
        *reports_api.routes,
        *comments_api.routes,
        *runs_api.routes,
        *embed_api.routes,
        Mount("/", app=Frontend(Path(__file__).parent / "static")),
    ]
    guard = Middleware(
        AccessMiddleware,
        access=access,
        config=auth,
        connects=AddressLimiter(settings.connects_per_minute, clock.now),
    )
    # Document sockets are served right behind the access check (web/ws.py).
    sockets = Middleware(ws.DocumentSockets, service=service)
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[guard, sockets])
    app.state.service = service
    return app


async def _close_sessions(service: Service, grace_seconds: float = 5.0) -> None:
    """Ask every client to reconnect elsewhere (1012), then let their sessions end."""
    service.stopping = True
    sessions = list(service.sessions)
    for session in sessions:
        session.close(codes.SERVICE_RESTART, "server shutting down")
    if not sessions:
        return
    waits = [asyncio.create_task(s.finished()) for s in sessions]
    _, pending = await asyncio.wait(waits, timeout=grace_seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*waits, return_exceptions=True)
