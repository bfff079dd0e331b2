"""Live sockets lose access when an event on the bus says so, or at the periodic pass."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from coreport.access.live import LiveAccess, LiveSocket
from coreport.access.model import Principal, Role
from coreport.access.service import AccessService
from coreport.buses.local import LocalBus
from coreport.protocol import codes
from coreport.protocol.codes import CloseCode
from tests.support.fakes import ManualClock


@dataclass(eq=False)
class Peer:
    closed: CloseCode | None = None
    writable: list[bool] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self, code: CloseCode, detail: str = "") -> None:
        self.closed = code
        self.changed.set()

    def set_writable(self, writable: bool) -> None:
        self.writable.append(writable)
        self.changed.set()


async def signed_in(access: AccessService, name: str) -> tuple[Principal, str]:
    user = await access.add_user(name)
    key, secret = await access.create_key(user)
    principal = await access.authenticate_token(secret)
    assert principal is not None
    return principal, key.prefix


async def test_events_from_any_instance_close_or_downgrade_sockets(
    access: AccessService, clock: ManualClock
) -> None:
    bus = LocalBus()
    await bus.open()
    # The service announces on the same bus the live registry listens to.
    announcing = AccessService(access.store, clock, bus)
    await announcing.start()
    owner, _ = await signed_in(access, "Ada")
    editor, editor_key = await signed_in(access, "Bob")
    bystander, _ = await signed_in(access, "Cy")
    assert owner.user
    assert editor.user
    assert bystander.user
    await access.register_report("r1", owner.user)
    await access.set_member("r1", editor.user, Role.EDITOR, owner.user)
    await access.set_member("r1", bystander.user, Role.EDITOR, owner.user)
    live = LiveAccess(access, bus, clock)
    report, comments, other = Peer(), Peer(), Peer()
    async with live:
        live.add(LiveSocket(editor, "r1", False, Role.EDITOR, report), clock.now())
        live.add(LiveSocket(editor, "r1", True, Role.EDITOR, comments), clock.now())
        live.add(LiveSocket(bystander, "r1", False, Role.EDITOR, other), clock.now())
        # Demoted to commenter: the report socket turns read-only, the comments one stays.
        await announcing.set_member("r1", editor.user, Role.COMMENTER, owner.user)
        await asyncio.wait_for(report.changed.wait(), 5)
        await asyncio.wait_for(comments.changed.wait(), 5)
        assert report.writable == [False]
        assert comments.writable == [True]
        assert report.closed is None
        report.changed.clear()
        # Key revoked: closed with 4410.
        await announcing.revoke_key(editor_key)
        await asyncio.wait_for(report.changed.wait(), 5)
        assert report.closed == codes.ACCESS_REVOKED
        assert comments.closed == codes.ACCESS_REVOKED
        assert other.closed is None
        assert other.writable == []
        assert live.count == 1
    await bus.close()


async def test_the_periodic_pass_catches_changes_no_bus_carried(
    access: AccessService, clock: ManualClock
) -> None:
    bus = LocalBus()
    await bus.open()
    owner, _ = await signed_in(access, "Ada")
    viewer, viewer_key = await signed_in(access, "Bob")
    assert owner.user
    assert viewer.user
    await access.register_report("r1", owner.user)
    await access.set_member("r1", viewer.user, Role.VIEWER, owner.user)
    live = LiveAccess(access, bus, clock)
    peer = Peer()
    socket = LiveSocket(viewer, "r1", False, Role.VIEWER, peer)
    async with live:
        live.add(socket, clock.now())
        # Revoked in the store only (as the CLI does beside an embedded server).
        await access.store.revoke_key(viewer_key, access.now())
        live.on_gap()  # what the sweep or a bus reconnect queues
        await asyncio.wait_for(peer.changed.wait(), 5)
        assert peer.closed == codes.ACCESS_REVOKED
    await bus.close()


async def test_malformed_events_are_dropped_and_later_ones_still_work(
    access: AccessService, clock: ManualClock
) -> None:
    bus = LocalBus()
    await bus.open()
    announcing = AccessService(access.store, clock, bus)
    await announcing.start()
    principal, prefix = await signed_in(access, "Ada")
    assert principal.user
    await access.register_report("r1", principal.user)
    live = LiveAccess(access, bus, clock)
    peer = Peer()
    async with live:
        live.add(LiveSocket(principal, "r1", False, Role.OWNER, peer), clock.now())
        live.on_message(b"garbage")
        live.on_message(b'{"kind": "nope"}')
        await announcing.revoke_key(prefix)
        await asyncio.wait_for(peer.changed.wait(), 5)
        assert peer.closed == codes.ACCESS_REVOKED
    await bus.close()


async def test_a_socket_registered_after_its_revocation_still_loses_access(
    access: AccessService, clock: ManualClock
) -> None:
    """The window between checking a socket's access and registering it: an event that
    arrived in between is applied when it registers."""
    bus = LocalBus()
    await bus.open()
    announcing = AccessService(access.store, clock, bus)
    await announcing.start()
    owner, _ = await signed_in(access, "Ada")
    editor, editor_key = await signed_in(access, "Bob")
    assert owner.user
    assert editor.user
    await access.register_report("r1", owner.user)
    await access.set_member("r1", editor.user, Role.EDITOR, owner.user)
    live = LiveAccess(access, bus, clock)
    async with live:
        checked_at = clock.now()  # the socket's access is checked...
        clock.advance(0.1)
        await announcing.revoke_key(editor_key)  # ...then revoked before it registers
        await live.next_pass()
        late, unrelated = Peer(), Peer()
        live.add(LiveSocket(editor, "r1", False, Role.EDITOR, late), checked_at)
        live.add(LiveSocket(owner, "r1", False, Role.OWNER, unrelated), checked_at)
        await asyncio.wait_for(late.changed.wait(), 5)
        assert late.closed == codes.ACCESS_REVOKED
        assert unrelated.closed is None
        # A socket checked after the event is not affected by it.
        fresh = Peer()
        live.add(LiveSocket(owner, "r1", False, Role.OWNER, fresh), clock.now() + 1)
        assert live.count == 2
    await bus.close()
