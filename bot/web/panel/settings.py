"""The panel's own configuration, read from the `[panel]` table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from bot.toml_reader import ConfigError, Table

DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = "© OpenStreetMap contributors"
# A host a CSP source can name: letters, digits, dots and dashes, a port, and at most "{s}." first.
_TILES_HOST = re.compile(r"(?:\{s\}\.)?[A-Za-z0-9.-]+(?::\d{1,5})?")


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
    # The map's background: a tile URL template ({z}/{x}/{y}, optionally {s}.host), "" for none.
    map_tiles_url: str = DEFAULT_TILES
    map_attribution: str = DEFAULT_ATTRIBUTION
    # Which SMS channel phone and walk-in requests are answered on (None: the first SMS channel).
    intake_sms_channel: str | None = None

    @property
    def map_tiles_origin(self) -> str | None:
        """The tiles' origin as a CSP source (`https://*.tile.example` for a {s} template)."""
        if not self.map_tiles_url:
            return None
        parts = urlsplit(self.map_tiles_url.replace("{s}.", "*.", 1))
        return f"{parts.scheme}://{parts.netloc}"


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
        map_tiles_url=_tiles_url(t),
        map_attribution=t.str("map_attribution", DEFAULT_ATTRIBUTION)[:300],
        intake_sms_channel=t.str("intake_sms_channel", "").strip() or None,
    )
    t.check_unknown()
    if settings.account_max_failures <= settings.login_max_failures:
        # Else one address's guesses would lock the account for everyone else (no browser trusted).
        raise ConfigError(
            t.dotted("account_max_failures"),
            f"must be more than login_max_failures ({settings.login_max_failures}), e.g. 4 times it",
        )
    return settings


def _tiles_url(t: Table) -> str:
    """`map_tiles_url`: http(s), {z}, {x} and {y} in it, and a host the CSP can allow (img-src)."""
    url = t.str("map_tiles_url", DEFAULT_TILES).strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not _TILES_HOST.fullmatch(parts.netloc):
        raise ConfigError(
            t.dotted("map_tiles_url"), "must be an http(s) URL with a plain host (or {s}.host), or empty"
        )
    if not all(part in url for part in ("{z}", "{x}", "{y}")):
        raise ConfigError(t.dotted("map_tiles_url"), "must contain {z}, {x} and {y}")
    return url
