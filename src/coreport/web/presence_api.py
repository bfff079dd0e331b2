"""``GET /api/reports/{report_id}/presence``: who is in a report, across every instance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coreport.sync.names import BadReportId, comments_doc, report_doc

if TYPE_CHECKING:
    from coreport.web.app import Service


async def presence(request: Request) -> Response:
    service: Service = request.app.state.service
    report_id = request.path_params["report_id"]
    try:
        docs = {report_doc(report_id): "report", comments_doc(report_id): "comments"}
    except BadReportId as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    try:
        entries = await service.presence_registry.list(list(docs))
    except Exception as exc:
        return JSONResponse({"error": f"presence unavailable: {exc}"}, status_code=503)
    return JSONResponse(
        {
            "report_id": report_id,
            "present": [
                {
                    "name": e.name,
                    "color": e.color,
                    "since": e.since,
                    "document": docs[e.doc],
                    "instance": e.instance,
                }
                for e in entries
            ],
        }
    )
