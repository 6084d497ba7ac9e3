"""The panel's own configuration, read from the `[panel]` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.settings import Table


@dataclass(frozen=True, slots=True)
class PanelSettings:
    """Cookies, sessions, login throttling and list sizes."""

    cookie_secure: bool
    session_lifetime: timedelta
    login_max_failures: int
    login_window: timedelta
    address_max_failures: int
    trust_forwarded_for: bool
    page_size: int
    min_password_length: int


def read_panel_settings(t: Table) -> PanelSettings:
    """Validate `[panel]`; a bad value raises ConfigError naming e.g. `panel.session_hours`."""
    settings = PanelSettings(
        cookie_secure=t.bool("cookie_secure", False),
        session_lifetime=timedelta(hours=t.float("session_hours", 12.0, minimum=0.1, maximum=24 * 30)),
        login_max_failures=t.int("login_max_failures", 5, minimum=1, maximum=100),
        login_window=timedelta(minutes=t.float("login_window_minutes", 15.0, minimum=1, maximum=24 * 60)),
        address_max_failures=t.int("address_max_failures", 50, minimum=1),
        trust_forwarded_for=t.bool("trust_forwarded_for", False),
        page_size=t.int("page_size", 25, minimum=5, maximum=200),
        min_password_length=t.int("min_password_length", 10, minimum=8, maximum=200),
    )
    t.check_unknown()
    return settings
