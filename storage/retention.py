"""Retention: contact details of long-closed tickets are anonymised; the statistics stay.

What goes: the citizen's phone and name, the identity's address (phone number or chat id), phone
numbers written inside message texts, the free text of history events, the address of queued
replies and of abuse events, the phones given on the web form (their confirmation rows), and the
files citizens sent (photos, voice notes: their bytes, their transcripts and the provider's
reference to them; a file not fetched yet never will be). What stays: every ticket row with its
category, department, district, priority, status, dates and counts; the events (kinds, times,
actors); the outbox rows (statuses, attempts); the media rows (kind, status, type, size) without
their bytes. A citizen is anonymised only when none of their tickets is still open or recently
closed, so an active conversation is never cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.media import MediaRepository
from storage.tables import (
    AbuseEventRow,
    CitizenRow,
    EventRow,
    IdentityRow,
    InboundRow,
    OutboxRow,
    PhoneConfirmationRow,
    ReporterRow,
    TicketRow,
)

FINISHED = ("closed", "rejected", "duplicate")
REMOVED = "[حذف شد]"
ANONYMOUS_PREFIX = "anon-"
# Runs of 7+ digits (any script), possibly split between digits by up to two separators people
# put in numbers: spaces of any kind (tab, no-break), dashes, dots, slashes, brackets, underscores,
# tatweel and zero-width marks. Phone numbers, national ids, card numbers.
_NUMBERS = re.compile(
    r"[+]?[0-9۰-۹٠-٩](?:[\s\-‐-―−./_()\u0640\u200b-\u200f\u2060\ufeff]{0,2}[0-9۰-۹٠-٩]){6,}"
)


def scrub(text: str, mark: str = "***") -> str:
    """`text` with phone-number-like digit runs replaced by `mark`."""
    return _NUMBERS.sub(mark, text)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one run changed."""

    tickets: int
    citizens: int
    identities: int
    messages: int
    events: int
    outbox: int
    abuse_events: int
    media: int = 0


class RetentionRepository:
    """Finds long-closed tickets and anonymises what identifies people around them."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _old(self, cutoff: datetime) -> Any:
        return and_(
            TicketRow.status.in_(FINISHED),
            func.coalesce(TicketRow.closed_at, TicketRow.updated_at) < cutoff,
        )

    async def anonymise(self, cutoff: datetime) -> RetentionReport:
        """Anonymise everything finished before `cutoff`; returns the counts."""
        old_ids = list(await self._s.scalars(select(TicketRow.id).where(self._old(cutoff))))
        if not old_ids:
            return RetentionReport(0, 0, 0, 0, 0, 0, await self._abuse(cutoff))
        tickets = messages = events = outbox = media = 0
        for chunk in _chunks(old_ids, 500):
            for row in await self._s.execute(
                select(
                    TicketRow.id, TicketRow.text, TicketRow.normalized_text, TicketRow.location_text
                ).where(TicketRow.id.in_(chunk))
            ):
                values = {"text": scrub(row[1]), "normalized_text": scrub(row[2])}
                if row[3] is not None:
                    values["location_text"] = scrub(row[3])
                if values["text"] != row[1] or values["normalized_text"] != row[2]:
                    tickets += 1
                await self._s.execute(update(TicketRow).where(TicketRow.id == row[0]).values(**values))
            for mid, text in await self._s.execute(
                select(InboundRow.id, InboundRow.text).where(InboundRow.ticket_id.in_(chunk))
            ):
                if scrub(text) != text:
                    messages += 1
                    await self._s.execute(
                        update(InboundRow).where(InboundRow.id == mid).values(text=scrub(text))
                    )
            for eid, data in await self._s.execute(
                select(EventRow.id, EventRow.data).where(EventRow.ticket_id.in_(chunk))
            ):
                if isinstance(data, dict) and isinstance(data.get("text"), str) and data["text"] != REMOVED:
                    events += 1
                    await self._s.execute(
                        update(EventRow).where(EventRow.id == eid).values(data={**data, "text": REMOVED})
                    )
            result = await self._s.execute(
                update(OutboxRow)
                .where(OutboxRow.ticket_id.in_(chunk), OutboxRow.status.in_(("sent", "failed")))
                .where(not_(OutboxRow.address.startswith(ANONYMOUS_PREFIX)))
                .values(address=ANONYMOUS_PREFIX + func.cast(OutboxRow.id, OutboxRow.address.type))
                .execution_options(synchronize_session=False)
            )
            outbox += int(result.rowcount or 0)  # type: ignore[attr-defined]
            media += await MediaRepository(self._s).erase_for_tickets(chunk)
            # A confirmed phone lives on as the ticket's SMS identity (anonymised below with the
            # citizen); the confirmation row would keep the number: it goes.
            await self._s.execute(
                delete(PhoneConfirmationRow).where(PhoneConfirmationRow.ticket_id.in_(chunk))
            )
        citizens, identities = await self._citizens(cutoff)
        return RetentionReport(
            tickets, citizens, identities, messages, events, outbox, await self._abuse(cutoff), media
        )

    async def _citizens(self, cutoff: datetime) -> tuple[int, int]:
        """Citizens whose every ticket is long finished (and who have at least one)."""
        reported = select(ReporterRow.ticket_id).join(IdentityRow, IdentityRow.id == ReporterRow.identity_id)
        has_old = exists(
            reported.join(TicketRow, TicketRow.id == ReporterRow.ticket_id).where(
                IdentityRow.citizen_id == CitizenRow.id, self._old(cutoff)
            )
        )
        has_live = exists(
            reported.join(TicketRow, TicketRow.id == ReporterRow.ticket_id).where(
                IdentityRow.citizen_id == CitizenRow.id, not_(self._old(cutoff))
            )
        )
        owns_live = exists(
            select(TicketRow.id).where(TicketRow.citizen_id == CitizenRow.id, not_(self._old(cutoff)))
        )
        ids = list(
            await self._s.scalars(
                select(CitizenRow.id).where(
                    has_old,
                    not_(has_live),
                    not_(owns_live),
                    or_(CitizenRow.phone.is_not(None), CitizenRow.display_name.is_not(None)),
                )
            )
        )
        identities = 0
        for chunk in _chunks(ids, 500):
            await self._s.execute(
                update(CitizenRow).where(CitizenRow.id.in_(chunk)).values(phone=None, display_name=None)
            )
            result = await self._s.execute(
                update(IdentityRow)
                .where(
                    IdentityRow.citizen_id.in_(chunk), not_(IdentityRow.address.startswith(ANONYMOUS_PREFIX))
                )
                .values(address=ANONYMOUS_PREFIX + func.cast(IdentityRow.id, IdentityRow.address.type))
                .execution_options(synchronize_session=False)
            )
            identities += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return len(ids), identities

    async def _abuse(self, cutoff: datetime) -> int:
        result = await self._s.execute(
            update(AbuseEventRow)
            .where(AbuseEventRow.at < cutoff, not_(AbuseEventRow.address.startswith(ANONYMOUS_PREFIX)))
            .values(address=ANONYMOUS_PREFIX + func.cast(AbuseEventRow.id, AbuseEventRow.address.type))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
