"""Request models of the runs REST API (and of the SDK that calls it); the answers are in
:mod:`coreport.runs.views`.

Requests are strict where a lenient parser would hide a bug: metrics must be JSON numbers
(not strings, booleans, NaN or infinities), steps must be integers, unknown fields are
refused. Limits are part of the schema, so a too-large batch is refused before anything is
stored.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StringConstraints,
    field_validator,
)

from coreport.runs.ports import RunState

MAX_HISTORY_ROWS = 10_000
MAX_METRICS_PER_ROW = 1_000
MAX_LOG_LINES = 10_000
MAX_JSON_OBJECT_BYTES = 256 * 1024
#: Steps are JSON numbers: keep them exact in every JavaScript client.
MAX_STEP = 2**53 - 1
#: Ids that would collide with routes under ``/api/runs/``.
RESERVED_RUN_IDS = frozenset({"stream"})

PROJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

ProjectName = Annotated[str, StringConstraints(pattern=PROJECT_PATTERN)]
RunId = Annotated[str, StringConstraints(pattern=RUN_ID_PATTERN)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")]
#: Metric names: commas are refused because ``?keys=a,b`` lists them.
MetricKey = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f,]+$")
]
Metric = Annotated[float, Strict(), AllowInfNan(False)]
Step = Annotated[int, Strict(), Field(ge=0, le=MAX_STEP)]
Timestamp = Annotated[float, AllowInfNan(False), Field(ge=0)]


def _finite_json(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse NaN/infinity anywhere inside (JSON cannot carry them) and oversized objects."""
    try:
        encoded = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except ValueError as exc:
        raise ValueError("numbers must be finite (no NaN or Infinity)") from exc
    if len(encoded) > MAX_JSON_OBJECT_BYTES:
        raise ValueError(f"larger than {MAX_JSON_OBJECT_BYTES} bytes as JSON")
    return value


JsonObject = Annotated[dict[str, JsonValue], AfterValidator(_finite_json)]


def _decode_base64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("expected base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not valid base64: {exc}") from exc


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    return value


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CodeReference(_Request):
    git_commit: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{4,64}$")] | None = None
    repository: Annotated[str, StringConstraints(max_length=2048)] | None = None
    diff_summary: Annotated[str, StringConstraints(max_length=100_000)] | None = None


class RunCreate(_Request):
    """``POST /api/projects/{project}/runs``. A client may choose the ``id`` (so a retried
    create cannot make two runs: the second gets 409); the server picks one otherwise."""

    id: RunId | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    state: RunState = "running"
    config: JsonObject = Field(default_factory=dict)
    summary: JsonObject = Field(default_factory=dict)
    tags: Annotated[list[Tag], Field(max_length=100)] = Field(default_factory=list)
    code: CodeReference = Field(default_factory=CodeReference)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value in RESERVED_RUN_IDS:
            raise ValueError(f"{value!r} is reserved (it names an API route)")
        return value


class RunPatch(_Request):
    """``PATCH /api/runs/{run_id}``. ``summary`` and ``config`` are JSON merge patches
    (RFC 7396: keys are set, ``null`` deletes a key, objects merge recursively); ``tags``
    replaces the tags."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    state: RunState | None = None
    tags: Annotated[list[Tag], Field(max_length=100)] | None = None
    summary: JsonObject | None = None
    config: JsonObject | None = None


class HistoryRowIn(_Request):
    step: Step
    #: Seconds since the Unix epoch; the server's time when left out.
    timestamp: Timestamp | None = None
    metrics: Annotated[dict[MetricKey, Metric], Field(min_length=1, max_length=MAX_METRICS_PER_ROW)]


class HistoryBatch(_Request):
    """``POST /api/runs/{run_id}/history``: stored all or nothing, idempotent per step."""

    rows: Annotated[list[HistoryRowIn], Field(min_length=1, max_length=MAX_HISTORY_ROWS)]


class LogLineIn(_Request):
    text: Annotated[str, StringConstraints(max_length=65_536)]
    stream: Literal["stdout", "stderr"] = "stdout"
    timestamp: Timestamp | None = None


class LogBatch(_Request):
    """``POST /api/runs/{run_id}/logs``. With ``first_line`` the lines get the numbers
    ``first_line, first_line + 1, ...`` and a retried batch replaces itself; without it they
    are appended after the last stored line."""

    lines: Annotated[list[LogLineIn], Field(min_length=1, max_length=MAX_LOG_LINES)]
    first_line: Annotated[int, Strict(), Field(ge=0, le=MAX_STEP)] | None = None


class MediaUpload(_Request):
    """``POST /api/runs/{run_id}/media``: one image, base64 in JSON."""

    key: MetricKey
    step: Step
    index: Annotated[int, Strict(), Field(ge=0, le=999)] = 0
    content_type: Literal["image/png", "image/jpeg", "image/gif", "image/webp"]
    caption: Annotated[str, StringConstraints(max_length=2000)] | None = None
    data: Annotated[bytes, BeforeValidator(_decode_base64)]


class HistoryQuery(_Request):
    """``GET /api/runs/{run_id}/history?keys=loss,acc&max_points=500&start_step=&end_step=``.
    Without ``keys``: every metric of the run. ``max_points`` is per metric."""

    keys: Annotated[list[MetricKey], BeforeValidator(_comma_list), Field(max_length=100)] | None = (
        None
    )
    max_points: Annotated[int, Field(ge=2, le=100_000)] = 1000
    start_step: Annotated[int, Field(ge=0)] | None = None
    end_step: Annotated[int, Field(ge=0)] | None = None


class LogsQuery(_Request):
    start: Annotated[int, Field(ge=0)] = 0
    limit: Annotated[int, Field(ge=1, le=MAX_LOG_LINES)] = 1000


class MediaQuery(_Request):
    key: MetricKey | None = None
    step: Annotated[int, Field(ge=0)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0)] = 0


class StreamQuery(_Request):
    """``GET /api/runs/stream?runs=id1,id2``."""

    runs: Annotated[list[RunId], BeforeValidator(_comma_list), Field(min_length=1, max_length=100)]
