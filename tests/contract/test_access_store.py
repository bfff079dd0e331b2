"""The AccessStore contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from coreport.access.model import (
    ApiKey,
    BrowserSession,
    Member,
    ReportAccess,
    ReportEntry,
    Role,
    ShareLink,
    User,
    UserExists,
)
from coreport.access.ports import AccessStore

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def user(user_id: str, name: str, email: str | None = None, admin: bool = False) -> User:
    return User(user_id, name, email, "#123456", admin, NOW)


async def test_users_are_found_by_id_email_or_name(access_store: AccessStore) -> None:
    ada = user("u_ada", "Ada", "ada@example.com", admin=True)
    await access_store.create_user(ada)
    assert await access_store.get_user("u_ada") == ada
    for ref in ("u_ada", "ADA@example.com", "ada"):
        assert await access_store.find_user(ref) == ada
    assert await access_store.find_user("nobody") is None
    assert await access_store.get_user("u_nobody") is None


async def test_names_and_emails_are_unique_ignoring_case(access_store: AccessStore) -> None:
    await access_store.create_user(user("u_1", "Ada", "ada@example.com"))
    for clash in (user("u_1", "Other"), user("u_2", "ADA"), user("u_3", "B", "Ada@Example.com")):
        with pytest.raises(UserExists):
            await access_store.create_user(clash)
    await access_store.create_user(user("u_4", "Bob"))  # no email twice is fine
    await access_store.create_user(user("u_5", "Cy"))
    assert [u.name for u in await access_store.list_users()] == ["Ada", "Bob", "Cy"]


async def test_keys_store_a_digest_and_can_be_revoked(access_store: AccessStore) -> None:
    await access_store.create_user(user("u_ada", "Ada"))
    key = ApiKey("cpk_00000001", "u_ada", "laptop", NOW, expires_at=NOW + timedelta(days=1))
    assert await access_store.create_key(key, b"d" * 32)
    assert not await access_store.create_key(key, b"e" * 32)  # prefix taken
    assert await access_store.get_key("cpk_00000001") == (key, b"d" * 32)
    assert await access_store.get_key("cpk_nothere0") is None
    await access_store.touch_key("cpk_00000001", NOW + timedelta(minutes=1))
    later = NOW + timedelta(hours=1)
    revoked = await access_store.revoke_key("cpk_00000001", later)
    assert revoked is not None
    assert revoked.revoked_at == later
    assert revoked.last_used_at == NOW + timedelta(minutes=1)
    # Revoking again keeps the first time.
    again = await access_store.revoke_key("cpk_00000001", later + timedelta(hours=1))
    assert again is not None
    assert again.revoked_at == later
    assert await access_store.revoke_key("cpk_nothere0", later) is None
    assert [k.prefix for k in await access_store.list_keys("u_ada")] == ["cpk_00000001"]
    assert await access_store.list_keys("u_other") == []


async def test_revoking_a_key_ends_its_browser_sessions(access_store: AccessStore) -> None:
    await access_store.create_user(user("u_ada", "Ada"))
    await access_store.create_key(ApiKey("cpk_00000001", "u_ada", None, NOW), b"d" * 32)
    by_key = BrowserSession(b"1" * 32, "u_ada", "key", "cpk_00000001", NOW, NOW + timedelta(days=1))
    by_link = BrowserSession(b"2" * 32, "u_ada", "signin_link", None, NOW, NOW + timedelta(days=1))
    await access_store.create_session(by_key)
    await access_store.create_session(by_link)
    assert await access_store.get_session(b"1" * 32) == by_key
    await access_store.revoke_key("cpk_00000001", NOW)
    ended = await access_store.get_session(b"1" * 32)
    assert ended is not None
    assert ended.revoked_at == NOW
    still = await access_store.get_session(b"2" * 32)
    assert still is not None
    assert still.revoked_at is None
    await access_store.end_session(b"2" * 32, NOW)
    gone = await access_store.get_session(b"2" * 32)
    assert gone is not None
    assert not gone.usable_at(NOW)
    assert await access_store.get_session(b"3" * 32) is None


async def test_registering_a_report_makes_its_creator_owner_once(access_store: AccessStore) -> None:
    await access_store.create_user(user("u_ada", "Ada"))
    await access_store.create_user(user("u_bob", "Bob"))
    entry, created = await access_store.register_report(ReportEntry("r1", "proj", "u_ada", NOW))
    assert created
    assert entry == ReportEntry("r1", "proj", "u_ada", NOW)
    again, created = await access_store.register_report(ReportEntry("r1", "other", "u_bob", NOW))
    assert not created
    assert again == entry
    assert await access_store.report_access("r1", "u_ada") == ReportAccess(entry, Role.OWNER, None)
    assert await access_store.report_access("r1", "u_bob") == ReportAccess(entry, None, None)
    assert await access_store.report_access("r1", None) == ReportAccess(entry, None, None)
    assert await access_store.report_access("r2", "u_ada") == ReportAccess(None, None, None)


async def test_concurrent_registrations_have_one_winner(access_store: AccessStore) -> None:
    for n in range(5):
        await access_store.create_user(user(f"u_{n}", f"user{n}"))
    results = await asyncio.gather(
        *(access_store.register_report(ReportEntry("race", "p", f"u_{n}", NOW)) for n in range(5))
    )
    winners = [entry.created_by for entry, created in results if created]
    assert len(winners) == 1
    assert {entry.created_by for entry, _ in results} == set(winners)
    members = await access_store.list_members("race")
    assert [(m.user_id, m.role) for m in members] == [(winners[0], Role.OWNER)]


async def test_members_and_project_defaults(access_store: AccessStore) -> None:
    await access_store.create_user(user("u_ada", "Ada"))
    await access_store.create_user(user("u_bob", "Bob"))
    entry, _ = await access_store.register_report(ReportEntry("r1", "proj", "u_ada", NOW))
    await access_store.set_member(Member("r1", "u_bob", Role.VIEWER, "u_ada", NOW))
    assert (await access_store.report_access("r1", "u_bob")).member_role is Role.VIEWER
    await access_store.set_member(Member("r1", "u_bob", Role.EDITOR, "u_ada", NOW))
    assert [(m.user_id, m.role) for m in await access_store.list_members("r1")] == [
        ("u_ada", Role.OWNER),
        ("u_bob", Role.EDITOR),
    ]
    assert await access_store.remove_member("r1", "u_bob")
    assert not await access_store.remove_member("r1", "u_bob")
    await access_store.set_project_role("proj", Role.COMMENTER)
    assert await access_store.get_project_role("proj") is Role.COMMENTER
    assert await access_store.report_access("r1", "u_bob") == ReportAccess(
        entry, None, Role.COMMENTER
    )
    await access_store.set_project_role("proj", None)
    assert await access_store.get_project_role("proj") is None


async def test_deleted_reports_keep_their_id(access_store: AccessStore) -> None:
    await access_store.create_user(user("u_ada", "Ada"))
    await access_store.register_report(ReportEntry("r1", "p", "u_ada", NOW))
    assert await access_store.delete_report("r1", NOW)
    assert not await access_store.delete_report("r1", NOW)
    assert not await access_store.delete_report("r2", NOW)
    entry = await access_store.get_report("r1")
    assert entry is not None
    assert entry.deleted_at == NOW
    _, created = await access_store.register_report(ReportEntry("r1", "p", "u_ada", NOW))
    assert not created


async def test_share_links(access_store: AccessStore) -> None:
    await access_store.create_user(user("u_ada", "Ada"))
    await access_store.register_report(ReportEntry("r1", "p", "u_ada", NOW))
    link = ShareLink("csl_00000001", "r1", Role.COMMENTER, "u_ada", NOW)
    assert await access_store.create_link(link, b"d" * 32)
    assert not await access_store.create_link(link, b"d" * 32)
    assert await access_store.get_link("csl_00000001") == (link, b"d" * 32)
    assert await access_store.list_links("r1") == [link]
    revoked = await access_store.revoke_link("csl_00000001", NOW)
    assert revoked is not None
    assert not revoked.usable_at(NOW)
    assert await access_store.revoke_link("csl_nothere0", NOW) is None


async def test_a_secret_is_made_once_and_shared(access_store: AccessStore) -> None:
    first = await access_store.secret("cookies", lambda: b"a" * 32)
    assert first == b"a" * 32
    assert await access_store.secret("cookies", lambda: b"b" * 32) == first
    assert await access_store.secret("other", lambda: b"c" * 32) == b"c" * 32
