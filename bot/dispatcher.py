"""The outbox dispatcher: claims due rows, sends them through their channel, settles each row.

Retryable failures (429, 5xx, timeouts, connection errors) back off exponentially with full
jitter, honouring a provider's retry-after; after `max_attempts`, or on a permanent error, the
row fails and the failure is written on the ticket's history. Replies go before bulk sends
(priority), and each channel's rows are sent in order while channels proceed in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta

from bot.clock import Clock
from bot.config import OutboxSettings
from bot.models import EventKind, OutboxItem, SendError
from channels.base import Channel
from storage.store import Store

log = logging.getLogger(__name__)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter over base·2^(attempt-1)."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class Dispatcher:
    """Delivers outbox rows for the channels this process owns."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        settings: OutboxSettings,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        send_timeout: float = 30.0,
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._send_timeout = send_timeout
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`; survives store outages by retrying after the poll interval."""
        while not self._stopping.is_set():
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying after %.1fs", self._settings.poll_interval)
                sent = 0
            if sent:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_interval)

    def stop(self) -> None:
        """Finish the current pass and return from `run()`."""
        self._stopping.set()
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many rows were claimed."""
        async with self._store.transaction() as tx:
            items = await tx.outbox.claim(
                self._channels.keys(),
                limit=self._settings.batch_size,
                now=self._clock.now(),
                lease=timedelta(seconds=self._settings.lease_seconds),
            )
        if not items:
            return 0
        by_channel: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_channel[item.message.channel].append(item)
        await asyncio.gather(*(self._deliver(name, batch) for name, batch in by_channel.items()))
        return len(items)

    async def drain(self, *, max_passes: int = 1000) -> None:
        """Deliver everything due now (tests, `sada chat`, `sada simulate`)."""
        for _ in range(max_passes):
            if not await self.run_once():
                return

    async def _deliver(self, channel_name: str, items: list[OutboxItem]) -> None:
        channel = self._channels[channel_name]
        for item in items:
            try:
                result = await asyncio.wait_for(channel.send(item.message), timeout=self._send_timeout)
            except SendError as exc:
                await self._failed(item, str(exc), retryable=exc.retryable, retry_after=exc.retry_after)
            except (TimeoutError, OSError) as exc:
                await self._failed(item, f"{type(exc).__name__}: {exc}", retryable=True, retry_after=None)
            except Exception as exc:  # a bug in an adapter must not lose the row: retry, loudly
                log.exception("outbox=%s channel=%s send raised", item.id, channel_name)
                await self._failed(item, f"{type(exc).__name__}: {exc}", retryable=True, retry_after=None)
            else:
                async with self._store.transaction() as tx:
                    await tx.outbox.mark_sent(item.id, result.provider_message_id, self._clock.now())
                log.info("outbox=%s ticket=%s channel=%s sent", item.id, item.ticket_id, channel_name)

    async def _failed(
        self, item: OutboxItem, error: str, *, retryable: bool, retry_after: float | None
    ) -> None:
        attempt = item.attempts + 1
        now = self._clock.now()
        async with self._store.transaction() as tx:
            if retryable and attempt < self._settings.max_attempts:
                delay = backoff_delay(
                    attempt, self._settings.backoff_base, self._settings.backoff_max, self._rng
                )
                if retry_after is not None:
                    delay = max(delay, retry_after)
                await tx.outbox.mark_retry(item.id, error, now + timedelta(seconds=delay))
                log.warning(
                    "outbox=%s ticket=%s attempt=%d retry in %.1fs: %s",
                    item.id,
                    item.ticket_id,
                    attempt,
                    delay,
                    error,
                )
                return
            await tx.outbox.mark_failed(item.id, error)
            if item.ticket_id is not None:
                await tx.tickets.add_event(
                    item.ticket_id,
                    EventKind.DELIVERY_FAILED,
                    now,
                    "outbox",
                    {
                        "outbox_id": item.id,
                        "channel": item.message.channel,
                        "attempts": attempt,
                        "error": error,
                    },
                )
        log.error("outbox=%s ticket=%s failed after %d attempts: %s", item.id, item.ticket_id, attempt, error)
