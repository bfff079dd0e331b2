"""Embed links: what they are (model), where they count (policy, middleware) and how the
service issues, opens and withdraws them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coreport.access import tokens
from coreport.access.events import AccessEvent
from coreport.access.model import (
    AccessError,
    EmbedScope,
    EmbedUnavailable,
    Principal,
    ReportAccess,
    ReportEntry,
    Role,
    ShareLink,
    User,
)
from coreport.access.policy import Need, RouteTable, effective_role
from coreport.access.service import AccessService
from coreport.settings import Settings
from coreport.web.auth import SECURITY_HEADERS, AuthConfig, embed_headers, frame_ancestors
from tests.support.fakes import ManualClock

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def embed_link(panel_id: str | None = "p1", report_id: str = "r1") -> ShareLink:
    return ShareLink("cse_00000001", report_id, Role.VIEWER, None, NOW, embed=EmbedScope(panel_id))


# -- model and policy ------------------------------------------------------------------------


def test_an_embed_scope_is_a_panel_or_the_report() -> None:
    assert EmbedScope("p1").kind == "panel"
    assert EmbedScope().kind == "report"
    assert ShareLink("csl_00000001", "r1", Role.VIEWER, None, NOW).embed is None


def test_an_embed_principal_views_its_own_report_only() -> None:
    embed = Principal("embed", None, link=embed_link())
    r1 = ReportEntry("r1", "p", "u_ada", NOW)
    r2 = ReportEntry("r2", "p", "u_ada", NOW)
    assert effective_role(embed, "r1", ReportAccess(r1, None, Role.EDITOR)) is Role.VIEWER
    assert effective_role(embed, "r2", ReportAccess(r2, None, Role.EDITOR)) is None
    assert not embed.admin
    assert embed.label == "embed cse_00000001"
    # Revoking the link reaches its live streams like any link's sockets.
    assert AccessEvent("link_revoked", report_id="r1", prefix="cse_00000001").concerns(embed, "r1")


@pytest.mark.parametrize(
    ("method", "path", "need", "token"),
    [
        ("GET", "/api/embed/cse_1", Need.EMBED, "cse_1"),
        ("HEAD", "/api/embed/cse_1", Need.EMBED, "cse_1"),
        ("GET", "/api/embed/cse_1/stream", Need.EMBED, "cse_1"),
        # Nothing but reading: anything else falls through to "signed in" (and 404s).
        ("POST", "/api/embed/cse_1", Need.SIGNED_IN, None),
        ("GET", "/api/embed/cse_1/other", Need.SIGNED_IN, None),
        ("GET", "/embed/cse_1", Need.PUBLIC, None),
    ],
)
def test_embed_routes(method: str, path: str, need: Need, token: str | None) -> None:
    requirement = RouteTable().http(method, path)
    assert (requirement.need, requirement.token, requirement.report_id) == (need, token, None)


def test_only_the_embed_page_is_framable() -> None:
    assert RouteTable.framable("/embed/cse_1")
    assert RouteTable.framable("/embed/cse_1/")
    for path in ("/", "/r/r1", "/embed", "/embed/", "/embed/a/b", "/api/embed/cse_1", "/x/embed/a"):
        assert not RouteTable.framable(path), path


# -- framing settings and headers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "sources"),
    [
        ("*", "*"),
        ("", "'none'"),
        ("'none'", "'none'"),
        ("https://wiki.example.com, 'self'", "https://wiki.example.com 'self'"),
        (
            "https://*.example.com:443 http://localhost:*",
            "https://*.example.com:443 http://localhost:*",
        ),
        ("https: notion.so", "https: notion.so"),
    ],
)
def test_frame_ancestors_setting(setting: str, sources: str) -> None:
    assert frame_ancestors(setting) == sources


@pytest.mark.parametrize(
    "setting",
    [
        "https://a.example.com; script-src *",  # header injection
        "'unsafe-inline'",
        'https://a.example.com"',
        "'none' https://a.example.com",
        "https://exa mple.com/'x'",
    ],
)
def test_bad_frame_ancestors_are_refused(tmp_path: Path, setting: str) -> None:
    with pytest.raises(ValueError, match="EMBED_FRAME_ANCESTORS"):
        AuthConfig.from_settings(Settings(data_dir=tmp_path, embed_frame_ancestors=setting))


def test_embed_pages_may_be_framed_where_the_setting_says() -> None:
    assert AuthConfig().embed_frame_ancestors == "*"
    headers = dict(embed_headers("https://wiki.example.com"))
    assert b"x-frame-options" not in headers
    assert headers[b"content-security-policy"].endswith(b"frame-ancestors https://wiki.example.com")
    assert headers[b"x-robots-tag"] == b"noindex, nofollow"
    # Everything else about the policy is what every page gets.
    ordinary = dict(SECURITY_HEADERS)
    assert ordinary[b"x-frame-options"] == b"DENY"
    assert (
        headers[b"content-security-policy"].split(b"frame-ancestors")[0]
        == (ordinary[b"content-security-policy"].split(b"frame-ancestors")[0])
    )


# -- the service -----------------------------------------------------------------------------


async def owner_and_report(access: AccessService) -> User:
    ada = await access.add_user("Ada")
    await access.register_report("r1", ada)
    return ada


async def test_an_embed_link_opens_as_a_viewer_for_the_embed_routes(
    access: AccessService,
) -> None:
    ada = await owner_and_report(access)
    link, token = await access.create_link("r1", Role.VIEWER, ada, embed=EmbedScope("p1"))
    assert token.startswith(f"{tokens.EMBED_KIND}_")
    assert link.prefix == token[:12]
    assert (link.embed, link.role, link.created_by) == (EmbedScope("p1"), Role.VIEWER, ada.id)
    principal = await access.open_embed(token)
    assert (principal.via, principal.user, principal.link) == ("embed", None, link)
    # Not a credential anywhere else.
    assert await access.authenticate_token(token) is None
    assert (await access.role_on(principal, "r1")).role is Role.VIEWER
    assert await access.store.list_links("r1") == [link]


async def test_an_embed_link_is_read_only(access: AccessService) -> None:
    ada = await owner_and_report(access)
    with pytest.raises(AccessError, match="read-only"):
        await access.create_link("r1", Role.COMMENTER, ada, embed=EmbedScope())
    with pytest.raises(AccessError, match="panel"):
        await access.create_link("r1", Role.VIEWER, ada, embed=EmbedScope(" "))
    assert await access.store.list_links("r1") == []


async def test_what_an_embed_token_cannot_open(access: AccessService) -> None:
    ada = await owner_and_report(access)
    _, share = await access.create_link("r1", Role.VIEWER, ada)
    _, token = await access.create_link("r1", Role.VIEWER, ada, embed=EmbedScope())
    wrong_secret = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for candidate in (
        wrong_secret,
        "cse_00000000_" + "x" * 43,
        share,  # a share link is not an embed link
        share.replace("csl_", "cse_"),
        "nonsense",
        "",
    ):
        with pytest.raises(EmbedUnavailable) as refused:
            await access.open_embed(candidate)
        assert refused.value.problem == "unknown", candidate
        assert not refused.value.gone


async def test_revoked_expired_and_deleted_embeds_are_gone(
    access: AccessService, clock: ManualClock
) -> None:
    ada = await owner_and_report(access)
    revoked, revoked_token = await access.create_link(
        "r1", Role.VIEWER, ada, embed=EmbedScope("p1")
    )
    principal = await access.open_embed(revoked_token)
    await access.revoke_link("r1", revoked.prefix)
    assert await access.revalidate(principal) is None
    expiring = access.now() + timedelta(minutes=5)
    _, expiring_token = await access.create_link(
        "r1", Role.VIEWER, ada, expiring, embed=EmbedScope()
    )
    assert await access.revalidate(await access.open_embed(expiring_token)) is not None
    clock.advance(301)
    _, lasting_token = await access.create_link("r1", Role.VIEWER, ada, embed=EmbedScope())
    await access.open_embed(lasting_token)
    await access.delete_report("r1")
    for token, problem in (
        (revoked_token, "revoked"),
        (expiring_token, "expired"),
        (lasting_token, "deleted"),
    ):
        with pytest.raises(EmbedUnavailable) as refused:
            await access.open_embed(token)
        assert (refused.value.problem, refused.value.gone) == (problem, True)
