"""Who may do what: roles to actions, a principal's role on a report, and the table that
says what every HTTP route and WebSocket endpoint needs. Pure: no I/O.

The route table is the single place a route's requirement is declared; the access
middleware (:mod:`coreport.web.auth`) enforces it before any handler runs, so a route added
under ``/api/reports/{report_id}`` is protected even if its handler never mentions access.
Unknown routes under ``/api/`` need a signed-in user; report routes default to "view" for
reads and "edit" for everything else (fail closed).

Embed links are the exception that proves the rule: their token is a credential only on the
routes declared :attr:`Need.EMBED` (where it is part of the path), and on every other route
and socket it is refused, whatever that route needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from coreport.access.model import Principal, ReportAccess, Role


class Action(Enum):
    """What a request does to a report."""

    VIEW = "view"  # read the report and its comments, see who is present
    COMMENT = "comment"  # write the comments document
    EDIT = "edit"  # write the report document
    MANAGE = "manage"  # members, share links, deleting the report


_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.COMMENTER: frozenset({Action.VIEW, Action.COMMENT}),
    Role.EDITOR: frozenset({Action.VIEW, Action.COMMENT, Action.EDIT}),
    Role.OWNER: frozenset(Action),
}


def allows(role: Role | None, action: Action) -> bool:
    return role is not None and action in _ALLOWED[role]


def write_action(comments: bool) -> Action:
    """What writing a report's document (or its comments document) takes."""
    return Action.COMMENT if comments else Action.EDIT


def effective_role(principal: Principal, report_id: str, access: ReportAccess) -> Role | None:
    """The principal's role on a registered, live report; ``None`` means no access.

    Admins (and everyone without auth) own every report. A share link grants its role on
    its own report only (an embed link: viewer, though the middleware lets an embed
    principal through on the embed routes only). Otherwise a member entry decides, and
    without one the report's project default applies.
    """
    if access.report is None or access.report.deleted_at is not None:
        return None
    if principal.admin:
        return Role.OWNER
    if principal.link is not None:
        return principal.link.role if principal.link.report_id == report_id else None
    if access.member_role is not None:
        return access.member_role
    return access.project_role


# -- routes ---------------------------------------------------------------------------------


class Need(Enum):
    """What a route needs beyond a report action."""

    PUBLIC = "public"  # anyone; credentials are not even looked at
    OPTIONAL = "optional"  # anyone; the principal, if any, is passed on
    SIGNED_IN = "signed_in"  # any authenticated principal that is a user
    ADMIN = "admin"
    EMBED = "embed"  # the embed token in the path ({token}), and no other credential


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Rule:
    """``methods`` (``None``: any) on paths matching ``pattern`` need ``need``.

    ``need`` is a :class:`Need` or a report :class:`Action`; a pattern with a
    ``{report_id}`` placeholder names the report the action applies to.
    """

    methods: frozenset[str] | None
    pattern: str
    need: Need | Action

    def compiled(self) -> re.Pattern[str]:
        return _compile(self.pattern)


def rule(methods: str, pattern: str, need: Need | Action) -> Rule:
    """``rule("GET,HEAD", "/api/x/{report_id}", Action.VIEW)``; ``"*"`` for any method."""
    chosen = None if methods == "*" else frozenset(m.strip().upper() for m in methods.split(","))
    return Rule(chosen, pattern, need)


#: First match wins. Adding a route with a special requirement is one line here.
HTTP_RULES: tuple[Rule, ...] = (
    rule("GET,HEAD", "/api/embed/{token}", Need.EMBED),
    rule("GET", "/api/embed/{token}/stream", Need.EMBED),
    rule("*", "/api/session", Need.OPTIONAL),
    rule("GET", "/auth/signin", Need.OPTIONAL),
    rule("GET", "/api/reports/{report_id}/presence", Action.VIEW),
    rule("*", "/api/reports/{report_id}/members", Action.MANAGE),
    rule("*", "/api/reports/{report_id}/members/{rest}", Action.MANAGE),
    rule("*", "/api/reports/{report_id}/links", Action.MANAGE),
    rule("*", "/api/reports/{report_id}/links/{rest}", Action.MANAGE),
    rule("GET,HEAD", "/api/reports/{report_id}/access", Action.VIEW),
    rule("GET,HEAD", "/api/reports/{report_id}/comments", Action.VIEW),
    rule("GET,HEAD", "/api/reports/{report_id}/comments/{rest}", Action.VIEW),
    rule("*", "/api/reports/{report_id}/comments", Action.COMMENT),
    rule("*", "/api/reports/{report_id}/comments/{rest}", Action.COMMENT),
    rule("DELETE", "/api/reports/{report_id}", Action.MANAGE),
    # A copy belongs to whoever makes it: reading the original is enough.
    rule("POST", "/api/reports/{report_id}/clone", Action.VIEW),
    # Fail closed: any other report route is a read or an edit.
    rule("GET,HEAD", "/api/reports/{report_id}", Action.VIEW),
    rule("GET,HEAD", "/api/reports/{report_id}/{rest}", Action.VIEW),
    rule("*", "/api/reports/{report_id}", Action.EDIT),
    rule("*", "/api/reports/{report_id}/{rest}", Action.EDIT),
    rule("*", "/api/users", Need.ADMIN),
    rule("*", "/api/users/{rest}", Need.ADMIN),
    rule("*", "/api/access/{rest}", Need.ADMIN),
    rule("*", "/api", Need.SIGNED_IN),
    rule("*", "/api/{rest}", Need.SIGNED_IN),
    # Health, metrics and the web app's files: the app shows its own sign-in page.
    rule("*", "/", Need.PUBLIC),
    rule("*", "/{rest}", Need.PUBLIC),
)

_WS_PATH = re.compile(r"^/ws/reports/(?P<report_id>[^/]+)(?P<comments>/comments)?$")

#: The web app's embed page: the only page other sites may show in a frame.
_EMBED_PAGE = re.compile(r"^/embed/[^/]+/?$")


@dataclass(frozen=True, slots=True)
class Requirement:
    need: Need | Action
    report_id: str | None = None
    #: The embed token a :attr:`Need.EMBED` route names in its path.
    token: str | None = None


class RouteTable:
    def __init__(self, rules: tuple[Rule, ...] = HTTP_RULES) -> None:
        self._rules = [(r, r.compiled()) for r in rules]

    def http(self, method: str, path: str) -> Requirement:
        path = path.rstrip("/") or "/"
        for candidate, pattern in self._rules:
            if candidate.methods is not None and method.upper() not in candidate.methods:
                continue
            match = pattern.match(path)
            if match:
                groups = match.groupdict()
                return Requirement(candidate.need, groups.get("report_id"), groups.get("token"))
        return Requirement(Need.SIGNED_IN)

    @staticmethod
    def framable(path: str) -> bool:
        """Whether the page at ``path`` may be shown in another site's frame (an embed)."""
        return _EMBED_PAGE.match(path) is not None

    @staticmethod
    def websocket(path: str) -> tuple[str, bool] | None:
        """``(report_id, comments)`` of a document socket path; ``None`` for any other."""
        match = _WS_PATH.match(path)
        if match is None:
            return None
        return match["report_id"], match["comments"] is not None


def _compile(pattern: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\{[a-z_]+\})", pattern):
        if piece == "{rest}":
            parts.append(r"(?P<rest>.+)")
        elif piece.startswith("{"):
            parts.append(rf"(?P<{piece[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    return re.compile("^" + "".join(parts) + "$")
