"""``coreport`` commands. With ``web/app.py`` this is the composition root."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn

from coreport import __version__
from coreport.access.service import AccessService
from coreport.settings import Settings
from coreport.web.app import create_app
from coreport.web.wsproto import CoreportWebSocketProtocol

log = logging.getLogger("coreport")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coreport", description=__doc__)
    parser.add_argument("--version", action="version", version=f"coreport {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, help="data directory of the embedded default")
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser(
        "migrate", help="apply pending store migrations (serve also applies them at start)"
    )
    migrate.add_argument("--data-dir", type=Path, help="data directory of the embedded default")
    migrate.set_defaults(run=_migrate)

    users = commands.add_parser("users", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add", help="create a user; prints their first API key last")
    add.add_argument("name")
    add.add_argument("--email")
    add.add_argument("--admin", action="store_true", help="may do anything, on every report")
    add.add_argument("--data-dir", type=Path, help="data directory of the embedded default")
    add.set_defaults(run=_users_add)
    listing = users.add_parser("list", help="list users")
    listing.add_argument("--data-dir", type=Path, help="data directory of the embedded default")
    listing.set_defaults(run=_users_list)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = keys.add_parser("create", help="a new key for USER (id, email or name)")
    create.add_argument("user")
    create.add_argument("--label")
    create.add_argument("--expires-days", type=float, help="the key stops working after this")
    create.add_argument("--data-dir", type=Path, help="data directory of the embedded default")
    create.set_defaults(run=_keys_create)
    show = keys.add_parser("list", help="list keys (of USER, or everyone's)")
    show.add_argument("user", nargs="?")
    show.add_argument("--data-dir", type=Path, help="data directory of the embedded default")
    show.set_defaults(run=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke the key with this prefix (cpk_...)")
    revoke.add_argument("prefix")
    revoke.add_argument("--data-dir", type=Path, help="data directory of the embedded default")
    revoke.set_defaults(run=_keys_revoke)

    # report create|export and demo: clients of a running server, defined with the SDK.
    from coreport.client.commands import register as register_sdk_commands

    register_sdk_commands(commands)

    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


def _settings(args: argparse.Namespace, **names: str) -> Settings:
    overrides: dict[str, Any] = {
        field: getattr(args, attr)
        for field, attr in names.items()
        if getattr(args, attr, None) is not None
    }
    return Settings(**overrides)


def _migrate(args: argparse.Namespace) -> int:
    from coreport.ports import StoreError
    from coreport.stores import postgres, sqlite

    settings = _settings(args, data_dir="data_dir")
    try:
        if settings.database_url:
            applied = asyncio.run(postgres.migrate(settings.database_url))
        else:
            applied = asyncio.run(sqlite.migrate(settings.data_dir / "coreport.sqlite3"))
    except StoreError as exc:
        print(f"coreport migrate: {exc}", file=sys.stderr)
        return 1
    for name in applied:
        print(f"applied {name}")
    print("schema is up to date" if not applied else f"{len(applied)} migration(s) applied")
    return 0


def _access_command(
    args: argparse.Namespace, work: Callable[[AccessService], Awaitable[None]]
) -> int:
    """Run ``work`` against the access store the settings point at (as ``serve`` would)."""
    from coreport.access.model import AccessError
    from coreport.ports import BusError, StoreError
    from coreport.sync.clock import SystemClock
    from coreport.web.app import make_access_store

    settings = _settings(args, data_dir="data_dir")

    async def run() -> None:
        store = make_access_store(settings)
        bus = None
        if settings.redis_url:
            # Announce revocations to running servers at once (without Redis they notice
            # within COREPORT_ACCESS_RECHECK_SECONDS).
            from coreport.buses.redis import RedisBus

            bus = RedisBus(settings.redis_url, key_prefix=settings.redis_prefix)
            await bus.open()
        await store.open()
        try:
            await work(AccessService(store, SystemClock(), bus))
        finally:
            await store.close()
            if bus is not None:
                await bus.close()

    try:
        asyncio.run(run())
    except (AccessError, StoreError, BusError) as exc:
        print(f"coreport {args.command} {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _users_add(args: argparse.Namespace) -> int:
    async def work(access: AccessService) -> None:
        user = await access.add_user(args.name, email=args.email, admin=args.admin)
        key, secret = await access.create_key(user, label="first key")
        role = "admin" if user.admin else "user"
        print(f"created {role} {user.name} ({user.id}); API key {key.prefix} (shown only once):")
        print(secret)

    return _access_command(args, work)


def _users_list(args: argparse.Namespace) -> int:
    async def work(access: AccessService) -> None:
        for user in await access.store.list_users():
            admin = " admin" if user.admin else ""
            print(f"{user.id}  {user.name}  {user.email or '-'}{admin}")

    return _access_command(args, work)


def _keys_create(args: argparse.Namespace) -> int:
    async def work(access: AccessService) -> None:
        user = await access.user(args.user)
        expires = None
        if args.expires_days is not None:
            expires = access.now() + timedelta(days=args.expires_days)
        key, secret = await access.create_key(user, label=args.label, expires_at=expires)
        print(f"API key {key.prefix} for {user.name} (shown only once):")
        print(secret)

    return _access_command(args, work)


def _keys_list(args: argparse.Namespace) -> int:
    async def work(access: AccessService) -> None:
        owner = (await access.user(args.user)).id if args.user else None
        now = access.now()
        for key in await access.store.list_keys(owner):
            if key.revoked_at is not None:
                state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
            elif not key.usable_at(now):
                state = "expired"
            else:
                state = "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            print(f"{key.prefix}  {key.user_id}  {state}  last used {used}  {key.label or ''}")

    return _access_command(args, work)


def _keys_revoke(args: argparse.Namespace) -> int:
    async def work(access: AccessService) -> None:
        key = await access.revoke_key(args.prefix)
        print(f"revoked {key.prefix} (its browser sessions end too)")

    return _access_command(args, work)


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args, host="host", port="port", data_dir="data_dir")
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Bind first so the printed URL carries the real port, also for --port 0.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket names its protocol. Without it Nagle's algorithm and delayed ACKs
    # hold small relays back for tens of milliseconds.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        print(f"coreport: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 2
    sock.listen(2048)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    shown_host = f"[{settings.host}]" if family == socket.AF_INET6 else settings.host
    url = f"http://{shown_host}:{port}/"
    where = (settings.database_url and "PostgreSQL") or f"SQLite in {settings.data_dir.resolve()}"

    def ready() -> None:
        # The "listening" line comes last: whoever waits for it has read the others.
        print(f"coreport: storage {where}; bus {'Redis' if settings.redis_url else 'in-process'}")
        if settings.insecure_no_auth:
            print("coreport: WARNING: authentication is off (COREPORT_INSECURE_NO_AUTH=1)")
            hint = f"coreport: open {url} in a browser"
        elif not settings.database_url:
            # The embedded default: one click signs the person who started it in.
            token = app.state.service.access.signin_links.issue()
            link = f"{url}auth/signin?token={token}"
            print(f"coreport: sign in as the local admin (one-time link): {link}")
            hint = f"coreport: open {url} in a browser"
        else:
            hint = f"coreport: open {url}; sign in with an API key (coreport users add NAME)"
        _settle_heap()
        print(f"coreport listening on {url}", flush=True)
        print(hint, flush=True)

    try:
        app = create_app(settings, on_ready=ready)
    except ValueError as exc:
        sock.close()
        print(f"coreport: invalid setting: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(
        app,
        # uvicorn's sans-I/O websockets protocol (about 9 KiB less per open socket than the
        # legacy one, docs/performance.md, S4) with a direct send path for relays.
        ws=CoreportWebSocketProtocol,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,
        lifespan="on",
        # X-Forwarded-* are read by the access middleware, from COREPORT_TRUSTED_PROXIES only.
        proxy_headers=False,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    try:
        loop_factory = _loop_factory(settings.event_loop)
    except ImportError as exc:
        sock.close()
        print(f"coreport: COREPORT_EVENT_LOOP=uvloop but {exc}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(server.serve(sockets=[sock]))
    return 0


def _settle_heap() -> None:
    """Keep what start-up made out of the garbage collector's full collections.

    Modules, classes, settings and the app stay for the process's life, yet every full
    collection walks them all, on the event loop's thread: 60 ms with 200 rooms open
    (S3's load), against 15 ms with them frozen (docs/performance.md). The garbage of
    start-up is collected first so that nothing unreachable is frozen with them.
    """
    gc.collect()
    gc.freeze()


def _loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``coreport serve`` runs on; ``None`` is asyncio's default."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    return uvloop.new_event_loop


if __name__ == "__main__":
    sys.exit(main())
