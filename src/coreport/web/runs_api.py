"""REST routes of runs: projects, runs, metric history, console logs, media, live stream.

Mounted by the app factory (``routes``); the handlers find the instance's
:class:`~coreport.runs.service.RunService` at ``app.state.service.runs``. Request and
response bodies are the models of :mod:`coreport.runs.schemas`; the filter syntax of the run
list is described in :mod:`coreport.runs.filters`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from coreport.ports import StoreError
from coreport.runs.filters import QueryError, parse_run_query
from coreport.runs.ports import MediaNotFound, RunExists, RunNotFound
from coreport.runs.schemas import (
    PROJECT_PATTERN,
    RUN_ID_PATTERN,
    HistoryBatch,
    HistoryQuery,
    LogBatch,
    LogsQuery,
    MediaQuery,
    MediaUpload,
    RunCreate,
    RunPatch,
    StreamQuery,
)
from coreport.runs.service import InvalidRunData, MediaTooLarge, RunService
from coreport.runs.views import (
    HistoryStoredOut,
    LogsStoredOut,
    MediaListOut,
    MediaOut,
    MetricKeysOut,
    ProjectListOut,
    ProjectOut,
    RunOut,
    RunPageOut,
)
from coreport.web.rest import (
    ApiError,
    error_response,
    invalid,
    model_response,
    parse_query,
    read_json,
)
from coreport.web.runs_stream import EventStream

log = logging.getLogger(__name__)

_PROJECT = re.compile(PROJECT_PATTERN)
_RUN_ID = re.compile(RUN_ID_PATTERN)
_SMALL_BODY = 1024 * 1024
_BATCH_BODY = 32 * 1024 * 1024

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling. Anonymous until access control exists (DESIGN.md §6)."""

    user_id: str | None = None


async def authorize(request: Request, action: Literal["read", "write"], project: str) -> Caller:
    """The seam for access control: who the caller is, and whether they may ``action`` runs
    of ``project``; raises :class:`ApiError` (401/403) if not.

    Every handler calls it before touching data. Today any caller may do anything here
    (sign-in itself is required in front of ``/api/`` by the access middleware, which is
    where the caller's identity will come from).
    """
    return Caller()


def runs_of(request: Request) -> RunService:
    """The instance's run service (``Service.runs``)."""
    runs: RunService = request.app.state.service.runs
    return runs


def _errors(handler: Handler) -> Handler:
    """Turn domain and storage errors into JSON answers (the one place that does)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except QueryError as exc:
            detail = [{"loc": list(p.loc), "msg": p.msg, "type": "filter"} for p in exc.problems]
            return error_response(422, "invalid filter", detail)
        except (RunNotFound, MediaNotFound) as exc:
            return error_response(404, str(exc))
        except RunExists as exc:
            return error_response(409, str(exc))
        except MediaTooLarge as exc:
            return error_response(413, str(exc))
        except InvalidRunData as exc:
            return invalid(["body", exc.field], str(exc)).response()
        except StoreError as exc:
            log.error("%s %s: storage failed: %s", request.method, request.url.path, exc)
            return error_response(
                503, "storage is unavailable, retry", headers={"retry-after": "1"}
            )

    return wrapped


def _project(request: Request) -> str:
    project: str = request.path_params["project"]
    if not _PROJECT.match(project):
        raise invalid(["path", "project"], "letters, digits, '_', '.', '-'; 1-128 characters")
    return project


def _named_run(request: Request, run_id: str = "") -> str:
    """The run id in the path (or ``run_id``); a malformed one names no run: 404."""
    run_id = run_id or request.path_params["run_id"]
    if not _RUN_ID.match(run_id):
        raise RunNotFound(run_id)
    return run_id


async def _run_id(request: Request, action: Literal["read", "write"], run_id: str = "") -> str:
    """The id of the run named by the path (or ``run_id``), once the caller may ``action``
    it (its project from memory once the service has seen the run)."""
    run_id = _named_run(request, run_id)
    await authorize(request, action, await runs_of(request).project_of(run_id))
    return run_id


@_errors
async def list_projects(request: Request) -> Response:
    projects = await runs_of(request).list_projects()
    # Access control will filter this list to the caller's projects.
    return model_response(ProjectListOut(projects=[ProjectOut.of(p) for p in projects]))


@_errors
async def create_run(request: Request) -> Response:
    project = _project(request)
    await authorize(request, "write", project)
    body = await read_json(request, RunCreate, max_bytes=_SMALL_BODY)
    run = await runs_of(request).create_run(project, body)
    return model_response(RunOut.of(run), 201, headers={"location": f"/api/runs/{run.id}"})


@_errors
async def list_runs(request: Request) -> Response:
    project = _project(request)
    await authorize(request, "read", project)
    query = parse_run_query(request.url.query)
    page = await runs_of(request).list_runs(project, query)
    end = query.offset + len(page.runs)
    return model_response(
        RunPageOut(
            runs=[RunOut.of(run) for run in page.runs],
            total=page.total,
            limit=query.limit,
            offset=query.offset,
            next_offset=end if end < page.total and page.runs else None,
        )
    )


@_errors
async def get_run(request: Request) -> Response:
    # The run itself is read anyway: its project comes with it.
    run = await runs_of(request).get_run(_named_run(request))
    await authorize(request, "read", run.project)
    return model_response(RunOut.of(run))


@_errors
async def patch_run(request: Request) -> Response:
    run_id = await _run_id(request, "write")
    body = await read_json(request, RunPatch, max_bytes=_SMALL_BODY)
    return model_response(RunOut.of(await runs_of(request).patch_run(run_id, body)))


@_errors
async def post_history(request: Request) -> Response:
    run_id = await _run_id(request, "write")
    body = await read_json(request, HistoryBatch, max_bytes=_BATCH_BODY)
    stored = await runs_of(request).log_history(run_id, body)
    return model_response(HistoryStoredOut(stored_steps=stored))


@_errors
async def get_history(request: Request) -> Response:
    run_id = await _run_id(request, "read")
    query = parse_query(request, HistoryQuery)
    return model_response(await runs_of(request).history(run_id, query))


@_errors
async def get_metric_keys(request: Request) -> Response:
    run_id = await _run_id(request, "read")
    keys = await runs_of(request).metric_keys(run_id)
    return model_response(MetricKeysOut(run_id=run_id, keys=keys))


@_errors
async def post_logs(request: Request) -> Response:
    run_id = await _run_id(request, "write")
    body = await read_json(request, LogBatch, max_bytes=_BATCH_BODY)
    first = await runs_of(request).log_lines(run_id, body)
    return model_response(LogsStoredOut(first_line=first, count=len(body.lines)))


@_errors
async def get_logs(request: Request) -> Response:
    run_id = await _run_id(request, "read")
    query = parse_query(request, LogsQuery)
    return model_response(await runs_of(request).logs(run_id, query))


@_errors
async def post_media(request: Request) -> Response:
    run_id = await _run_id(request, "write")
    runs = runs_of(request)
    # Base64 takes 4 bytes per 3, plus room for the other fields.
    limit = runs.limits.max_media_bytes * 4 // 3 + 64 * 1024
    body = await read_json(request, MediaUpload, max_bytes=limit)
    media = await runs.put_media(run_id, body)
    return model_response(MediaOut.of(media), 201)


@_errors
async def list_media(request: Request) -> Response:
    run_id = await _run_id(request, "read")
    query = parse_query(request, MediaQuery)
    items = await runs_of(request).list_media(run_id, query)
    return model_response(MediaListOut(media=[MediaOut.of(item) for item in items]))


@_errors
async def get_media(request: Request) -> Response:
    run_id = await _run_id(request, "read")
    info, data = await runs_of(request).get_media(run_id, request.path_params["media_id"])
    return Response(
        data,
        media_type=info.content_type,
        headers={
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'",
            "cache-control": "no-cache",
        },
    )


@_errors
async def stream(request: Request) -> Response:
    query = parse_query(request, StreamQuery)
    for run_id in query.runs:
        await _run_id(request, "read", run_id)
    return EventStream(runs_of(request).feed(query.runs))


routes: list[BaseRoute] = [
    Route("/api/projects", list_projects, methods=["GET"]),
    Route("/api/projects/{project}/runs", create_run, methods=["POST"]),
    Route("/api/projects/{project}/runs", list_runs, methods=["GET"]),
    # Before /api/runs/{run_id}, which would otherwise take "stream" for a run id.
    Route("/api/runs/stream", stream, methods=["GET"]),
    Route("/api/runs/{run_id}", get_run, methods=["GET"]),
    Route("/api/runs/{run_id}", patch_run, methods=["PATCH"]),
    Route("/api/runs/{run_id}/history", post_history, methods=["POST"]),
    Route("/api/runs/{run_id}/history", get_history, methods=["GET"]),
    Route("/api/runs/{run_id}/metrics", get_metric_keys, methods=["GET"]),
    Route("/api/runs/{run_id}/logs", post_logs, methods=["POST"]),
    Route("/api/runs/{run_id}/logs", get_logs, methods=["GET"]),
    Route("/api/runs/{run_id}/media", post_media, methods=["POST"]),
    Route("/api/runs/{run_id}/media", list_media, methods=["GET"]),
    Route("/api/runs/{run_id}/media/{media_id}", get_media, methods=["GET"]),
]
