"""The access middleware: who is calling, and may they. Pure ASGI, so it guards WebSockets
as well as HTTP (never ``BaseHTTPMiddleware``).

For every request it

1. identifies the principal: ``Authorization: Bearer KEY``, ``?token=KEY`` (WebSockets
   only: browsers cannot set their headers), the trusted user header (only from
   ``COREPORT_TRUSTED_PROXIES``) or the signed session cookie, in that order; on the embed
   routes only the embed token in the path, and an embed token anywhere else is refused;
2. looks up what the route needs in :class:`~coreport.access.policy.RouteTable` and
   refuses (401 / 403 / 404 as JSON; a socket is accepted and closed with 4401 / 4403 /
   4404 and a reason) unless the principal may;
3. for cookie-authenticated writes, checks the CSRF token header and the Origin;
4. for WebSocket upgrades, limits new sockets per client address and checks Origin
   against the allow-list (default: the server's own origin);
5. adds security headers to every HTTP response (embed pages alone may be framed, by the
   sites ``COREPORT_EMBED_FRAME_ANCESTORS`` names).

Handlers read the outcome from the scope: :func:`principal_of` and :func:`grant_of`.
With ``COREPORT_INSECURE_NO_AUTH=1`` every request acts as a local admin.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers, QueryParams
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coreport.access import tokens
from coreport.access.limits import AddressLimiter
from coreport.access.model import EmbedUnavailable, Principal, Role
from coreport.access.policy import (
    SAFE_METHODS,
    Action,
    Need,
    Requirement,
    RouteTable,
    allows,
)
from coreport.access.service import AccessService
from coreport.ports import StoreError
from coreport.protocol import codes
from coreport.protocol.codes import CloseCode
from coreport.settings import Settings
from coreport.sync.names import REPORT_ID

log = logging.getLogger(__name__)

SESSION_COOKIE = "coreport_session"
#: Readable by the page's scripts, which echo it in :data:`CSRF_HEADER` (double submit).
CSRF_COOKIE = "coreport_csrf"
CSRF_HEADER = "x-csrf-token"

_PRINCIPAL = "coreport.principal"
_GRANT = "coreport.grant"

#: Who every request is without auth (``COREPORT_INSECURE_NO_AUTH=1``).
LOCAL = Principal("insecure", None)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

HeaderList = tuple[tuple[bytes, bytes], ...]

_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
)

SECURITY_HEADERS: HeaderList = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", _CSP.format(ancestors="'none'").encode()),
)


def embed_headers(frame_ancestors: str) -> HeaderList:
    """The security headers of an embed page: those of every page, except that the sites
    in ``frame_ancestors`` may frame it (so no ``X-Frame-Options``, which cannot name them),
    and search engines are asked not to index a page whose address is a secret."""
    return (
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"content-security-policy", _CSP.format(ancestors=frame_ancestors).encode()),
        (b"x-robots-tag", b"noindex, nofollow"),
    )


#: One CSP source expression: a keyword, a scheme (``https:``) or a host with an optional
#: scheme, wildcard subdomain, port and path. No quotes, semicolons or commas get through.
_FRAME_SOURCE = re.compile(
    r"^(\*|'self'|'none'|[a-z][a-z0-9+.-]*:"
    r"|([a-z][a-z0-9+.-]*://)?(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?(/[^\s;,'\"]*)?)$",
    re.IGNORECASE,
)


def frame_ancestors(value: str) -> str:
    """``COREPORT_EMBED_FRAME_ANCESTORS`` as a CSP source list: sources separated by spaces
    or commas; empty means nobody (``'none'``). Raises ``ValueError`` naming the setting."""
    sources = value.replace(",", " ").split()
    if not sources:
        return "'none'"
    for source in sources:
        if not _FRAME_SOURCE.match(source):
            raise ValueError(
                f"COREPORT_EMBED_FRAME_ANCESTORS: {source!r} is not a CSP source "
                "(e.g. https://wiki.example.com, https://*.example.com, 'self', *)"
            )
    if "'none'" in sources and len(sources) > 1:
        raise ValueError("COREPORT_EMBED_FRAME_ANCESTORS: 'none' cannot be combined with sources")
    return " ".join(sources)


@dataclass(frozen=True, slots=True)
class AuthConfig:
    enabled: bool = True
    #: Origins (``scheme://host[:port]``, lower case) allowed besides the server's own.
    allowed_origins: frozenset[str] = frozenset()
    trusted_proxies: tuple[Network, ...] = ()
    #: Lower-case header name, or None.
    trusted_user_header: str | None = None
    session_seconds: float = 14 * 24 * 3600
    #: The CSP ``frame-ancestors`` source list of embed pages.
    embed_frame_ancestors: str = "*"

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthConfig:
        """Raises ``ValueError`` naming a setting that does not parse."""
        origins = frozenset(_origin(o) for o in _items(settings.allowed_origins))
        try:
            proxies = tuple(
                ipaddress.ip_network(p, strict=False) for p in _items(settings.trusted_proxies)
            )
        except ValueError as exc:
            raise ValueError(f"COREPORT_TRUSTED_PROXIES: {exc}") from exc
        header = settings.trusted_user_header
        if header and not proxies:
            raise ValueError(
                "COREPORT_TRUSTED_USER_HEADER needs COREPORT_TRUSTED_PROXIES: without it "
                "anyone could claim to be anyone"
            )
        return cls(
            enabled=not settings.insecure_no_auth,
            allowed_origins=origins,
            trusted_proxies=proxies,
            trusted_user_header=header.lower() if header else None,
            session_seconds=settings.session_days * 24 * 3600,
            embed_frame_ancestors=frame_ancestors(settings.embed_frame_ancestors),
        )

    def trusts(self, address: str | None) -> bool:
        if address is None or not self.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


@dataclass(frozen=True, slots=True)
class SocketGrant:
    """What a document socket may do, decided before the socket reaches its handler."""

    principal: Principal
    report_id: str
    comments: bool
    role: Role
    #: When access was checked (the access clock's monotonic time).
    checked_at: float


def principal_of(connection: HTTPConnection) -> Principal:
    """The principal the middleware identified (for routes that need a signed-in user)."""
    principal: Principal | None = connection.scope.get(_PRINCIPAL)
    if principal is None:
        raise RuntimeError(f"no principal for {connection.url.path}: is AccessMiddleware on?")
    return principal


def maybe_principal_of(connection: HTTPConnection) -> Principal | None:
    """The principal, if any (public routes)."""
    principal: Principal | None = connection.scope.get(_PRINCIPAL)
    return principal


def grant_of(connection: HTTPConnection) -> SocketGrant | None:
    return grant_in(connection.scope)


def grant_in(scope: Scope) -> SocketGrant | None:
    """What the middleware granted a document socket (``None``: not decided here)."""
    grant: SocketGrant | None = scope.get(_GRANT)
    return grant


class Refused(Exception):
    """A request that may not proceed: an HTTP status and a WebSocket close code."""

    def __init__(self, status: int, close: CloseCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.close = close
        self.message = message


def _unauthorized(message: str = "sign in required") -> Refused:
    return Refused(401, codes.UNAUTHORIZED, message)


def _forbidden(message: str) -> Refused:
    return Refused(403, codes.FORBIDDEN, message)


def _not_found(message: str) -> Refused:
    return Refused(404, codes.NOT_FOUND, message)


_EMBED_ONLY = "an embed link opens only its embed view (/embed/...), nothing else"


class AccessMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        access: AccessService,
        config: AuthConfig,
        connects: AddressLimiter,
        routes: RouteTable | None = None,
    ) -> None:
        self.app = app
        self._access = access
        self._config = config
        self._connects = connects
        self._routes = routes or RouteTable()
        self._embed_headers = embed_headers(config.embed_frame_ancestors)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine function: it returns the coroutine that serves the scope, so a
        # socket does not keep a frame of this call for its whole life.
        if scope["type"] == "http":
            return self._http(scope, receive, send)
        if scope["type"] == "websocket":
            return self._websocket(scope, receive, send)
        return self.app(scope, receive, send)

    # -- HTTP --------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        framable = RouteTable.framable(scope["path"])
        send = _with_security_headers(send, self._embed_headers if framable else SECURITY_HEADERS)
        connection = HTTPConnection(scope)
        method = scope["method"]
        requirement = self._routes.http(method, scope["path"])
        if requirement.need is Need.PUBLIC:
            await self.app(scope, receive, send)
            return
        try:
            if requirement.need is Need.EMBED:
                # The token in the path is the whole credential: a key, cookie or proxy
                # header is not even looked at, so an embed never acts as its viewer.
                scope[_PRINCIPAL] = await self._embed(requirement.token or "")
            else:
                await self._check_http(connection, requirement)
        except Refused as refused:
            headers = {"www-authenticate": "Bearer"} if refused.status == 401 else None
            response = JSONResponse(
                {"error": refused.message}, status_code=refused.status, headers=headers
            )
            await response(scope, receive, send)
            return
        except StoreError as exc:
            log.error("access check of %s %s failed: %s", method, scope["path"], exc)
            unavailable = JSONResponse(
                {"error": "access check unavailable, retry"},
                status_code=503,
                headers={"retry-after": "1"},
            )
            await unavailable(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check_http(self, connection: HTTPConnection, requirement: Requirement) -> None:
        """Identify and authorize a request to an ordinary route (not an embed route); the
        principal goes into the scope. Raises :class:`Refused`."""
        method = connection.scope["method"]
        origin = connection.headers.get("origin")
        # CORS is off: a browser on another site may not write here at all.
        if (
            method not in SAFE_METHODS
            and origin is not None
            and not self._origin_allowed(connection, origin)
        ):
            raise _forbidden("cross-origin request refused")
        if requirement.need is Need.OPTIONAL:
            try:
                connection.scope[_PRINCIPAL] = await self._identify(connection, websocket=False)
            except Refused:
                # A stale cookie (or an embed token): the route acts as signed out.
                connection.scope[_PRINCIPAL] = None
            return
        principal = await self._identify(connection, websocket=False)
        if principal is None:
            raise _unauthorized()
        if principal.via == "session" and method not in SAFE_METHODS:
            self._check_csrf(connection, principal)
        await self._authorize(principal, requirement.need, requirement.report_id)
        connection.scope[_PRINCIPAL] = principal

    async def _embed(self, token: str) -> Principal:
        try:
            return await self._access.open_embed(token)
        except EmbedUnavailable as exc:
            if exc.gone:
                raise Refused(410, codes.ACCESS_REVOKED, str(exc)) from None
            raise _not_found(str(exc)) from None

    async def _authorize(
        self, principal: Principal, need: Need | Action, report_id: str | None
    ) -> None:
        if principal.via == "embed":
            # Never reached (an embed token identifies nobody outside the embed routes):
            # kept so that no future path can turn an embed into access to the report.
            raise _forbidden(_EMBED_ONLY)
        if need is Need.SIGNED_IN:
            if principal.user is None and principal.via != "insecure":
                raise _forbidden("a share link opens only its report")
        elif need is Need.ADMIN:
            if not principal.admin:
                raise _forbidden("administrators only")
        elif isinstance(need, Action):
            if principal.via == "insecure":
                return
            if report_id is None or not REPORT_ID.fullmatch(report_id):
                raise _not_found("unknown report")
            opened = await self._access.role_on(principal, report_id)
            if opened.report is None:
                raise _not_found("unknown report")
            if opened.role is None:
                raise _forbidden("you have no access to this report")
            if not allows(opened.role, need):
                raise _forbidden(f"a {opened.role.value} may not {need.value} this report")

    def _check_csrf(self, connection: HTTPConnection, principal: Principal) -> None:
        expected = self._access.csrf_token(principal)
        presented = connection.headers.get(CSRF_HEADER)
        if expected is None or presented is None or presented != expected:
            raise _forbidden(f"missing or wrong {CSRF_HEADER} header (CSRF protection)")

    # -- WebSocket ---------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        connection = HTTPConnection(scope)
        try:
            address = self._client_address(connection)
            if address is not None and not self._connects.allow(address):
                raise Refused(429, codes.RATE_LIMITED, "too many new connections, slow down")
            origin = connection.headers.get("origin")
            if origin is not None and not self._origin_allowed(connection, origin):
                raise _forbidden(f"cross-origin WebSocket from {origin[:60]} refused")
            # Taken before the store is read: a revocation from here on reaches the socket.
            checked_at = self._access.monotonic()
            principal = await self._identify(connection, websocket=True)
            if principal is None:
                raise _unauthorized("sign in required: pass ?token=KEY or sign in")
            scope[_PRINCIPAL] = principal
            target = RouteTable.websocket(scope["path"])
            if target is not None and REPORT_ID.fullmatch(target[0]):
                scope[_GRANT] = await self._grant(principal, *target, checked_at)
        except Refused as refused:
            await _refuse_socket(receive, send, refused.close, refused.message)
            return
        except StoreError as exc:
            log.error("access check of socket %s failed: %s", scope["path"], exc)
            await _refuse_socket(receive, send, codes.TRY_AGAIN_LATER, "access check unavailable")
            return
        # This frame lives as long as the socket: what it read the headers through goes.
        del connection
        await self.app(scope, receive, send)

    async def _grant(
        self, principal: Principal, report_id: str, comments: bool, checked_at: float
    ) -> SocketGrant:
        if principal.via == "insecure":
            return SocketGrant(principal, report_id, comments, Role.OWNER, checked_at)
        opened = await self._access.open_report(principal, report_id)
        if opened.report is None:
            raise _not_found("unknown report")
        if opened.role is None:
            raise _forbidden("you have no access to this report; ask its owner")
        if opened.created:
            log.info("%s opened new report %s", principal.label, report_id)
        return SocketGrant(principal, report_id, comments, opened.role, checked_at)

    # -- identification ----------------------------------------------------------------

    async def _identify(self, connection: HTTPConnection, *, websocket: bool) -> Principal | None:
        """The principal the request's credentials stand for; ``None`` without any.
        Raises :class:`Refused` (401) for a credential that does not work."""
        if not self._config.enabled:
            return LOCAL
        headers = connection.headers
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _unauthorized("use Authorization: Bearer KEY")
            return await self._token(token.strip())
        if websocket:
            query_token = QueryParams(connection.scope.get("query_string", b"")).get("token")
            if query_token:
                return await self._token(query_token)
        header = self._config.trusted_user_header
        if header is not None and header in headers:
            peer = connection.client.host if connection.client else None
            if self._config.trusts(peer):
                principal = await self._access.authenticate_proxy_user(headers[header])
                if principal is None:
                    raise _unauthorized(f"the proxy sent an unusable {header} header")
                return principal
            log.warning("ignoring %s from untrusted address %s", header, peer)
        cookie = connection.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = await self._access.authenticate_cookie(cookie)
            if principal is None:
                raise _unauthorized("your session ended; sign in again")
            return principal
        return None

    async def _token(self, token: str) -> Principal:
        if tokens.prefix_of(token, tokens.EMBED_KIND) is not None:
            raise _forbidden(_EMBED_ONLY)
        principal = await self._access.authenticate_token(token)
        if principal is None:
            raise _unauthorized("invalid, expired or revoked key")
        return principal

    # -- origins and addresses ---------------------------------------------------------

    def _origin_allowed(self, connection: HTTPConnection, origin: str) -> bool:
        normalized = origin.strip().lower().rstrip("/")
        if normalized in self._config.allowed_origins:
            return True
        netloc = urlsplit(normalized).netloc
        if not netloc:
            return False  # "null" (sandboxed frames, files) and garbage
        hosts = {connection.headers.get("host", "").lower()}
        if self._config.trusts(connection.client.host if connection.client else None):
            forwarded = connection.headers.get("x-forwarded-host")
            if forwarded:
                hosts.add(forwarded.split(",")[0].strip().lower())
        return netloc in hosts

    def _client_address(self, connection: HTTPConnection) -> str | None:
        """The client's address: the peer, or behind trusted proxies the last address of
        X-Forwarded-For that is not one of them."""
        peer = connection.client.host if connection.client else None
        if not self._config.trusts(peer):
            return peer
        forwarded = connection.headers.get("x-forwarded-for")
        if not forwarded:
            return peer
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not self._config.trusts(hop):
                return hop
        return peer


async def _refuse_socket(receive: Receive, send: Send, code: CloseCode, message: str) -> None:
    """Accept, then close with ``code`` and a reason, so a browser can tell why (a refused
    handshake is only "1006" to it). Nothing else is sent."""
    event = await receive()
    if event["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    reason = f"{code.reason}: {message}".encode()[:123].decode("utf-8", "ignore")
    await send({"type": "websocket.close", "code": code.code, "reason": reason})


def _with_security_headers(send: Send, security: HeaderList) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = Headers(raw=message.get("headers", []))
            extra = [(k, v) for k, v in security if k.decode() not in headers]
            if extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


def _items(value: str) -> Iterable[str]:
    return (item.strip() for item in value.split(",") if item.strip())


def _origin(value: str) -> str:
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"COREPORT_ALLOWED_ORIGINS: {value!r} is not scheme://host[:port]")
    return f"{parts.scheme}://{parts.netloc}"


def cookie_headers(
    secure: bool, session: tuple[str, float] | None, csrf: str | None
) -> list[tuple[str, str]]:
    """``Set-Cookie`` headers that set (or, with ``None``, clear) the session cookies."""
    flags = "; Path=/; SameSite=Lax" + ("; Secure" if secure else "")
    if session is None:
        return [
            ("set-cookie", f"{SESSION_COOKIE}=; Max-Age=0; HttpOnly{flags}"),
            ("set-cookie", f"{CSRF_COOKIE}=; Max-Age=0{flags}"),
        ]
    value, max_age = session
    return [
        ("set-cookie", f"{SESSION_COOKIE}={value}; Max-Age={int(max_age)}; HttpOnly{flags}"),
        ("set-cookie", f"{CSRF_COOKIE}={csrf}; Max-Age={int(max_age)}{flags}"),
    ]


def is_secure(scope: Scope, config: AuthConfig) -> bool:
    """Whether the browser reached us over HTTPS (directly or via a trusted proxy)."""
    if scope.get("scheme") in {"https", "wss"}:
        return True
    client = scope.get("client")
    if client and config.trusts(client[0]):
        proto = Headers(scope=scope).get("x-forwarded-proto", "")
        return proto.split(",")[0].strip().lower() == "https"
    return False
