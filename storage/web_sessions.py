"""Panel sign-in state: sessions and trusted browsers (each keyed by a hash of its cookie) and login
attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import LoginAttemptRow, LoginDeviceRow, UserRow, WebSessionRow
from storage.users import User, user_from_row

# pg_advisory_xact_lock key for login checks (any constant; it names nothing else in the database).
_LOGIN_LOCK = 0x5ADA_1061


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live login session and the (active) user it belongs to."""

    id: str
    user: User
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class WebSessionRepository:
    """Create, look up, refresh and end panel sessions."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def create(
        self, session_id: str, user_id: int, csrf_token: str, at: datetime, expires_at: datetime
    ) -> None:
        """Store a new session; `session_id` is already a hash of the cookie token."""
        self._s.add(
            WebSessionRow(
                id=session_id,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=at,
                last_seen_at=at,
                expires_at=expires_at,
            )
        )
        await self._s.flush()

    async def find(self, session_id: str) -> WebSession | None:
        """The session with this id, expired, idle or not (the caller judges), with its user."""
        row = (
            await self._s.execute(
                select(WebSessionRow, UserRow)
                .join(UserRow, UserRow.id == WebSessionRow.user_id)
                .where(WebSessionRow.id == session_id)
            )
        ).first()
        if row is None:
            return None
        web, user = row
        return WebSession(
            id=web.id,
            user=user_from_row(user),
            csrf_token=web.csrf_token,
            created_at=web.created_at,
            last_seen_at=web.last_seen_at,
            expires_at=web.expires_at,
        )

    async def touch(self, session_id: str, at: datetime) -> None:
        """Remember when the session was last used."""
        await self._s.execute(
            update(WebSessionRow).where(WebSessionRow.id == session_id).values(last_seen_at=at)
        )

    async def end(self, session_id: str) -> None:
        """Log out one session."""
        await self._s.execute(delete(WebSessionRow).where(WebSessionRow.id == session_id))

    async def end_for_user(self, user_id: int) -> int:
        """Log out every session of a user (password change, disabled account)."""
        result = await self._s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def purge_expired(self, now: datetime, idle_since: datetime) -> int:
        """Drop sessions past their lifetime or unused since `idle_since`."""
        result = await self._s.execute(
            delete(WebSessionRow).where(
                or_(WebSessionRow.expires_at <= now, WebSessionRow.last_seen_at <= idle_since)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class LoginAttemptRepository:
    """Every login attempt, kept for throttling and audit.

    The counts below are of *guesses*: failed attempts whose password was checked. An attempt a
    throttling rule refused unchecked is recorded (`throttled`) but counted nowhere, so hammering
    a locked door does not extend or spread the lock. `device_id` tells attempts from a trusted
    browser (counted per browser) from all others (counted per account, address and both).
    """

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def serialise(self) -> None:
        """Make concurrent login checks take turns, so a burst cannot pass a limit all at once.

        SQLite writers already take turns; on PostgreSQL a transaction-scoped advisory lock does it.
        """
        if self._s.get_bind().dialect.name == "postgresql":
            await self._s.execute(select(func.pg_advisory_xact_lock(_LOGIN_LOCK)))

    async def record(
        self, username: str, address: str, at: datetime, *, throttled: bool, device_id: str | None
    ) -> int:
        """Append one attempt as failed (a success is marked by `succeeded`); returns its id."""
        row = LoginAttemptRow(
            username=username[:64],
            address=address[:64],
            at=at,
            success=False,
            throttled=throttled,
            device_id=device_id,
        )
        self._s.add(row)
        await self._s.flush()
        return row.id

    async def succeeded(self, attempt_id: int) -> None:
        """Mark an attempt as a successful login."""
        await self._s.execute(
            update(LoginAttemptRow).where(LoginAttemptRow.id == attempt_id).values(success=True)
        )

    async def pair_failures(self, username: str, address: str, since: datetime) -> int:
        """Guesses at `username` from `address` by untrusted browsers, since `since` and since the
        latest success of that username from that address."""
        latest = await self._latest_success(
            LoginAttemptRow.username == username, LoginAttemptRow.address == address
        )
        return await self._guesses(
            since,
            latest,
            LoginAttemptRow.username == username,
            LoginAttemptRow.address == address,
            LoginAttemptRow.device_id.is_(None),
        )

    async def account_failures(self, username: str, since: datetime) -> int:
        """Guesses at `username` by untrusted browsers from any address since `since`."""
        return await self._guesses(
            since, None, LoginAttemptRow.username == username, LoginAttemptRow.device_id.is_(None)
        )

    async def address_failures(self, address: str, since: datetime) -> int:
        """Guesses from `address` by untrusted browsers, whatever the username, since `since`."""
        return await self._guesses(
            since, None, LoginAttemptRow.address == address, LoginAttemptRow.device_id.is_(None)
        )

    async def device_failures(self, username: str, device_id: str, since: datetime) -> int:
        """Guesses at `username` from one trusted browser since `since` and since its latest success."""
        mine = (LoginAttemptRow.username == username, LoginAttemptRow.device_id == device_id)
        latest = await self._latest_success(*mine)
        return await self._guesses(since, latest, *mine)

    async def _latest_success(self, *where: ColumnElement[bool]) -> int | None:
        return await self._s.scalar(
            select(func.max(LoginAttemptRow.id)).where(*where, LoginAttemptRow.success.is_(True))
        )

    async def _guesses(self, since: datetime, after_id: int | None, *where: ColumnElement[bool]) -> int:
        stmt = select(func.count(LoginAttemptRow.id)).where(
            *where,
            LoginAttemptRow.success.is_(False),
            LoginAttemptRow.throttled.is_(False),
            LoginAttemptRow.at >= since,
        )
        if after_id is not None:
            stmt = stmt.where(LoginAttemptRow.id > after_id)
        return int(await self._s.scalar(stmt) or 0)


class LoginDeviceRepository:
    """Browsers that have logged in as a user, known by the SHA-256 of their device cookie."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def trusted(self, device_ids: Sequence[str], username: str, used_since: datetime) -> str | None:
        """The one of `device_ids` that has logged in as `username` since `used_since`, if any."""
        if not device_ids:
            return None
        return await self._s.scalar(
            select(LoginDeviceRow.id)
            .where(
                LoginDeviceRow.id.in_(device_ids),
                LoginDeviceRow.username == username,
                LoginDeviceRow.last_used_at > used_since,
            )
            .limit(1)
        )

    async def remember(self, device_id: str, username: str, at: datetime) -> None:
        """Trust a browser for `username` from now on."""
        self._s.add(LoginDeviceRow(id=device_id, username=username[:64], created_at=at, last_used_at=at))
        await self._s.flush()

    async def touch(self, device_id: str, at: datetime) -> None:
        """A trusted browser logged in again: its trust runs from now."""
        await self._s.execute(
            update(LoginDeviceRow).where(LoginDeviceRow.id == device_id).values(last_used_at=at)
        )

    async def purge_unused(self, used_before: datetime) -> int:
        """Forget browsers that have not logged in since `used_before`."""
        result = await self._s.execute(
            delete(LoginDeviceRow).where(LoginDeviceRow.last_used_at <= used_before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
