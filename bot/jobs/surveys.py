"""The survey clock: a resolved ticket nobody answered about closes after the configured days."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.dates.clock import Clock
from bot.lifecycle import Lifecycle
from bot.models import EventKind, TicketStatus
from storage.store import Store

log = logging.getLogger(__name__)


class SurveyCloser:
    """Expires unanswered surveys and closes their tickets; safe with several processes."""

    def __init__(self, store: Store, lifecycle: Lifecycle, clock: Clock, interval: float) -> None:
        self._store = store
        self._life = lifecycle
        self._clock = clock
        self._interval = interval
        self._stopping = asyncio.Event()

    async def run_once(self) -> int:
        """Close what is due; returns how many tickets were closed."""
        closed = 0
        async with self._store.transaction() as tx:
            due = await tx.surveys.due_to_expire(self._clock.now())
        for survey in due:
            async with self._store.transaction() as tx:
                # Compare-and-set: if another process (or the citizen) got there first, skip.
                if not await tx.surveys.expire(survey.id):
                    continue
                ticket = await tx.tickets.get(survey.ticket_id, for_update=True)
                if ticket is None or ticket.status is not TicketStatus.RESOLVED:
                    continue
                await tx.tickets.add_event(
                    ticket.id,
                    EventKind.SURVEY_ANSWER,
                    self._clock.now(),
                    "system",
                    {"answer": "none", "survey": survey.id},
                )
                await self._life.change_status(tx, ticket, TicketStatus.CLOSED, actor="system")
                closed += 1
                log.info("ticket=%s closed: survey unanswered", ticket.id)
        return closed

    async def run(self) -> None:
        """Check every `interval` seconds until stopped."""
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("survey pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)

    def stop(self) -> None:
        """Return from `run()`."""
        self._stopping.set()
