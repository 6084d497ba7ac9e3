"""Logging in and out: password checks, throttling, and sessions whose cookie token is never stored.

The cookie holds a random token; the store keeps only its SHA-256, so a leaked database does not
give working sessions. Failed attempts are counted per username (since its last success) and per
client address within a sliding window; past the limit, even a correct password is refused.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.clock import Clock
from bot.panel.passwords import verify_password_async
from bot.panel.roles import Principal
from bot.panel.settings import PanelSettings
from storage.store import Store
from storage.web_sessions import LoginAttemptRepository, WebSessionRepository

log = logging.getLogger(__name__)

# Writing last_seen on every click would make every page view a write; once a few minutes is enough.
TOUCH_EVERY = timedelta(minutes=5)


class LoginOutcome(StrEnum):
    """How a login attempt ended."""

    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome, and on success the cookie token to hand to the browser."""

    outcome: LoginOutcome
    token: str | None = None


def session_id(token: str) -> str:
    """The stored id of a session: a hash of its cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """Checks passwords, throttles guessing, and opens, resolves and ends sessions."""

    def __init__(self, store: Store, clock: Clock, settings: PanelSettings) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings

    async def login(self, username: str, password: str, address: str) -> LoginResult:
        """Check a username and password; on success open a session."""
        username = username.strip().lower()[:64]
        now = self._clock.now()
        since = now - self._settings.login_window
        async with self._store.transaction() as tx:
            attempts = LoginAttemptRepository(tx.session)
            throttled = (
                await attempts.recent_failures(username, since) >= self._settings.login_max_failures
                or await attempts.address_failures(address, since) >= self._settings.address_max_failures
            )
            user = None if throttled else await tx.users.by_username(username)
        ok = False
        if not throttled:
            ok = await verify_password_async(password, user.password_hash if user else None)
            ok = ok and user is not None and user.active
        async with self._store.transaction() as tx:
            await LoginAttemptRepository(tx.session).record(username, address, now, success=ok)
            if not ok or user is None:
                outcome = LoginOutcome.THROTTLED if throttled else LoginOutcome.BAD_CREDENTIALS
                log.info("panel login refused user=%s outcome=%s", username, outcome)
                return LoginResult(outcome)
            token = secrets.token_urlsafe(32)
            await WebSessionRepository(tx.session).create(
                session_id(token),
                user.id,
                secrets.token_urlsafe(32),
                now,
                now + self._settings.session_lifetime,
            )
        log.info("panel login user=%s role=%s", user.username, user.role)
        return LoginResult(LoginOutcome.OK, token)

    async def principal(self, token: str) -> Principal | None:
        """The logged-in user behind a cookie token, or None when the session is gone."""
        now = self._clock.now()
        async with self._store.read() as tx:  # every panel request: no write lock, as a rule
            web_session = await WebSessionRepository(tx.session).active(session_id(token), now)
        if web_session is None:
            return None
        if now - web_session.last_seen_at >= TOUCH_EVERY:
            async with self._store.transaction() as tx:
                await WebSessionRepository(tx.session).touch(web_session.id, now)
        return Principal(user=web_session.user, csrf_token=web_session.csrf_token)

    async def logout(self, token: str) -> None:
        """End the session behind a cookie token."""
        async with self._store.transaction() as tx:
            await WebSessionRepository(tx.session).end(session_id(token))

    async def end_all(self, user_id: int) -> int:
        """End every session of one user."""
        async with self._store.transaction() as tx:
            return await WebSessionRepository(tx.session).end_for_user(user_id)
