"""What access control does: create users and keys, authenticate a request or a socket,
decide a principal's role on a report, manage members, share links and embed links, and
announce every withdrawal of access on the bus so live sockets lose it too
(:mod:`coreport.access.live`).

The service owns no connection: it is given an :class:`AccessStore`, the bus and a clock.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from coreport.access import tokens
from coreport.access.events import CHANNEL, AccessEvent
from coreport.access.model import (
    EMBED_ROLE,
    LINK_ROLES,
    AccessError,
    ApiKey,
    BrowserSession,
    EmbedScope,
    EmbedUnavailable,
    Member,
    Principal,
    ReportEntry,
    Role,
    ShareLink,
    UnknownKey,
    UnknownReport,
    UnknownUser,
    User,
    UserExists,
)
from coreport.access.policy import effective_role
from coreport.access.ports import AccessStore
from coreport.ports import Bus, BusError, Clock

log = logging.getLogger(__name__)

#: Colours a new user's cursor may get (readable on white and on dark backgrounds).
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4",
    "#42d4f4", "#f032e6", "#9a6324", "#469990", "#808000",
)  # fmt: skip

#: Record a key's last use at most this often: authenticating stays a read.
TOUCH_EVERY_SECONDS = 60.0

SessionVia = Literal["key", "signin_link", "proxy"]

#: Where a report opened by connecting to a new id is filed.
DEFAULT_PROJECT = "default"

#: The name of the signing secret in the store.
COOKIE_SECRET = "session-cookies"

#: The user a one-time sign-in link signs in, when no admin exists yet.
LOCAL_ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new browser session: the cookie value and the CSRF token that goes with it."""

    cookie: str
    csrf: str
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Opened:
    """A principal's access to one report."""

    report: ReportEntry | None
    role: Role | None
    created: bool = False


class AccessService:
    def __init__(
        self,
        store: AccessStore,
        clock: Clock,
        bus: Bus | None = None,
        *,
        session_seconds: float = 14 * 24 * 3600,
    ) -> None:
        self.store = store
        self._clock = clock
        self._bus = bus
        self._session_seconds = session_seconds
        self._signer: tokens.CookieSigner | None = None
        self._touched: dict[str, float] = {}
        self.signin_links = tokens.SigninLinks()

    async def start(self, secret: bytes | None = None) -> None:
        """Load the cookie signing secret: ``secret`` if given (from settings), else the
        one stored for every instance (created on first start)."""
        if secret is None:
            secret = await self.store.secret(COOKIE_SECRET, lambda: secrets.token_bytes(32))
        self._signer = tokens.CookieSigner(secret)

    @property
    def signer(self) -> tokens.CookieSigner:
        if self._signer is None:
            raise RuntimeError("AccessService.start() was not awaited")
        return self._signer

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.wall(), UTC)

    def monotonic(self) -> float:
        """The clock's monotonic time (what :class:`~coreport.access.live.LiveAccess`
        compares a socket's check with)."""
        return self._clock.now()

    # -- users and keys ----------------------------------------------------------------

    async def add_user(
        self, name: str, *, email: str | None = None, admin: bool = False, color: str | None = None
    ) -> User:
        name = name.strip()
        if not name or len(name) > 100:
            raise AccessError("a user name is 1-100 characters")
        if email is not None and ("@" not in email or len(email) > 254):
            raise AccessError(f"not an email address: {email!r}")
        user_id = f"u_{secrets.token_hex(6)}"
        chosen = color or PALETTE[int(user_id[2:], 16) % len(PALETTE)]
        user = User(user_id, name, email, chosen, admin, self.now())
        await self.store.create_user(user)
        return user

    async def user(self, ref: str) -> User:
        """The user whose id, email or name is ``ref``."""
        found = await self.store.find_user(ref)
        if found is None:
            raise UnknownUser(f"no user {ref!r}")
        return found

    async def create_key(
        self, user: User, *, label: str | None = None, expires_at: datetime | None = None
    ) -> tuple[ApiKey, str]:
        """A new key for ``user``: the stored key and its secret, shown only now."""
        for _ in range(5):
            issued = tokens.issue(tokens.KEY_KIND)
            key = ApiKey(issued.prefix, user.id, label, self.now(), expires_at)
            if await self.store.create_key(key, issued.digest):
                return key, issued.token
        raise AccessError("could not draw an unused key prefix")

    async def revoke_key(self, prefix: str) -> ApiKey:
        """Revoke a key and every browser session signed in with it, on every instance."""
        key = await self.store.revoke_key(prefix, self.now())
        if key is None:
            raise UnknownKey(f"no key {prefix!r}")
        await self._announce(AccessEvent("key_revoked", user_id=key.user_id, prefix=prefix))
        return key

    async def local_admin(self) -> User:
        """The admin a one-time sign-in link signs in: the first admin, or a new one."""
        admins = [u for u in await self.store.list_users() if u.admin]
        if admins:
            return min(admins, key=lambda u: u.created_at)
        try:
            return await self.add_user(LOCAL_ADMIN, admin=True)
        except UserExists:
            return await self.add_user(f"{LOCAL_ADMIN}-{secrets.token_hex(2)}", admin=True)

    # -- authentication ----------------------------------------------------------------

    async def authenticate_token(self, token: str) -> Principal | None:
        """The principal an API key or a share-link token stands for; ``None`` if it is
        unknown, revoked or expired. An embed-link token stands for nobody here: it works
        only through :meth:`open_embed`."""
        if (prefix := tokens.prefix_of(token, tokens.KEY_KIND)) is not None:
            found = await self.store.get_key(prefix)
            if found is None or not tokens.matches(token, found[1]):
                return None
            return await self._key_principal(found[0])
        if (prefix := tokens.prefix_of(token, tokens.LINK_KIND)) is not None:
            link = await self.store.get_link(prefix)
            if link is None or link[0].embed is not None or not tokens.matches(token, link[1]):
                return None
            return Principal("link", None, link=link[0]) if link[0].usable_at(self.now()) else None
        return None

    async def open_embed(self, token: str) -> Principal:
        """The principal an embed-link token stands for: viewer of its report, for the embed
        routes only. Raises :class:`EmbedUnavailable` saying why the link shows nothing."""
        prefix = tokens.prefix_of(token, tokens.EMBED_KIND)
        found = await self.store.get_link(prefix) if prefix is not None else None
        if found is None or found[0].embed is None or not tokens.matches(token, found[1]):
            raise EmbedUnavailable("unknown", "unknown embed link")
        link = found[0]
        if link.revoked_at is not None:
            raise EmbedUnavailable("revoked", "this embed link was revoked")
        if not link.usable_at(self.now()):
            raise EmbedUnavailable("expired", "this embed link has expired")
        report = await self.store.get_report(link.report_id)
        if report is None or report.deleted_at is not None:
            raise EmbedUnavailable("deleted", "the report of this embed link was deleted")
        return Principal("embed", None, link=link)

    async def _key_principal(self, key: ApiKey) -> Principal | None:
        now = self.now()
        if not key.usable_at(now):
            return None
        user = await self.store.get_user(key.user_id)
        if user is None:
            return None
        monotonic = self._clock.now()
        if monotonic - self._touched.get(key.prefix, -TOUCH_EVERY_SECONDS) >= TOUCH_EVERY_SECONDS:
            self._touched[key.prefix] = monotonic
            await self.store.touch_key(key.prefix, now)
        return Principal("key", user, key_prefix=key.prefix)

    async def authenticate_cookie(self, cookie: str) -> Principal | None:
        id_hash = self.signer.session_hash(cookie)
        if id_hash is None:
            return None
        return await self._session_principal(id_hash)

    async def _session_principal(self, id_hash: bytes) -> Principal | None:
        session = await self.store.get_session(id_hash)
        if session is None or not session.usable_at(self.now()):
            return None
        user = await self.store.get_user(session.user_id)
        if user is None:
            return None
        return Principal("session", user, key_prefix=session.key_prefix, session=id_hash.hex())

    async def authenticate_proxy_user(self, ref: str) -> Principal | None:
        """The user an authenticating proxy vouches for (by email or name), created on
        first sight: the proxy, not coreport, decides who may sign in."""
        ref = ref.strip()
        if not ref or len(ref) > 254:
            return None
        user = await self.store.find_user(ref)
        if user is None:
            email = ref if "@" in ref else None
            name = ref.split("@", 1)[0] if email else ref
            try:
                user = await self.add_user(name, email=email)
            except UserExists:
                # The name was taken by someone else (or a concurrent first sight).
                user = await self.store.find_user(ref) or await self.add_user(
                    f"{name}-{secrets.token_hex(2)}", email=email
                )
        return Principal("proxy", user)

    async def revalidate(self, principal: Principal) -> Principal | None:
        """The principal again, as the store has it now; ``None`` if its key, session or
        link no longer works (or its user is gone)."""
        if principal.via == "insecure":
            return principal
        if principal.via in ("link", "embed"):
            assert principal.link is not None
            found = await self.store.get_link(principal.link.prefix)
            if found is None or not found[0].usable_at(self.now()):
                return None
            return replace(principal, link=found[0])
        if principal.via == "session":
            assert principal.session is not None
            return await self._session_principal(bytes.fromhex(principal.session))
        if principal.via == "key":
            assert principal.key_prefix is not None
            key = await self.store.get_key(principal.key_prefix)
            return None if key is None else await self._key_principal(key[0])
        assert principal.user is not None
        user = await self.store.get_user(principal.user.id)
        return None if user is None else replace(principal, user=user)

    # -- browser sessions --------------------------------------------------------------

    async def sign_in(self, principal: Principal) -> SignedIn:
        """A browser session for a user authenticated by key or by a trusted proxy."""
        if principal.user is None:
            raise AccessError("only a user can sign in")
        if principal.via == "key":
            return await self._start_session(principal.user, "key", principal.key_prefix)
        return await self._start_session(principal.user, "proxy", None)

    async def sign_in_with_link(self, token: str) -> SignedIn | None:
        """Consume a one-time sign-in link: a session for the local admin."""
        if not self.signin_links.consume(token):
            return None
        return await self._start_session(await self.local_admin(), "signin_link", None)

    async def _start_session(self, user: User, via: SessionVia, key_prefix: str | None) -> SignedIn:
        cookie, id_hash = self.signer.new_session()
        now = self.now()
        expires_at = now + timedelta(seconds=self._session_seconds)
        await self.store.create_session(
            BrowserSession(id_hash, user.id, via, key_prefix, now, expires_at)
        )
        signed = Principal("session", user, key_prefix=key_prefix, session=id_hash.hex())
        return SignedIn(cookie, self.signer.csrf_token(id_hash), signed, expires_at)

    def csrf_token(self, principal: Principal) -> str | None:
        if principal.session is None:
            return None
        return self.signer.csrf_token(bytes.fromhex(principal.session))

    async def sign_out(self, principal: Principal) -> None:
        if principal.session is None:
            return
        await self.store.end_session(bytes.fromhex(principal.session), self.now())
        await self._announce(
            AccessEvent("session_ended", user_id=principal.user_id, session=principal.session)
        )

    # -- reports and roles -------------------------------------------------------------

    async def role_on(self, principal: Principal, report_id: str) -> Opened:
        """The principal's role on ``report_id`` (``role`` is None without access;
        ``report`` is None when the id is not registered or was deleted)."""
        access = await self.store.report_access(report_id, principal.user_id)
        report = access.report
        if report is not None and report.deleted_at is not None:
            report = None
        return Opened(report, effective_role(principal, report_id, access))

    async def open_report(
        self, principal: Principal, report_id: str, project: str = DEFAULT_PROJECT
    ) -> Opened:
        """Like :meth:`role_on`, but an unregistered id is registered with the principal as
        its owner (opening a new id makes a new report). A share link cannot create."""
        opened = await self.role_on(principal, report_id)
        if opened.report is not None or principal.user is None:
            return opened
        existing = await self.store.get_report(report_id)
        if existing is not None:  # deleted: its id stays taken
            return opened
        entry, created = await self.register_report(report_id, principal.user, project)
        if not created:
            return await self.role_on(principal, report_id)
        return Opened(entry, Role.OWNER, created=True)

    async def register_report(
        self, report_id: str, owner: User, project: str = DEFAULT_PROJECT
    ) -> tuple[ReportEntry, bool]:
        """Register a report with ``owner`` as its owner (the Report API calls this when it
        creates one); returns the entry and whether it was new."""
        return await self.store.register_report(
            ReportEntry(report_id, project, owner.id, self.now())
        )

    async def delete_report(self, report_id: str) -> bool:
        deleted = await self.store.delete_report(report_id, self.now())
        if deleted:
            await self._announce(AccessEvent("report_deleted", report_id=report_id))
        return deleted

    async def set_member(self, report_id: str, user: User, role: Role, by: User | None) -> Member:
        if await self.store.get_report(report_id) is None:
            raise UnknownReport(f"no report {report_id!r}")
        await self._keep_an_owner(report_id, user, role)
        member = Member(report_id, user.id, role, by.id if by else None, self.now())
        await self.store.set_member(member)
        # A demotion takes effect on open sockets at once (e.g. an editor made a viewer).
        await self._announce(AccessEvent("member_changed", user_id=user.id, report_id=report_id))
        return member

    async def remove_member(self, report_id: str, user: User) -> bool:
        await self._keep_an_owner(report_id, user, None)
        removed = await self.store.remove_member(report_id, user.id)
        if removed:
            await self._announce(
                AccessEvent("member_changed", user_id=user.id, report_id=report_id)
            )
        return removed

    async def _keep_an_owner(self, report_id: str, user: User, role: Role | None) -> None:
        if role is Role.OWNER:
            return
        owners = [m for m in await self.store.list_members(report_id) if m.role is Role.OWNER]
        if [m.user_id for m in owners] == [user.id]:
            raise AccessError("a report keeps at least one owner; add another owner first")

    # -- share and embed links ---------------------------------------------------------

    async def create_link(
        self,
        report_id: str,
        role: Role,
        by: User | None,
        expires_at: datetime | None = None,
        *,
        embed: EmbedScope | None = None,
    ) -> tuple[ShareLink, str]:
        """A share link granting ``role``, or with ``embed`` an embed link (viewer only).
        Returns the stored link and its token, shown only now. Whether an embedded panel
        exists is the caller's to check: this service does not read documents."""
        if embed is not None and role is not EMBED_ROLE:
            raise AccessError(f"an embed link is read-only: its role is viewer, not {role.value}")
        if role not in LINK_ROLES:
            raise AccessError(f"a share link grants viewer or commenter, not {role.value}")
        if embed is not None and embed.panel_id is not None and not embed.panel_id.strip():
            raise AccessError("an embedded panel needs its id")
        if await self.store.get_report(report_id) is None:
            raise UnknownReport(f"no report {report_id!r}")
        kind = tokens.LINK_KIND if embed is None else tokens.EMBED_KIND
        for _ in range(5):
            issued = tokens.issue(kind)
            link = ShareLink(
                issued.prefix,
                report_id,
                role,
                by.id if by else None,
                self.now(),
                expires_at,
                embed=embed,
            )
            if await self.store.create_link(link, issued.digest):
                return link, issued.token
        raise AccessError("could not draw an unused link prefix")

    async def revoke_link(self, report_id: str, prefix: str) -> ShareLink:
        found = await self.store.get_link(prefix)
        if found is None or found[0].report_id != report_id:
            raise UnknownKey(f"report {report_id!r} has no link {prefix!r}")
        link = await self.store.revoke_link(prefix, self.now())
        assert link is not None
        await self._announce(AccessEvent("link_revoked", report_id=report_id, prefix=prefix))
        return link

    # -- fan-out -----------------------------------------------------------------------

    async def _announce(self, event: AccessEvent) -> None:
        if self._bus is None:
            return
        try:
            await self._bus.publish(CHANNEL, event.encode())
        except BusError as exc:
            # The change is stored; open sockets lose access at the next periodic re-check.
            log.warning("could not announce %s on the bus: %s", event.kind, exc)
