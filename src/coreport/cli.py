"""``coreport`` commands. With ``web/app.py`` this is the composition root."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from coreport import __version__
from coreport.settings import Settings
from coreport.web.app import create_app

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


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args, host="host", port="port", data_dir="data_dir")
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Bind first so the printed URL carries the real port, also for --port 0.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
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
        print(f"coreport listening on {url}", flush=True)
        print(f"coreport: storage {where}; bus {'Redis' if settings.redis_url else 'in-process'}")
        print(f"coreport: open {url} in a browser", flush=True)

    app = create_app(settings, on_ready=ready)
    config = uvicorn.Config(
        app,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=False,
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
