"""What the SDK raises: one base class, one subclass per way a call can fail.

Every error carries the URL it was about; answers from the server also carry the HTTP
status, the server's message and, for validation errors, pydantic's error locations
(``[{"loc": ["body", "blocks", 0, "level"], "msg": ..., "type": ...}]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class CoreportError(Exception):
    """Base of every SDK error."""

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        status: int | None = None,
        detail: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.status = status
        self.detail = list(detail)

    def __str__(self) -> str:
        where = f" ({self.status} from {self.url})" if self.status else f" ({self.url})"
        lines = [self.message + (where if self.url else "")]
        for problem in self.detail:
            loc = ".".join(str(part) for part in problem.get("loc", ()))
            lines.append(f"  {loc}: {problem.get('msg', '')}")
        return "\n".join(lines)


class ServerUnreachable(CoreportError):
    """No answer: the connection was refused, timed out, or broke."""


class Unauthorized(CoreportError):
    """401: no API key, or one that is invalid, expired or revoked."""


class Forbidden(CoreportError):
    """403: the key works, but its user may not do this."""


class NotFound(CoreportError):
    """404: no such report, run, version or route."""


class Conflict(CoreportError):
    """409: e.g. a run with the requested id already exists."""


class Invalid(CoreportError):
    """The request was refused as malformed (400), too large (413) or invalid (422);
    :attr:`detail` lists pydantic's error locations. Retrying will not help."""


class ServerError(CoreportError):
    """5xx or 429: the server could not do it now; retrying later may help."""


class UploadIncomplete(CoreportError):
    """:meth:`Run.finish` could not deliver every logged row (the server stayed
    unreachable until the flush timeout, or refused a batch)."""

    def __init__(self, message: str, *, undelivered: int, url: str = "") -> None:
        super().__init__(message, url=url)
        self.undelivered = undelivered


#: Errors after which the same request may succeed if sent again.
RETRYABLE: tuple[type[CoreportError], ...] = (ServerUnreachable, ServerError)
