"""The values of access control: users, API keys, browser sessions, report roles, share
and embed links, and the principal a request acts as. Plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    """A person's role on one report, weakest first (see :mod:`coreport.access.policy`)."""

    VIEWER = "viewer"
    COMMENTER = "commenter"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.VIEWER: 0, Role.COMMENTER: 1, Role.EDITOR: 2, Role.OWNER: 3}

#: Roles a share link may grant: reading, or reading and commenting.
LINK_ROLES = frozenset({Role.VIEWER, Role.COMMENTER})

#: The only role an embed link grants: it shows, it never writes.
EMBED_ROLE = Role.VIEWER


class AccessError(Exception):
    """Base of the errors the access domain raises about the data (not about storage)."""


class UserExists(AccessError):
    pass


class UnknownUser(AccessError):
    pass


class UnknownKey(AccessError):
    pass


class UnknownReport(AccessError):
    pass


EmbedProblem = Literal["unknown", "revoked", "expired", "deleted"]


class EmbedUnavailable(AccessError):
    """An embed link that shows nothing. ``unknown``: no such link, or the secret does not
    match; the others say why a real link stopped working (the holder knows the secret, so
    telling them reveals nothing)."""

    def __init__(self, problem: EmbedProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem

    @property
    def gone(self) -> bool:
        """The link existed and will not work again."""
        return self.problem != "unknown"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    email: str | None
    #: The colour presence and cursors show for this person (``#rrggbb``).
    color: str
    admin: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: everything but its secret (only a hash of it is kept)."""

    #: The visible part, e.g. ``cpk_1a2b3c4d``: unique, shown in lists, used to revoke.
    prefix: str
    user_id: str
    label: str | None
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """A signed-in browser. The cookie holds the session id; the store only its hash."""

    id_hash: bytes
    user_id: str
    #: How the browser signed in: with an API key (then ``key_prefix`` names it, and
    #: revoking that key ends the session), a one-time sign-in link, or a trusted proxy.
    via: Literal["key", "signin_link", "proxy"]
    key_prefix: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class ReportEntry:
    """A report in the registry: it exists once registered; its creator owns it."""

    id: str
    project: str
    created_by: str | None
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Member:
    report_id: str
    user_id: str
    role: Role
    added_by: str | None
    added_at: datetime


@dataclass(frozen=True, slots=True)
class EmbedScope:
    """What an embed link shows: one panel of its report, or (``panel_id`` None) the whole
    report rendered read-only."""

    panel_id: str | None = None

    @property
    def kind(self) -> Literal["panel", "report"]:
        return "report" if self.panel_id is None else "panel"


@dataclass(frozen=True, slots=True)
class ShareLink:
    """A revocable link that lets whoever holds it view or comment on one report; with
    ``embed``, an embed link, which only shows that part of the report on the embed routes
    (never on the app's routes or sockets)."""

    prefix: str
    report_id: str
    role: Role
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    embed: EmbedScope | None = None

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class ReportAccess:
    """What decides one user's role on one report, read in one query."""

    report: ReportEntry | None
    member_role: Role | None
    project_role: Role | None


Via = Literal["key", "session", "proxy", "link", "embed", "insecure"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request or a socket acts as, and how that was established."""

    via: Via
    #: ``None`` only for a share or embed link, which stands for nobody in particular.
    user: User | None
    #: The API key used directly, or the one a browser session was signed in with.
    key_prefix: str | None = None
    #: Hex of the browser session's id hash (cookie sign-ins only).
    session: str | None = None
    link: ShareLink | None = None

    @property
    def admin(self) -> bool:
        return self.via == "insecure" or (self.user is not None and self.user.admin)

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user is not None else None

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.name
        if self.link is not None:
            return f"{'embed' if self.via == 'embed' else 'link'} {self.link.prefix}"
        return "local"
