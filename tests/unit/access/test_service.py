"""The access service: keys, sessions, links, report roles, and what it announces."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coreport.access.events import CHANNEL, AccessEvent
from coreport.access.model import AccessError, Role, UnknownKey, UserExists
from coreport.access.service import AccessService
from tests.support.fakes import ManualClock, RecordingBus


def announced(bus: RecordingBus) -> list[AccessEvent]:
    return [AccessEvent.decode(data) for channel, data in bus.published if channel == CHANNEL]


async def test_a_key_authenticates_its_user_until_revoked(
    access: AccessService, bus: RecordingBus
) -> None:
    ada = await access.add_user("Ada", email="ada@example.com")
    key, secret = await access.create_key(ada, label="laptop")
    principal = await access.authenticate_token(secret)
    assert principal is not None
    assert (principal.via, principal.user, principal.key_prefix) == ("key", ada, key.prefix)
    assert (
        await access.authenticate_token(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    )
    assert await access.authenticate_token("cpk_00000000_" + "x" * 43) is None
    assert await access.authenticate_token("nonsense") is None
    await access.revoke_key(key.prefix)
    assert await access.authenticate_token(secret) is None
    assert announced(bus) == [AccessEvent("key_revoked", user_id=ada.id, prefix=key.prefix)]
    with pytest.raises(UnknownKey):
        await access.revoke_key("cpk_ffffffff")


async def test_an_expired_key_stops_working(access: AccessService, clock: ManualClock) -> None:
    ada = await access.add_user("Ada")
    _, secret = await access.create_key(ada, expires_at=access.now() + timedelta(hours=1))
    assert await access.authenticate_token(secret) is not None
    clock.advance(3601)
    assert await access.authenticate_token(secret) is None


async def test_last_use_is_recorded_at_most_once_a_minute(
    access: AccessService, clock: ManualClock
) -> None:
    ada = await access.add_user("Ada")
    _key, secret = await access.create_key(ada)
    await access.authenticate_token(secret)
    first = (await access.store.list_keys(ada.id))[0].last_used_at
    assert first is not None
    clock.advance(30)
    await access.authenticate_token(secret)
    assert (await access.store.list_keys(ada.id))[0].last_used_at == first
    clock.advance(31)
    await access.authenticate_token(secret)
    assert (await access.store.list_keys(ada.id))[0].last_used_at == first + timedelta(seconds=61)


async def test_user_names_are_unique(access: AccessService) -> None:
    await access.add_user("Ada")
    with pytest.raises(UserExists):
        await access.add_user("ada")
    with pytest.raises(AccessError, match="email"):
        await access.add_user("Bob", email="not-an-address")


async def test_a_browser_session_lasts_until_sign_out_or_key_revocation(
    access: AccessService, bus: RecordingBus, clock: ManualClock
) -> None:
    ada = await access.add_user("Ada")
    key, secret = await access.create_key(ada)
    by_key = await access.authenticate_token(secret)
    assert by_key is not None
    signed = await access.sign_in(by_key)
    principal = await access.authenticate_cookie(signed.cookie)
    assert principal is not None
    assert principal.via == "session"
    assert principal.user == ada
    assert access.csrf_token(principal) == signed.csrf
    assert await access.authenticate_cookie(signed.cookie + "x") is None
    # A second browser, then the key is revoked: both sessions made with it end.
    other = await access.sign_in(by_key)
    await access.revoke_key(key.prefix)
    assert await access.authenticate_cookie(signed.cookie) is None
    assert await access.authenticate_cookie(other.cookie) is None
    # A session from the one-time link ends on sign-out, and by expiry.
    token = access.signin_links.issue()
    linked = await access.sign_in_with_link(token)
    assert linked is not None
    assert await access.sign_in_with_link(token) is None  # one time only
    linked_principal = await access.authenticate_cookie(linked.cookie)
    assert linked_principal is not None
    assert linked_principal.admin
    await access.sign_out(linked_principal)
    assert await access.authenticate_cookie(linked.cookie) is None
    assert announced(bus)[-1].kind == "session_ended"
    fresh = await access.sign_in_with_link(access.signin_links.issue())
    assert fresh is not None
    clock.advance(15 * 24 * 3600)
    assert await access.authenticate_cookie(fresh.cookie) is None


async def test_the_signin_link_reuses_the_first_admin(access: AccessService) -> None:
    root = await access.add_user("root", admin=True)
    linked = await access.sign_in_with_link(access.signin_links.issue())
    assert linked is not None
    assert linked.principal.user == root


async def test_opening_a_new_id_makes_the_opener_its_owner(access: AccessService) -> None:
    ada = await access.add_user("Ada")
    bob = await access.add_user("Bob")
    _, ada_key = await access.create_key(ada)
    _, bob_key = await access.create_key(bob)
    as_ada = await access.authenticate_token(ada_key)
    as_bob = await access.authenticate_token(bob_key)
    assert as_ada is not None
    assert as_bob is not None
    opened = await access.open_report(as_ada, "r1")
    assert (opened.role, opened.created) == (Role.OWNER, True)
    assert (await access.open_report(as_ada, "r1")).created is False
    # Someone else opening it is not its owner, and has no role until given one.
    other = await access.open_report(as_bob, "r1")
    assert other.report is not None
    assert other.role is None
    await access.set_member("r1", bob, Role.COMMENTER, ada)
    assert (await access.role_on(as_bob, "r1")).role is Role.COMMENTER
    assert (await access.role_on(as_bob, "nothere")).report is None


async def test_project_default_role(access: AccessService) -> None:
    ada = await access.add_user("Ada")
    bob = await access.add_user("Bob")
    _, bob_key = await access.create_key(bob)
    as_bob = await access.authenticate_token(bob_key)
    assert as_bob is not None
    await access.register_report("r1", ada, project="team")
    await access.store.set_project_role("team", Role.VIEWER)
    assert (await access.role_on(as_bob, "r1")).role is Role.VIEWER


async def test_a_report_keeps_an_owner(access: AccessService) -> None:
    ada = await access.add_user("Ada")
    bob = await access.add_user("Bob")
    await access.register_report("r1", ada)
    with pytest.raises(AccessError, match="owner"):
        await access.remove_member("r1", ada)
    with pytest.raises(AccessError, match="owner"):
        await access.set_member("r1", ada, Role.EDITOR, ada)
    await access.set_member("r1", bob, Role.OWNER, ada)
    assert await access.remove_member("r1", ada)


async def test_member_changes_and_deletions_are_announced(
    access: AccessService, bus: RecordingBus
) -> None:
    ada = await access.add_user("Ada")
    bob = await access.add_user("Bob")
    await access.register_report("r1", ada)
    await access.set_member("r1", bob, Role.EDITOR, ada)
    await access.remove_member("r1", bob)
    assert not await access.remove_member("r1", bob)
    assert await access.delete_report("r1")
    assert announced(bus) == [
        AccessEvent("member_changed", user_id=bob.id, report_id="r1"),
        AccessEvent("member_changed", user_id=bob.id, report_id="r1"),
        AccessEvent("report_deleted", report_id="r1"),
    ]


async def test_share_links_grant_view_or_comment_on_their_report(
    access: AccessService, bus: RecordingBus, clock: ManualClock
) -> None:
    ada = await access.add_user("Ada")
    await access.register_report("r1", ada)
    await access.register_report("r2", ada)
    with pytest.raises(AccessError, match="viewer or commenter"):
        await access.create_link("r1", Role.EDITOR, ada)
    link, token = await access.create_link("r1", Role.COMMENTER, ada)
    principal = await access.authenticate_token(token)
    assert principal is not None
    assert principal.via == "link"
    assert principal.user is None
    assert (await access.role_on(principal, "r1")).role is Role.COMMENTER
    assert (await access.role_on(principal, "r2")).role is None
    # A link cannot create reports.
    assert (await access.open_report(principal, "r3")).report is None
    with pytest.raises(UnknownKey):
        await access.revoke_link("r2", link.prefix)
    await access.revoke_link("r1", link.prefix)
    assert await access.authenticate_token(token) is None
    assert announced(bus)[-1] == AccessEvent("link_revoked", report_id="r1", prefix=link.prefix)
    _, expiring = await access.create_link(
        "r1", Role.VIEWER, ada, expires_at=access.now() + timedelta(minutes=5)
    )
    assert await access.authenticate_token(expiring) is not None
    clock.advance(301)
    assert await access.authenticate_token(expiring) is None


async def test_trusted_proxy_users_are_created_on_first_sight(access: AccessService) -> None:
    first = await access.authenticate_proxy_user("ada@example.com")
    assert first is not None
    assert first.user is not None
    assert (first.user.name, first.user.email) == ("ada", "ada@example.com")
    again = await access.authenticate_proxy_user("ADA@example.com")
    assert again is not None
    assert again.user == first.user
    assert await access.authenticate_proxy_user("  ") is None


async def test_revalidate_follows_the_store(access: AccessService) -> None:
    ada = await access.add_user("Ada")
    key, secret = await access.create_key(ada)
    principal = await access.authenticate_token(secret)
    assert principal is not None
    assert await access.revalidate(principal) == principal
    await access.revoke_key(key.prefix)
    assert await access.revalidate(principal) is None
