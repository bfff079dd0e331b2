"""The Report API through the real app: reports, blocks, renderings, versions and the
reports that use a run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from coreport.reports.service import ReportService
from coreport.reports.versions import VersionPolicy
from coreport.settings import Settings
from tests.support.runs import client_of, instance_settings, runs_app

HELLO = {"type": "paragraph", "text": "hello world"}


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return runs_app(instance_settings(tmp_path))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as client:
        yield client


def reports(app: Starlette) -> ReportService:
    service: ReportService = app.state.service.reports
    return service


async def create(client: httpx.AsyncClient, **body: Any) -> str:
    body.setdefault("title", "Results")
    body.setdefault("project", "mnist")
    body.setdefault("blocks", [HELLO])
    response = await client.post("/api/reports", json=body)
    assert response.status_code == 201, response.text
    report_id: str = response.json()["id"]
    assert response.json()["url"].endswith(f"/r/{report_id}")
    return report_id


def texts(report: dict[str, Any]) -> list[str]:
    return [
        "".join(span["text"] for span in block.get("text", []))
        for block in report["blocks"]
        if block["type"] in ("paragraph", "heading")
    ]


async def test_a_created_report_reads_back_as_json_markdown_and_html(
    client: httpx.AsyncClient,
) -> None:
    report_id = await create(
        client,
        blocks=[{"type": "heading", "level": 2, "text": "Setup"}, HELLO, {"type": "divider"}],
    )
    report = (await client.get(f"/api/reports/{report_id}")).json()
    assert report["id"] == report_id
    assert report["title"] == "Results"
    assert report["project"] == "mnist"
    assert [b["type"] for b in report["blocks"]] == ["heading", "paragraph", "divider"]
    assert report["created_at"]
    assert report["updated_at"]

    markdown = await client.get(f"/api/reports/{report_id}/markdown")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Results\n\n## Setup\n\nhello world")

    html = await client.get(f"/api/reports/{report_id}/html")
    assert html.headers["content-type"].startswith("text/html")
    assert "<h1>Results</h1>" in html.text


async def test_invalid_blocks_are_422_with_their_locations(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/reports",
        json={"title": "x", "blocks": [HELLO, {"type": "heading", "level": 9, "text": "x"}]},
    )
    assert response.status_code == 422
    assert ["body", "blocks", 1, "heading", "level"] in [
        e["loc"] for e in response.json()["detail"]
    ]
    listed = (await client.get("/api/reports")).json()
    assert listed == {"reports": [], "total": 0}


async def test_unknown_reports_are_404(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/api/reports/nothere"),
        ("GET", "/api/reports/nothere/markdown"),
        ("GET", "/api/reports/nothere/versions"),
        ("POST", "/api/reports/nothere/clone"),
        ("DELETE", "/api/reports/nothere"),
        ("GET", "/api/reports/bad$id"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json() == {"error": "unknown report"}
    response = await client.post("/api/reports/nothere/blocks", json={"blocks": [HELLO]})
    assert response.status_code == 404


async def test_blocks_are_appended_or_inserted(client: httpx.AsyncClient) -> None:
    report_id = await create(client)
    appended = await client.post(
        f"/api/reports/{report_id}/blocks", json={"blocks": [{"type": "paragraph", "text": "end"}]}
    )
    assert appended.status_code == 200, appended.text
    inserted = await client.post(
        f"/api/reports/{report_id}/blocks",
        json={"blocks": [{"type": "paragraph", "text": "start"}], "index": 0},
    )
    assert inserted.status_code == 200
    report = (await client.get(f"/api/reports/{report_id}")).json()
    assert texts(report) == ["start", "hello world", "end"]

    too_far = await client.post(
        f"/api/reports/{report_id}/blocks", json={"blocks": [HELLO], "index": 9}
    )
    assert too_far.status_code == 422
    assert too_far.json()["detail"][0]["loc"] == ["body", "index"]


async def test_grid_ids_are_filled_and_a_clash_is_409(client: httpx.AsyncClient) -> None:
    grid = {
        "type": "panel_grid",
        "id": "g1",
        "runsets": [{"name": "all"}],
        "panels": [{"type": "line", "metrics": ["loss"]}],
    }
    report_id = await create(client, blocks=[grid])
    report = (await client.get(f"/api/reports/{report_id}")).json()
    written = report["blocks"][0]
    assert written["id"] == "g1"
    assert written["runsets"][0]["id"]
    assert written["panels"][0]["id"]
    assert written["runsets"][0]["project"] == "mnist"
    clash = await client.post(f"/api/reports/{report_id}/blocks", json={"blocks": [grid]})
    assert clash.status_code == 409


async def test_clone_copies_and_delete_removes(client: httpx.AsyncClient) -> None:
    report_id = await create(client)
    cloned = await client.post(f"/api/reports/{report_id}/clone")
    assert cloned.status_code == 201
    copy_id = cloned.json()["id"]
    assert copy_id != report_id
    copy = (await client.get(f"/api/reports/{copy_id}")).json()
    assert (copy["title"], texts(copy)) == ("Results", ["hello world"])

    assert (await client.delete(f"/api/reports/{report_id}")).status_code == 204
    assert (await client.get(f"/api/reports/{report_id}")).status_code == 404
    assert (await client.delete(f"/api/reports/{report_id}")).status_code == 404
    listed = (await client.get("/api/reports")).json()
    assert [r["id"] for r in listed["reports"]] == [copy_id]


async def test_reports_are_listed_by_project_and_title(client: httpx.AsyncClient) -> None:
    first = await create(client, title="Learning rate sweep", project="a")
    second = await create(client, title="Baseline", project="a")
    third = await create(client, title="Sweep of dropout", project="b")
    everything = (await client.get("/api/reports")).json()
    assert everything["total"] == 3
    assert [r["id"] for r in everything["reports"]] == [third, second, first]
    in_a = (await client.get("/api/reports", params={"project": "a"})).json()
    assert {r["id"] for r in in_a["reports"]} == {first, second}
    sweeps = (await client.get("/api/reports", params={"q": "SWEEP"})).json()
    assert {r["id"] for r in sweeps["reports"]} == {first, third}
    page = (await client.get("/api/reports", params={"limit": 1, "offset": 1})).json()
    assert page["total"] == 3
    assert [r["id"] for r in page["reports"]] == [second]
    bad = await client.get("/api/reports", params={"limit": 0})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_named_versions_can_be_viewed_diffed_and_restored(
    client: httpx.AsyncClient,
) -> None:
    report_id = await create(client)
    named = await client.post(f"/api/reports/{report_id}/versions", json={"name": "draft"})
    assert named.status_code == 201, named.text
    draft = named.json()
    assert (draft["number"], draft["kind"], draft["name"]) == (1, "named", "draft")

    await client.post(
        f"/api/reports/{report_id}/blocks", json={"blocks": [{"type": "paragraph", "text": "more"}]}
    )
    second = (
        await client.post(f"/api/reports/{report_id}/versions", json={"name": "final"})
    ).json()

    listed = (await client.get(f"/api/reports/{report_id}/versions")).json()["versions"]
    assert [v["name"] for v in listed] == ["final", "draft"]

    old = (await client.get(f"/api/reports/{report_id}/versions/{draft['id']}")).json()
    assert texts(old) == ["hello world"]
    assert old["markdown"] == "# Results\n\nhello world\n"

    diff = await client.get(
        f"/api/reports/{report_id}/versions/{draft['id']}/diff", params={"to": second["id"]}
    )
    assert diff.status_code == 200
    assert "+more" in diff.text.splitlines()
    assert diff.text.startswith("--- version 1\n+++ version 2\n")

    restored = await client.post(f"/api/reports/{report_id}/versions/{draft['id']}/restore")
    assert restored.status_code == 201
    assert (restored.json()["kind"], restored.json()["number"]) == ("restore", 3)
    current = (await client.get(f"/api/reports/{report_id}")).json()
    assert texts(current) == ["hello world"]
    unchanged = await client.get(f"/api/reports/{report_id}/versions/{draft['id']}/diff")
    assert unchanged.text == ""

    missing = await client.get(f"/api/reports/{report_id}/versions/nothere")
    assert missing.status_code == 404
    empty_name = await client.post(f"/api/reports/{report_id}/versions", json={"name": ""})
    assert empty_name.status_code == 422


async def test_automatic_versions_follow_bursts_of_edits(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    versions = reports(app).versions
    # Due as soon as anything changed; the background pass runs far too rarely to interfere.
    versions.policy = VersionPolicy(quiet_seconds=0, active_seconds=0, tick_seconds=3600)
    report_id = await create(client)
    taken = await versions.take_due()
    assert [(v.report_id, v.kind, v.number) for v in taken] == [(report_id, "auto", 1)]
    assert await versions.take_due() == []
    await client.post(f"/api/reports/{report_id}/blocks", json={"blocks": [HELLO]})
    assert [v.number for v in await versions.take_due()] == [2]


async def test_versions_record_the_runs_a_report_uses(client: httpx.AsyncClient) -> None:
    async def run(**body: Any) -> str:
        response = await client.post("/api/projects/mnist/runs", json=body)
        assert response.status_code == 201
        run_id: str = response.json()["id"]
        return run_id

    baseline = await run(name="base", tags=["baseline"])
    other = await run(name="other")
    named = await run(name="named")
    grid = {
        "type": "panel_grid",
        "runsets": [
            {"name": "baselines", "filters": ["tag=baseline"]},
            {"name": "picked", "run_ids": [named]},
        ],
        "panels": [{"type": "line", "metrics": ["loss"]}],
    }
    report_id = await create(client, title="Runs", blocks=[grid])
    version = await client.post(f"/api/reports/{report_id}/versions", json={"name": "v"})
    assert version.json()["runs"] == 2
    detail = (await client.get(f"/api/reports/{report_id}/versions/{version.json()['id']}")).json()
    assert sorted((r["run_id"], r["explicit"]) for r in detail["run_refs"]) == sorted(
        [(baseline, False), (named, True)]
    )

    using = (await client.get(f"/api/runs/{baseline}/reports")).json()["reports"]
    assert [(u["id"], u["title"], u["explicit"]) for u in using] == [(report_id, "Runs", False)]
    assert (await client.get(f"/api/runs/{other}/reports")).json() == {"reports": []}
    assert (await client.get("/api/runs/nothere/reports")).status_code == 404

    await client.delete(f"/api/reports/{report_id}")
    assert (await client.get(f"/api/runs/{named}/reports")).json() == {"reports": []}


async def test_renderings_show_each_panels_data_per_run(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/projects/mnist/runs", json={"name": "lr-0.1", "summary": {"loss": 0.25}}
    )
    run_id = created.json()["id"]
    grid = {
        "type": "panel_grid",
        "runsets": [{"name": "picked", "run_ids": [run_id, "gone"]}],
        "panels": [
            {"type": "line", "title": "Loss", "metrics": ["loss"]},
            {"type": "markdown", "markdown": "notes"},
        ],
    }
    report_id = await create(client, blocks=[grid])
    markdown = (await client.get(f"/api/reports/{report_id}/markdown")).text
    assert "| run | state | loss |\n| --- | --- | --- |\n| lr-0.1 | running | 0.25 |" in markdown
    html = (await client.get(f"/api/reports/{report_id}/html")).text
    assert "lr-0.1" in html
    assert "0.25" in html


async def test_listings_show_only_what_the_caller_may_view(tmp_path: Path) -> None:
    app = runs_app(Settings(data_dir=tmp_path))  # sign-in required
    async with client_of(app) as client:
        access = app.state.service.access

        async def key_of(name: str) -> dict[str, str]:
            _, token = await access.create_key(await access.add_user(name))
            return {"authorization": f"Bearer {token}"}

        ada, bob = await key_of("ada"), await key_of("bob")
        run = await client.post("/api/projects/p/runs", json={"name": "r"}, headers=ada)
        run_id = run.json()["id"]
        grid = {"type": "panel_grid", "runsets": [{"run_ids": [run_id]}], "panels": []}
        created = await client.post(
            "/api/reports", json={"title": "Ada's", "project": "p", "blocks": [grid]}, headers=ada
        )
        assert created.status_code == 201, created.text
        report_id = created.json()["id"]
        versioned = await client.post(
            f"/api/reports/{report_id}/versions", json={"name": "v"}, headers=ada
        )
        assert versioned.status_code == 201

        mine = (await client.get("/api/reports", headers=ada)).json()
        assert (mine["total"], mine["reports"][0]["id"]) == (1, report_id)
        assert (await client.get("/api/reports", headers=bob)).json() == {
            "reports": [],
            "total": 0,
        }
        uses = (await client.get(f"/api/runs/{run_id}/reports", headers=ada)).json()["reports"]
        assert [u["id"] for u in uses] == [report_id]
        hidden = await client.get(f"/api/runs/{run_id}/reports", headers=bob)
        assert hidden.json() == {"reports": []}
        assert (await client.get(f"/api/reports/{report_id}", headers=bob)).status_code == 403
        assert (await client.get("/api/reports")).status_code == 401


def test_automatic_version_timings_come_from_the_settings(tmp_path: Path) -> None:
    settings = instance_settings(tmp_path).model_copy(
        update={"version_quiet_seconds": 5.0, "version_active_seconds": 45.0}
    )
    policy = reports(runs_app(settings)).versions.policy
    assert (policy.quiet_seconds, policy.active_seconds) == (5.0, 45.0)
