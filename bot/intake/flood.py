"""Per-sender flood limit: one address sending too much is cut off without slowing anyone else.

`FloodGuard.receive` wraps the ingest path. Each (channel, address) may send `max_messages`
within `window_seconds`; beyond that a message is answered as handled (2xx, so the provider does
not retry it), not stored, and no reply is queued — replying would double the flood and the bill.
Only stored messages count; a delivery that failed or repeats a stored message does not.
The first message over the limit in an episode writes one row to `abuse_events` (operators see
who and how much); later ones only count. Counting is in memory, per process: with N `sada
serve` processes behind a balancer a sender gets at most N times the limit, which still keeps
one number from drowning the store.

Senders are kept in the order they last sent, so forgetting the ones idle for a whole window is
a look at the front of that order: constant work per message however many senders there are (a
flood day brings tens of thousands of distinct numbers a minute, each sending once).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.dates.clock import Clock
from bot.models import InboundMessage, ReceiveResult
from bot.toml_reader import Table
from channels.base import OnInbound
from channels.phone import masked
from storage.abuse import AbuseRepository
from storage.store import Store

log = logging.getLogger(__name__)

FLOODED = "flood"


@dataclass(frozen=True, slots=True)
class FloodSettings:
    """`[flood]`: how much one sender may send."""

    enabled: bool = True
    max_messages: int = 20
    window_seconds: int = 60


def flood_settings(t: Table) -> FloodSettings:
    """Read `[flood]` (every key optional)."""
    s = FloodSettings(
        enabled=t.bool("enabled", True),
        max_messages=t.int("max_messages", 20, minimum=1),
        window_seconds=t.int("window_seconds", 60, minimum=1, maximum=86_400),
    )
    t.check_unknown()
    return s


class FloodGuard:
    """Counts messages per sender in a sliding window and drops the excess, recording the abuse."""

    def __init__(self, store: Store, settings: FloodSettings, clock: Clock, inner: OnInbound) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._inner = inner
        self._window = timedelta(seconds=settings.window_seconds)
        # Least recently accepted first: the front is where idle senders are.
        self._seen: OrderedDict[tuple[str, str], deque[datetime]] = OrderedDict()
        self._dropped: dict[tuple[str, str], int] = {}
        self._in_flight: dict[tuple[str, str], int] = {}  # passed on, not answered yet

    async def receive(self, message: InboundMessage) -> ReceiveResult:
        """Pass the message on, or drop it when its sender is over the limit.

        Only messages stored count: a delivery that failed (503, the provider retries) or a repeat
        of a message already stored (the provider retrying a batch) must not use up the sender's
        allowance, or a retried message would be dropped once it finally could be stored.
        Messages still in flight hold a place, so concurrent deliveries cannot overshoot it."""
        if not self._settings.enabled:
            return await self._inner(message)
        key = (message.channel, message.address)
        now = self._clock.now()
        self._forget_idle(now)
        times = self._seen.get(key)
        if times is not None:
            while times and now - times[0] >= self._window:
                times.popleft()
        counted = len(times) if times else 0
        in_flight = self._in_flight.get(key, 0)
        if not counted and not in_flight:
            self._dropped.pop(key, None)  # a quiet window: a new episode will be recorded anew
        if counted + in_flight >= self._settings.max_messages:
            await self._over_limit(key, counted + in_flight, now)
            return ReceiveResult(intent=FLOODED, duplicate=False, dropped=True)
        self._in_flight[key] = in_flight + 1
        try:
            result = await self._inner(message)
        finally:
            left = self._in_flight[key] - 1
            if left:
                self._in_flight[key] = left
            else:
                del self._in_flight[key]
        if result.duplicate:
            return result
        # Stored: it counts from when it arrived (the sender may have been forgotten meanwhile).
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = deque()
        times.append(now)
        self._seen.move_to_end(key)
        return result

    @property
    def tracked(self) -> int:
        """How many senders are being counted (those that sent within the last window)."""
        return len(self._seen)

    async def _over_limit(self, key: tuple[str, str], count: int, now: datetime) -> None:
        dropped = self._dropped.get(key, 0) + 1
        self._dropped[key] = dropped
        if dropped > 1:
            return
        channel, address = key
        log.warning(
            "flood: channel=%s sender=%s sent %d messages in %ds; dropping the excess",
            channel,
            masked(address) if address.startswith("+98") else "***",
            count,
            self._settings.window_seconds,
        )
        try:
            async with self._store.transaction() as tx:
                await AbuseRepository(tx.session).record(
                    channel,
                    address,
                    kind=FLOODED,
                    count=count + 1,
                    window_seconds=self._settings.window_seconds,
                    at=now,
                )
        except Exception as exc:  # the record is for operators; dropping the excess matters more
            log.error("flood: abuse event not recorded: %s", type(exc).__name__)
            self._dropped[key] = 0

    def _forget_idle(self, now: datetime) -> None:
        """Drop the senders whose latest accepted message is a whole window old. The order is by
        acceptance, so the first sender still active ends the look (a clock stepping back only
        delays forgetting)."""
        while self._seen:
            key, times = next(iter(self._seen.items()))
            if times and now - times[-1] < self._window:
                return
            del self._seen[key]
            self._dropped.pop(key, None)
