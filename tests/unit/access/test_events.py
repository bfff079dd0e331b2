"""Access events on the bus: encoding, and which sockets an event concerns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from coreport.access.events import AccessEvent, BadEvent
from coreport.access.model import Principal, Role, ShareLink, User

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ADA = User("u_ada", "Ada", None, "#000000", False, NOW)
BOB = User("u_bob", "Bob", None, "#000000", False, NOW)


def test_events_round_trip() -> None:
    event = AccessEvent("member_changed", user_id="u_ada", report_id="r1")
    assert AccessEvent.decode(event.encode()) == event


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b'{"kind": "party"}', b'{"kind": "key_revoked", "prefix": 5}'],
)
def test_malformed_events_are_refused(data: bytes) -> None:
    with pytest.raises(BadEvent):
        AccessEvent.decode(data)


def test_which_sockets_an_event_concerns() -> None:
    by_key = Principal("key", ADA, key_prefix="cpk_00000001")
    by_session = Principal("session", ADA, key_prefix="cpk_00000001", session="ab")
    other_key = Principal("key", BOB, key_prefix="cpk_00000002")
    link = ShareLink("csl_00000001", "r1", Role.VIEWER, None, NOW)
    by_link = Principal("link", None, link=link)

    revoked = AccessEvent("key_revoked", prefix="cpk_00000001")
    assert revoked.concerns(by_key, "r1")
    assert revoked.concerns(by_session, "r2")  # signed in with that key
    assert not revoked.concerns(other_key, "r1")
    assert not revoked.concerns(by_link, "r1")

    ended = AccessEvent("session_ended", session="ab")
    assert ended.concerns(by_session, "r1")
    assert not ended.concerns(by_key, "r1")

    changed = AccessEvent("member_changed", user_id="u_ada", report_id="r1")
    assert changed.concerns(by_key, "r1")
    assert not changed.concerns(by_key, "r2")
    assert not changed.concerns(other_key, "r1")

    link_gone = AccessEvent("link_revoked", prefix="csl_00000001", report_id="r1")
    assert link_gone.concerns(by_link, "r1")
    assert not link_gone.concerns(by_key, "r1")

    deleted = AccessEvent("report_deleted", report_id="r1")
    assert deleted.concerns(by_key, "r1")
    assert deleted.concerns(by_link, "r1")
    assert not deleted.concerns(by_key, "r2")
