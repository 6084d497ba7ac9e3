"""Delivery reports for providers that only answer when asked (SMS.ir, Melipayamak).

Kavenegar pushes its reports to `/hooks/<name>/<secret>/status`; SMS.ir and Melipayamak document no
push, only a status lookup by message id. A `DeliveryWatch` remembers the ids its channel sent,
asks the provider about them every `interval` seconds, and hands what it learns to the same
`OnDelivery` the push route uses (the dispatcher's `delivery_report`, bound through
`SmsChannel.bind_delivery`), so a polled report updates the outbox row and the ticket's history
exactly like a pushed one.

Each process watches what it sent itself (the task starts with the first send and ends when
nothing is left to ask about), so `--workers N` needs nothing shared. The ids are held in memory:
a restart forgets the messages still waiting for their final state (their rows keep the last
status learnt). An id is dropped once its state is final (delivered, undelivered, failed) or
after `max_age` (Iranian operators settle a message within about 30 hours).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.models import SendError
from channels.base import DeliveryReport, DeliveryStatus, OnDelivery

log = logging.getLogger(__name__)

FINAL = {DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED}

Lookup = Callable[[str], Awaitable[str | None]]
"""A message id → the provider's status code for it, or None while it has none yet."""


@dataclass
class _Pending:
    since: datetime
    last: str | None = None  # the provider code last reported, so an unchanged state is not re-sent


class DeliveryWatch:
    """The ids one channel sent and has not yet seen settle, and the loop that asks about them."""

    def __init__(
        self,
        channel: str,
        *,
        lookup: Lookup,
        status_map: dict[str, DeliveryStatus],
        interval: float,
        max_age: timedelta = timedelta(hours=36),
        limit: int = 5000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._channel = channel
        self._lookup = lookup
        self._map = status_map
        self._interval = interval
        self._max_age = max_age
        self._limit = limit
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> list[str]:
        """The ids still waiting for a final state, oldest first."""
        return list(self._pending)

    def track(self, message_id: str | None, on_delivery: OnDelivery | None) -> None:
        """Watch a message the provider accepted; starts the loop when it is not running."""
        if not message_id or on_delivery is None or self._interval <= 0:
            return
        if len(self._pending) >= self._limit:  # a backlog the provider cannot answer: forget the oldest
            self._pending.pop(next(iter(self._pending)))
        self._pending[message_id] = _Pending(self._clock())
        if self._interval > 0 and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run(on_delivery))

    async def check(self, on_delivery: OnDelivery) -> int:
        """Ask about every pending id once; returns how many reports were handed on."""
        now = self._clock()
        handed = 0
        for message_id, entry in list(self._pending.items()):
            if now - entry.since > self._max_age:
                log.info("channel=%s gave up waiting for the delivery of %s", self._channel, message_id)
                del self._pending[message_id]
                continue
            try:
                code = await self._lookup(message_id)
            except SendError as exc:
                log.warning("channel=%s delivery lookup failed: %s", self._channel, exc)
                if not exc.retryable:
                    del self._pending[message_id]
                continue
            if code is None or code == entry.last:
                continue
            status = self._map.get(code.strip().lower(), DeliveryStatus.UNKNOWN)
            report = DeliveryReport(self._channel, message_id, status, code.strip()[:32])
            await on_delivery(report)  # a store outage raises: the id stays, the loop tries again
            handed += 1
            entry.last = code
            if status in FINAL:
                del self._pending[message_id]
        return handed

    async def _run(self, on_delivery: OnDelivery) -> None:
        while self._pending:
            await asyncio.sleep(self._interval)
            try:
                await self.check(on_delivery)
            except Exception as exc:  # the store is down: keep the ids and ask again next time
                log.error("channel=%s delivery report not stored: %s", self._channel, type(exc).__name__)

    async def aclose(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
