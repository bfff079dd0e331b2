"""Serves the built frontend, with index.html for client-side routes."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>coreport</title>
<h1>coreport is running</h1>
<p>The web app has not been built. Run <code>make run</code>, which builds it, or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>.</p>
<p>Yjs clients can connect now at <code>/ws/reports/&lt;report-id&gt;</code>.</p>"""


class Frontend:
    """An ASGI app: files of the built frontend; unknown paths get index.html so the
    app's own router can handle them; a short page when nothing is built."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._files: StaticFiles | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        index = self._directory / "index.html"
        if not index.is_file():
            await HTMLResponse(_NOT_BUILT)(scope, receive, send)
            return
        if self._files is None:
            self._files = StaticFiles(directory=self._directory, html=True)
        path: str = scope["path"]
        if path.startswith("/api/"):
            await JSONResponse({"error": f"no such endpoint: {path}"}, 404)(scope, receive, send)
            return
        if path != "/" and not (self._directory / path.lstrip("/")).is_file():
            if "." in path.rsplit("/", 1)[-1]:
                # A missing file (a stale page asking for an old asset) is a 404, not
                # index.html served as JavaScript.
                await PlainTextResponse("not found", 404)(scope, receive, send)
                return
            scope = {**scope, "path": "/"}
        await self._files(scope, receive, send)
