"""The Report API's operations: create, read, render, append, clone, delete and list
reports, and their versions. Every change of a document is a ``Rooms.edit`` transaction,
so people editing at that moment see it live and keep what they typed.

The registry of reports (who owns what, what is deleted) is the access service's; the
title copy, versions and run references are the :class:`~coreport.reports.ports.ReportStore`'s.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc

from coreport.access.model import Principal, User
from coreport.access.service import DEFAULT_PROJECT, AccessService
from coreport.ports import Clock
from coreport.reports import layout
from coreport.reports.blocks import Block, Report
from coreport.reports.convert import read_report, replace_blocks, set_title, with_ids, write_blocks
from coreport.reports.html import to_html
from coreport.reports.markdown import to_markdown
from coreport.reports.ports import ReportInfo, ReportStore, StoredVersion, VersionInfo
from coreport.reports.runsets import panel_rows
from coreport.reports.versions import ReportVersions, doc_of
from coreport.runs.service import RunService
from coreport.sync.names import report_doc
from coreport.sync.rooms import Rooms

#: Reports scanned per query when a listing is filtered by what the caller may see.
_SCAN = 200


class ReportNotFound(LookupError):
    def __init__(self, report_id: str) -> None:
        super().__init__(f"no report {report_id!r}")


class VersionNotFound(LookupError):
    def __init__(self, version_id: str) -> None:
        super().__init__(f"no version {version_id!r} of this report")


@dataclass(frozen=True, slots=True)
class ReportContent:
    info: ReportInfo
    title: str
    blocks: list[Block]


@dataclass(frozen=True, slots=True)
class VersionContent:
    info: VersionInfo
    title: str
    blocks: list[Block]
    stored: StoredVersion

    @property
    def markdown(self) -> str:
        return to_markdown(self.title, self.blocks)


class ReportService:
    def __init__(
        self,
        store: ReportStore,
        rooms: Rooms,
        access: AccessService,
        versions: ReportVersions,
        runs: RunService,
        clock: Clock,
    ) -> None:
        self.store = store
        self.runs = runs
        self.rooms = rooms
        self.access = access
        self.versions = versions
        self._clock = clock

    def now(self) -> datetime:
        """Wall-clock time of the service's clock (UTC)."""
        return datetime.fromtimestamp(self._clock.wall(), UTC)

    async def info(self, report_id: str) -> ReportInfo:
        """The live report ``report_id``; :class:`ReportNotFound` otherwise."""
        info = await self.store.get_report(report_id)
        if info is None:
            raise ReportNotFound(report_id)
        return info

    # -- reports ---------------------------------------------------------------------

    async def create(self, report: Report, owner: User) -> ReportInfo:
        """Register a new report owned by ``owner`` and write its title and blocks.
        Raises :class:`~coreport.reports.convert.BlockConflict` before registering."""
        with_ids(report.blocks)  # repeated ids fail here, before anything exists
        report_id = uuid.uuid4().hex
        await self.access.register_report(report_id, owner, report.project or DEFAULT_PROJECT)
        await self.rooms.edit(report_doc(report_id), lambda doc: _write_new(doc, report))
        await self.store.set_title(report_id, report.title, self.now())
        return await self.info(report_id)

    async def read(self, report_id: str) -> ReportContent:
        info = await self.info(report_id)
        title, blocks = await self.rooms.read(report_doc(report_id), read_report)
        return ReportContent(info, title, blocks)

    async def markdown(self, report_id: str) -> str:
        content = await self.read(report_id)
        rows = await panel_rows(self.runs, content.blocks)
        return to_markdown(content.title, content.blocks, panel_rows=rows)

    async def html(self, report_id: str) -> str:
        content = await self.read(report_id)
        rows = await panel_rows(self.runs, content.blocks)
        return to_html(content.title, content.blocks, panel_rows=rows)

    async def add_blocks(
        self, report_id: str, blocks: Sequence[Block], index: int | None = None
    ) -> list[Block]:
        """Insert ``blocks`` at ``index`` (append when ``None``); returns them as written.
        Raises BlockPositionError or BlockConflict without changing anything."""
        await self.info(report_id)

        def change(doc: Doc[Any]) -> tuple[list[Block], str]:
            return write_blocks(doc, blocks, index), str(layout.title(doc))

        (written, title), _ = await self.rooms.edit(report_doc(report_id), change)
        await self.store.set_title(report_id, title, self.now())
        return written

    async def clone(self, report_id: str, owner: User) -> ReportInfo:
        """A new report owned by ``owner`` with the title and blocks of ``report_id`` now
        (its comments and versions stay with the original)."""
        content = await self.read(report_id)
        copy = Report.model_construct(
            title=content.title, project=content.info.project, blocks=content.blocks
        )
        return await self.create(copy, owner)

    async def delete(self, report_id: str) -> None:
        """Mark the report deleted: its id stays taken and open connections are closed."""
        if not await self.access.delete_report(report_id):
            raise ReportNotFound(report_id)

    async def list_reports(
        self,
        principal: Principal,
        *,
        project: str | None,
        query: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ReportInfo], int]:
        """The live reports ``principal`` may view, most recently updated first, and how
        many there are in all."""
        if principal.admin:
            return await self.store.list_reports(
                project=project, query=query, limit=limit, offset=offset
            )
        # Roles come from members, project defaults and links: decided per report.
        visible: list[ReportInfo] = []
        seen = total = 0
        while True:
            page, _ = await self.store.list_reports(
                project=project, query=query, limit=_SCAN, offset=seen
            )
            seen += len(page)
            for info in page:
                if (await self.access.role_on(principal, info.id)).role is not None:
                    if offset <= total < offset + limit:
                        visible.append(info)
                    total += 1
            if len(page) < _SCAN:
                return visible, total

    # -- versions --------------------------------------------------------------------

    async def take_version(self, report_id: str, name: str, by: str | None) -> VersionInfo:
        await self.info(report_id)
        version = await self.versions.take(report_id, kind="named", name=name, by=by)
        if version is None:
            raise ReportNotFound(report_id)
        return version

    async def list_versions(self, report_id: str) -> list[VersionInfo]:
        await self.info(report_id)
        return await self.store.list_versions(report_id)

    async def version(self, report_id: str, version_id: str) -> VersionContent:
        await self.info(report_id)
        stored = await self.store.get_version(report_id, version_id)
        if stored is None:
            raise VersionNotFound(version_id)
        title, blocks = read_report(doc_of(stored.state))
        return VersionContent(stored.info, title, blocks, stored)

    async def restore(self, report_id: str, version_id: str, by: str | None) -> VersionInfo:
        """Bring back the title and blocks of a version as a new edit (which can itself be
        undone), and record the result as a version of kind ``restore``."""
        old = await self.version(report_id, version_id)

        def change(doc: Doc[Any]) -> None:
            set_title(doc, old.title)
            replace_blocks(doc, old.blocks)

        await self.rooms.edit(report_doc(report_id), change)
        await self.store.set_title(report_id, old.title, self.now())
        version = await self.versions.take(
            report_id, kind="restore", name=f"restored version {old.info.number}", by=by
        )
        if version is None:
            raise ReportNotFound(report_id)
        return version

    async def diff(self, report_id: str, from_id: str, to_id: str | None) -> str:
        """A unified diff of the Markdown of two versions (``to_id`` ``None``: the report
        as it is now)."""
        before = await self.version(report_id, from_id)
        if to_id is None:
            # Without panel data: runs change by themselves, the report did not.
            now = await self.read(report_id)
            after_text, after_label = to_markdown(now.title, now.blocks), "current"
        else:
            after = await self.version(report_id, to_id)
            after_text, after_label = after.markdown, f"version {after.info.number}"
        return "".join(
            difflib.unified_diff(
                before.markdown.splitlines(keepends=True),
                after_text.splitlines(keepends=True),
                fromfile=f"version {before.info.number}",
                tofile=after_label,
            )
        )


def _write_new(doc: Doc[Any], report: Report) -> None:
    set_title(doc, report.title)
    write_blocks(doc, report.blocks)
