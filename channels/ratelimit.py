"""Send pacing: at most N messages a second overall, and a minimum gap per recipient.

Telegram allows about 30 messages a second per bot and one a second per private chat; SMS panels
throttle per account. Each sending channel owns one limiter; callers `await acquire(key)` right
before the provider call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Reserves send slots: `rate` per second overall, `per_key_interval` seconds apart per key."""

    def __init__(
        self,
        rate: float | None,
        per_key_interval: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self._gap = 0.0 if rate is None else 1.0 / rate
        self._per_key = per_key_interval
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._keys: dict[str, float] = {}

    async def acquire(self, key: str = "") -> None:
        """Wait until one more message to `key` may go out."""
        # Slots are reserved before sleeping, so concurrent callers queue up instead of racing.
        now = self._clock()
        if self._per_key > 0:
            at = max(now, self._keys.get(key, 0.0))
            self._keys[key] = at + self._per_key
            await self._wait_until(at)
            now = self._clock()
        at = max(now, self._next)
        self._next = at + self._gap
        if self._per_key > 0:
            self._keys[key] = max(self._keys[key], at + self._per_key)
            self._forget_idle(now)
        await self._wait_until(at)

    def defer(self, seconds: float, key: str | None = None) -> None:
        """The provider said "retry after": hold back everyone (or one key) for that long."""
        until = self._clock() + seconds
        if key is None:
            self._next = max(self._next, until)
        else:
            self._keys[key] = max(self._keys.get(key, 0.0), until)

    async def _wait_until(self, at: float) -> None:
        delay = at - self._clock()
        if delay > 0:
            await self._sleep(delay)

    def _forget_idle(self, now: float) -> None:
        if len(self._keys) > 10_000:
            self._keys = {k: v for k, v in self._keys.items() if v > now}
