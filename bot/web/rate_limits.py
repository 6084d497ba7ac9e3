"""Sliding-window budgets of the public doors (the web form, Open311): who a client is, and how
many times it may do something in the last so many seconds.

In-process: each `serve --workers` process counts for itself, so N workers allow up to N times a
limit in the worst case (SO_REUSEPORT spreads connections, not clients).

A client is its IPv4 address, or the /64 network of its IPv6 address (one host usually holds a
whole /64, so counting single IPv6 addresses would give it endless identities).
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict, deque

MAX_KEYS = 50_000  # the least recently seen key is forgotten past this many


class SlidingWindow:
    """At most `limit` events per key in any `seconds`-long window. Times are seconds on one clock
    (monotonic, or a wall clock's timestamps); the least recently seen key beyond `max_keys` is
    forgotten, so a flood of fresh addresses costs bounded memory."""

    def __init__(self, limit: int, seconds: float = 60.0, *, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self.seconds = seconds
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def wait(self, key: str, now: float) -> float:
        """0 when one more event for `key` fits at `now`, else the seconds until one does."""
        events = self._events.get(key)
        if events is None:
            return 0.0
        while events and events[0] <= now - self.seconds:
            events.popleft()
        if len(events) < self.limit:
            return 0.0
        return max(events[0] + self.seconds - now, 0.001)

    def allows(self, key: str, now: float) -> bool:
        """Whether one more event for `key` fits at `now`."""
        return not self.wait(key, now)

    def add(self, key: str, now: float) -> None:
        """Count one event for `key` at `now`."""
        events = self._events.pop(key, None) or deque(maxlen=max(self.limit, 1))
        events.append(now)
        self._events[key] = events  # most recently seen last
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)

    def hit(self, key: str, now: float) -> float:
        """Count one event for `key` if it fits: 0, else the seconds to wait (nothing counted)."""
        wait = self.wait(key, now)
        if not wait:
            self.add(key, now)
        return wait

    def __len__(self) -> int:
        """Keys remembered."""
        return len(self._events)


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


def retry_after(wait: float) -> str:
    """The Retry-After header's whole seconds (never 0)."""
    return str(max(1, math.ceil(wait)))
