"""REST routes of the Report API: reports, their blocks and renderings, versions, and which
reports use a run.

Mounted by the app factory (``routes``); the handlers use the instance's
:class:`~coreport.reports.service.ReportService` at ``app.state.service.reports``. What a
route needs (view, edit, manage) is declared in :mod:`coreport.access.policy` and enforced
before the handler runs. Bodies are the block models of :mod:`coreport.reports.blocks`;
the routes are described with examples in docs/report-api.md.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from coreport.access.model import Principal, User
from coreport.ports import StoreError
from coreport.reports.blocks import BLOCKS, Block, Report
from coreport.reports.convert import BlockConflict, BlockPositionError
from coreport.reports.ports import ReportInfo, RunUse, VersionInfo
from coreport.reports.service import ReportNotFound, ReportService, VersionNotFound
from coreport.runs.ports import RunNotFound
from coreport.sync.room import RoomBroken
from coreport.web.auth import principal_of
from coreport.web.rest import ApiError, error_response, invalid, parse_query, read_json

log = logging.getLogger(__name__)

_BODY = 8 * 1024 * 1024

Handler = Callable[[Request], Awaitable[Response]]


class BlocksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    blocks: list[Block]
    #: Block position to insert at; absent: append.
    index: Annotated[int, Field(ge=0)] | None = None


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: str | None = None
    q: Annotated[str, Field(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    offset: Annotated[int, Field(ge=0)] = 0


class DiffQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The later version; absent: the report as it is now.
    to: str | None = None


def reports_of(request: Request) -> ReportService:
    reports: ReportService = request.app.state.service.reports
    return reports


def errors(handler: Handler) -> Handler:
    """Turn domain and storage errors into JSON answers (the one place that does)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except ReportNotFound:
            return error_response(404, "unknown report")
        except (VersionNotFound, RunNotFound) as exc:
            return error_response(404, str(exc))
        except BlockConflict as exc:
            return error_response(409, str(exc))
        except BlockPositionError as exc:
            return invalid(["body", "index"], str(exc)).response()
        except (StoreError, RoomBroken) as exc:
            log.error("%s %s: storage failed: %s", request.method, request.url.path, exc)
            return error_response(
                503, "storage is unavailable, retry", headers={"retry-after": "1"}
            )

    return wrapped


async def owner_of(request: Request, principal: Principal) -> User:
    """The user a new report belongs to (without sign-in: the local administrator)."""
    if principal.user is not None:
        return principal.user
    if principal.via == "insecure":
        return await reports_of(request).access.local_admin()
    raise ApiError(403, "a share link cannot create reports")


def report_url(request: Request, report_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/r/{report_id}"


def info_json(request: Request, info: ReportInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "project": info.project,
        "url": report_url(request, info.id),
        "created_by": info.created_by,
        "created_at": info.created_at.isoformat(),
        "updated_at": info.updated_at.isoformat(),
    }


def blocks_json(blocks: Sequence[Block]) -> list[Any]:
    dumped: list[Any] = BLOCKS.dump_python(list(blocks), mode="json")
    return dumped


def version_json(version: VersionInfo) -> dict[str, Any]:
    return {
        "id": version.id,
        "number": version.number,
        "kind": version.kind,
        "name": version.name,
        "title": version.title,
        "created_by": version.created_by,
        "created_at": version.created_at.isoformat(),
        "runs": version.run_count,
    }


def use_json(request: Request, use: RunUse) -> dict[str, Any]:
    return {
        "id": use.report_id,
        "project": use.project,
        "title": use.title,
        "url": report_url(request, use.report_id),
        "version_id": use.version_id,
        "version_number": use.version_number,
        "versioned_at": use.versioned_at.isoformat(),
        "explicit": use.explicit,
    }


def _id(request: Request) -> str:
    report_id: str = request.path_params["report_id"]
    return report_id


# -- reports -------------------------------------------------------------------------


@errors
async def create_report(request: Request) -> Response:
    report = await read_json(request, Report, max_bytes=_BODY)
    owner = await owner_of(request, principal_of(request))
    info = await reports_of(request).create(report, owner)
    return JSONResponse(
        {"id": info.id, "url": report_url(request, info.id)},
        status_code=201,
        headers={"location": f"/api/reports/{info.id}"},
    )


@errors
async def list_reports(request: Request) -> Response:
    query = parse_query(request, ListQuery)
    found, total = await reports_of(request).list_reports(
        principal_of(request),
        project=query.project,
        query=query.q,
        limit=query.limit,
        offset=query.offset,
    )
    return JSONResponse({"reports": [info_json(request, i) for i in found], "total": total})


@errors
async def get_report(request: Request) -> Response:
    content = await reports_of(request).read(_id(request))
    return JSONResponse(
        {
            **info_json(request, content.info),
            "title": content.title,
            "blocks": blocks_json(content.blocks),
        }
    )


@errors
async def get_markdown(request: Request) -> Response:
    text = await reports_of(request).markdown(_id(request))
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@errors
async def get_html(request: Request) -> Response:
    return HTMLResponse(await reports_of(request).html(_id(request)))


@errors
async def add_blocks(request: Request) -> Response:
    body = await read_json(request, BlocksIn, max_bytes=_BODY)
    written = await reports_of(request).add_blocks(_id(request), body.blocks, body.index)
    return JSONResponse({"blocks": blocks_json(written)})


@errors
async def clone_report(request: Request) -> Response:
    owner = await owner_of(request, principal_of(request))
    info = await reports_of(request).clone(_id(request), owner)
    return JSONResponse(
        {"id": info.id, "url": report_url(request, info.id)},
        status_code=201,
        headers={"location": f"/api/reports/{info.id}"},
    )


@errors
async def delete_report(request: Request) -> Response:
    await reports_of(request).delete(_id(request))
    return Response(status_code=204)


# -- versions ------------------------------------------------------------------------


@errors
async def take_version(request: Request) -> Response:
    body = await read_json(request, VersionIn, max_bytes=64 * 1024)
    version = await reports_of(request).take_version(
        _id(request), body.name, principal_of(request).user_id
    )
    return JSONResponse(version_json(version), status_code=201)


@errors
async def list_versions(request: Request) -> Response:
    versions = await reports_of(request).list_versions(_id(request))
    return JSONResponse({"versions": [version_json(v) for v in versions]})


@errors
async def get_version(request: Request) -> Response:
    content = await reports_of(request).version(_id(request), request.path_params["version_id"])
    return JSONResponse(
        {
            **version_json(content.info),
            "title": content.title,
            "blocks": blocks_json(content.blocks),
            "markdown": content.markdown,
            "run_refs": [
                {"run_id": ref.run_id, "explicit": ref.explicit} for ref in content.stored.runs
            ],
        }
    )


@errors
async def restore_version(request: Request) -> Response:
    version = await reports_of(request).restore(
        _id(request), request.path_params["version_id"], principal_of(request).user_id
    )
    return JSONResponse(version_json(version), status_code=201)


@errors
async def diff_versions(request: Request) -> Response:
    query = parse_query(request, DiffQuery)
    text = await reports_of(request).diff(_id(request), request.path_params["version_id"], query.to)
    return PlainTextResponse(text, media_type="text/x-diff; charset=utf-8")


# -- runs ----------------------------------------------------------------------------


@errors
async def reports_using_run(request: Request) -> Response:
    principal = principal_of(request)
    reports = reports_of(request)
    await reports.runs.get_run(request.path_params["run_id"])  # unknown run: 404
    uses = await reports.store.reports_using(request.path_params["run_id"])
    if not principal.admin:
        uses = [
            use
            for use in uses
            if (await reports.access.role_on(principal, use.report_id)).role is not None
        ]
    return JSONResponse({"reports": [use_json(request, use) for use in uses]})


routes: list[BaseRoute] = [
    Route("/api/reports", create_report, methods=["POST"]),
    Route("/api/reports", list_reports, methods=["GET"]),
    Route("/api/reports/{report_id}", get_report, methods=["GET"]),
    Route("/api/reports/{report_id}", delete_report, methods=["DELETE"]),
    Route("/api/reports/{report_id}/markdown", get_markdown, methods=["GET"]),
    Route("/api/reports/{report_id}/html", get_html, methods=["GET"]),
    Route("/api/reports/{report_id}/blocks", add_blocks, methods=["POST"]),
    Route("/api/reports/{report_id}/clone", clone_report, methods=["POST"]),
    Route("/api/reports/{report_id}/versions", take_version, methods=["POST"]),
    Route("/api/reports/{report_id}/versions", list_versions, methods=["GET"]),
    Route("/api/reports/{report_id}/versions/{version_id}", get_version, methods=["GET"]),
    Route(
        "/api/reports/{report_id}/versions/{version_id}/restore",
        restore_version,
        methods=["POST"],
    ),
    Route("/api/reports/{report_id}/versions/{version_id}/diff", diff_versions, methods=["GET"]),
    Route("/api/runs/{run_id}/reports", reports_using_run, methods=["GET"]),
]
