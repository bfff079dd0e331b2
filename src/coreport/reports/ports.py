"""What the Report API needs from storage beyond the document itself: a title per report
for listing, versions of the document, and the runs each version refers to.

Stores implement it (``coreport.stores.sqlite_reports``, ``coreport.stores.postgres_reports``)
in the database of the report registry (``reports``, migration 0003), which they join for
the project and deletion. Every method that cannot answer raises
:class:`coreport.ports.StoreError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

VersionKind = Literal["auto", "named", "restore"]


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """A live report as listed: registry entry plus the stored title copy."""

    id: str
    project: str
    title: str
    created_by: str | None
    created_at: datetime
    #: Last write through the API or last version; ``created_at`` if neither happened.
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RunRef:
    run_id: str
    #: Named in a run set's ``run_ids`` (else only matched by its filters).
    explicit: bool


@dataclass(frozen=True, slots=True)
class NewVersion:
    id: str
    report_id: str
    kind: VersionKind
    name: str | None
    title: str
    created_by: str | None
    created_at: datetime
    #: ``Doc.get_update()`` of the report's document.
    state: bytes
    #: ``Doc.get_state()``: equal vectors mean equal documents.
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: str
    report_id: str
    number: int
    kind: VersionKind
    name: str | None
    title: str
    created_by: str | None
    created_at: datetime
    state_vector: bytes
    run_count: int


@dataclass(frozen=True, slots=True)
class StoredVersion:
    info: VersionInfo
    state: bytes
    runs: list[RunRef]


@dataclass(frozen=True, slots=True)
class RunUse:
    """A live report whose latest version refers to a run."""

    report_id: str
    project: str
    title: str
    version_id: str
    version_number: int
    versioned_at: datetime
    explicit: bool


class ReportStore(Protocol):
    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None: ...

    async def set_title(self, report_id: str, title: str, now: datetime) -> None:
        """Record the report's current title (and that it was updated ``now``)."""

    async def get_report(self, report_id: str) -> ReportInfo | None:
        """The live report ``report_id``; ``None`` if unregistered or deleted."""

    async def list_reports(
        self, *, project: str | None, query: str | None, limit: int, offset: int
    ) -> tuple[list[ReportInfo], int]:
        """Live reports, most recently updated first, whose title contains ``query``
        (case-insensitive); and how many match in all."""

    async def add_version(self, version: NewVersion, runs: Sequence[RunRef]) -> VersionInfo:
        """Store a version with the next number of its report and its run references, and
        record its title as the report's; all in one transaction."""

    async def list_versions(self, report_id: str) -> list[VersionInfo]:
        """Newest first."""

    async def latest_version(self, report_id: str) -> VersionInfo | None: ...

    async def get_version(self, report_id: str, version_id: str) -> StoredVersion | None: ...

    async def reports_using(self, run_id: str) -> list[RunUse]:
        """Live reports whose latest version refers to ``run_id``, newest version first."""
