"""Embed links against a real ``coreport serve`` process with auth on: an owner creates
panel and report embeds; the embed routes send what the embed displays and nothing else;
revoked, expired and unknown embeds are refused; the token opens nothing else (REST or
WebSocket); only the embed page may be framed; its live stream carries the panel's
metrics and ends when the link is revoked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from coreport.protocol import codes
from tests.support.server import ServerProcess
from tests.support.yclient import close_code

PROJECT = "embeds"
REPORT_TEXT = "Confidential findings paragraph"
COMMENT_TEXT = "Private remark in a thread"
FRAMERS = "https://wiki.example.com https://*.notion.so"


@dataclass
class World:
    server: ServerProcess
    key: str
    report_id: str
    run_id: str
    other_run_id: str

    def client(self, *, key: str | None = None) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=self.server.url, headers=headers, timeout=10)

    def owner(self) -> httpx.AsyncClient:
        return self.client(key=self.key)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    data = tmp_path_factory.mktemp("embed") / "data"
    added = subprocess.run(
        [sys.executable, "-m", "coreport", "users", "add", "Ada Owner", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    key = added.stdout.strip().splitlines()[-1]
    env = {"COREPORT_EMBED_FRAME_ANCESTORS": FRAMERS}
    with ServerProcess(data, auth=True, env=env) as started:
        yield started, key


@pytest.fixture
async def world(server: tuple[ServerProcess, str]) -> World:
    process, key = server
    async with httpx.AsyncClient(
        base_url=process.url, headers={"authorization": f"Bearer {key}"}, timeout=10
    ) as client:
        run_id = await new_run(client, "baseline", {"loss": 1.0, "acc": 0.5, "hidden": 7.0})
        other = await new_run(client, "elsewhere", {"loss": 9.0})
        created = await client.post(
            "/api/reports",
            json={
                "title": "Embedded sweep",
                "project": PROJECT,
                "blocks": [
                    {"type": "paragraph", "text": REPORT_TEXT},
                    {
                        "type": "panel_grid",
                        "runsets": [{"id": "rs1", "name": "Base", "run_ids": [run_id]}],
                        "panels": [
                            {
                                "id": "loss-panel",
                                "type": "line",
                                "title": "Loss",
                                "metrics": ["loss"],
                            },
                            {
                                "id": "acc-panel",
                                "type": "line",
                                "title": "Accuracy",
                                "metrics": ["acc"],
                            },
                            {"id": "table-panel", "type": "run_table", "metrics": ["acc"]},
                        ],
                    },
                ],
            },
        )
        assert created.status_code == 201, created.text
        report_id = created.json()["id"]
        commented = await client.post(
            f"/api/reports/{report_id}/comments", json={"text": COMMENT_TEXT}
        )
        assert commented.status_code == 201, commented.text
    return World(process, key, report_id, run_id, other)


async def new_run(client: httpx.AsyncClient, name: str, metrics: dict[str, float]) -> str:
    run = await client.post(
        f"/api/projects/{PROJECT}/runs", json={"name": name, "config": {"secret_lr": 0.123}}
    )
    assert run.status_code == 201, run.text
    run_id: str = run.json()["id"]
    rows = [
        {"step": step, "metrics": {k: v + step for k, v in metrics.items()}} for step in range(3)
    ]
    logged = await client.post(f"/api/runs/{run_id}/history", json={"rows": rows})
    assert logged.status_code == 200, logged.text
    return run_id


async def embed(world: World, scope: dict[str, Any], **extra: Any) -> dict[str, Any]:
    async with world.owner() as client:
        created = await client.post(
            f"/api/reports/{world.report_id}/links", json={"embed": scope, **extra}
        )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


# -- what an embed shows ---------------------------------------------------------------------


async def test_a_panel_embed_sends_only_what_the_panel_draws(world: World) -> None:
    link = await embed(world, {"panel_id": "loss-panel"})
    token = link["token"]
    assert token.startswith("cse_")
    assert link["role"] == "viewer"
    assert link["embed"] == {"kind": "panel", "panel_id": "loss-panel"}
    assert link["url"] == f"{world.server.url.rstrip('/')}/embed/{token}"
    async with world.client() as anonymous:
        shown = await anonymous.get(f"/api/embed/{token}")
    assert shown.status_code == 200, shown.text
    assert shown.headers["cache-control"] == "no-store"
    body = shown.json()
    assert body["kind"] == "panel"
    assert body["panel"]["id"] == "loss-panel"
    assert body["panel"]["metrics"] == ["loss"]
    assert [(r["id"], r["name"]) for r in body["runs"]] == [(world.run_id, "baseline")]
    assert body["series"][world.run_id]["loss"]["steps"] == [0, 1, 2]
    assert body["series"][world.run_id]["loss"]["values"] == [1.0, 2.0, 3.0]
    assert set(body["series"][world.run_id]) == {"loss"}
    assert body["live"] is True
    text = shown.text
    for absent in (
        REPORT_TEXT,  # the report's text
        COMMENT_TEXT,  # its comments
        "Embedded sweep",  # its title
        "acc-panel",  # other panels
        "Accuracy",
        '"acc"',  # other metrics of the same run
        "hidden",
        "secret_lr",  # run config
        world.other_run_id,  # runs the panel does not draw
        "Ada Owner",  # members
        world.report_id,
    ):
        assert absent not in text, absent


async def test_a_report_embed_renders_the_report_without_comments(world: World) -> None:
    link = await embed(world, {"report": True})
    assert link["embed"] == {"kind": "report"}
    async with world.client() as anonymous:
        shown = await anonymous.get(f"/api/embed/{link['token']}")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["kind"] == "report"
    assert body["title"] == "Embedded sweep"
    assert REPORT_TEXT in body["html"]
    for panel_id in ("loss-panel", "acc-panel", "table-panel"):
        assert f'data-panel-id="{panel_id}"' in body["html"]
    drawn = {view["panel"]["id"]: view for view in body["panels"]}
    assert set(drawn) == {"loss-panel", "acc-panel", "table-panel"}
    assert drawn["acc-panel"]["series"][world.run_id]["acc"]["values"] == [0.5, 1.5, 2.5]
    assert set(drawn["loss-panel"]["series"][world.run_id]) == {"loss"}
    # A run table shows each run's latest value: the last point, not the history.
    assert drawn["table-panel"]["series"][world.run_id] == {"acc": {"steps": [2], "values": [2.5]}}
    for absent in (COMMENT_TEXT, "Ada Owner", "secret_lr", "hidden", world.other_run_id):
        assert absent not in shown.text, absent


async def test_embeds_are_made_by_owners_for_panels_that_exist(world: World) -> None:
    async with world.owner() as client:
        path = f"/api/reports/{world.report_id}/links"
        missing = await client.post(path, json={"embed": {"panel_id": "nope"}})
        assert missing.status_code == 422
        assert missing.json()["detail"][0]["loc"] == ["body", "embed", "panel_id"]
        for wrong in ({}, {"report": True, "panel_id": "loss-panel"}, {"report": False}):
            refused = await client.post(path, json={"embed": wrong})
            assert refused.status_code == 422, wrong
        commenting = await client.post(
            path, json={"role": "commenter", "embed": {"panel_id": "loss-panel"}}
        )
        assert commenting.status_code == 422
        assert "read-only" in commenting.text
        listed = (await client.get(path)).json()["links"]
    # Refusals stored nothing; embed links are listed with the report's other links.
    assert all(li["embed"] is None or li["embed"]["kind"] in ("panel", "report") for li in listed)
    assert not any(li["embed"] == {"kind": "panel", "panel_id": "nope"} for li in listed)


# -- refusals --------------------------------------------------------------------------------


async def test_revoked_expired_unknown_and_deleted_embeds(world: World) -> None:
    revoked = await embed(world, {"panel_id": "loss-panel"})
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = await embed(world, {"report": True}, expires_at=past)
    async with world.owner() as owner:
        gone = await owner.delete(f"/api/reports/{world.report_id}/links/{revoked['prefix']}")
        assert gone.status_code == 200
        assert gone.json()["revoked_at"] is not None
    async with world.client() as anonymous:
        for token, status, message in (
            (revoked["token"], 410, "revoked"),
            (expired["token"], 410, "expired"),
            ("cse_00000000_" + "x" * 43, 404, "unknown embed link"),
            (revoked["token"][:-3] + "abc", 404, "unknown embed link"),
            ("not-a-token", 404, "unknown embed link"),
        ):
            for path in (f"/api/embed/{token}", f"/api/embed/{token}/stream"):
                answer = await anonymous.get(path)
                assert answer.status_code == status, (path, answer.text)
                assert message in answer.json()["error"]
    # A deleted report takes its embeds with it.
    lasting = await embed(world, {"report": True})
    async with world.owner() as owner:
        assert (await owner.delete(f"/api/reports/{world.report_id}")).status_code == 204
    async with world.client() as anonymous:
        answer = await anonymous.get(f"/api/embed/{lasting['token']}")
    assert answer.status_code == 410
    assert "deleted" in answer.json()["error"]


async def test_an_embed_token_opens_nothing_else(world: World) -> None:
    token = (await embed(world, {"report": True}))["token"]
    r = world.report_id
    async with world.client(key=token) as client:
        for method, path in (
            ("GET", f"/api/reports/{r}"),
            ("GET", f"/api/reports/{r}/html"),
            ("GET", f"/api/reports/{r}/comments"),
            ("GET", f"/api/reports/{r}/links"),
            ("POST", f"/api/reports/{r}/links"),
            ("GET", f"/api/runs/{world.run_id}/history"),
            ("GET", f"/api/runs/stream?runs={world.run_id}"),
            ("GET", "/api/reports"),
            ("GET", "/api/keys"),
        ):
            answer = await client.request(method, path, json={} if method == "POST" else None)
            assert answer.status_code == 403, (method, path, answer.text)
            assert "embed" in answer.json()["error"]
        # An embed acts for nobody: it is not a session either.
        assert (await client.get("/api/session")).status_code == 401
    for comments in ("", "/comments"):
        base = world.server.ws_base
        ws = await connect(f"{base}/{r}{comments}?token={token}")
        code, reason = await close_code(ws)
        assert code == codes.FORBIDDEN.code
        assert "embed" in reason


async def test_only_the_embed_page_may_be_framed(world: World) -> None:
    token = (await embed(world, {"panel_id": "loss-panel"}))["token"]
    async with world.client() as anonymous:
        page = await anonymous.get(f"/embed/{token}")
        app = await anonymous.get(f"/r/{world.report_id}")
        data = await anonymous.get(f"/api/embed/{token}")
    assert page.status_code == 200
    assert "x-frame-options" not in page.headers
    assert page.headers["content-security-policy"].endswith(f"frame-ancestors {FRAMERS}")
    assert page.headers["x-robots-tag"] == "noindex, nofollow"
    assert page.headers["referrer-policy"] == "same-origin"
    for other in (app, data):
        assert other.headers["x-frame-options"] == "DENY"
        assert other.headers["content-security-policy"].endswith("frame-ancestors 'none'")


# -- live ------------------------------------------------------------------------------------


async def test_the_live_stream_carries_the_panels_metrics_until_revoked(world: World) -> None:
    link = await embed(world, {"panel_id": "loss-panel"})
    async with (
        world.client() as anonymous,
        anonymous.stream("GET", f"/api/embed/{link['token']}/stream") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        await until_line(lines, ": subscribed")
        async with world.owner() as owner:
            logged = await owner.post(
                f"/api/runs/{world.run_id}/history",
                json={"rows": [{"step": 3, "metrics": {"acc": 9.0, "hidden": 1.0}}]},
            )
            assert logged.status_code == 200
            logged = await owner.post(
                f"/api/runs/{world.run_id}/history",
                json={"rows": [{"step": 4, "metrics": {"loss": 0.25, "acc": 9.5}}]},
            )
            assert logged.status_code == 200
            # The first row had none of the panel's metrics: the first event is the second.
            await until_line(lines, "event: history")
            data = json.loads((await until_line(lines, "data: "))[len("data: ") :])
            assert data == {
                "run_id": world.run_id,
                "rows": [{"step": 4, "metrics": {"loss": 0.25}}],
            }
            revoked = await owner.delete(f"/api/reports/{world.report_id}/links/{link['prefix']}")
            assert revoked.status_code == 200
        # Revoking ends the stream promptly.
        async with asyncio.timeout(5):
            async for _ in lines:
                pass


async def until_line(lines: Any, prefix: str) -> str:
    async with asyncio.timeout(10):
        async for line in lines:
            if line.startswith(prefix):
                return str(line)
    raise AssertionError(f"the stream ended before a line starting with {prefix!r}")
