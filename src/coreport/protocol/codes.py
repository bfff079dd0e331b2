"""WebSocket close codes, read from the JSON file the frontend reads too."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class CloseCode:
    """A close code with the reason sent to the client and whether it should reconnect."""

    name: str
    code: int
    reason: str
    retry: bool


def _load() -> dict[str, CloseCode]:
    raw: dict[str, Any] = json.loads(
        resources.files("coreport.protocol").joinpath("close_codes.json").read_text("utf-8")
    )
    return {
        name: CloseCode(name, int(v["code"]), str(v["reason"]), bool(v["retry"]))
        for name, v in raw.items()
        if not name.startswith("_")
    }


CODES = _load()

NORMAL = CODES["NORMAL"]
GOING_AWAY = CODES["GOING_AWAY"]
PROTOCOL_ERROR = CODES["PROTOCOL_ERROR"]
UNSUPPORTED_DATA = CODES["UNSUPPORTED_DATA"]
INVALID_PAYLOAD = CODES["INVALID_PAYLOAD"]
POLICY_VIOLATION = CODES["POLICY_VIOLATION"]
MESSAGE_TOO_BIG = CODES["MESSAGE_TOO_BIG"]
INTERNAL_ERROR = CODES["INTERNAL_ERROR"]
SERVICE_RESTART = CODES["SERVICE_RESTART"]
TRY_AGAIN_LATER = CODES["TRY_AGAIN_LATER"]
SLOW_CONSUMER = CODES["SLOW_CONSUMER"]
RATE_LIMITED = CODES["RATE_LIMITED"]
BAD_REQUEST = CODES["BAD_REQUEST"]
UNAUTHORIZED = CODES["UNAUTHORIZED"]
FORBIDDEN = CODES["FORBIDDEN"]
NOT_FOUND = CODES["NOT_FOUND"]
ACCESS_REVOKED = CODES["ACCESS_REVOKED"]
DOCUMENT_TOO_LARGE = CODES["DOCUMENT_TOO_LARGE"]
