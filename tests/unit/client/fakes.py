"""A fake coreport runs API for the SDK's unit tests: an ``httpx.MockTransport`` handler
that stores history like the server (per metric and step, later values win) and can be
told to fail or to hold requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

Failure = Callable[[httpx.Request], httpx.Response]


class FakeRunsApi:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, Any]] = []
        #: (step, key) -> value, as the server's upsert stores them.
        self.points: dict[tuple[int, str], float] = {}
        self.history_posts: list[list[dict[str, Any]]] = []
        self.patches: list[dict[str, Any]] = []
        self.runs: dict[str, dict[str, Any]] = {}
        #: Consumed one per history POST before it is stored.
        self.failures: list[Failure] = []
        #: Set = history POSTs proceed; cleared = they wait (the server "hangs").
        self.open = threading.Event()
        self.open.set()
        #: Set whenever a history POST arrives.
        self.history_arrived = threading.Event()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        path = request.url.path
        with self.lock:
            self.requests.append((request.method, path, body))
        if request.method == "POST" and path.endswith("/runs"):
            project = path.split("/")[3]
            run = {
                "id": body.get("id") or "generated",
                "project": project,
                "name": body.get("name") or body.get("id"),
                "state": "running",
                "config": body["config"],
                "summary": body["summary"],
                "tags": body["tags"],
                "code": body["code"],
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
            if run["id"] in self.runs:
                return httpx.Response(409, json={"error": "exists"})
            self.runs[run["id"]] = run
            return httpx.Response(201, json=run)
        if request.method == "GET" and path.startswith("/api/runs/"):
            run_id = path.split("/")[3]
            if run_id not in self.runs:
                return httpx.Response(404, json={"error": f"no run {run_id!r}"})
            return httpx.Response(200, json=self.runs[run_id])
        if request.method == "PATCH":
            with self.lock:
                self.patches.append(body)
            return httpx.Response(200, json={})
        if request.method == "POST" and path.endswith("/history"):
            self.history_arrived.set()
            self.open.wait()
            with self.lock:
                failure = self.failures.pop(0) if self.failures else None
            if failure is not None:
                return failure(request)
            self.store(body["rows"])
            return httpx.Response(200, json={"stored_steps": len(body["rows"])})
        return httpx.Response(404, json={"error": "no route"})

    def store(self, rows: list[dict[str, Any]]) -> None:
        with self.lock:
            self.history_posts.append(rows)
            for row in rows:
                for key, value in row["metrics"].items():
                    self.points[(row["step"], key)] = value

    def lost_answer(self) -> Failure:
        """Store the batch, then lose the answer (the client sees a timeout)."""

        def answer(request: httpx.Request) -> httpx.Response:
            self.store(json.loads(request.content)["rows"])
            raise httpx.ReadTimeout("answer lost", request=request)

        return answer

    def steps(self, key: str) -> list[int]:
        with self.lock:
            return sorted(step for step, k in self.points if k == key)


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def status(code: int, body: dict[str, Any] | None = None) -> Failure:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json=body or {"error": f"status {code}"})

    return answer
