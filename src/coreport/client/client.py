"""``Client``: the entry point of the Python SDK (synchronous; CI scripts and training
loops are)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from coreport.client.errors import Conflict
from coreport.client.http import HttpApi
from coreport.client.reports import Reports
from coreport.client.run import Run
from coreport.client.uploader import HistoryUploader, exponential_backoff
from coreport.runs.views import HistoryOut, MetricKeysOut, RunOut, RunPageOut

DEFAULT_URL = "http://127.0.0.1:8000"


class Client:
    """A connection to one coreport server.

    ``api_key`` is sent as ``Authorization: Bearer KEY`` (``coreport users add NAME``
    prints one); leave it out for a server running without authentication. ``timeout``
    bounds each request. Errors are those of :mod:`coreport.client.errors`: an
    unreachable server raises :class:`~coreport.client.errors.ServerUnreachable` naming
    the URL.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api = HttpApi(url, api_key, timeout=timeout, transport=transport)
        #: The Report API: ``client.reports.create(title, project, blocks)`` and more.
        self.reports = Reports(self.api)

    @property
    def url(self) -> str:
        return self.api.base_url

    def close(self) -> None:
        """Close the connection pool. Runs still open have their own: they keep logging
        until they finish."""
        self.api.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------------------

    def init_run(
        self,
        project: str,
        name: str | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        code: Mapping[str, str] | None = None,
        summary: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        auto_summary: bool = True,
        batch_rows: int = 1000,
        max_pending: int = 100_000,
        flush_interval: float = 0.5,
        finish_timeout: float = 30.0,
        backoff: Callable[[int], float] = exponential_backoff,
    ) -> Run:
        """Create a run in ``project`` (created on first use) and start its uploader.

        ``config`` holds the hyperparameters, ``code`` where the code came from
        (``{"git_commit", "repository", "diff_summary"}``). The run's id is chosen here
        (or given as ``run_id``) so a create retried after a lost answer cannot make two
        runs. With ``auto_summary`` each metric's latest value is kept in the summary,
        which run tables show.

        Logged rows are sent every ``flush_interval`` seconds or ``batch_rows`` rows; at
        most ``max_pending`` steps wait in memory (see :mod:`coreport.client.uploader`).

        This call itself talks to the server and raises if it cannot.
        """
        run_id = run_id or secrets.token_hex(8)
        body: dict[str, Any] = {
            "id": run_id,
            "config": dict(config or {}),
            "summary": dict(summary or {}),
            "tags": list(tags),
            "code": dict(code or {}),
        }
        if name is not None:
            body["name"] = name
        try:
            data = self.api.json("POST", f"/api/projects/{project}/runs", json=body)
            info = RunOut.model_validate(data)
        except Conflict:
            # Our own earlier attempt may have created it before its answer was lost.
            info = self.get_run(run_id)
            if info.project != project or info.config != body["config"]:
                raise
        api = self.api.copy()
        uploader = HistoryUploader(
            api,
            info.id,
            batch_rows=batch_rows,
            max_pending=max_pending,
            interval=flush_interval,
            backoff=backoff,
        )
        return Run(api, info, uploader, auto_summary=auto_summary, finish_timeout=finish_timeout)

    def get_run(self, run_id: str) -> RunOut:
        return RunOut.model_validate(self.api.json("GET", f"/api/runs/{run_id}"))

    def list_runs(
        self, project: str, *filters: str, limit: int = 50, offset: int = 0
    ) -> RunPageOut:
        """Runs of ``project`` matching every filter expression (``"state=running"``,
        ``"config.lr=0.1"``, ``"summary.loss<0.5"``, ``"sort=-summary.loss"``)."""
        parts = [*filters, f"limit={limit}", f"offset={offset}"]
        query = "&".join(quote(part, safe="") for part in parts)
        data = self.api.json("GET", f"/api/projects/{project}/runs?{query}")
        return RunPageOut.model_validate(data)

    def history(
        self,
        run_id: str,
        keys: Sequence[str] | None = None,
        *,
        max_points: int = 1000,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> HistoryOut:
        """The run's metric history, each series downsampled to ``max_points`` keeping
        extremes (``total_points`` says how many are stored)."""
        params: dict[str, Any] = {
            "keys": ",".join(keys) if keys is not None else None,
            "max_points": max_points,
            "start_step": start_step,
            "end_step": end_step,
        }
        data = self.api.json("GET", f"/api/runs/{run_id}/history", params=params)
        return HistoryOut.model_validate(data)

    def metric_keys(self, run_id: str) -> list[str]:
        """The names of the metrics the run has logged, sorted (no series are read)."""
        data = self.api.json("GET", f"/api/runs/{run_id}/metrics")
        return MetricKeysOut.model_validate(data).keys
