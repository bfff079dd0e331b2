"""The embedded access store: users, keys, sessions, roles and links in the SQLite file of
the documents.

Like :mod:`coreport.stores.sqlite_runs` it opens its own connection and worker thread on
the same file (WAL, ``synchronous=FULL``): an access check at connect time never queues
behind a document append, and the migrations of every table apply whichever opens first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from coreport.access.model import (
    ApiKey,
    BrowserSession,
    EmbedScope,
    Member,
    ReportAccess,
    ReportEntry,
    Role,
    ShareLink,
    User,
    UserExists,
)
from coreport.stores.sqlite import WorkerStore, _transaction

T = TypeVar("T")

_USER = "id, name, email, color, admin, created_at"
_KEY = "prefix, user_id, label, created_at, expires_at, last_used_at, revoked_at"
_SESSION = "id_hash, user_id, via, key_prefix, created_at, expires_at, revoked_at"
_REPORT = "id, project, created_by, created_at, deleted_at"
_LINK = (
    "prefix, report_id, role, created_by, created_at, expires_at, revoked_at, "
    "embed_kind, embed_panel_id"
)
_MEMBER = "report_id, user_id, role, added_by, added_at"


class SQLiteAccessStore(WorkerStore):
    """An :class:`~coreport.access.ports.AccessStore` in the SQLite file at ``path``."""

    label = "SQLite access store"

    # -- users -------------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        def work(conn: sqlite3.Connection) -> None:
            try:
                with _transaction(conn):
                    conn.execute(
                        f"INSERT INTO users ({_USER}) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            user.id,
                            user.name,
                            user.email,
                            user.color,
                            int(user.admin),
                            _ts(user.created_at),
                        ),
                    )
            except sqlite3.IntegrityError as exc:
                raise UserExists(f"a user with this id, name or email exists: {exc}") from exc

        await self._call("create a user", work)

    async def get_user(self, user_id: str) -> User | None:
        return await self._call(
            "read a user",
            lambda conn: _one(conn, _user, f"SELECT {_USER} FROM users WHERE id = ?", user_id),
        )

    async def find_user(self, ref: str) -> User | None:
        def work(conn: sqlite3.Connection) -> User | None:
            for where in ("id = ?", "lower(email) = lower(?)", "lower(name) = lower(?)"):
                found = _one(conn, _user, f"SELECT {_USER} FROM users WHERE {where}", ref)
                if found is not None:
                    return found
            return None

        return await self._call("find a user", work)

    async def list_users(self) -> list[User]:
        return await self._call(
            "list users",
            lambda conn: [
                _user(r) for r in conn.execute(f"SELECT {_USER} FROM users ORDER BY lower(name)")
            ],
        )

    # -- API keys ----------------------------------------------------------------------

    async def create_key(self, key: ApiKey, digest: bytes) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                cursor = conn.execute(
                    f"INSERT INTO api_keys ({_KEY}, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (prefix) DO NOTHING",
                    (
                        key.prefix,
                        key.user_id,
                        key.label,
                        _ts(key.created_at),
                        _opt_ts(key.expires_at),
                        _opt_ts(key.last_used_at),
                        _opt_ts(key.revoked_at),
                        digest,
                    ),
                )
                return cursor.rowcount == 1

        return await self._call("create a key", work)

    async def get_key(self, prefix: str) -> tuple[ApiKey, bytes] | None:
        def work(conn: sqlite3.Connection) -> tuple[ApiKey, bytes] | None:
            row = conn.execute(
                f"SELECT {_KEY}, digest FROM api_keys WHERE prefix = ?", (prefix,)
            ).fetchone()
            return None if row is None else (_key(row[:-1]), bytes(row[-1]))

        return await self._call("read a key", work)

    async def list_keys(self, user_id: str | None = None) -> list[ApiKey]:
        def work(conn: sqlite3.Connection) -> list[ApiKey]:
            if user_id is None:
                rows = conn.execute(f"SELECT {_KEY} FROM api_keys ORDER BY created_at")
            else:
                rows = conn.execute(
                    f"SELECT {_KEY} FROM api_keys WHERE user_id = ? ORDER BY created_at",
                    (user_id,),
                )
            return [_key(r) for r in rows]

        return await self._call("list keys", work)

    async def revoke_key(self, prefix: str, now: datetime) -> ApiKey | None:
        def work(conn: sqlite3.Connection) -> ApiKey | None:
            with _transaction(conn):
                conn.execute(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE prefix = ?",
                    (_ts(now), prefix),
                )
                conn.execute(
                    "UPDATE browser_sessions SET revoked_at = coalesce(revoked_at, ?) "
                    "WHERE key_prefix = ?",
                    (_ts(now), prefix),
                )
                return _one(conn, _key, f"SELECT {_KEY} FROM api_keys WHERE prefix = ?", prefix)

        return await self._call("revoke a key", work)

    async def touch_key(self, prefix: str, now: datetime) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute(
                    "UPDATE api_keys SET last_used_at = ? WHERE prefix = ?", (_ts(now), prefix)
                )

        await self._call("record a key's use", work)

    # -- browser sessions --------------------------------------------------------------

    async def create_session(self, session: BrowserSession) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute(
                    f"INSERT INTO browser_sessions ({_SESSION}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        session.id_hash,
                        session.user_id,
                        session.via,
                        session.key_prefix,
                        _ts(session.created_at),
                        _ts(session.expires_at),
                        _opt_ts(session.revoked_at),
                    ),
                )

        await self._call("create a session", work)

    async def get_session(self, id_hash: bytes) -> BrowserSession | None:
        return await self._call(
            "read a session",
            lambda conn: _one(
                conn,
                _session,
                f"SELECT {_SESSION} FROM browser_sessions WHERE id_hash = ?",
                id_hash,
            ),
        )

    async def end_session(self, id_hash: bytes, now: datetime) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute(
                    "UPDATE browser_sessions SET revoked_at = coalesce(revoked_at, ?) "
                    "WHERE id_hash = ?",
                    (_ts(now), id_hash),
                )

        await self._call("end a session", work)

    # -- reports and roles -------------------------------------------------------------

    async def register_report(self, report: ReportEntry) -> tuple[ReportEntry, bool]:
        def work(conn: sqlite3.Connection) -> tuple[ReportEntry, bool]:
            with _transaction(conn):
                created = (
                    conn.execute(
                        f"INSERT INTO reports ({_REPORT}) VALUES (?, ?, ?, ?, NULL) "
                        "ON CONFLICT (id) DO NOTHING",
                        (report.id, report.project, report.created_by, _ts(report.created_at)),
                    ).rowcount
                    == 1
                )
                if created and report.created_by is not None:
                    conn.execute(
                        f"INSERT INTO report_members ({_MEMBER}) VALUES (?, ?, 'owner', ?, ?)",
                        (report.id, report.created_by, report.created_by, _ts(report.created_at)),
                    )
                entry = _one(
                    conn, _report, f"SELECT {_REPORT} FROM reports WHERE id = ?", report.id
                )
            assert entry is not None
            return entry, created

        return await self._call("register a report", work)

    async def get_report(self, report_id: str) -> ReportEntry | None:
        return await self._call(
            "read a report",
            lambda conn: _one(
                conn, _report, f"SELECT {_REPORT} FROM reports WHERE id = ?", report_id
            ),
        )

    async def delete_report(self, report_id: str, now: datetime) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                return (
                    conn.execute(
                        "UPDATE reports SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                        (_ts(now), report_id),
                    ).rowcount
                    == 1
                )

        return await self._call("delete a report", work)

    async def report_access(self, report_id: str, user_id: str | None) -> ReportAccess:
        def work(conn: sqlite3.Connection) -> ReportAccess:
            with _transaction(conn, "DEFERRED"):
                report = _one(
                    conn, _report, f"SELECT {_REPORT} FROM reports WHERE id = ?", report_id
                )
                if report is None:
                    return ReportAccess(None, None, None)
                member = None
                if user_id is not None:
                    row = conn.execute(
                        "SELECT role FROM report_members WHERE report_id = ? AND user_id = ?",
                        (report_id, user_id),
                    ).fetchone()
                    member = Role(row[0]) if row else None
                row = conn.execute(
                    "SELECT default_role FROM project_roles WHERE project = ?", (report.project,)
                ).fetchone()
            return ReportAccess(report, member, Role(row[0]) if row else None)

        return await self._call("read a report's access", work)

    async def set_member(self, member: Member) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute(
                    f"INSERT INTO report_members ({_MEMBER}) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (report_id, user_id) DO UPDATE SET role = excluded.role, "
                    "added_by = excluded.added_by, added_at = excluded.added_at",
                    (
                        member.report_id,
                        member.user_id,
                        member.role.value,
                        member.added_by,
                        _ts(member.added_at),
                    ),
                )

        await self._call("set a member", work)

    async def remove_member(self, report_id: str, user_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                cursor = conn.execute(
                    "DELETE FROM report_members WHERE report_id = ? AND user_id = ?",
                    (report_id, user_id),
                )
                return cursor.rowcount == 1

        return await self._call("remove a member", work)

    async def list_members(self, report_id: str) -> list[Member]:
        return await self._call(
            "list members",
            lambda conn: [
                _member(r)
                for r in conn.execute(
                    f"SELECT {_MEMBER} FROM report_members WHERE report_id = ? ORDER BY added_at",
                    (report_id,),
                )
            ],
        )

    async def set_project_role(self, project: str, role: Role | None) -> None:
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                if role is None:
                    conn.execute("DELETE FROM project_roles WHERE project = ?", (project,))
                else:
                    conn.execute(
                        "INSERT INTO project_roles (project, default_role) VALUES (?, ?) "
                        "ON CONFLICT (project) DO UPDATE SET default_role = excluded.default_role",
                        (project, role.value),
                    )

        await self._call("set a project role", work)

    async def get_project_role(self, project: str) -> Role | None:
        def work(conn: sqlite3.Connection) -> Role | None:
            row = conn.execute(
                "SELECT default_role FROM project_roles WHERE project = ?", (project,)
            ).fetchone()
            return Role(row[0]) if row else None

        return await self._call("read a project role", work)

    # -- share links -------------------------------------------------------------------

    async def create_link(self, link: ShareLink, digest: bytes) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            with _transaction(conn):
                cursor = conn.execute(
                    f"INSERT INTO share_links ({_LINK}, digest) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (prefix) DO NOTHING",
                    (
                        link.prefix,
                        link.report_id,
                        link.role.value,
                        link.created_by,
                        _ts(link.created_at),
                        _opt_ts(link.expires_at),
                        _opt_ts(link.revoked_at),
                        *_embed_columns(link.embed),
                        digest,
                    ),
                )
                return cursor.rowcount == 1

        return await self._call("create a link", work)

    async def get_link(self, prefix: str) -> tuple[ShareLink, bytes] | None:
        def work(conn: sqlite3.Connection) -> tuple[ShareLink, bytes] | None:
            row = conn.execute(
                f"SELECT {_LINK}, digest FROM share_links WHERE prefix = ?", (prefix,)
            ).fetchone()
            return None if row is None else (_link(row[:-1]), bytes(row[-1]))

        return await self._call("read a link", work)

    async def list_links(self, report_id: str) -> list[ShareLink]:
        return await self._call(
            "list links",
            lambda conn: [
                _link(r)
                for r in conn.execute(
                    f"SELECT {_LINK} FROM share_links WHERE report_id = ? ORDER BY created_at",
                    (report_id,),
                )
            ],
        )

    async def revoke_link(self, prefix: str, now: datetime) -> ShareLink | None:
        def work(conn: sqlite3.Connection) -> ShareLink | None:
            with _transaction(conn):
                conn.execute(
                    "UPDATE share_links SET revoked_at = coalesce(revoked_at, ?) WHERE prefix = ?",
                    (_ts(now), prefix),
                )
                return _one(
                    conn, _link, f"SELECT {_LINK} FROM share_links WHERE prefix = ?", prefix
                )

        return await self._call("revoke a link", work)

    # -- server secrets ----------------------------------------------------------------

    async def secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        def work(conn: sqlite3.Connection) -> bytes:
            with _transaction(conn):
                conn.execute(
                    "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name, make(), _ts(datetime.now(UTC))),
                )
                (value,) = conn.execute(
                    "SELECT value FROM server_secrets WHERE name = ?", (name,)
                ).fetchone()
            return bytes(value)

        return await self._call("read a server secret", work)


def _one(conn: sqlite3.Connection, make: Callable[[Any], T], query: str, *args: object) -> T | None:
    row = conn.execute(query, args).fetchone()
    return None if row is None else make(row)


def _user(row: Any) -> User:
    return User(row[0], row[1], row[2], row[3], bool(row[4]), _dt(row[5]))


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row[0], row[1], row[2], _dt(row[3]), _opt_dt(row[4]), _opt_dt(row[5]), _opt_dt(row[6])
    )


def _session(row: Any) -> BrowserSession:
    return BrowserSession(
        bytes(row[0]), row[1], row[2], row[3], _dt(row[4]), _dt(row[5]), _opt_dt(row[6])
    )


def _report(row: Any) -> ReportEntry:
    return ReportEntry(row[0], row[1], row[2], _dt(row[3]), _opt_dt(row[4]))


def _member(row: Any) -> Member:
    return Member(row[0], row[1], Role(row[2]), row[3], _dt(row[4]))


def _link(row: Any) -> ShareLink:
    return ShareLink(
        row[0],
        row[1],
        Role(row[2]),
        row[3],
        _dt(row[4]),
        _opt_dt(row[5]),
        _opt_dt(row[6]),
        _embed(row[7], row[8]),
    )


def _embed_columns(embed: EmbedScope | None) -> tuple[str | None, str | None]:
    """``embed_kind, embed_panel_id`` of a link."""
    return (None, None) if embed is None else (embed.kind, embed.panel_id)


def _embed(kind: str | None, panel_id: str | None) -> EmbedScope | None:
    return None if kind is None else EmbedScope(panel_id if kind == "panel" else None)


def _ts(moment: datetime) -> str:
    """Fixed-width UTC text: text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _opt_ts(moment: datetime | None) -> str | None:
    return None if moment is None else _ts(moment)


def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)
