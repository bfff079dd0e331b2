"""The scaled access store: users, keys, sessions, roles and links in PostgreSQL.

It keeps its own small asyncpg pool on the database of the documents (a bulkhead: access
checks at connect time never wait for a connection held by a long document transaction).
Migrations of every table apply whichever store opens first, under the migration lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

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
from coreport.ports import StoreError
from coreport.stores.postgres_pool import PooledStore

_USER = "id, name, email, color, admin, created_at"
_KEY = "prefix, user_id, label, created_at, expires_at, last_used_at, revoked_at"
_SESSION = "id_hash, user_id, via, key_prefix, created_at, expires_at, revoked_at"
_REPORT = "id, project, created_by, created_at, deleted_at"
_LINK = (
    "prefix, report_id, role, created_by, created_at, expires_at, revoked_at, "
    "embed_kind, embed_panel_id"
)
_MEMBER = "report_id, user_id, role, added_by, added_at"


class PostgresAccessStore(PooledStore):
    """An :class:`~coreport.access.ports.AccessStore` in the database named by ``dsn``."""

    label = "PostgreSQL access store"

    async def _fetchrow(self, what: str, query: str, *args: object) -> Any:
        pool = self._require_pool(what)
        async with self._wrapped(what, pool):
            return await pool.fetchrow(query, *args)

    async def _fetch(self, what: str, query: str, *args: object) -> list[Any]:
        pool = self._require_pool(what)
        async with self._wrapped(what, pool):
            rows: list[Any] = await pool.fetch(query, *args)
            return rows

    async def _execute(self, what: str, query: str, *args: object) -> str:
        pool = self._require_pool(what)
        async with self._wrapped(what, pool):
            status: str = await pool.execute(query, *args)
            return status

    # -- users -------------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        try:
            await self._execute(
                "create a user",
                f"INSERT INTO users ({_USER}) VALUES ($1, $2, $3, $4, $5, $6)",
                user.id,
                user.name,
                user.email,
                user.color,
                user.admin,
                user.created_at,
            )
        except StoreError as exc:
            if isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                raise UserExists(f"a user with this id, name or email exists: {exc}") from exc
            raise

    async def get_user(self, user_id: str) -> User | None:
        row = await self._fetchrow(
            "read a user", f"SELECT {_USER} FROM users WHERE id = $1", user_id
        )
        return None if row is None else _user(row)

    async def find_user(self, ref: str) -> User | None:
        row = await self._fetchrow(
            "find a user",
            f"SELECT {_USER} FROM users WHERE id = $1 OR lower(email) = lower($1) "
            "OR lower(name) = lower($1) "
            "ORDER BY (id = $1) DESC, (lower(email) = lower($1)) DESC NULLS LAST LIMIT 1",
            ref,
        )
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        rows = await self._fetch("list users", f"SELECT {_USER} FROM users ORDER BY lower(name)")
        return [_user(r) for r in rows]

    # -- API keys ----------------------------------------------------------------------

    async def create_key(self, key: ApiKey, digest: bytes) -> bool:
        status = await self._execute(
            "create a key",
            f"INSERT INTO api_keys ({_KEY}, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            "ON CONFLICT (prefix) DO NOTHING",
            key.prefix,
            key.user_id,
            key.label,
            key.created_at,
            key.expires_at,
            key.last_used_at,
            key.revoked_at,
            digest,
        )
        return status == "INSERT 0 1"

    async def get_key(self, prefix: str) -> tuple[ApiKey, bytes] | None:
        row = await self._fetchrow(
            "read a key", f"SELECT {_KEY}, digest FROM api_keys WHERE prefix = $1", prefix
        )
        return None if row is None else (_key(row), bytes(row["digest"]))

    async def list_keys(self, user_id: str | None = None) -> list[ApiKey]:
        if user_id is None:
            rows = await self._fetch(
                "list keys", f"SELECT {_KEY} FROM api_keys ORDER BY created_at"
            )
        else:
            rows = await self._fetch(
                "list keys",
                f"SELECT {_KEY} FROM api_keys WHERE user_id = $1 ORDER BY created_at",
                user_id,
            )
        return [_key(r) for r in rows]

    async def revoke_key(self, prefix: str, now: datetime) -> ApiKey | None:
        async with self._connection("revoke a key") as conn, conn.transaction():
            await conn.execute(
                "UPDATE browser_sessions SET revoked_at = coalesce(revoked_at, $2) "
                "WHERE key_prefix = $1",
                prefix,
                now,
            )
            row = await conn.fetchrow(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE prefix = $1 "
                f"RETURNING {_KEY}",
                prefix,
                now,
            )
        return None if row is None else _key(row)

    async def touch_key(self, prefix: str, now: datetime) -> None:
        await self._execute(
            "record a key's use",
            "UPDATE api_keys SET last_used_at = $2 WHERE prefix = $1",
            prefix,
            now,
        )

    # -- browser sessions --------------------------------------------------------------

    async def create_session(self, session: BrowserSession) -> None:
        await self._execute(
            "create a session",
            f"INSERT INTO browser_sessions ({_SESSION}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            session.id_hash,
            session.user_id,
            session.via,
            session.key_prefix,
            session.created_at,
            session.expires_at,
            session.revoked_at,
        )

    async def get_session(self, id_hash: bytes) -> BrowserSession | None:
        row = await self._fetchrow(
            "read a session", f"SELECT {_SESSION} FROM browser_sessions WHERE id_hash = $1", id_hash
        )
        return None if row is None else _session(row)

    async def end_session(self, id_hash: bytes, now: datetime) -> None:
        await self._execute(
            "end a session",
            "UPDATE browser_sessions SET revoked_at = coalesce(revoked_at, $2) WHERE id_hash = $1",
            id_hash,
            now,
        )

    # -- reports and roles -------------------------------------------------------------

    async def register_report(self, report: ReportEntry) -> tuple[ReportEntry, bool]:
        async with self._connection("register a report") as conn, conn.transaction():
            inserted = await conn.fetchrow(
                f"INSERT INTO reports ({_REPORT}) VALUES ($1, $2, $3, $4, NULL) "
                f"ON CONFLICT (id) DO NOTHING RETURNING {_REPORT}",
                report.id,
                report.project,
                report.created_by,
                report.created_at,
            )
            if inserted is None:
                row = await conn.fetchrow(f"SELECT {_REPORT} FROM reports WHERE id = $1", report.id)
                return _report(row), False
            if report.created_by is not None:
                await conn.execute(
                    f"INSERT INTO report_members ({_MEMBER}) VALUES ($1, $2, 'owner', $2, $3)",
                    report.id,
                    report.created_by,
                    report.created_at,
                )
        return _report(inserted), True

    async def get_report(self, report_id: str) -> ReportEntry | None:
        row = await self._fetchrow(
            "read a report", f"SELECT {_REPORT} FROM reports WHERE id = $1", report_id
        )
        return None if row is None else _report(row)

    async def delete_report(self, report_id: str, now: datetime) -> bool:
        status = await self._execute(
            "delete a report",
            "UPDATE reports SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
            report_id,
            now,
        )
        return status == "UPDATE 1"

    async def report_access(self, report_id: str, user_id: str | None) -> ReportAccess:
        row = await self._fetchrow(
            "read a report's access",
            "SELECT r.id, r.project, r.created_by, r.created_at, r.deleted_at, "
            "m.role AS member_role, p.default_role "
            "FROM reports AS r "
            "LEFT JOIN report_members AS m ON m.report_id = r.id AND m.user_id = $2 "
            "LEFT JOIN project_roles AS p ON p.project = r.project "
            "WHERE r.id = $1",
            report_id,
            user_id,
        )
        if row is None:
            return ReportAccess(None, None, None)
        return ReportAccess(
            _report(row),
            Role(row["member_role"]) if row["member_role"] else None,
            Role(row["default_role"]) if row["default_role"] else None,
        )

    async def set_member(self, member: Member) -> None:
        await self._execute(
            "set a member",
            f"INSERT INTO report_members ({_MEMBER}) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (report_id, user_id) DO UPDATE SET role = EXCLUDED.role, "
            "added_by = EXCLUDED.added_by, added_at = EXCLUDED.added_at",
            member.report_id,
            member.user_id,
            member.role.value,
            member.added_by,
            member.added_at,
        )

    async def remove_member(self, report_id: str, user_id: str) -> bool:
        status = await self._execute(
            "remove a member",
            "DELETE FROM report_members WHERE report_id = $1 AND user_id = $2",
            report_id,
            user_id,
        )
        return status == "DELETE 1"

    async def list_members(self, report_id: str) -> list[Member]:
        rows = await self._fetch(
            "list members",
            f"SELECT {_MEMBER} FROM report_members WHERE report_id = $1 ORDER BY added_at",
            report_id,
        )
        return [_member(r) for r in rows]

    async def set_project_role(self, project: str, role: Role | None) -> None:
        if role is None:
            await self._execute(
                "set a project role", "DELETE FROM project_roles WHERE project = $1", project
            )
            return
        await self._execute(
            "set a project role",
            "INSERT INTO project_roles (project, default_role) VALUES ($1, $2) "
            "ON CONFLICT (project) DO UPDATE SET default_role = EXCLUDED.default_role",
            project,
            role.value,
        )

    async def get_project_role(self, project: str) -> Role | None:
        row = await self._fetchrow(
            "read a project role",
            "SELECT default_role FROM project_roles WHERE project = $1",
            project,
        )
        return None if row is None else Role(row["default_role"])

    # -- share links -------------------------------------------------------------------

    async def create_link(self, link: ShareLink, digest: bytes) -> bool:
        status = await self._execute(
            "create a link",
            f"INSERT INTO share_links ({_LINK}, digest) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "ON CONFLICT (prefix) DO NOTHING",
            link.prefix,
            link.report_id,
            link.role.value,
            link.created_by,
            link.created_at,
            link.expires_at,
            link.revoked_at,
            *_embed_columns(link.embed),
            digest,
        )
        return status == "INSERT 0 1"

    async def get_link(self, prefix: str) -> tuple[ShareLink, bytes] | None:
        row = await self._fetchrow(
            "read a link", f"SELECT {_LINK}, digest FROM share_links WHERE prefix = $1", prefix
        )
        return None if row is None else (_link(row), bytes(row["digest"]))

    async def list_links(self, report_id: str) -> list[ShareLink]:
        rows = await self._fetch(
            "list links",
            f"SELECT {_LINK} FROM share_links WHERE report_id = $1 ORDER BY created_at",
            report_id,
        )
        return [_link(r) for r in rows]

    async def revoke_link(self, prefix: str, now: datetime) -> ShareLink | None:
        row = await self._fetchrow(
            "revoke a link",
            "UPDATE share_links SET revoked_at = coalesce(revoked_at, $2) WHERE prefix = $1 "
            f"RETURNING {_LINK}",
            prefix,
            now,
        )
        return None if row is None else _link(row)

    # -- server secrets ----------------------------------------------------------------

    async def secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        async with self._connection("read a server secret") as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (name) DO NOTHING",
                name,
                make(),
                datetime.now(UTC),
            )
            value = await conn.fetchval("SELECT value FROM server_secrets WHERE name = $1", name)
        return bytes(value)


def _user(row: Any) -> User:
    return User(row["id"], row["name"], row["email"], row["color"], row["admin"], row["created_at"])


def _key(row: Any) -> ApiKey:
    return ApiKey(
        row["prefix"],
        row["user_id"],
        row["label"],
        row["created_at"],
        row["expires_at"],
        row["last_used_at"],
        row["revoked_at"],
    )


def _session(row: Any) -> BrowserSession:
    return BrowserSession(
        bytes(row["id_hash"]),
        row["user_id"],
        row["via"],
        row["key_prefix"],
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
    )


def _report(row: Any) -> ReportEntry:
    return ReportEntry(
        row["id"], row["project"], row["created_by"], row["created_at"], row["deleted_at"]
    )


def _member(row: Any) -> Member:
    return Member(
        row["report_id"], row["user_id"], Role(row["role"]), row["added_by"], row["added_at"]
    )


def _link(row: Any) -> ShareLink:
    return ShareLink(
        row["prefix"],
        row["report_id"],
        Role(row["role"]),
        row["created_by"],
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
        _embed(row["embed_kind"], row["embed_panel_id"]),
    )


def _embed_columns(embed: EmbedScope | None) -> tuple[str | None, str | None]:
    """``embed_kind, embed_panel_id`` of a link."""
    return (None, None) if embed is None else (embed.kind, embed.panel_id)


def _embed(kind: str | None, panel_id: str | None) -> EmbedScope | None:
    return None if kind is None else EmbedScope(panel_id if kind == "panel" else None)
