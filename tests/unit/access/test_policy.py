"""What each role may do, a principal's role on a report, and the route table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coreport.access.model import Principal, ReportAccess, ReportEntry, Role, ShareLink, User
from coreport.access.policy import Action, Need, RouteTable, allows, effective_role, write_action

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ADA = User("u_ada", "Ada", None, "#000000", False, NOW)
ROOT = User("u_root", "Root", None, "#000000", True, NOW)
R1 = ReportEntry("r1", "p", "u_ada", NOW)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (None, set()),
        (Role.VIEWER, {Action.VIEW}),
        (Role.COMMENTER, {Action.VIEW, Action.COMMENT}),
        (Role.EDITOR, {Action.VIEW, Action.COMMENT, Action.EDIT}),
        (Role.OWNER, set(Action)),
    ],
)
def test_roles_allow_their_actions_only(role: Role | None, allowed: set[Action]) -> None:
    assert {action for action in Action if allows(role, action)} == allowed


def test_writing_comments_is_commenting() -> None:
    assert write_action(comments=True) is Action.COMMENT
    assert write_action(comments=False) is Action.EDIT


def test_member_role_beats_the_project_default() -> None:
    user = Principal("key", ADA)
    assert effective_role(user, "r1", ReportAccess(R1, Role.VIEWER, Role.EDITOR)) is Role.VIEWER
    assert effective_role(user, "r1", ReportAccess(R1, None, Role.COMMENTER)) is Role.COMMENTER
    assert effective_role(user, "r1", ReportAccess(R1, None, None)) is None


def test_nobody_has_a_role_on_an_unregistered_or_deleted_report() -> None:
    deleted = ReportEntry("r1", "p", "u_ada", NOW, deleted_at=NOW)
    for principal in (Principal("key", ADA), Principal("key", ROOT)):
        assert effective_role(principal, "r1", ReportAccess(None, None, None)) is None
        assert effective_role(principal, "r1", ReportAccess(deleted, Role.OWNER, None)) is None


def test_admins_own_every_registered_report() -> None:
    assert effective_role(Principal("key", ROOT), "r1", ReportAccess(R1, None, None)) is Role.OWNER
    assert effective_role(Principal("insecure", None), "r1", ReportAccess(R1, None, None)) is (
        Role.OWNER
    )


def test_a_link_grants_its_role_on_its_report_only() -> None:
    link = Principal("link", None, link=ShareLink("csl_00000001", "r1", Role.COMMENTER, None, NOW))
    r2 = ReportEntry("r2", "p", "u_ada", NOW)
    assert effective_role(link, "r1", ReportAccess(R1, None, Role.EDITOR)) is Role.COMMENTER
    assert effective_role(link, "r2", ReportAccess(r2, None, Role.EDITOR)) is None


@pytest.mark.parametrize(
    ("method", "path", "need", "report_id"),
    [
        ("GET", "/", Need.PUBLIC, None),
        ("GET", "/assets/index.js", Need.PUBLIC, None),
        ("GET", "/healthz", Need.PUBLIC, None),
        ("POST", "/api/session", Need.OPTIONAL, None),
        ("GET", "/auth/signin", Need.OPTIONAL, None),
        ("GET", "/api/reports/r1/presence", Action.VIEW, "r1"),
        ("GET", "/api/reports/r1/access", Action.VIEW, "r1"),
        ("GET", "/api/reports/r1/members", Action.MANAGE, "r1"),
        ("PUT", "/api/reports/r1/members/u_bob", Action.MANAGE, "r1"),
        ("POST", "/api/reports/r1/links", Action.MANAGE, "r1"),
        ("POST", "/api/reports/r1/comments", Action.COMMENT, "r1"),
        ("DELETE", "/api/reports/r1", Action.MANAGE, "r1"),
        # Routes nobody declared: reads are views, anything else an edit.
        ("GET", "/api/reports/r1", Action.VIEW, "r1"),
        ("GET", "/api/reports/r1/markdown", Action.VIEW, "r1"),
        ("POST", "/api/reports/r1/blocks", Action.EDIT, "r1"),
        ("PATCH", "/api/reports/r1/", Action.EDIT, "r1"),
        ("POST", "/api/reports", Need.SIGNED_IN, None),
        ("GET", "/api/runs/x", Need.SIGNED_IN, None),
        ("GET", "/api/users", Need.ADMIN, None),
        ("PUT", "/api/access/projects/p", Need.ADMIN, None),
        ("GET", "/api", Need.SIGNED_IN, None),
    ],
)
def test_route_table(method: str, path: str, need: Need | Action, report_id: str | None) -> None:
    requirement = RouteTable().http(method, path)
    assert (requirement.need, requirement.report_id) == (need, report_id)


def test_document_sockets() -> None:
    assert RouteTable.websocket("/ws/reports/r1") == ("r1", False)
    assert RouteTable.websocket("/ws/reports/r1/comments") == ("r1", True)
    assert RouteTable.websocket("/ws/reports/r1/other") is None
    assert RouteTable.websocket("/ws/other") is None
