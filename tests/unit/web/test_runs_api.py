"""The runs REST API through the real app (create_app, its lifespan, its store)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from coreport.runs.service import RunLimits
from coreport.stores.sqlite_runs import SQLiteRunStore
from tests.support.runs import client_of, instance_settings, runs_app

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
MEDIA_LIMIT = 1000


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = runs_app(instance_settings(tmp_path), limits=RunLimits(max_media_bytes=MEDIA_LIMIT))
    async with client_of(app) as client:
        yield client


async def new_run(client: httpx.AsyncClient, project: str = "p", **body: Any) -> str:
    response = await client.post(f"/api/projects/{project}/runs", json=body)
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    return run_id


async def log(client: httpx.AsyncClient, run_id: str, rows: list[dict[str, Any]]) -> httpx.Response:
    return await client.post(f"/api/runs/{run_id}/history", json={"rows": rows})


def locs(response: httpx.Response) -> list[list[str | int]]:
    return [error["loc"] for error in response.json()["detail"]]


async def test_a_run_is_created_read_and_counted_in_its_project(client: httpx.AsyncClient) -> None:
    body = {
        "name": "baseline",
        "config": {"lr": 0.1, "layers": [64, 64]},
        "tags": ["a", "b"],
        "code": {"git_commit": "0123abcd", "repository": "git@example.com:x.git"},
    }
    created = await client.post("/api/projects/vision/runs", json=body)
    assert created.status_code == 201
    run = created.json()
    assert created.headers["location"] == f"/api/runs/{run['id']}"
    assert (run["project"], run["name"], run["state"]) == ("vision", "baseline", "running")
    assert run["code"]["git_commit"] == "0123abcd"

    assert (await client.get(f"/api/runs/{run['id']}")).json() == run
    projects = (await client.get("/api/projects")).json()["projects"]
    assert [(p["name"], p["run_count"]) for p in projects] == [("vision", 1)]


async def test_a_chosen_id_can_be_created_once(client: httpx.AsyncClient) -> None:
    assert await new_run(client, id="my-run") == "my-run"
    again = await client.post("/api/projects/p/runs", json={"id": "my-run"})
    assert again.status_code == 409
    assert "my-run" in again.json()["error"]
    reserved = await client.post("/api/projects/p/runs", json={"id": "stream"})
    assert (reserved.status_code, locs(reserved)) == (422, [["body", "id"]])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/runs/nope"),
        ("PATCH", "/api/runs/nope"),
        ("POST", "/api/runs/nope/history"),
        ("GET", "/api/runs/nope/history"),
        ("GET", "/api/runs/nope/metrics"),
        ("POST", "/api/runs/nope/logs"),
        ("GET", "/api/runs/nope/logs"),
        ("POST", "/api/runs/nope/media"),
        ("GET", "/api/runs/nope/media"),
        ("GET", "/api/runs/nope/media/m1"),
        ("GET", "/api/runs/stream?runs=nope"),
        ("GET", "/api/runs/bad%20id"),
    ],
)
async def test_unknown_runs_are_404(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={})
    assert response.status_code == 404
    assert "no run" in response.json()["error"]


async def test_unknown_media_of_a_known_run_is_404(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    response = await client.get(f"/api/runs/{run_id}/media/m1")
    assert response.status_code == 404
    assert "no media" in response.json()["error"]


async def test_malformed_bodies(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    url = f"/api/runs/{run_id}/history"
    headers = {"content-type": "application/json"}
    broken = await client.post(url, content=b'{"rows": [', headers=headers)
    assert broken.status_code == 400
    assert "JSON" in broken.json()["error"]
    as_form = await client.post(url, content=b"rows=1", headers={"content-type": "text/plain"})
    assert as_form.status_code == 415
    not_an_object = await client.post(url, json=[1, 2])
    assert (not_an_object.status_code, locs(not_an_object)) == (422, [["body"]])
    unknown_field = await client.post("/api/projects/p/runs", json={"nmae": "typo"})
    assert (unknown_field.status_code, locs(unknown_field)) == (422, [["body", "nmae"]])
    bad_project = await client.post("/api/projects/-x/runs", json={})
    assert (bad_project.status_code, locs(bad_project)) == (422, [["path", "project"]])


@pytest.mark.parametrize(
    ("bad_row", "loc"),
    [
        ('{"step": 2, "metrics": {"loss": "0.5"}}', ["metrics", "loss"]),
        ('{"step": 2, "metrics": {"loss": true}}', ["metrics", "loss"]),
        ('{"step": 2, "metrics": {"loss": null}}', ["metrics", "loss"]),
        ('{"step": 2, "metrics": {"loss": NaN}}', ["metrics", "loss"]),
        ('{"step": 2, "metrics": {"loss": Infinity}}', ["metrics", "loss"]),
        ('{"step": 2, "metrics": {"loss": 1e999}}', ["metrics", "loss"]),
        ('{"step": 2, "metrics": {"loss": [1]}}', ["metrics", "loss"]),
        ('{"step": 2, "metrics": {}}', ["metrics"]),
        ('{"step": 2, "metrics": {"a,b": 1}}', ["metrics", "a,b", "[key]"]),
        ('{"step": -1, "metrics": {"loss": 1}}', ["step"]),
        ('{"step": 1.5, "metrics": {"loss": 1}}', ["step"]),
        ('{"step": "3", "metrics": {"loss": 1}}', ["step"]),
        ('{"metrics": {"loss": 1}}', ["step"]),
        ('{"step": 2, "metrics": {"loss": 1}, "extra": 1}', ["extra"]),
    ],
)
async def test_a_bad_row_rejects_the_whole_batch(
    client: httpx.AsyncClient, bad_row: str, loc: list[str]
) -> None:
    run_id = await new_run(client)
    good = '{"step": 0, "metrics": {"loss": 1.0}}, {"step": 1, "metrics": {"loss": 0.9}}'
    response = await client.post(
        f"/api/runs/{run_id}/history",
        content=f'{{"rows": [{good}, {bad_row}]}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert ["body", "rows", 2, *loc] in locs(response)
    history = (await client.get(f"/api/runs/{run_id}/history")).json()
    assert history["series"] == {}


async def test_a_huge_batch_is_refused_whole(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    rows = [{"step": i, "metrics": {"x": 1.0}} for i in range(10_001)]
    response = await log(client, run_id, rows)
    assert (response.status_code, locs(response)) == (422, [["body", "rows"]])
    assert (await client.get(f"/api/runs/{run_id}/history")).json()["series"] == {}
    assert (await log(client, run_id, rows[:10_000])).json() == {"stored_steps": 10_000}


async def test_a_retried_batch_does_not_duplicate(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    rows = [{"step": i, "metrics": {"loss": 1.0 / (i + 1)}} for i in range(50)]
    for _ in range(3):
        assert (await log(client, run_id, rows)).status_code == 200
    series = (await client.get(f"/api/runs/{run_id}/history?keys=loss")).json()["series"]
    assert series["loss"]["steps"] == list(range(50))
    assert series["loss"]["total_points"] == 50


async def test_history_is_downsampled_keeping_extremes(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    rows = [{"step": i, "metrics": {"loss": 1.0, "acc": i / 5000}} for i in range(5000)]
    rows[3333]["metrics"]["loss"] = 99.0
    await log(client, run_id, rows)

    out = (await client.get(f"/api/runs/{run_id}/history?keys=loss,acc&max_points=100")).json()
    assert out["max_points"] == 100
    loss = out["series"]["loss"]
    assert len(loss["steps"]) <= 100
    assert (loss["sampled"], loss["total_points"]) == (True, 5000)
    assert loss["values"][loss["steps"].index(3333)] == 99.0
    assert out["series"]["acc"]["values"][-1] == 4999 / 5000

    window = (await client.get(f"/api/runs/{run_id}/history?start_step=10&end_step=19")).json()
    assert sorted(window["series"]) == ["acc", "loss"]
    assert window["series"]["acc"]["steps"] == list(range(10, 20))

    bad = await client.get(f"/api/runs/{run_id}/history?max_points=1&start_step=x")
    assert bad.status_code == 422
    assert sorted(locs(bad)) == [["query", "max_points"], ["query", "start_step"]]


async def test_a_run_s_metric_names_come_without_its_series(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a panel editor offers: the names only, never a read of every point."""
    run_id = await new_run(client)
    empty = await client.get(f"/api/runs/{run_id}/metrics")
    assert empty.json() == {"run_id": run_id, "keys": []}
    await log(client, run_id, [{"step": 0, "metrics": {"loss": 1.0, "acc": 0.1}}])
    await log(client, run_id, [{"step": 1, "metrics": {"lr": 0.01}}])

    async def no_series(*args: object, **kwargs: object) -> None:
        raise AssertionError("the series were read")

    monkeypatch.setattr(SQLiteRunStore, "read_history", no_series)
    response = await client.get(f"/api/runs/{run_id}/metrics")
    assert response.status_code == 200
    assert response.json() == {"run_id": run_id, "keys": ["acc", "loss", "lr"]}


async def test_listing_filters_sorts_and_pages(client: httpx.AsyncClient) -> None:
    for i, loss in enumerate([0.9, 0.2, 0.5, 0.1]):
        run_id = await new_run(
            client,
            id=f"r{i}",
            config={"lr": 0.1 if i % 2 else 0.01},
            tags=["even"] if i % 2 == 0 else [],
        )
        await client.patch(f"/api/runs/{run_id}", json={"summary": {"loss": loss}})
    await client.patch("/api/runs/r3", json={"state": "finished"})

    async def listed(query: str) -> dict[str, Any]:
        response = await client.get(f"/api/projects/p/runs?{query}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert [r["id"] for r in (await listed("sort=summary.loss"))["runs"]] == [
        "r3",
        "r1",
        "r2",
        "r0",
    ]
    assert [r["id"] for r in (await listed("summary.loss<0.5&sort=name"))["runs"]] == ["r1", "r3"]
    assert [r["id"] for r in (await listed("config.lr=0.1&state=running"))["runs"]] == ["r1"]
    assert [r["id"] for r in (await listed("tag=even"))["runs"]] == ["r2", "r0"]

    page = await listed("sort=created&limit=3")
    assert ([r["id"] for r in page["runs"]], page["total"], page["next_offset"]) == (
        ["r0", "r1", "r2"],
        4,
        3,
    )
    last = await listed("sort=created&limit=3&offset=3")
    assert ([r["id"] for r in last["runs"]], last["next_offset"]) == (["r3"], None)

    bad = await client.get("/api/projects/p/runs?summary.loss<low&colour=red")
    assert bad.status_code == 422
    assert locs(bad) == [["query", "summary.loss"], ["query", "colour"]]


async def test_patch_merges_the_summary(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client, summary={"loss": 1.0, "acc": 0.1})
    patched = await client.patch(
        f"/api/runs/{run_id}",
        json={"summary": {"acc": None, "best": {"epoch": 3}}, "state": "failed"},
    )
    assert patched.status_code == 200
    assert (patched.json()["summary"], patched.json()["state"]) == (
        {"loss": 1.0, "best": {"epoch": 3}},
        "failed",
    )
    bad = await client.patch(f"/api/runs/{run_id}", json={"state": "paused"})
    assert (bad.status_code, locs(bad)) == (422, [["body", "state"]])
    nan = await client.patch(
        f"/api/runs/{run_id}",
        content=b'{"summary": {"loss": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert (nan.status_code, locs(nan)) == (422, [["body", "summary"]])


async def test_console_logs_page_and_retry(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    url = f"/api/runs/{run_id}/logs"
    first = await client.post(url, json={"lines": [{"text": f"epoch {i}"} for i in range(3)]})
    assert first.json() == {"first_line": 0, "count": 3}
    second = {"first_line": 3, "lines": [{"text": "oops", "stream": "stderr"}]}
    assert (await client.post(url, json=second)).json() == {"first_line": 3, "count": 1}
    assert (await client.post(url, json=second)).status_code == 200  # a retry

    page = (await client.get(f"{url}?start=1&limit=2")).json()
    assert [line["text"] for line in page["lines"]] == ["epoch 1", "epoch 2"]
    assert (page["next_start"], page["total"]) == (3, 4)
    rest = (await client.get(f"{url}?start=3")).json()
    assert [(line["line"], line["stream"]) for line in rest["lines"]] == [(3, "stderr")]
    assert (await client.get(f"{url}?start=4")).json() == {"lines": [], "next_start": 4, "total": 4}


def image(data: bytes = PNG, **fields: Any) -> dict[str, Any]:
    body = {"key": "samples", "step": 1, "content_type": "image/png"}
    return body | {"data": base64.b64encode(data).decode()} | fields


async def test_media_upload_listing_and_download(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    url = f"/api/runs/{run_id}/media"
    stored = await client.post(url, json=image(caption="a cat"))
    assert stored.status_code == 201
    media = stored.json()
    assert (media["key"], media["step"], media["size"], media["caption"]) == (
        "samples",
        1,
        len(PNG),
        "a cat",
    )
    await client.post(url, json=image(step=2))
    await client.post(url, json=image(key="other"))

    listed = (await client.get(f"{url}?key=samples")).json()["media"]
    assert [m["step"] for m in listed] == [1, 2]
    assert [m["key"] for m in (await client.get(f"{url}?step=1")).json()["media"]] == [
        "other",
        "samples",
    ]

    raw = await client.get(media["url"])
    assert (raw.status_code, raw.content) == (200, PNG)
    assert raw.headers["content-type"] == "image/png"
    assert raw.headers["x-content-type-options"] == "nosniff"


async def test_bad_media_is_refused(client: httpx.AsyncClient) -> None:
    run_id = await new_run(client)
    url = f"/api/runs/{run_id}/media"
    too_big = await client.post(url, json=image(PNG + bytes(MEDIA_LIMIT)))
    assert too_big.status_code == 413
    huge_body = await client.post(url, json=image(data=b"x" * 200_000))
    assert huge_body.status_code == 413
    not_png = await client.post(url, json=image(b"<svg onload=alert(1)>"))
    assert (not_png.status_code, locs(not_png)) == (422, [["body", "data"]])
    not_base64 = await client.post(url, json=image() | {"data": "***"})
    assert (not_base64.status_code, locs(not_base64)) == (422, [["body", "data"]])
    svg = await client.post(url, json=image(content_type="image/svg+xml"))
    assert (svg.status_code, locs(svg)) == (422, [["body", "content_type"]])
    assert (await client.get(url)).json() == {"media": []}


async def test_errors_are_json_with_an_error_message(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/runs/missing/history")
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.content) == {"error": "no run 'missing'"}
