"""Access control against real servers: in-process uvicorn instances on port 0 (two of them
sharing one LocalBus and one SQLite file act as two instances), real sockets, real HTTP.

The access matrix crosses every kind of caller with every REST route and every WebSocket
message type, and checks that what was refused left nothing in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pycrdt import Doc, Text
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from coreport.access.model import EmbedScope, Role, User
from coreport.access.service import AccessService
from coreport.buses.local import LocalBus
from coreport.protocol import codes, messages
from coreport.protocol.messages import AwarenessEntry, AwarenessUpdate, MessageType, SyncType
from coreport.reports.blocks import parse_blocks
from coreport.settings import Settings
from coreport.sync.names import comments_doc, report_doc
from coreport.web.app import Service, create_app
from coreport.web.auth import CSRF_HEADER, SESSION_COOKIE
from tests.support.server import ServerProcess
from tests.support.yclient import close_code

# -- in-process servers --------------------------------------------------------------------


@dataclass
class Instance:
    app: Starlette
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/reports"

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    @property
    def access(self) -> AccessService:
        return self.service.access


@contextlib.asynccontextmanager
async def running(settings: Settings, **kwargs: Any) -> AsyncIterator[Instance]:
    """``create_app(settings, **kwargs)`` served by uvicorn on a free port of 127.0.0.1."""
    ready = asyncio.Event()
    app = create_app(settings, on_ready=ready.set, **kwargs)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        proxy_headers=False,
        ws_per_message_deflate=False,
        ws_max_size=settings.max_message_bytes,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    try:
        if not ready.is_set():
            waiting.cancel()
            await task
            raise RuntimeError("the server did not start")
        yield Instance(app, sock.getsockname()[1])
    finally:
        server.should_exit = True
        await task
        sock.close()


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "room_idle_seconds": 0.5,
        "connects_per_minute": 10_000,
        "access_recheck_seconds": 3600,
    }
    return Settings(**{**base, **overrides})


@pytest.fixture
async def instance(tmp_path: Path) -> AsyncIterator[Instance]:
    async with running(settings_for(tmp_path / "data")) as started:
        yield started


async def new_user(instance: Instance, name: str, *, admin: bool = False) -> tuple[User, str]:
    user = await instance.access.add_user(name, admin=admin)
    _, secret = await instance.access.create_key(user)
    return user, secret


def bearer(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


# -- y-websocket client helpers --------------------------------------------------------------


def sync_kind(frame: bytes) -> tuple[int, int | None]:
    kind = frame[0]
    return kind, frame[1] if kind == MessageType.SYNC and len(frame) > 1 else None


async def next_frame(ws: ClientConnection, want: Callable[[bytes], bool]) -> bytes:
    """Read until a frame ``want`` accepts (skipping others)."""
    async with asyncio.timeout(10):
        while True:
            frame = await ws.recv()
            assert isinstance(frame, bytes)
            if want(frame):
                return frame


def is_ack(frame: bytes) -> bool:
    return frame[0] == MessageType.ACK


def is_denied(frame: bytes) -> bool:
    return frame[0] == MessageType.AUTH and frame[1] == 0


def is_step2(frame: bytes) -> bool:
    return sync_kind(frame) == (MessageType.SYNC, SyncType.STEP2)


def is_awareness(frame: bytes) -> bool:
    return frame[0] == MessageType.AWARENESS


def holds_awareness_of(client_id: int) -> Callable[[bytes], bool]:
    """An awareness message with a state of ``client_id`` in it."""

    def holds(frame: bytes) -> bool:
        if not is_awareness(frame):
            return False
        update = messages.parse_message(frame)
        assert isinstance(update, AwarenessUpdate)
        return any(entry.client_id == client_id for entry in update.entries)

    return holds


def fresh_update(text: str = "hello") -> bytes:
    """A Yjs update nobody has seen (a new client id each time)."""
    doc: Doc = Doc()
    doc["t"] = Text(text)
    return doc.get_update()


async def stored_seq(instance: Instance, doc: str) -> int:
    return (await instance.service.store.load(doc)).last_seq


async def open_socket(
    instance: Instance,
    report_id: str,
    *,
    token: str | None = None,
    comments: bool = False,
    cookie: str | None = None,
    origin: str | None = None,
    ack: bool = True,
) -> ClientConnection:
    path = f"{instance.ws}/{report_id}{'/comments' if comments else ''}"
    query = [f"token={token}"] if token else []
    query += ["ack=1"] if ack else []
    url = path + ("?" + "&".join(query) if query else "")
    headers = {"cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else None
    return await connect(url, additional_headers=headers, origin=origin, max_size=None)  # type: ignore[arg-type]


async def refused_with(ws: ClientConnection) -> int:
    code, _ = await close_code(ws)
    return code


# -- the access matrix -----------------------------------------------------------------------

REPORT = "matrix"


@dataclass
class Caller:
    """One row of the matrix: how to authenticate, and which role should result."""

    name: str
    token: str | None
    #: The role on REPORT; None: signed in but no role; "anonymous": not signed in at all;
    #: "embed": an embed link of REPORT, which opens its embed view and nothing else.
    role: Role | str | None
    user: User | None = None


@dataclass
class World:
    instance: Instance
    callers: list[Caller] = field(default_factory=list)
    spare: User | None = None


async def build_world(instance: Instance) -> World:
    access = instance.access
    world = World(instance)
    owner, owner_key = await new_user(instance, "owner")
    await access.register_report(REPORT, owner)
    world.callers.append(Caller("owner", owner_key, Role.OWNER, owner))
    for role in (Role.EDITOR, Role.COMMENTER, Role.VIEWER):
        user, key = await new_user(instance, role.value)
        await access.set_member(REPORT, user, role, owner)
        world.callers.append(Caller(role.value, key, role, user))
    admin, admin_key = await new_user(instance, "admin", admin=True)
    world.callers.append(Caller("admin", admin_key, Role.OWNER, admin))
    stranger, stranger_key = await new_user(instance, "stranger")
    world.callers.append(Caller("no role", stranger_key, None, stranger))
    other, other_key = await new_user(instance, "other-owner")
    await access.register_report("elsewhere", other)
    world.callers.append(Caller("wrong report", other_key, None, other))
    revoked, revoked_key = await new_user(instance, "revoked")
    await access.set_member(REPORT, revoked, Role.EDITOR, owner)
    await access.revoke_key(revoked_key[:12])
    world.callers.append(Caller("revoked key", revoked_key, "anonymous", revoked))
    expired, _ = await new_user(instance, "expired")
    await access.set_member(REPORT, expired, Role.EDITOR, owner)
    _, expired_key = await access.create_key(
        expired, expires_at=access.now() - timedelta(seconds=1)
    )
    world.callers.append(Caller("expired key", expired_key, "anonymous", expired))
    world.callers.append(Caller("anonymous", None, "anonymous"))
    world.callers.append(Caller("garbage token", "cpk_00000000_" + "x" * 43, "anonymous"))
    _, view_link = await access.create_link(REPORT, Role.VIEWER, owner)
    world.callers.append(Caller("view link", view_link, Role.VIEWER))
    _, comment_link = await access.create_link(REPORT, Role.COMMENTER, owner)
    world.callers.append(Caller("comment link", comment_link, Role.COMMENTER))
    _, embed_link = await access.create_link(REPORT, Role.VIEWER, owner, embed=EmbedScope())
    world.callers.append(Caller("report embed", embed_link, "embed"))
    _, panel_embed = await access.create_link(REPORT, Role.VIEWER, owner, embed=EmbedScope("p1"))
    world.callers.append(Caller("panel embed", panel_embed, "embed"))
    world.spare, _ = await new_user(instance, "spare")
    return world


@dataclass(frozen=True)
class RestCase:
    method: str
    path: str
    #: The least role that may call it; "user" for any signed-in person (not a link).
    needs: Role | str
    body: dict[str, Any] | None = None
    #: Acts on a report of its own (registered for each caller, owned by "owner").
    fresh: bool = False
    #: Needs a signed-in person as well as the role (a share link is refused).
    user_only: bool = False


#: Adding a route to the matrix is one line.
REST_CASES = (
    RestCase("GET", "/api/reports/{r}/presence", Role.VIEWER),
    RestCase("GET", "/api/reports/{r}/access", Role.VIEWER),
    RestCase("GET", "/api/reports/{r}", Role.VIEWER),
    RestCase("GET", "/api/reports/{r}/markdown", Role.VIEWER),
    RestCase("POST", "/api/reports/{r}/comments", Role.COMMENTER, {"text": "hi"}),
    RestCase("POST", "/api/reports/{r}/blocks", Role.EDITOR, {"blocks": []}),
    RestCase("GET", "/api/reports/{r}/members", Role.OWNER),
    RestCase("PUT", "/api/reports/{r}/members/{spare}", Role.OWNER, {"role": "viewer"}),
    RestCase("DELETE", "/api/reports/{r}/members/{spare}", Role.OWNER),
    RestCase("GET", "/api/reports/{r}/links", Role.OWNER),
    RestCase("POST", "/api/reports/{r}/links", Role.OWNER, {"role": "viewer"}),
    RestCase("DELETE", "/api/reports/{r}", Role.OWNER, fresh=True),
    RestCase("GET", "/api/reports/{r}/html", Role.VIEWER),
    RestCase("POST", "/api/reports/{r}/clone", Role.VIEWER, user_only=True),
    RestCase("GET", "/api/reports/{r}/versions", Role.VIEWER),
    RestCase("POST", "/api/reports/{r}/versions", Role.EDITOR, {"name": "v"}),
    RestCase("GET", "/api/reports/{r}/versions/none", Role.VIEWER),
    RestCase("GET", "/api/reports/{r}/versions/none/diff", Role.VIEWER),
    RestCase("POST", "/api/reports/{r}/versions/none/restore", Role.EDITOR),
    RestCase("GET", "/api/reports/{r}/comments", Role.VIEWER),
    RestCase("GET", "/api/reports/{r}/comments/none", Role.VIEWER),
    RestCase("POST", "/api/reports/{r}/comments/none/replies", Role.COMMENTER, {"text": "hi"}),
    RestCase("POST", "/api/reports/{r}/comments/none/resolve", Role.COMMENTER),
    RestCase("POST", "/api/reports/{r}/comments/none/reopen", Role.COMMENTER),
    RestCase("GET", "/api/reports", "user"),
    RestCase("POST", "/api/reports", "user", {"title": "new"}),
    RestCase("GET", "/api/runs/none/reports", "user"),
    RestCase("GET", "/api/session", "anyone"),  # answers "not signed in" (401) to strangers
    RestCase("GET", "/api/keys", "user"),
    RestCase("GET", "/api/users", "admin"),
)


def expected_rest(caller: Caller, case: RestCase) -> set[int] | None:
    """The refusal statuses expected, or None when the call must get through."""
    if caller.role == "anonymous":
        return {401}
    if caller.role == "embed":
        # Refused on sight; on a route open to anyone it counts as no credential at all.
        return {401} if case.needs == "anyone" else {403}
    if case.needs == "anyone":
        return None
    if case.needs == "admin":
        return None if caller.name == "admin" else {403}
    if case.needs == "user":
        return {403} if caller.user is None else None
    assert isinstance(case.needs, Role)
    if case.user_only and caller.user is None:
        return {403}
    if caller.role is None or case.needs.rank > caller.role.rank:  # type: ignore[union-attr]
        return {403}
    return None


async def store_snapshot(instance: Instance) -> tuple[Any, ...]:
    store = instance.access.store
    return (
        [(m.user_id, m.role) for m in await store.list_members(REPORT)],
        [(li.prefix, li.revoked_at) for li in await store.list_links(REPORT)],
        await store.get_report(REPORT),
    )


async def test_rest_access_matrix(instance: Instance) -> None:
    world = await build_world(instance)
    assert world.spare is not None
    checked = 0
    async with httpx.AsyncClient(base_url=instance.url) as client:
        for caller in world.callers:
            for case in REST_CASES:
                report = REPORT
                if case.fresh:
                    report = f"{REPORT}-{checked}"
                    owner = world.callers[0].user
                    assert owner is not None
                    await instance.access.register_report(report, owner)
                path = case.path.format(r=report, spare=world.spare.id)
                before = await store_snapshot(instance)
                response = await client.request(
                    case.method, path, json=case.body, headers=bearer(caller.token)
                )
                refused = expected_rest(caller, case)
                where = (
                    f"{caller.name} {case.method} {path}: {response.status_code} {response.text}"
                )
                if refused is None:
                    assert response.status_code not in {401, 403}, where
                    assert "unknown report" not in response.text, where
                else:
                    assert response.status_code in refused, where
                    assert await store_snapshot(instance) == before, where
                checked += 1
    assert checked == len(world.callers) * len(REST_CASES)


async def test_embed_routes_take_only_an_embed_token_in_the_path(instance: Instance) -> None:
    """Every caller against the embed routes: whatever credential a request carries, the
    token in the path alone decides, and only an embed link's token opens anything."""
    world = await build_world(instance)
    grid = {"type": "panel_grid", "panels": [{"id": "p1", "type": "line", "metrics": ["x"]}]}
    await instance.service.reports.add_blocks(REPORT, parse_blocks([grid]))
    embed_token = next(c.token for c in world.callers if c.name == "report embed")
    assert embed_token is not None
    checked = 0
    async with httpx.AsyncClient(base_url=instance.url) as client:
        for caller in world.callers:
            where = caller.name
            shown = await client.get(f"/api/embed/{embed_token}", headers=bearer(caller.token))
            assert shown.status_code == 200, f"{where}: {shown.text}"
            assert shown.json()["kind"] == "report", where
            if caller.token is None:
                continue
            own = await client.get(f"/api/embed/{caller.token}", headers=bearer(caller.token))
            if caller.role == "embed":
                assert own.status_code == 200, f"{where}: {own.text}"
            else:
                # A key or a share link in the path is no embed link.
                assert own.status_code == 404, f"{where}: {own.text}"
            checked += 1
    assert checked == len([c for c in world.callers if c.token is not None])


async def test_unregistered_and_malformed_reports_are_not_found(instance: Instance) -> None:
    _, key = await new_user(instance, "ada")
    async with httpx.AsyncClient(base_url=instance.url, headers=bearer(key)) as client:
        for path in ("/api/reports/nothere/presence", "/api/reports/bad$id/access"):
            response = await client.get(path)
            assert response.status_code == 404
            assert response.json() == {"error": "unknown report"}


@dataclass(frozen=True)
class WsCase:
    name: str
    #: Builds the frame to send, fresh for each call.
    frame: Callable[[], bytes]
    write: bool


#: The awareness client id of the socket being tested (each socket takes a new one).
_client_ids = iter(range(1000, 100_000))
_current_client: list[int] = [0]


def awareness_frame() -> bytes:
    _current_client[0] = next(_client_ids)
    state = {"user": {"name": "I am the admin"}, "cursor": 1}
    return messages.awareness([AwarenessEntry(_current_client[0], 1, json.dumps(state))])


#: Adding a message type to the matrix is one line.
WS_CASES = (
    WsCase("sync step 1", lambda: messages.sync_step1(Doc().get_state()), write=False),
    WsCase("update", lambda: messages.sync_update(fresh_update()), write=True),
    WsCase("sync step 2", lambda: messages.sync_step2(fresh_update()), write=True),
    WsCase("awareness", awareness_frame, write=False),
    WsCase("query awareness", messages.query_awareness, write=False),
)


def may_write(role: Role | str | None, comments: bool) -> bool:
    if not isinstance(role, Role):
        return False
    return role.rank >= (Role.COMMENTER.rank if comments else Role.EDITOR.rank)


async def test_websocket_access_matrix(instance: Instance) -> None:
    """Every caller, both documents, every message type."""
    world = await build_world(instance)
    checked = 0
    for caller in world.callers:
        for comments in (False, True):
            doc = comments_doc(REPORT) if comments else report_doc(REPORT)
            where = f"{caller.name} on {'comments' if comments else 'report'}"
            ws = await open_socket(instance, REPORT, token=caller.token, comments=comments)
            if caller.role == "anonymous":
                assert await refused_with(ws) == codes.UNAUTHORIZED.code, where
                checked += len(WS_CASES)
                continue
            if caller.role is None or caller.role == "embed":
                assert await refused_with(ws) == codes.FORBIDDEN.code, where
                checked += len(WS_CASES)
                continue
            async with ws:
                for case in WS_CASES:
                    before = await stored_seq(instance, doc)
                    await ws.send(case.frame())
                    if case.write and may_write(caller.role, comments):
                        await next_frame(ws, is_ack)
                        assert await stored_seq(instance, doc) == before + 1, where
                    elif case.write:
                        await next_frame(ws, is_denied)
                        assert await stored_seq(instance, doc) == before, where
                    elif case.name == "sync step 1":
                        await next_frame(ws, is_step2)
                    elif case.name == "query awareness":
                        # Other clients' changes may come first (the previous caller's
                        # removal, held for the awareness interval): the answer is the
                        # message with this client's own state in it.
                        frame = await next_frame(ws, holds_awareness_of(_current_client[0]))
                        update = messages.parse_message(frame)
                        assert isinstance(update, AwarenessUpdate)
                        mine = [e for e in update.entries if e.client_id == _current_client[0]]
                        assert len(mine) == 1, where
                        # The server says who this is, whatever the client claimed.
                        claimed = json.loads(mine[0].state)["user"]["name"]
                        expected = caller.user.name if caller.user else "I am the admin"
                        assert claimed == expected, where
                    checked += 1
                # Still open after every refusal: read-only is not a disconnection.
                await ws.send(messages.query_awareness())
                await next_frame(ws, is_awareness)
    assert checked == len(world.callers) * 2 * len(WS_CASES)


async def test_opening_a_new_id_creates_a_report_owned_by_the_opener(instance: Instance) -> None:
    ada, ada_key = await new_user(instance, "ada")
    _, bob_key = await new_user(instance, "bob")
    async with await open_socket(instance, "brand-new", token=ada_key) as ws:
        await ws.send(messages.sync_update(fresh_update("ada's")))
        await next_frame(ws, is_ack)
    members = await instance.access.store.list_members("brand-new")
    assert [(m.user_id, m.role) for m in members] == [(ada.id, Role.OWNER)]
    # Bob was not invited.
    ws = await open_socket(instance, "brand-new", token=bob_key)
    assert await refused_with(ws) == codes.FORBIDDEN.code
    # A share link cannot create a report.
    async with httpx.AsyncClient(base_url=instance.url, headers=bearer(ada_key)) as client:
        created = await client.post("/api/reports/brand-new/links", json={"role": "viewer"})
        assert created.status_code == 201
    ws = await open_socket(instance, "another-new-id", token=created.json()["token"])
    assert await refused_with(ws) == codes.NOT_FOUND.code
    assert await instance.access.store.get_report("another-new-id") is None


# -- revocation ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def two_instances(tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance]]:
    bus = LocalBus()
    settings = settings_for(tmp_path / "data")
    async with running(settings, bus=bus) as first, running(settings, bus=bus) as second:
        yield first, second


async def closed_within(ws: ClientConnection, seconds: float) -> tuple[int, float]:
    """The close code the server sends within ``seconds``, and how long it took."""
    started = time.monotonic()
    async with asyncio.timeout(seconds):
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(ws)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, time.monotonic() - started


async def read_until_closed(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


async def test_revocation_closes_sockets_on_every_instance_within_a_second(
    tmp_path: Path,
) -> None:
    async with two_instances(tmp_path) as (a, b):
        owner, owner_key = await new_user(a, "owner")
        editor, editor_key = await new_user(a, "editor")
        viewer, viewer_key = await new_user(a, "viewer")
        await a.access.register_report("r1", owner)
        await a.access.set_member("r1", editor, Role.EDITOR, owner)
        await a.access.set_member("r1", viewer, Role.VIEWER, owner)
        editor_ws = await open_socket(b, "r1", token=editor_key)
        viewer_ws = await open_socket(b, "r1", token=viewer_key, comments=True)
        owner_ws = await open_socket(b, "r1", token=owner_key)
        async with httpx.AsyncClient(base_url=a.url, headers=bearer(owner_key)) as client:
            # Removing a member, on instance A, closes their socket on instance B.
            removed = await client.delete(f"/api/reports/r1/members/{editor.id}")
            assert removed.status_code == 204
            code, took = await closed_within(editor_ws, 1.0)
            assert code == codes.ACCESS_REVOKED.code
            assert took < 1.0
        async with httpx.AsyncClient(base_url=a.url, headers=bearer(viewer_key)) as client:
            # Revoking one's own key, on A, closes the sockets opened with it on B.
            prefix = viewer_key[:12]
            assert (await client.delete(f"/api/keys/{prefix}")).status_code == 200
            code, took = await closed_within(viewer_ws, 1.0)
            assert code == codes.ACCESS_REVOKED.code
        # The owner's socket was not touched.
        async with owner_ws:
            await owner_ws.send(messages.sync_update(fresh_update()))
            await next_frame(owner_ws, is_ack)
            assert b.service.live.count == 1


async def test_a_demoted_editor_keeps_reading_but_can_no_longer_write(tmp_path: Path) -> None:
    async with two_instances(tmp_path) as (a, b):
        owner, owner_key = await new_user(a, "owner")
        editor, editor_key = await new_user(a, "editor")
        await a.access.register_report("r1", owner)
        await a.access.set_member("r1", editor, Role.EDITOR, owner)
        async with await open_socket(b, "r1", token=editor_key) as ws:
            await ws.send(messages.sync_update(fresh_update("before")))
            await next_frame(ws, is_ack)
            async with httpx.AsyncClient(base_url=a.url, headers=bearer(owner_key)) as client:
                demoted = await client.put(
                    f"/api/reports/r1/members/{editor.id}", json={"role": "viewer"}
                )
                assert demoted.status_code == 200
            before = await stored_seq(b, report_doc("r1"))
            (session,) = b.service.sessions
            # The change reaches B through the bus within a second.
            async with asyncio.timeout(1):
                while session.writable:
                    await b.service.live.next_pass()
            await ws.send(messages.sync_update(fresh_update("after")))
            await next_frame(ws, is_denied)
            assert await stored_seq(b, report_doc("r1")) == before


async def test_signing_out_closes_that_browsers_sockets(instance: Instance) -> None:
    owner, owner_key = await new_user(instance, "owner")
    await instance.access.register_report("r1", owner)
    async with httpx.AsyncClient(base_url=instance.url) as client:
        signed = await client.post("/api/session", json={"key": owner_key})
        assert signed.status_code == 201
        cookie = signed.cookies[SESSION_COOKIE]
        ws = await open_socket(instance, "r1", cookie=cookie)
        out = await client.delete(
            "/api/session", headers={CSRF_HEADER: signed.json()["csrf_token"]}
        )
        assert out.status_code == 204
        code, _took = await closed_within(ws, 1.0)
        assert code == codes.ACCESS_REVOKED.code


# -- browsers: sessions, CSRF, origins ------------------------------------------------------


async def test_browser_session_and_csrf(instance: Instance) -> None:
    owner, owner_key = await new_user(instance, "owner")
    spare, _ = await new_user(instance, "spare")
    await instance.access.register_report("r1", owner)
    async with httpx.AsyncClient(base_url=instance.url) as client:
        assert (await client.post("/api/session", json={"key": "cpk_nope"})).status_code == 401
        signed = await client.post("/api/session", json={"key": owner_key})
        assert signed.status_code == 201
        set_cookies = signed.headers.get_list("set-cookie")
        session_cookie = next(c for c in set_cookies if c.startswith(SESSION_COOKIE))
        assert "HttpOnly" in session_cookie
        assert "SameSite=Lax" in session_cookie
        csrf = signed.json()["csrf_token"]
        me = await client.get("/api/session")
        assert me.json()["user"]["id"] == owner.id
        assert me.json()["csrf_token"] == csrf
        # Reads need no token; writes do.
        assert (await client.get("/api/reports/r1/members")).status_code == 200
        path = f"/api/reports/r1/members/{spare.id}"
        no_token = await client.put(path, json={"role": "viewer"})
        assert no_token.status_code == 403
        wrong = await client.put(path, json={"role": "viewer"}, headers={CSRF_HEADER: "x"})
        assert wrong.status_code == 403
        assert await instance.access.store.list_members("r1") != []
        assert spare.id not in [m.user_id for m in await instance.access.store.list_members("r1")]
        cross = await client.put(
            path,
            json={"role": "viewer"},
            headers={CSRF_HEADER: csrf, "origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        same = await client.put(
            path, json={"role": "viewer"}, headers={CSRF_HEADER: csrf, "origin": instance.url}
        )
        assert same.status_code == 200
    # An API key needs no CSRF token: browsers never send it on their own.
    async with httpx.AsyncClient(base_url=instance.url, headers=bearer(owner_key)) as client:
        assert (await client.delete(f"/api/reports/r1/members/{spare.id}")).status_code == 204


async def test_a_stale_cookie_still_loads_the_app(instance: Instance) -> None:
    async with httpx.AsyncClient(base_url=instance.url) as client:
        client.cookies.set(SESSION_COOKIE, "forged.cookie")
        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert (await client.get("/api/session")).status_code == 401
        assert (await client.get("/api/keys")).status_code == 401


async def test_cross_origin_upgrades_are_refused(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", allowed_origins="https://app.example.com")
    async with running(settings) as instance:
        owner, key = await new_user(instance, "owner")
        await instance.access.register_report("r1", owner)
        evil = await open_socket(instance, "r1", token=key, origin="https://evil.example")
        assert await refused_with(evil) == codes.FORBIDDEN.code
        null = await open_socket(instance, "r1", token=key, origin="null")
        assert await refused_with(null) == codes.FORBIDDEN.code
        for origin in (instance.url, "https://app.example.com", None):
            async with await open_socket(instance, "r1", token=key, origin=origin) as ws:
                await ws.send(messages.sync_update(fresh_update()))
                await next_frame(ws, is_ack)


async def test_trusted_user_header_only_from_trusted_proxies(tmp_path: Path) -> None:
    header = {"x-remote-user": "grace@example.com"}
    trusted = settings_for(
        tmp_path / "a", trusted_proxies="127.0.0.1", trusted_user_header="X-Remote-User"
    )
    async with running(trusted) as instance:
        async with httpx.AsyncClient(base_url=instance.url) as client:
            me = await client.get("/api/session", headers=header)
            assert me.status_code == 200
            assert me.json()["user"]["email"] == "grace@example.com"
        ws = await open_socket(instance, "graces-report", token=None, origin=None)
        assert await refused_with(ws) == codes.UNAUTHORIZED.code
    elsewhere = settings_for(
        tmp_path / "b", trusted_proxies="10.0.0.0/8", trusted_user_header="X-Remote-User"
    )
    async with running(elsewhere) as instance:
        async with httpx.AsyncClient(base_url=instance.url) as client:
            assert (await client.get("/api/keys", headers=header)).status_code == 401
        assert await instance.access.store.list_users() == []
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        create_app(settings_for(tmp_path / "c", trusted_user_header="X-Remote-User"))


async def test_insecure_mode_is_announced_at_every_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="coreport.web.app")
    settings = settings_for(tmp_path / "data", insecure_no_auth=True)
    async with running(settings) as instance, await open_socket(instance, "r1") as ws:
        await ws.send(messages.sync_update(fresh_update()))
        await next_frame(ws, is_ack)
    assert any("INSECURE_NO_AUTH" in r.getMessage() for r in caplog.records)


# -- limits ----------------------------------------------------------------------------------


async def test_a_flooding_socket_is_closed_while_others_keep_editing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", messages_per_second=20, message_burst=50)
    async with running(settings) as instance:
        owner, key = await new_user(instance, "owner")
        await instance.access.register_report("r1", owner)
        async with (
            await open_socket(instance, "r1", token=key) as flooder,
            await open_socket(instance, "r1", token=key) as writer,
        ):
            for _ in range(200):
                await flooder.send(messages.query_awareness())
            code, _ = await closed_within(flooder, 5)
            assert code == codes.RATE_LIMITED.code
            for n in range(5):
                await writer.send(messages.sync_update(fresh_update(f"w{n}")))
                await next_frame(writer, is_ack)


async def test_new_sockets_per_address_are_limited(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path / "data", connects_per_minute=3)) as instance:
        owner, key = await new_user(instance, "owner")
        await instance.access.register_report("r1", owner)
        opened = [await open_socket(instance, "r1", token=key) for _ in range(3)]
        extra = await open_socket(instance, "r1", token=key)
        assert await refused_with(extra) == codes.RATE_LIMITED.code
        for ws in opened:
            await ws.close()


async def test_an_update_beyond_the_document_size_limit_is_refused(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path / "data", max_document_bytes=4000)) as instance:
        owner, key = await new_user(instance, "owner")
        await instance.access.register_report("r1", owner)
        doc = report_doc("r1")
        async with await open_socket(instance, "r1", token=key) as ws:
            await ws.send(messages.sync_update(fresh_update("small")))
            await next_frame(ws, is_ack)
            kept = await stored_seq(instance, doc)
            await ws.send(messages.sync_update(fresh_update("x" * 5000)))
            code, _ = await closed_within(ws, 5)
            assert code == codes.DOCUMENT_TOO_LARGE.code
        assert await stored_seq(instance, doc) == kept
        async with await open_socket(instance, "r1", token=key) as again:
            await again.send(messages.sync_step1(Doc().get_state()))
            reply = messages.parse_message(await next_frame(again, is_step2))
            assert isinstance(reply, messages.SyncStep2)
            fresh: Doc = Doc()
            fresh.apply_update(reply.update)
            assert "small" in str(fresh.get("t", type=Text))


async def test_an_oversized_message_is_refused_and_not_stored(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path / "data", max_message_bytes=2000)) as instance:
        owner, key = await new_user(instance, "owner")
        await instance.access.register_report("r1", owner)
        async with await open_socket(instance, "r1", token=key) as ws:
            await ws.send(messages.sync_update(fresh_update("y" * 3000)))
            code, _ = await closed_within(ws, 5)
            assert code == codes.MESSAGE_TOO_BIG.code
        assert await stored_seq(instance, report_doc("r1")) == 0


# -- the real command line and server --------------------------------------------------------


def test_serve_with_auth_end_to_end(tmp_path: Path) -> None:
    """``coreport users add`` prints a key last; ``serve`` prints a one-time sign-in link."""
    data = tmp_path / "data"
    added = subprocess.run(
        [sys.executable, "-m", "coreport", "users", "add", "ada", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("cpk_")
    with ServerProcess(data, auth=True) as server:
        link = next(line for line in server.output if "one-time link" in line).split()[-1]
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(link, timeout=10)
        redirected.value.close()
        assert redirected.value.code == 303
        assert SESSION_COOKIE in redirected.value.headers.get("set-cookie", "")
        with pytest.raises(urllib.error.HTTPError) as reused:
            urllib.request.urlopen(link, timeout=10)
        reused.value.close()
        assert reused.value.code == 401

        async def sockets() -> None:
            ws = await connect(f"{server.ws_base}/r1")
            assert await refused_with(ws) == codes.UNAUTHORIZED.code
            async with await connect(f"{server.ws_base}/r1?ack=1&token={key}") as ok:
                await ok.send(messages.sync_update(fresh_update()))
                await next_frame(ok, is_ack)

        asyncio.run(sockets())
    listed = subprocess.run(
        [sys.executable, "-m", "coreport", "keys", "list", "ada", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "active" in listed.stdout
    assert "last used never" not in listed.stdout
    revoked = subprocess.run(
        [sys.executable, "-m", "coreport", "keys", "revoke", key[:12], "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "revoked" in revoked.stdout


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


async def test_presence_shows_who_the_server_knows(instance: Instance) -> None:
    ada, key = await new_user(instance, "ada")
    await instance.access.register_report("r1", ada)
    async with await open_socket(instance, "r1", token=key) as ws:
        claim = json.dumps({"user": {"name": "Somebody Else", "color": "#ffffff"}})
        await ws.send(messages.awareness([AwarenessEntry(77, 1, claim)]))
        await ws.send(messages.query_awareness())
        await next_frame(ws, is_awareness)
        await asyncio.wait_for(instance.service.presence.settled(), 5)
        async with httpx.AsyncClient(base_url=instance.url, headers=bearer(key)) as client:
            present = (await client.get("/api/reports/r1/presence")).json()["present"]
    assert [(p["name"], p["color"]) for p in present] == [(ada.name, ada.color)]
