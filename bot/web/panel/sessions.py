"""Logging in and out: password checks, throttling, and sessions whose cookie token is never stored.

The cookie holds a random token; the store keeps only its SHA-256, so a leaked database does not
give working sessions. A session ends at logout, after `idle_minutes` without a request and
`session_hours` after login, whichever comes first; both limits are checked here, on the server,
whatever the browser still holds.

Throttling (OWASP Authentication Cheat Sheet, "Login Throttling" and "Account Lockout"; the
trusted-browser idea is OWASP's "Slow Down Online Guessing Attacks with Device Cookies"). A
*guess* is a failed attempt whose password was checked, counted within `login_window_minutes`.
A browser is *trusted* for an account when it holds a device cookie from an earlier successful
login as that account (used within `device_trust_days`).

- From a trusted browser, only that browser's own guesses count: after `login_max_failures`
  of them (since its last success) it is refused. Nothing anybody else does locks it out.
- From any other browser, an attempt is refused when
  1. the account had `login_max_failures` guesses from this address (since its last success
     from here): one address locks only itself out of that account;
  2. the account had `account_max_failures` guesses from untrusted browsers at any address:
     a distributed attack is capped, and the owner's trusted browsers still get in;
  3. this address made `address_max_failures` guesses from untrusted browsers, whatever the
     usernames: username spraying is capped, colleagues behind the same proxy still get in
     from browsers they have logged in on before.
A refused attempt is answered 429 without checking the password and counts as no guess, so
hammering a locked door neither extends the lock nor spreads it (one address cannot reach rule 2).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.dates.clock import Clock
from bot.web.panel.passwords import verify_password_async
from bot.web.panel.roles import Principal
from bot.web.panel.settings import PanelSettings
from storage.store import Store
from storage.web_sessions import (
    LoginAttemptRepository,
    LoginDeviceRepository,
    WebSession,
    WebSessionRepository,
)

log = logging.getLogger(__name__)

# Writing last_seen on every click would make every page view a write; once a few minutes is enough
# (and a sixth of the idle limit at most, so a session ends at most that much before its idle limit).
TOUCH_EVERY = timedelta(minutes=5)
# Device tokens one browser keeps (one per account logged in on it: a shared front-desk computer).
MAX_DEVICES = 5
_DEVICE_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


class LoginOutcome(StrEnum):
    """How a login attempt ended."""

    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome; on success the session token and the device cookie's new value (None: leave it)."""

    outcome: LoginOutcome
    token: str | None = None
    device_cookie: str | None = None


def session_id(token: str) -> str:
    """The stored id of a session (or trusted browser): a hash of its cookie token."""
    return hashlib.sha256(token.encode()).hexdigest()


def device_tokens(cookie: str) -> list[str]:
    """The well-formed tokens of a device cookie, at most MAX_DEVICES."""
    return [t for t in cookie.split(".") if _DEVICE_TOKEN.fullmatch(t)][:MAX_DEVICES]


class Sessions:
    """Checks passwords, throttles guessing, and opens, resolves and ends sessions."""

    def __init__(self, store: Store, clock: Clock, settings: PanelSettings) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._touch_every = min(TOUCH_EVERY, settings.idle_timeout / 6)

    async def login(self, username: str, password: str, address: str, device_cookie: str = "") -> LoginResult:
        """Check a username and password unless throttled (see the module docstring); on success open a
        session and trust this browser for the account."""
        username = username.strip().lower()[:64]
        now = self._clock.now()
        tokens = device_tokens(device_cookie) if self._settings.device_trust else []
        async with self._store.transaction() as tx:
            attempts = LoginAttemptRepository(tx.session)
            await attempts.serialise()
            device = await LoginDeviceRepository(tx.session).trusted(
                [session_id(t) for t in tokens], username, now - self._settings.device_trust
            )
            refusal = await self._refusal(attempts, username, address, device, now)
            # Recorded before the password is checked: concurrent attempts count each other.
            attempt = await attempts.record(username, address, now, throttled=bool(refusal), device_id=device)
            user = await tx.users.by_username(username)
        # Only existing usernames are logged: a password typed into the username field stays out.
        shown = username if user is not None else "?"
        if refusal:
            log.info("panel login refused user=%s rule=%s", shown, refusal)
            return LoginResult(LoginOutcome.THROTTLED)
        ok = await verify_password_async(password, user.password_hash if user else None)
        if not ok or user is None or not user.active:
            log.info("panel login refused user=%s outcome=%s", shown, LoginOutcome.BAD_CREDENTIALS)
            return LoginResult(LoginOutcome.BAD_CREDENTIALS)
        token = secrets.token_urlsafe(32)
        async with self._store.transaction() as tx:
            await LoginAttemptRepository(tx.session).succeeded(attempt)
            sessions = WebSessionRepository(tx.session)
            await sessions.purge_expired(now, now - self._settings.idle_timeout)
            await sessions.create(
                session_id(token),
                user.id,
                secrets.token_urlsafe(32),
                now,
                now + self._settings.session_lifetime,
            )
            cookie = await self._trust_browser(
                LoginDeviceRepository(tx.session), tokens, device, username, now
            )
        log.info(
            "panel login user=%s role=%s trusted_browser=%s", user.username, user.role, device is not None
        )
        return LoginResult(LoginOutcome.OK, token, cookie)

    async def _refusal(
        self, attempts: LoginAttemptRepository, username: str, address: str, device: str | None, now: datetime
    ) -> str:
        """Which throttling rule refuses this attempt ("" when none does)."""
        s = self._settings
        since = now - s.login_window
        if device is not None:  # a trusted browser: only its own guesses count
            failures = await attempts.device_failures(username, device, since)
            return "browser" if failures >= s.login_max_failures else ""
        if await attempts.pair_failures(username, address, since) >= s.login_max_failures:
            return "account_from_address"
        if await attempts.account_failures(username, since) >= s.account_max_failures:
            return "account"
        if await attempts.address_failures(address, since) >= s.address_max_failures:
            return "address"
        return ""

    async def _trust_browser(
        self,
        devices: LoginDeviceRepository,
        tokens: list[str],
        device: str | None,
        username: str,
        now: datetime,
    ) -> str | None:
        """Remember this browser for `username`; the device cookie's new value (None: trust is off)."""
        if not self._settings.device_trust:
            return None
        await devices.purge_unused(now - self._settings.device_trust)
        if device is not None:
            await devices.touch(device, now)
            return ".".join(tokens)  # sent again, so the browser's copy lasts as long as the server's
        token = secrets.token_urlsafe(32)
        await devices.remember(session_id(token), username, now)
        return ".".join([token, *tokens][:MAX_DEVICES])

    async def principal(self, token: str) -> Principal | None:
        """The logged-in user behind a cookie token, or None when the session is gone."""
        now = self._clock.now()
        async with self._store.read() as tx:  # every panel request: no write lock, as a rule
            web_session = await WebSessionRepository(tx.session).find(session_id(token))
        if web_session is None:
            return None
        ended = self._ended(web_session, now)
        if ended:
            # Only a session that exists gets here, so a made-up cookie never costs a write.
            async with self._store.transaction() as tx:
                await WebSessionRepository(tx.session).end(web_session.id)
            log.info("panel session ended user=%s reason=%s", web_session.user.username, ended)
            return None
        if now - web_session.last_seen_at >= self._touch_every:
            async with self._store.transaction() as tx:
                await WebSessionRepository(tx.session).touch(web_session.id, now)
        return Principal(user=web_session.user, csrf_token=web_session.csrf_token)

    def _ended(self, web_session: WebSession, now: datetime) -> str:
        """Why a stored session no longer admits anyone ("" when it still does)."""
        if now >= web_session.expires_at:
            return "lifetime"
        if now - web_session.last_seen_at >= self._settings.idle_timeout:
            return "idle"
        if not web_session.user.active:
            return "disabled"
        return ""

    async def logout(self, token: str) -> None:
        """End the session behind a cookie token."""
        async with self._store.transaction() as tx:
            await WebSessionRepository(tx.session).end(session_id(token))

    async def end_all(self, user_id: int) -> int:
        """End every session of one user."""
        async with self._store.transaction() as tx:
            return await WebSessionRepository(tx.session).end_for_user(user_id)
