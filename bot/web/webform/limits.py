"""How much the public pages may be used: requests per client address and for everyone, code
resends per address, and unknown tracking codes asked on the status page.

Counted in memory, per process, by bot/web/rate_limits (shared with Open311): with
`serve --workers N` each process counts for itself, so the budgets are up to N times these. A
request counts when it is accepted for intake, caught by the honeypot (which pretends to accept
it), or carries a photo (counted before the photo is parsed, so a refused photo costs its
attempt); a form without a photo shown again for a mistake costs nothing. A resent one-time code
counts against the sender's address budgets (not the city's). On the status page only codes
that match no ticket count, per address and against a city-wide budget of their own, so
guessing codes can shut the status page at worst, never the form.

A client is its IPv4 address, or the /64 network of its IPv6 address (`client_key`).
"""

from __future__ import annotations

from bot.dates.clock import Clock
from bot.web.rate_limits import SlidingWindow, client_key
from bot.web.webform.settings import WebformSettings

EVERYONE = ""


class Limits:
    """The web form's and status page's budgets (keyed by `client_key`)."""

    def __init__(self, settings: WebformSettings, clock: Clock) -> None:
        self._clock = clock
        self._minute = SlidingWindow(settings.per_address_minute, 60)
        self._hour = SlidingWindow(settings.per_address_hour, 3600)
        self._city = SlidingWindow(settings.global_minute, 60)
        self._misses = SlidingWindow(settings.status_misses_per_address, 600)
        self._city_misses = SlidingWindow(settings.global_status_misses_minute, 60)

    def take_request(self, address: str) -> bool:
        """Count one request from `address`; False (nothing counted) when a budget is spent."""
        key = client_key(address)
        return self._take(((self._minute, key), (self._hour, key), (self._city, EVERYONE)))

    def take_resend(self, address: str) -> bool:
        """Count one code resend asked from `address` against its own budgets (not the city's)."""
        key = client_key(address)
        return self._take(((self._minute, key), (self._hour, key)))

    def _take(self, windows: tuple[tuple[SlidingWindow, str], ...]) -> bool:
        now = self._clock.now().timestamp()
        if not all(window.allows(key, now) for window, key in windows):
            return False
        for window, key in windows:
            window.add(key, now)
        return True

    def may_look_up(self, address: str) -> bool:
        """Whether `address` may ask for a tracking code now."""
        now = self._clock.now().timestamp()
        return self._misses.allows(client_key(address), now) and self._city_misses.allows(EVERYONE, now)

    def missed(self, address: str) -> None:
        """A code asked for matched no ticket."""
        now = self._clock.now().timestamp()
        self._misses.add(client_key(address), now)
        self._city_misses.add(EVERYONE, now)
