"""What access control needs from storage: the :class:`AccessStore` Protocol.

Stores implement it (``coreport.stores.sqlite_access``, ``coreport.stores.postgres_access``)
without importing anything else from the domain than its values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from coreport.access.model import (
    ApiKey,
    BrowserSession,
    Member,
    ReportAccess,
    ReportEntry,
    Role,
    ShareLink,
    User,
)


class AccessStore(Protocol):
    """Users, keys, sessions, the report registry, members and share links.

    Lookups of things that do not exist return ``None`` (or ``False``); only a store that
    cannot answer raises :class:`coreport.ports.StoreError`.
    """

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None: ...

    # -- users -------------------------------------------------------------------------

    async def create_user(self, user: User) -> None:
        """Raises :class:`~coreport.access.model.UserExists` if the id, name or email is
        taken (names and emails compare case-insensitively)."""

    async def get_user(self, user_id: str) -> User | None: ...

    async def find_user(self, ref: str) -> User | None:
        """The user whose id, email or name is ``ref`` (in that order)."""

    async def list_users(self) -> list[User]: ...

    # -- API keys ----------------------------------------------------------------------

    async def create_key(self, key: ApiKey, digest: bytes) -> bool:
        """Store a key; ``False`` if its prefix is taken (the caller draws another)."""

    async def get_key(self, prefix: str) -> tuple[ApiKey, bytes] | None:
        """The key and the digest of its secret."""

    async def list_keys(self, user_id: str | None = None) -> list[ApiKey]: ...

    async def revoke_key(self, prefix: str, now: datetime) -> ApiKey | None:
        """Revoke a key (idempotent); ``None`` if there is no such key."""

    async def touch_key(self, prefix: str, now: datetime) -> None:
        """Record that the key was used."""

    # -- browser sessions --------------------------------------------------------------

    async def create_session(self, session: BrowserSession) -> None: ...

    async def get_session(self, id_hash: bytes) -> BrowserSession | None: ...

    async def end_session(self, id_hash: bytes, now: datetime) -> None: ...

    # -- reports and roles -------------------------------------------------------------

    async def register_report(self, report: ReportEntry) -> tuple[ReportEntry, bool]:
        """Register ``report`` with its creator as owner, unless the id is registered
        already. Returns the registered entry and whether this call created it."""

    async def get_report(self, report_id: str) -> ReportEntry | None: ...

    async def delete_report(self, report_id: str, now: datetime) -> bool:
        """Mark a report deleted (its id stays taken); ``False`` if it was not live."""

    async def report_access(self, report_id: str, user_id: str | None) -> ReportAccess:
        """The registry entry, the user's member role and the project's default role."""

    async def set_member(self, member: Member) -> None:
        """Add a member or change their role."""

    async def remove_member(self, report_id: str, user_id: str) -> bool: ...

    async def list_members(self, report_id: str) -> list[Member]: ...

    async def set_project_role(self, project: str, role: Role | None) -> None:
        """The role every user has on the project's reports without a member entry
        (``None``: members only)."""

    async def get_project_role(self, project: str) -> Role | None: ...

    # -- share links -------------------------------------------------------------------

    async def create_link(self, link: ShareLink, digest: bytes) -> bool:
        """Store a link; ``False`` if its prefix is taken."""

    async def get_link(self, prefix: str) -> tuple[ShareLink, bytes] | None: ...

    async def list_links(self, report_id: str) -> list[ShareLink]: ...

    async def revoke_link(self, prefix: str, now: datetime) -> ShareLink | None: ...

    # -- server secrets ----------------------------------------------------------------

    async def secret(self, name: str, make: Callable[[], bytes]) -> bytes:
        """The secret stored under ``name``, created with ``make()`` on first use. Every
        instance sharing the store gets the same value."""
