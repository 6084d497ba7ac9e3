"""The panel's own configuration, read from the `[panel]` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.toml_reader import ConfigError, Table


@dataclass(frozen=True, slots=True)
class PanelSettings:
    """Cookies, sessions, login throttling and list sizes (the throttling rule: bot/web/panel/sessions.py)."""

    cookie_secure: bool
    persistent_cookie: bool
    session_lifetime: timedelta
    idle_timeout: timedelta
    login_max_failures: int
    login_window: timedelta
    account_max_failures: int
    address_max_failures: int
    device_trust: timedelta
    trust_forwarded_for: bool
    page_size: int
    min_password_length: int


def read_panel_settings(t: Table) -> PanelSettings:
    """Validate `[panel]`; a bad value raises ConfigError naming e.g. `panel.session_hours`."""
    settings = PanelSettings(
        cookie_secure=t.bool("cookie_secure", False),
        persistent_cookie=t.bool("persistent_cookie", False),
        session_lifetime=timedelta(hours=t.float("session_hours", 12.0, minimum=0.1, maximum=24 * 30)),
        idle_timeout=timedelta(minutes=t.float("idle_minutes", 30.0, minimum=1, maximum=24 * 60)),
        login_max_failures=t.int("login_max_failures", 5, minimum=1, maximum=100),
        login_window=timedelta(minutes=t.float("login_window_minutes", 15.0, minimum=1, maximum=24 * 60)),
        account_max_failures=t.int("account_max_failures", 20, minimum=1, maximum=10_000),
        address_max_failures=t.int("address_max_failures", 50, minimum=1),
        # Browsers cap a cookie's lifetime at 400 days (RFC 6265bis); 0 turns trusted browsers off.
        device_trust=timedelta(days=t.int("device_trust_days", 90, minimum=0, maximum=400)),
        trust_forwarded_for=t.bool("trust_forwarded_for", False),
        page_size=t.int("page_size", 25, minimum=5, maximum=200),
        min_password_length=t.int("min_password_length", 10, minimum=8, maximum=200),
    )
    t.check_unknown()
    if settings.account_max_failures <= settings.login_max_failures:
        # Else one address's guesses would lock the account for everyone else (no browser trusted).
        raise ConfigError(
            t.dotted("account_max_failures"),
            f"must be more than login_max_failures ({settings.login_max_failures}), e.g. 4 times it",
        )
    return settings
