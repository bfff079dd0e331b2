"""REST routes of access control: browser sign-in, API keys, users, report members, share
and embed links, project default roles.

What each route needs is declared in :data:`coreport.access.policy.HTTP_RULES` and checked
by the access middleware before the handler runs; handlers only act.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from coreport.access.model import (
    AccessError,
    ApiKey,
    EmbedScope,
    Member,
    Principal,
    Role,
    ShareLink,
    UnknownKey,
    UnknownReport,
    UnknownUser,
    User,
    UserExists,
)
from coreport.access.service import AccessService, SignedIn
from coreport.ports import StoreError
from coreport.reports.embed import EmbedViews, PanelNotFound
from coreport.reports.service import ReportNotFound
from coreport.web.auth import cookie_headers, is_secure, maybe_principal_of, principal_of
from coreport.web.rest import ApiError, error_response, invalid, read_json

if TYPE_CHECKING:
    from coreport.web.app import Service

log = logging.getLogger(__name__)

_BODY = 64 * 1024

Handler = Callable[[Request], Awaitable[Response]]


class SignInBody(BaseModel):
    key: str = Field(min_length=1, max_length=200)


class KeyBody(BaseModel):
    label: str | None = Field(None, max_length=100)
    expires_at: datetime | None = None
    #: Admins may create keys for someone else (id, email or name).
    user: str | None = None


class UserBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(None, max_length=254)
    admin: bool = False


class MemberBody(BaseModel):
    role: Role


class EmbedBody(BaseModel):
    """What an embed link shows: ``{"panel_id": "..."}`` or ``{"report": true}``."""

    model_config = ConfigDict(extra="forbid")

    panel_id: str | None = Field(None, min_length=1, max_length=200)
    report: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> EmbedBody:
        if (self.panel_id is None) != self.report:
            raise ValueError('embed one panel ({"panel_id": ...}) or the report ({"report": true})')
        return self

    def scope(self) -> EmbedScope:
        return EmbedScope(self.panel_id)


class LinkBody(BaseModel):
    role: Role = Role.VIEWER
    expires_at: datetime | None = None
    #: Makes the link an embed link (read-only, for iframes): see docs/report-api.md.
    embed: EmbedBody | None = None


class ProjectRoleBody(BaseModel):
    default_role: Role | None


def _access(request: Request) -> AccessService:
    service: Service = request.app.state.service
    return service.access


def _errors(handler: Handler) -> Handler:
    """Turn domain and storage errors into JSON answers (the one place that does)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except (UnknownUser, UnknownKey, UnknownReport) as exc:
            return error_response(404, str(exc))
        except UserExists as exc:
            return error_response(409, str(exc))
        except AccessError as exc:
            return error_response(422, str(exc))
        except StoreError as exc:
            log.error("%s %s: storage failed: %s", request.method, request.url.path, exc)
            return error_response(
                503, "storage is unavailable, retry", headers={"retry-after": "1"}
            )

    return wrapped


# -- sign-in ----------------------------------------------------------------------------


def _session_response(request: Request, signed: SignedIn, status: int = 200) -> Response:
    service: Service = request.app.state.service
    body = {**_principal_json(signed.principal), "csrf_token": signed.csrf}
    max_age = (signed.expires_at - service.access.now()).total_seconds()
    response = JSONResponse(body, status_code=status)
    _set_cookies(request, response, (signed.cookie, max_age), signed.csrf)
    return response


def _set_cookies(
    request: Request, response: Response, session: tuple[str, float] | None, csrf: str | None
) -> None:
    service: Service = request.app.state.service
    for name, value in cookie_headers(is_secure(request.scope, service.auth), session, csrf):
        response.headers.append(name, value)


@_errors
async def sign_in(request: Request) -> Response:
    """``POST /api/session {"key": ...}``: a browser session cookie for the key's user."""
    body = await read_json(request, SignInBody, max_bytes=_BODY)
    access = _access(request)
    principal = await access.authenticate_token(body.key)
    if principal is None or principal.via != "key":
        return error_response(401, "invalid, expired or revoked key")
    return _session_response(request, await access.sign_in(principal), status=201)


@_errors
async def current_session(request: Request) -> Response:
    """``GET /api/session``: who this browser (or key) is, with the CSRF token to echo."""
    principal = maybe_principal_of(request)
    if principal is None:
        return error_response(401, "not signed in")
    body = _principal_json(principal)
    body["csrf_token"] = _access(request).csrf_token(principal)
    return JSONResponse(body)


@_errors
async def sign_out(request: Request) -> Response:
    """``DELETE /api/session``: end this browser's session (its sockets close too)."""
    principal = maybe_principal_of(request)
    if principal is not None:
        await _access(request).sign_out(principal)
    response = Response(status_code=204)
    _set_cookies(request, response, None, None)
    return response


@_errors
async def signin_link(request: Request) -> Response:
    """``GET /auth/signin?token=...``: the one-time link ``coreport serve`` prints."""
    token = request.query_params.get("token", "")
    signed = await _access(request).sign_in_with_link(token) if token else None
    if signed is None:
        return error_response(401, "this sign-in link was used already or is not valid")
    response = RedirectResponse("/", status_code=303)
    service: Service = request.app.state.service
    max_age = (signed.expires_at - service.access.now()).total_seconds()
    _set_cookies(request, response, (signed.cookie, max_age), signed.csrf)
    return response


# -- keys and users ---------------------------------------------------------------------


@_errors
async def list_keys(request: Request) -> Response:
    principal = principal_of(request)
    access = _access(request)
    if principal.admin and request.query_params.get("all") in {"1", "true"}:
        keys = await access.store.list_keys()
    else:
        keys = await access.store.list_keys(_user_of(principal).id)
    return JSONResponse({"keys": [_key_json(k) for k in keys]})


@_errors
async def create_key(request: Request) -> Response:
    """``POST /api/keys``: a new key; its secret is in this answer and nowhere else."""
    principal = principal_of(request)
    body = await read_json(request, KeyBody, max_bytes=_BODY)
    access = _access(request)
    owner = _user_of(principal)
    if body.user is not None and body.user != owner.id:
        if not principal.admin:
            return error_response(403, "only administrators create keys for others")
        owner = await access.user(body.user)
    key, secret = await access.create_key(owner, label=body.label, expires_at=body.expires_at)
    return JSONResponse({**_key_json(key), "key": secret}, status_code=201)


@_errors
async def revoke_key(request: Request) -> Response:
    principal = principal_of(request)
    access = _access(request)
    prefix = request.path_params["prefix"]
    found = await access.store.get_key(prefix)
    if found is None or (found[0].user_id != principal.user_id and not principal.admin):
        return error_response(404, f"no key {prefix!r}")
    return JSONResponse(_key_json(await access.revoke_key(prefix)))


@_errors
async def list_users(request: Request) -> Response:
    users = await _access(request).store.list_users()
    return JSONResponse({"users": [_user_json(u) for u in users]})


@_errors
async def create_user(request: Request) -> Response:
    """``POST /api/users`` (admins): a user and their first key."""
    body = await read_json(request, UserBody, max_bytes=_BODY)
    access = _access(request)
    user = await access.add_user(body.name, email=body.email, admin=body.admin)
    key, secret = await access.create_key(user, label="first key")
    return JSONResponse(
        {**_user_json(user), "key": {**_key_json(key), "key": secret}}, status_code=201
    )


@_errors
async def set_project_role(request: Request) -> Response:
    """``PUT /api/access/projects/{project}`` (admins): the project's default role."""
    body = await read_json(request, ProjectRoleBody, max_bytes=_BODY)
    project = request.path_params["project"]
    await _access(request).store.set_project_role(project, body.default_role)
    role = body.default_role.value if body.default_role else None
    return JSONResponse({"project": project, "default_role": role})


# -- one report -------------------------------------------------------------------------


@_errors
async def my_access(request: Request) -> Response:
    """``GET /api/reports/{id}/access``: the caller's role on the report."""
    principal = principal_of(request)
    report_id = request.path_params["report_id"]
    opened = await _access(request).role_on(principal, report_id)
    role = opened.role.value if opened.role else ("owner" if principal.admin else None)
    return JSONResponse({"report_id": report_id, "role": role, "user": _principal_json(principal)})


@_errors
async def list_members(request: Request) -> Response:
    report_id = request.path_params["report_id"]
    members = await _access(request).store.list_members(report_id)
    return JSONResponse({"report_id": report_id, "members": [_member_json(m) for m in members]})


@_errors
async def set_member(request: Request) -> Response:
    """``PUT /api/reports/{id}/members/{user} {"role": ...}``: add or change a member."""
    body = await read_json(request, MemberBody, max_bytes=_BODY)
    access = _access(request)
    principal = principal_of(request)
    report_id = request.path_params["report_id"]
    user = await access.user(request.path_params["user"])
    member = await access.set_member(report_id, user, body.role, principal.user)
    return JSONResponse(_member_json(member))


@_errors
async def remove_member(request: Request) -> Response:
    access = _access(request)
    report_id = request.path_params["report_id"]
    user = await access.user(request.path_params["user"])
    if not await access.remove_member(report_id, user):
        return error_response(404, f"{user.name} is not a member of {report_id}")
    return Response(status_code=204)


@_errors
async def list_links(request: Request) -> Response:
    report_id = request.path_params["report_id"]
    links = await _access(request).store.list_links(report_id)
    return JSONResponse({"report_id": report_id, "links": [_link_json(li) for li in links]})


@_errors
async def create_link(request: Request) -> Response:
    """``POST /api/reports/{id}/links``: a share link, or with ``embed`` an embed link; its
    token (and an embed link's page address) is shown only here."""
    body = await read_json(request, LinkBody, max_bytes=_BODY)
    principal = principal_of(request)
    report_id = request.path_params["report_id"]
    scope = body.embed.scope() if body.embed is not None else None
    if scope is not None and scope.panel_id is not None:
        service: Service = request.app.state.service
        try:
            await EmbedViews(service.reports, service.runs).find_panel(report_id, scope.panel_id)
        except PanelNotFound as exc:
            raise invalid(["body", "embed", "panel_id"], str(exc)) from None
        except ReportNotFound:
            raise ApiError(404, "unknown report") from None
    link, token = await _access(request).create_link(
        report_id, body.role, principal.user, body.expires_at, embed=scope
    )
    created = {**_link_json(link), "token": token}
    if scope is not None:
        created["url"] = f"{str(request.base_url).rstrip('/')}/embed/{token}"
    return JSONResponse(created, status_code=201)


@_errors
async def revoke_link(request: Request) -> Response:
    link = await _access(request).revoke_link(
        request.path_params["report_id"], request.path_params["prefix"]
    )
    return JSONResponse(_link_json(link))


# -- JSON shapes ------------------------------------------------------------------------


def _user_of(principal: Principal) -> User:
    if principal.user is None:
        raise ApiError(403, "this needs a signed-in user")
    return principal.user


def _principal_json(principal: Principal) -> dict[str, Any]:
    return {
        "via": principal.via,
        "user": _user_json(principal.user) if principal.user else None,
        "admin": principal.admin,
    }


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "color": user.color,
        "admin": user.admin,
        "created_at": user.created_at.isoformat(),
    }


def _key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "prefix": key.prefix,
        "user_id": key.user_id,
        "label": key.label,
        "created_at": key.created_at.isoformat(),
        "expires_at": _iso(key.expires_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked_at": _iso(key.revoked_at),
    }


def _member_json(member: Member) -> dict[str, Any]:
    return {
        "user_id": member.user_id,
        "role": member.role.value,
        "added_by": member.added_by,
        "added_at": member.added_at.isoformat(),
    }


def _link_json(link: ShareLink) -> dict[str, Any]:
    return {
        "prefix": link.prefix,
        "report_id": link.report_id,
        "role": link.role.value,
        "created_by": link.created_by,
        "created_at": link.created_at.isoformat(),
        "expires_at": _iso(link.expires_at),
        "revoked_at": _iso(link.revoked_at),
        "embed": _embed_json(link.embed),
    }


def _embed_json(embed: EmbedScope | None) -> dict[str, Any] | None:
    if embed is None:
        return None
    if embed.panel_id is None:
        return {"kind": "report"}
    return {"kind": "panel", "panel_id": embed.panel_id}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


routes: list[BaseRoute] = [
    Route("/api/session", sign_in, methods=["POST"]),
    Route("/api/session", current_session, methods=["GET"]),
    Route("/api/session", sign_out, methods=["DELETE"]),
    Route("/auth/signin", signin_link, methods=["GET"]),
    Route("/api/keys", list_keys, methods=["GET"]),
    Route("/api/keys", create_key, methods=["POST"]),
    Route("/api/keys/{prefix}", revoke_key, methods=["DELETE"]),
    Route("/api/users", list_users, methods=["GET"]),
    Route("/api/users", create_user, methods=["POST"]),
    Route("/api/access/projects/{project}", set_project_role, methods=["PUT"]),
    Route("/api/reports/{report_id}/access", my_access, methods=["GET"]),
    Route("/api/reports/{report_id}/members", list_members, methods=["GET"]),
    Route("/api/reports/{report_id}/members/{user}", set_member, methods=["PUT"]),
    Route("/api/reports/{report_id}/members/{user}", remove_member, methods=["DELETE"]),
    Route("/api/reports/{report_id}/links", list_links, methods=["GET"]),
    Route("/api/reports/{report_id}/links", create_link, methods=["POST"]),
    Route("/api/reports/{report_id}/links/{prefix}", revoke_link, methods=["DELETE"]),
]
