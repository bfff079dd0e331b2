"""The built frontend: files, client-side routes, and 404s where a file was expected."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from coreport.web.static import Frontend


@pytest.fixture
def client(tmp_path: Path) -> httpx.AsyncClient:
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "main.js").write_text("console.log(1)")
    app = Starlette(routes=[Mount("/", app=Frontend(tmp_path))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t")


async def test_files_and_client_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/assets/main.js")).text == "console.log(1)"
    page = await client.get("/r/abc123")
    assert page.status_code == 200
    assert "<title>app</title>" in page.text


async def test_missing_asset_and_unknown_api_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/assets/old-1234.js")).status_code == 404
    missing = await client.get("/api/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"].startswith("no such endpoint")


async def test_unbuilt_frontend_explains_itself(tmp_path: Path) -> None:
    app = Starlette(routes=[Mount("/", app=Frontend(tmp_path / "missing"))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        page = await c.get("/")
    assert "has not been built" in page.text
