"""Panel users: operators, department staff, managers and admins (hashing lives in the bot)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import UserRow

ROLES = ("operator", "staff", "manager", "admin")


@dataclass(frozen=True, slots=True)
class User:
    """A panel user (the password hash stays in storage but for login checks)."""

    id: int
    username: str
    display_name: str
    role: str
    department: str | None
    active: bool
    password_hash: str
    last_login_at: datetime | None = None  # the last successful panel login


def user_from_row(row: UserRow) -> User:
    """The domain user of a row."""
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        department=row.department,
        active=row.active,
        password_hash=row.password_hash,
        last_login_at=row.last_login_at,
    )


class UserRepository:
    """Create, find, re-key and disable users."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(
        self,
        username: str,
        display_name: str,
        role: str,
        department: str | None,
        password_hash: str,
        at: datetime,
    ) -> User:
        """Create a user; the role must be one of ROLES and staff need a department."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if role == "staff" and not department:
            raise ValueError("department staff need a department")
        row = UserRow(
            username=username,
            display_name=display_name,
            role=role,
            department=department,
            password_hash=password_hash,
            active=True,
            created_at=at,
        )
        self._s.add(row)
        await self._s.flush()
        return user_from_row(row)

    async def get(self, user_id: int) -> User | None:
        """One user by id."""
        row = await self._s.get(UserRow, user_id)
        return None if row is None else user_from_row(row)

    async def all(self) -> list[User]:
        """Every user, by login name."""
        rows = await self._s.scalars(select(UserRow).order_by(UserRow.username))
        return [user_from_row(r) for r in rows]

    async def in_department(self, department: str) -> list[User]:
        """The active users of one department (who can be given its tickets), by display name."""
        rows = await self._s.scalars(
            select(UserRow)
            .where(UserRow.department == department, UserRow.active.is_(True))
            .order_by(UserRow.display_name, UserRow.username)
        )
        return [user_from_row(r) for r in rows]

    async def display_names(self, user_ids: Collection[int]) -> dict[int, str]:
        """user id → display name (one query)."""
        if not user_ids:
            return {}
        rows = await self._s.execute(
            select(UserRow.id, UserRow.display_name).where(UserRow.id.in_(sorted(set(user_ids))))
        )
        return dict(rows.tuples())

    async def by_username(self, username: str) -> User | None:
        """One user by login name."""
        row = await self._s.scalar(select(UserRow).where(UserRow.username == username))
        return None if row is None else user_from_row(row)

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        """Replace a password hash; False when no such user."""
        result = await self._s.execute(
            update(UserRow).where(UserRow.username == username).values(password_hash=password_hash)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_role(self, username: str, role: str, department: str | None) -> bool:
        """Change a user's role and department; False when no such user. Staff need a department."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if role == "staff" and not department:
            raise ValueError("department staff need a department")
        result = await self._s.execute(
            update(UserRow).where(UserRow.username == username).values(role=role, department=department)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record_login(self, username: str, at: datetime) -> None:
        """Remember a successful panel login (shown on the users page)."""
        await self._s.execute(update(UserRow).where(UserRow.username == username).values(last_login_at=at))

    async def set_active(self, username: str, active: bool) -> bool:
        """Enable or disable a user; False when no such user."""
        result = await self._s.execute(
            update(UserRow).where(UserRow.username == username).values(active=active)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
