"""How much the public pages may be used: requests per client address and for everyone, code
resends per address, and unknown tracking codes asked on the status page.

Counted in memory, per process, like the intake's flood limit (bot/intake/flood.py): with
`serve --workers N` each process counts for itself, so the budgets are up to N times these. A
request counts when it is accepted for intake, caught by the honeypot (which pretends to accept
it), or carries a photo (counted before the photo is parsed, so a refused photo costs its
attempt); a form without a photo shown again for a mistake costs nothing. A resent one-time code
counts against the sender's address budgets (not the city's). On the status page only codes
that match no ticket count, per address and against a city-wide budget of their own, so
guessing codes can shut the status page at worst, never the form.

A client is its IPv4 address, or the /64 network of its IPv6 address (one host usually holds a
whole /64, so counting single IPv6 addresses would give it endless identities).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from datetime import datetime, timedelta

from bot.dates.clock import Clock
from bot.web.webform.settings import WebformSettings

MAX_ADDRESSES = 50_000  # the least recently seen address is forgotten past this many
EVERYONE = ""


class Window:
    """At most `limit` events per key within the last `seconds` (a sliding window)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.span = timedelta(seconds=seconds)
        self._events: OrderedDict[str, deque[datetime]] = OrderedDict()

    def allows(self, key: str, now: datetime) -> bool:
        """Whether one more event for `key` fits."""
        events = self._events.get(key)
        if events is None:
            return True
        while events and now - events[0] >= self.span:
            events.popleft()
        return len(events) < self.limit

    def add(self, key: str, now: datetime) -> None:
        """Count one event for `key`."""
        events = self._events.pop(key, None) or deque(maxlen=self.limit)
        events.append(now)
        self._events[key] = events  # most recently seen last
        while len(self._events) > MAX_ADDRESSES:
            self._events.popitem(last=False)


def client_key(address: str) -> str:
    """What the budgets count `address` as: an IPv4 address itself, an IPv6 address by its /64
    (an IPv4-mapped IPv6 address as its IPv4); anything else (no address known) as it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Limits:
    """The web form's and status page's budgets (keyed by `client_key`)."""

    def __init__(self, settings: WebformSettings, clock: Clock) -> None:
        self._clock = clock
        self._minute = Window(settings.per_address_minute, 60)
        self._hour = Window(settings.per_address_hour, 3600)
        self._city = Window(settings.global_minute, 60)
        self._misses = Window(settings.status_misses_per_address, 600)
        self._city_misses = Window(settings.global_status_misses_minute, 60)

    def take_request(self, address: str) -> bool:
        """Count one request from `address`; False (nothing counted) when a budget is spent."""
        key = client_key(address)
        return self._take(((self._minute, key), (self._hour, key), (self._city, EVERYONE)))

    def take_resend(self, address: str) -> bool:
        """Count one code resend asked from `address` against its own budgets (not the city's)."""
        key = client_key(address)
        return self._take(((self._minute, key), (self._hour, key)))

    def _take(self, windows: tuple[tuple[Window, str], ...]) -> bool:
        now = self._clock.now()
        if not all(window.allows(key, now) for window, key in windows):
            return False
        for window, key in windows:
            window.add(key, now)
        return True

    def may_look_up(self, address: str) -> bool:
        """Whether `address` may ask for a tracking code now."""
        now = self._clock.now()
        return self._misses.allows(client_key(address), now) and self._city_misses.allows(EVERYONE, now)

    def missed(self, address: str) -> None:
        """A code asked for matched no ticket."""
        now = self._clock.now()
        self._misses.add(client_key(address), now)
        self._city_misses.add(EVERYONE, now)
