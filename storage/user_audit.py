"""The user-admin audit trail: every change to an account, by the panel or `sada users`, append-only.

A row is written in the same transaction as the change it records, so neither exists without the
other. `data` holds before/after values (role, department, active); never a password or its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import UserAuditRow

# What an entry records; `password_reset` says only that a password was set.
ACTIONS = ("added", "role_changed", "disabled", "enabled", "password_reset")
_SECRET_KEYS = frozenset({"password", "password_hash", "hash"})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One change to one account."""

    id: int
    at: datetime
    actor: str  # the admin's username, or "cli"
    username: str  # whose account
    action: str
    data: dict[str, Any]


class UserAuditRepository:
    """Write and read the user-admin audit trail."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def record(
        self, at: datetime, actor: str, username: str, action: str, data: dict[str, Any] | None = None
    ) -> None:
        """Append one entry; refuses an unknown action and any key that could hold a secret."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        data = dict(data or {})
        if _SECRET_KEYS & set(data):
            raise ValueError("the audit never holds a password or a hash")
        self._s.add(UserAuditRow(at=at, actor=actor[:64], username=username[:64], action=action, data=data))
        await self._s.flush()

    async def recent(
        self, *, limit: int = 100, offset: int = 0, username: str | None = None
    ) -> list[AuditEntry]:
        """Newest first; optionally one account's entries only."""
        stmt = select(UserAuditRow)
        if username:
            stmt = stmt.where(UserAuditRow.username == username)
        rows = await self._s.scalars(
            stmt.order_by(UserAuditRow.at.desc(), UserAuditRow.id.desc()).limit(limit).offset(offset)
        )
        return [AuditEntry(r.id, r.at, r.actor, r.username, r.action, dict(r.data or {})) for r in rows]

    async def count(self, *, username: str | None = None) -> int:
        """How many entries (one account's, when named)."""
        stmt = select(func.count(UserAuditRow.id))
        if username:
            stmt = stmt.where(UserAuditRow.username == username)
        return int(await self._s.scalar(stmt) or 0)
