"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from coreport.web.app import Service


async def healthz(request: Request) -> Response:
    """The process is alive and its event loop answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The store and the bus are usable now; 503 with the failing part otherwise."""
    service: Service = request.app.state.service
    checks: dict[str, str] = {}
    for name, part in (("store", service.store), ("bus", service.bus)):
        try:
            await part.ping()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {exc}"
    ready = all(v == "ok" for v in checks.values()) and not service.stopping
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> Response:
    service: Service = request.app.state.service
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
