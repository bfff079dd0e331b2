"""Comment threads over REST through the real app: edits of the comments document."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pycrdt import Doc, Map
from starlette.applications import Starlette

from coreport.settings import Settings
from coreport.sync.names import comments_doc
from tests.support.runs import client_of, instance_settings, runs_app


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return runs_app(instance_settings(tmp_path))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


@pytest.fixture
async def report(client: httpx.AsyncClient) -> str:
    grid = {
        "type": "panel_grid",
        "panels": [{"id": "p1", "type": "line", "metrics": ["loss"]}],
        "runsets": [{"name": "all"}],
    }
    response = await client.post(
        "/api/reports",
        json={
            "title": "T",
            "project": "p",
            "blocks": [{"type": "paragraph", "text": "loss goes down, loss goes up"}, grid],
        },
    )
    assert response.status_code == 201
    report_id: str = response.json()["id"]
    return report_id


async def test_threads_are_started_replied_to_resolved_and_reopened(
    client: httpx.AsyncClient, report: str
) -> None:
    base = f"/api/reports/{report}/comments"
    started = await client.post(base, json={"text": "Nice", "mentions": ["ada"]})
    assert started.status_code == 201, started.text
    thread = started.json()
    assert thread["anchor"] == {"kind": "report"}
    assert thread["created_by"] == "local"
    assert [(c["author"], c["text"], c["mentions"]) for c in thread["comments"]] == [
        ("local", "Nice", ["ada"])
    ]

    reply = await client.post(f"{base}/{thread['id']}/replies", json={"text": "Thanks"})
    assert reply.status_code == 201
    assert reply.json()["text"] == "Thanks"

    resolved = await client.post(f"{base}/{thread['id']}/resolve")
    assert resolved.json()["resolved"] is True
    assert resolved.json()["resolved_by"] == "local"
    assert (await client.get(base, params={"resolved": "false"})).json() == {"threads": []}
    everything = (await client.get(base)).json()["threads"]
    assert [len(t["comments"]) for t in everything] == [2]

    reopened = await client.post(f"{base}/{thread['id']}/reopen")
    assert reopened.json()["resolved"] is False
    open_threads = (await client.get(base, params={"resolved": "false"})).json()["threads"]
    assert [t["id"] for t in open_threads] == [thread["id"]]
    one = await client.get(f"{base}/{thread['id']}")
    assert one.json()["id"] == thread["id"]


async def test_text_and_panel_anchors(client: httpx.AsyncClient, report: str) -> None:
    base = f"/api/reports/{report}/comments"
    on_text = await client.post(
        base, json={"text": "why?", "anchor": {"kind": "text", "quote": "loss", "occurrence": 1}}
    )
    assert on_text.status_code == 201, on_text.text
    anchor = on_text.json()["anchor"]
    assert anchor["kind"] == "text"
    assert anchor["quote"] == "loss"
    assert base64.urlsafe_b64decode(anchor["rel_start"])
    assert base64.urlsafe_b64decode(anchor["rel_end"])

    on_panel = await client.post(
        base, json={"text": "odd", "anchor": {"kind": "panel", "panel_id": "p1"}}
    )
    assert on_panel.json()["anchor"] == {"kind": "panel", "panel_id": "p1"}

    missing_quote = await client.post(
        base, json={"text": "x", "anchor": {"kind": "text", "quote": "loss", "occurrence": 2}}
    )
    assert missing_quote.status_code == 422
    assert missing_quote.json()["detail"][0]["loc"] == ["body", "anchor", "quote"]
    missing_panel = await client.post(
        base, json={"text": "x", "anchor": {"kind": "panel", "panel_id": "nope"}}
    )
    assert missing_panel.json()["detail"][0]["loc"] == ["body", "anchor", "panel_id"]
    incomplete = await client.post(base, json={"text": "x", "anchor": {"kind": "text"}})
    assert incomplete.status_code == 422
    assert len((await client.get(base)).json()["threads"]) == 2


async def test_bad_input_and_unknown_things(client: httpx.AsyncClient, report: str) -> None:
    base = f"/api/reports/{report}/comments"
    empty = await client.post(base, json={"text": ""})
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body", "text"]
    blank = await client.post(base, json={"text": "   "})
    assert blank.status_code == 422
    assert (await client.post(f"{base}/nothread/replies", json={"text": "x"})).status_code == 404
    assert (await client.post(f"{base}/nothread/resolve")).status_code == 404
    assert (await client.get(f"{base}/nothread")).status_code == 404
    unknown = await client.get("/api/reports/nothere/comments")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "unknown report"}
    assert (await client.get(base)).json() == {"threads": []}


async def test_a_key_holders_comments_carry_their_name(tmp_path: Path) -> None:
    """Readers who never met a CI bot see its name: the API writes the author's key of the
    comments document's ``names`` map, as the web app does; a caller without a user
    writes none."""
    app = runs_app(Settings(data_dir=tmp_path))  # sign-in required
    async with client_of(app) as client:
        access = app.state.service.access
        bot = await access.add_user("nightly-ci")
        _, token = await access.create_key(bot)
        headers = {"authorization": f"Bearer {token}"}
        created = await client.post(
            "/api/reports", json={"title": "T", "project": "p", "blocks": []}, headers=headers
        )
        report_id = created.json()["id"]
        base = f"/api/reports/{report_id}/comments"
        thread = (await client.post(base, json={"text": "ran"}, headers=headers)).json()
        await client.post(f"{base}/{thread['id']}/replies", json={"text": "again"}, headers=headers)

        rooms = app.state.service.reports.rooms
        names = await rooms.read(comments_doc(report_id), names_of)
        assert names == {bot.id: "nightly-ci"}
        assert thread["created_by"] == bot.id


async def test_no_name_is_written_for_a_caller_without_a_user(
    client: httpx.AsyncClient, app: Starlette, report: str
) -> None:
    await client.post(f"/api/reports/{report}/comments", json={"text": "anonymous"})
    rooms = app.state.service.reports.rooms
    assert await rooms.read(comments_doc(report), names_of) == {}


def names_of(doc: Doc) -> dict[str, str]:
    return dict(doc.get("names", type=Map).items())
