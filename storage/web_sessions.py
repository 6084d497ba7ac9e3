"""Panel sign-in state: login sessions (keyed by a hash of the cookie token) and login attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import LoginAttemptRow, UserRow, WebSessionRow
from storage.users import User, user_from_row


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

    async def active(self, session_id: str, now: datetime) -> WebSession | None:
        """The session when it exists, has not expired and its user is still active."""
        row = (
            await self._s.execute(
                select(WebSessionRow, UserRow)
                .join(UserRow, UserRow.id == WebSessionRow.user_id)
                .where(
                    WebSessionRow.id == session_id,
                    WebSessionRow.expires_at > now,
                    UserRow.active.is_(True),
                )
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

    async def purge_expired(self, now: datetime) -> int:
        """Drop sessions that ran out."""
        result = await self._s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class LoginAttemptRepository:
    """Every login attempt, kept for throttling and audit."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def record(self, username: str, address: str, at: datetime, *, success: bool) -> None:
        """Append one attempt."""
        self._s.add(LoginAttemptRow(username=username[:64], address=address[:64], at=at, success=success))
        await self._s.flush()

    async def recent_failures(self, username: str, since: datetime) -> int:
        """Failed attempts for `username` since `since` and after its latest successful login."""
        last_success = await self._s.scalar(
            select(func.max(LoginAttemptRow.id)).where(
                LoginAttemptRow.username == username, LoginAttemptRow.success.is_(True)
            )
        )
        stmt = select(func.count(LoginAttemptRow.id)).where(
            LoginAttemptRow.username == username,
            LoginAttemptRow.success.is_(False),
            LoginAttemptRow.at >= since,
        )
        if last_success is not None:
            stmt = stmt.where(LoginAttemptRow.id > last_success)
        return int(await self._s.scalar(stmt) or 0)

    async def address_failures(self, address: str, since: datetime) -> int:
        """Failed attempts from one client address since `since`, whatever the username."""
        return int(
            await self._s.scalar(
                select(func.count(LoginAttemptRow.id)).where(
                    LoginAttemptRow.address == address,
                    LoginAttemptRow.success.is_(False),
                    LoginAttemptRow.at >= since,
                )
            )
            or 0
        )
