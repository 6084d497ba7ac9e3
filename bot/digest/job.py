"""The daily digest as a background worker: every morning at the configured Tehran time.

The worker wakes every `check_interval` seconds; once the day's send time has passed it delivers
yesterday's digest. Claims in the store make a second process, or a restart, a no-op; failed
deliveries are tried again on the next wake-up.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.dates.clock import Clock
from bot.dates.jalali import to_tehran
from bot.digest.delivery import FAILED, DigestSender, Outcome, make_sender
from bot.digest.settings import DigestSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.config import AppConfig
    from channels.base import Channel
    from storage.store import Store

log = logging.getLogger(__name__)


def due_day(now: datetime, settings: DigestSettings) -> date | None:
    """The day whose digest is due at `now` (yesterday, once the send time has passed), else None."""
    local = to_tehran(now)
    if local.time() < settings.send_at:
        return None
    return local.date() - timedelta(days=1)


class DigestJob:
    """Runs `DigestSender.deliver` once a day; `stop()` ends the loop after the current step."""

    def __init__(self, sender: DigestSender, settings: DigestSettings, clock: Clock) -> None:
        self._sender = sender
        self._settings = settings
        self._clock = clock
        self._stopped = asyncio.Event()
        self._done: date | None = None  # the last day fully delivered by this process

    async def tick(self) -> list[Outcome]:
        """One wake-up: deliver the due day's digests unless this process already did."""
        day = due_day(self._clock.now(), self._settings)
        if day is None or day == self._done:
            return []
        outcomes = await self._sender.deliver(day)
        if not any(o.status == FAILED for o in outcomes):
            self._done = day
        return outcomes

    async def run(self) -> None:
        """Until stopped: tick, then sleep `check_interval` seconds."""
        while not self._stopped.is_set():
            try:
                await self.tick()
            except Exception:  # a store outage must not end the worker: log and try again later
                log.exception("digest run failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self._settings.check_interval)

    def stop(self) -> None:
        """Ask the loop to end."""
        self._stopped.set()


def digest_job(
    config: AppConfig, store: Store, channels: Mapping[str, Channel], clock: Clock
) -> DigestJob | None:
    """The worker for `Sada.start`, or None when `[digest] enabled` is false."""
    sender, settings = make_sender(config, store, channels, clock)
    return DigestJob(sender, settings, clock) if settings.enabled else None
