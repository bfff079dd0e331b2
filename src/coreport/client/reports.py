"""``client.reports``: the Report API (``/api/reports``) from Python.

Blocks may be given as the models of :mod:`coreport.reports.blocks` (the builders of
:mod:`coreport.client.blocks` make them) or as plain JSON-like dicts; the server validates
either and answers :class:`~coreport.client.errors.Invalid` with pydantic's error
locations. Blocks read back are those models.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from coreport.client.http import HttpApi
from coreport.reports.blocks import BLOCKS, READING, Block

BlockLike = Block | Mapping[str, Any]


class _Answer(BaseModel):
    # Newer servers may add fields: keep them rather than fail.
    model_config = ConfigDict(extra="allow")


class ReportRef(_Answer):
    """A report just created or cloned."""

    id: str
    #: Where people open it in a browser.
    url: str


class ReportInfo(_Answer):
    id: str
    title: str
    project: str | None = None
    url: str
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


class ReportContent(ReportInfo):
    """A report as its live document holds it now."""

    blocks: list[Block] = []


class ReportPage(_Answer):
    reports: list[ReportInfo]
    #: Reports matching the query, over all pages.
    total: int


class VersionInfo(_Answer):
    id: str
    number: int
    #: ``"auto"`` or ``"named"`` (or ``"restore"``...: whatever the server records).
    kind: str
    name: str | None = None
    title: str | None = None
    created_by: str | None = None
    created_at: datetime
    #: How many runs the version referred to.
    runs: int = 0


class RunRef(_Answer):
    run_id: str
    explicit: bool


class VersionContent(VersionInfo):
    blocks: list[Block] = []
    markdown: str = ""
    run_refs: list[RunRef] = Field(default_factory=list)


class RunUse(_Answer):
    """A report that refers to a run (in its latest version that does)."""

    id: str
    project: str | None = None
    title: str
    url: str
    version_id: str | None = None
    version_number: int | None = None
    versioned_at: datetime | None = None
    explicit: bool = False


def blocks_json(blocks: Sequence[BlockLike]) -> list[Any]:
    """Blocks as the JSON the API takes (models dumped, dicts passed through)."""
    out: list[Any] = []
    for block in blocks:
        if isinstance(block, BaseModel):
            out.extend(BLOCKS.dump_python([block], mode="json"))
        elif isinstance(block, Mapping):
            out.append(dict(block))
        else:
            raise TypeError(f"a block is a block model or a dict, not {block!r}")
    return out


def _read(model: type[_Answer], data: Any) -> Any:
    # READING: a newer editor's panel types and filters still read.
    return model.model_validate(data, context={READING: True})


class Reports:
    """The Report API; reached as ``client.reports``."""

    def __init__(self, api: HttpApi) -> None:
        self._api = api

    def create(
        self, title: str, project: str | None = None, blocks: Sequence[BlockLike] = ()
    ) -> ReportRef:
        """A new report; run sets without a project draw on ``project``."""
        body = {"title": title, "project": project, "blocks": blocks_json(blocks)}
        result: ReportRef = _read(ReportRef, self._api.json("POST", "/api/reports", json=body))
        return result

    def get(self, report_id: str) -> ReportContent:
        """The report's title, project, blocks and timestamps, from its live document."""
        data = self._api.json("GET", f"/api/reports/{report_id}")
        result: ReportContent = _read(ReportContent, data)
        return result

    def list(
        self,
        project: str | None = None,
        q: str | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
    ) -> ReportPage:
        """Reports the caller may see, newest first: of ``project``, with ``q`` in the
        title; one page (``limit`` up to 200)."""
        params = {"project": project, "q": q, "limit": limit, "offset": offset}
        result: ReportPage = _read(ReportPage, self._api.json("GET", "/api/reports", params=params))
        return result

    def append(
        self, report_id: str, blocks: Sequence[BlockLike], index: int | None = None
    ) -> builtins.list[Block]:
        """Add ``blocks`` at the end (or before block ``index``), as one edit that people
        in the report see live; the blocks as written (with their new ids)."""
        body: dict[str, Any] = {"blocks": blocks_json(blocks)}
        if index is not None:
            body["index"] = index
        data = self._api.json("POST", f"/api/reports/{report_id}/blocks", json=body)
        return BLOCKS.validate_python(data["blocks"], context={READING: True})

    def clone(self, report_id: str) -> ReportRef:
        """A copy of the report, owned by the caller."""
        data = self._api.json("POST", f"/api/reports/{report_id}/clone")
        result: ReportRef = _read(ReportRef, data)
        return result

    def markdown(self, report_id: str) -> str:
        """The report as Markdown (panels as data tables)."""
        return self._api.request("GET", f"/api/reports/{report_id}/markdown").text

    def html(self, report_id: str) -> str:
        """The report as one standalone HTML page."""
        return self._api.request("GET", f"/api/reports/{report_id}/html").text

    def delete(self, report_id: str) -> None:
        self._api.request("DELETE", f"/api/reports/{report_id}")

    def versions(self, report_id: str) -> builtins.list[VersionInfo]:
        """The report's stored versions, automatic and named."""
        data = self._api.json("GET", f"/api/reports/{report_id}/versions")
        return [_read(VersionInfo, item) for item in data["versions"]]

    def save_version(self, report_id: str, name: str) -> VersionInfo:
        """A named version of the report as it is now."""
        data = self._api.json("POST", f"/api/reports/{report_id}/versions", json={"name": name})
        result: VersionInfo = _read(VersionInfo, data)
        return result

    def version(self, report_id: str, version_id: str) -> VersionContent:
        """One version's blocks, Markdown and run references."""
        data = self._api.json("GET", f"/api/reports/{report_id}/versions/{version_id}")
        result: VersionContent = _read(VersionContent, data)
        return result

    def restore(self, report_id: str, version_id: str) -> VersionInfo:
        """Bring a version's content back, as a new edit (which can itself be undone)."""
        data = self._api.json("POST", f"/api/reports/{report_id}/versions/{version_id}/restore")
        result: VersionInfo = _read(VersionInfo, data)
        return result

    def diff(self, report_id: str, version_id: str, to: str | None = None) -> str:
        """A unified diff of the Markdown of ``version_id`` and ``to`` (default: now)."""
        path = f"/api/reports/{report_id}/versions/{version_id}/diff"
        return self._api.request("GET", path, params={"to": to}).text

    def using_run(self, run_id: str) -> builtins.list[RunUse]:
        """Reports that refer to run ``run_id``."""
        data = self._api.json("GET", f"/api/runs/{run_id}/reports")
        return [_read(RunUse, item) for item in data["reports"]]
