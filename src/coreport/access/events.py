"""What one instance tells the others when access is taken away, on the bus channel
:data:`CHANNEL`. Every instance (the sender too) re-checks the sockets an event concerns."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from coreport.access.model import Principal

CHANNEL = "access"

Kind = Literal["key_revoked", "session_ended", "member_changed", "link_revoked", "report_deleted"]
_KINDS = frozenset(
    {"key_revoked", "session_ended", "member_changed", "link_revoked", "report_deleted"}
)


class BadEvent(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class AccessEvent:
    kind: Kind
    user_id: str | None = None
    report_id: str | None = None
    #: A key's or a link's prefix.
    prefix: str | None = None
    #: Hex of a browser session's id hash.
    session: str | None = None

    def encode(self) -> bytes:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}).encode()

    @classmethod
    def decode(cls, data: bytes) -> AccessEvent:
        try:
            raw = json.loads(data)
        except ValueError as exc:
            raise BadEvent(f"not JSON: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("kind") not in _KINDS:
            raise BadEvent(f"not an access event: {data[:80]!r}")
        fields = ("user_id", "report_id", "prefix", "session")
        values = {f: raw.get(f) for f in fields}
        if not all(v is None or isinstance(v, str) for v in values.values()):
            raise BadEvent("access event fields must be strings")
        return cls(raw["kind"], **values)

    def concerns(self, principal: Principal, report_id: str) -> bool:
        """Whether a socket of ``principal`` on ``report_id`` must be checked again."""
        if self.kind == "key_revoked":
            return principal.key_prefix is not None and principal.key_prefix == self.prefix
        if self.kind == "session_ended":
            return principal.session is not None and principal.session == self.session
        if self.kind == "link_revoked":
            return principal.link is not None and principal.link.prefix == self.prefix
        if self.kind == "report_deleted":
            return report_id == self.report_id
        # member_changed: that person's sockets on that report.
        return report_id == self.report_id and principal.user_id == self.user_id
