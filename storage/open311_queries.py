"""The Open311 API's read model: the public face of tickets, and nothing about who reported them.

Only what a GeoReport v2 `request` shows is read (no citizen, identity or reporter); the bot masks
the text before it leaves. Newest first (index on tickets.created_at), at most `limit` rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Executable, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import EventKind
from storage.tables import EventRow, TicketRow

_COLUMNS = (
    TicketRow.id,
    TicketRow.tracking_code,
    TicketRow.status,
    TicketRow.category,
    TicketRow.department,
    TicketRow.district,
    TicketRow.latitude,
    TicketRow.longitude,
    TicketRow.created_at,
    TicketRow.updated_at,
    TicketRow.due_at,
)
# Public words about a ticket: a status change's note (told to the citizen) and a free reply.
_PUBLIC = (EventKind.STATUS_CHANGED.value, EventKind.REPLIED.value)
_CHUNK = 500  # ids per IN (…) list


@dataclass(frozen=True, slots=True)
class PublicTicket:
    """One ticket as the API may show it: never the citizen's words (text, place as written) nor
    anything of who reported it; the last public note still unmasked."""

    id: int
    tracking_code: str
    status: str
    category: str
    department: str
    district: str | None
    latitude: float | None
    longitude: float | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    status_note: str | None = None


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """GET /requests' filters: created in [start, end], in these categories and statuses (None: any)."""

    start: datetime
    end: datetime
    categories: Collection[str] | None = None
    statuses: Collection[str] | None = None


class Open311Queries:
    """Reads for /open311/v2/requests."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def by_codes(self, codes: Sequence[str]) -> list[PublicTicket]:
        """The tickets with these tracking codes (unknown ones are left out), newest first."""
        if not codes:
            return []
        stmt = select(*_COLUMNS).where(TicketRow.tracking_code.in_(sorted(set(codes))))
        return await self._load(stmt.order_by(TicketRow.created_at.desc(), TicketRow.id.desc()))

    async def matching(self, flt: RequestFilter, *, limit: int) -> list[PublicTicket]:
        """Tickets created within the filter's window and matching it, newest first, at most `limit`."""
        stmt = select(*_COLUMNS).where(TicketRow.created_at >= flt.start, TicketRow.created_at <= flt.end)
        if flt.categories is not None:
            stmt = stmt.where(TicketRow.category.in_(sorted(flt.categories)))
        if flt.statuses is not None:
            stmt = stmt.where(TicketRow.status.in_(sorted(flt.statuses)))
        stmt = stmt.order_by(TicketRow.created_at.desc(), TicketRow.id.desc()).limit(limit)
        return await self._load(stmt)

    async def _load(self, stmt: Executable) -> list[PublicTicket]:
        rows = (await self._s.execute(stmt)).all()
        notes = await self._last_public_notes([r.id for r in rows])
        return [
            PublicTicket(
                id=r.id,
                tracking_code=r.tracking_code,
                status=r.status,
                category=r.category,
                department=r.department,
                district=r.district,
                latitude=r.latitude,
                longitude=r.longitude,
                created_at=r.created_at,
                updated_at=r.updated_at,
                due_at=r.due_at,
                status_note=notes.get(r.id),
            )
            for r in rows
        ]

    async def _last_public_notes(self, ids: list[int]) -> dict[int, str]:
        """Per ticket, the latest words the citizen was told: a status change's note or a free reply."""
        notes: dict[int, str] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            stmt = (
                select(EventRow.ticket_id, EventRow.kind, EventRow.data)
                .where(EventRow.ticket_id.in_(chunk), EventRow.kind.in_(_PUBLIC))
                .order_by(EventRow.id)
            )
            for ticket_id, kind, data in (await self._s.execute(stmt)).all():
                key = "note" if kind == EventKind.STATUS_CHANGED.value else "text"
                words = data.get(key) if isinstance(data, dict) else None
                if isinstance(words, str) and words.strip():
                    notes[ticket_id] = words.strip()
        return notes
