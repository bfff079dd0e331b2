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
    """Whether this instance should get traffic, with the state of the store and the bus.

    No store (or shutting down): 503 "not ready", since nothing can be written. No bus:
    200 "degraded": the instance still stores and serves every edit, and other instances'
    edits reach it through the store on its catch-up timer. Every instance shares the one
    bus, so failing readiness for it would take the whole service out.
    """
    service: Service = request.app.state.service
    checks: dict[str, str] = {}
    for name, part in (("store", service.store), ("bus", service.bus)):
        try:
            await part.ping()
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"error: {exc}"
    if checks["store"] != "ok" or service.stopping:
        status, code = "not ready", 503
    elif checks["bus"] != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ready", 200
    return JSONResponse({"status": status, "checks": checks}, status_code=code)


async def metrics(request: Request) -> Response:
    service: Service = request.app.state.service
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
