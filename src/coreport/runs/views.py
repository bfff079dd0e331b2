"""Response models of the runs REST API, and the live-stream message (also what the SDK
parses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from coreport.runs.ports import MediaInfo, Project, Run, RunState, Series, StoredLogLine
from coreport.runs.schemas import CodeReference


class RunOut(BaseModel):
    id: str
    project: str
    name: str
    state: RunState
    config: dict[str, Any]
    summary: dict[str, Any]
    tags: list[str]
    code: CodeReference
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, run: Run) -> RunOut:
        return cls(
            id=run.id,
            project=run.project,
            name=run.name,
            state=run.state,
            config=dict(run.config),
            summary=dict(run.summary),
            tags=list(run.tags),
            code=CodeReference(
                git_commit=run.code.git_commit,
                repository=run.code.repository,
                diff_summary=run.code.diff_summary,
            ),
            created_at=run.created_at,
            updated_at=run.updated_at,
        )


class RunPageOut(BaseModel):
    runs: list[RunOut]
    total: int
    limit: int
    offset: int
    #: The ``offset`` of the next page, or ``None`` on the last page.
    next_offset: int | None


class ProjectOut(BaseModel):
    name: str
    created_at: datetime
    run_count: int
    last_activity: datetime

    @classmethod
    def of(cls, project: Project) -> ProjectOut:
        return cls(
            name=project.name,
            created_at=project.created_at,
            run_count=project.run_count,
            last_activity=project.last_activity,
        )


class ProjectListOut(BaseModel):
    projects: list[ProjectOut]


class SeriesOut(BaseModel):
    steps: list[int]
    values: list[float]
    timestamps: list[float]
    #: Points stored in the requested step range, before downsampling.
    total_points: int
    sampled: bool

    @classmethod
    def of(cls, series: Series, total_points: int) -> SeriesOut:
        return cls(
            steps=series.steps,
            values=series.values,
            timestamps=series.timestamps,
            total_points=total_points,
            sampled=len(series.steps) < total_points,
        )


class HistoryOut(BaseModel):
    run_id: str
    max_points: int
    series: dict[str, SeriesOut]


class MetricKeysOut(BaseModel):
    """``GET /api/runs/{run_id}/metrics``: the names of the metrics the run has logged."""

    run_id: str
    keys: list[str]


class HistoryStoredOut(BaseModel):
    #: Distinct steps written (rows of one step in a batch count once).
    stored_steps: int


class HistoryRowOut(BaseModel):
    step: int
    timestamp: float
    metrics: dict[str, float]


class LiveRows(BaseModel):
    """One message of the live stream (and of the bus channel ``runs:{run_id}``): history
    rows just stored, as logged (a step's earlier metrics are not repeated)."""

    run_id: str
    rows: list[HistoryRowOut]


class LogLineOut(BaseModel):
    line: int
    text: str
    stream: Literal["stdout", "stderr"]
    timestamp: float

    @classmethod
    def of(cls, line: StoredLogLine) -> LogLineOut:
        return cls(line=line.line, text=line.text, stream=line.stream, timestamp=line.timestamp)


class LogsStoredOut(BaseModel):
    first_line: int
    count: int


class LogPageOut(BaseModel):
    lines: list[LogLineOut]
    #: Ask for ``start=next_start`` to continue (also once more lines arrive).
    next_start: int
    #: Lines the run has: its last line's number plus one.
    total: int


class MediaOut(BaseModel):
    id: str
    run_id: str
    key: str
    step: int
    index: int
    content_type: str
    caption: str | None
    size: int
    created_at: datetime
    url: str

    @classmethod
    def of(cls, media: MediaInfo) -> MediaOut:
        return cls(
            id=media.id,
            run_id=media.run_id,
            key=media.key,
            step=media.step,
            index=media.index,
            content_type=media.content_type,
            caption=media.caption,
            size=media.size,
            created_at=media.created_at,
            url=f"/api/runs/{media.run_id}/media/{media.id}",
        )


class MediaListOut(BaseModel):
    media: list[MediaOut]
