"""Read models for the operator panel: filtered ticket lists, the triage queue, a ticket's conversation.

Department scoping is applied here, in the query, so a staff member's list can never contain another
department's ticket whatever the filters say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OPEN_STATUSES, Ticket
from storage.tables import CitizenRow, IdentityRow, InboundRow, OutboxRow, ReporterRow, TicketRow
from storage.tickets import ticket_from_row

_OPEN = sorted(s.value for s in OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What the ticket list is narrowed to; empty fields do not filter."""

    status: str | None = None
    category: str | None = None
    department: str | None = None
    channel: str | None = None
    district: str | None = None
    overdue: bool = False
    created_from: datetime | None = None
    created_before: datetime | None = None
    code: str | None = None
    phone: str | None = None
    texts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TicketPage:
    """One page of a ticket list."""

    items: list[Ticket]
    total: int
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class ConversationEntry:
    """One message in a ticket's conversation: the citizen's (`in`) or ours (`out`)."""

    at: datetime
    direction: str
    channel: str
    address: str
    text: str
    status: str | None = None


class PanelQueries:
    """Queries the panel's screens need, built on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def tickets(
        self,
        flt: TicketFilter,
        *,
        scope: str | None,
        now: datetime,
        page: int = 1,
        page_size: int = 25,
    ) -> TicketPage:
        """Tickets matching `flt`, newest first; `scope` limits them to one department."""
        stmt = self._filtered(select(TicketRow), flt, scope, now)
        total = int(
            await self._s.scalar(self._filtered(select(func.count(TicketRow.id)), flt, scope, now)) or 0
        )
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        rows = await self._s.scalars(
            stmt.order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        return TicketPage(items=[ticket_from_row(r) for r in rows], total=total, page=page, pages=pages)

    def _filtered[T: Select](self, stmt: T, flt: TicketFilter, scope: str | None, now: datetime) -> T:
        if scope is not None:
            stmt = stmt.where(TicketRow.department == scope)
        for column, value in (
            (TicketRow.status, flt.status),
            (TicketRow.category, flt.category),
            (TicketRow.department, flt.department),
            (TicketRow.channel, flt.channel),
            (TicketRow.district, flt.district),
            (TicketRow.tracking_code, flt.code),
        ):
            if value:
                stmt = stmt.where(column == value)
        if flt.overdue:
            stmt = stmt.where(TicketRow.due_at < now, TicketRow.status.in_(_OPEN))
        if flt.created_from is not None:
            stmt = stmt.where(TicketRow.created_at >= flt.created_from)
        if flt.created_before is not None:
            stmt = stmt.where(TicketRow.created_at < flt.created_before)
        if flt.phone:
            reported = (
                select(ReporterRow.ticket_id)
                .join(IdentityRow, IdentityRow.id == ReporterRow.identity_id)
                .join(CitizenRow, CitizenRow.id == IdentityRow.citizen_id)
                .where(or_(IdentityRow.address == flt.phone, CitizenRow.phone == flt.phone))
            )
            stmt = stmt.where(TicketRow.id.in_(reported))
        if flt.texts:
            stmt = stmt.where(
                or_(
                    *(
                        column.contains(text, autoescape=True)
                        for text in flt.texts
                        for column in (TicketRow.text, TicketRow.normalized_text)
                    )
                )
            )
        return stmt

    async def triage(self, *, limit: int = 50) -> list[Ticket]:
        """Open tickets flagged for review, least confident first, then oldest first."""
        rows = await self._s.scalars(
            select(TicketRow)
            .where(TicketRow.needs_review.is_(True), TicketRow.status.in_(_OPEN))
            .order_by(TicketRow.confidence, TicketRow.created_at, TicketRow.id)
            .limit(limit)
        )
        return [ticket_from_row(r) for r in rows]

    async def triage_count(self) -> int:
        """How many tickets wait in the triage queue."""
        return int(
            await self._s.scalar(
                select(func.count(TicketRow.id)).where(
                    TicketRow.needs_review.is_(True), TicketRow.status.in_(_OPEN)
                )
            )
            or 0
        )

    async def conversation(self, ticket_id: int) -> list[ConversationEntry]:
        """The citizens' messages about a ticket and our replies, in the order they happened."""
        inbound = await self._s.execute(
            select(InboundRow, IdentityRow.address)
            .join(IdentityRow, IdentityRow.id == InboundRow.identity_id)
            .where(InboundRow.ticket_id == ticket_id)
        )
        entries = [
            (row.stored_at, 0, row.id, ConversationEntry(row.stored_at, "in", row.channel, address, row.text))
            for row, address in inbound
        ]
        outbound = await self._s.scalars(select(OutboxRow).where(OutboxRow.ticket_id == ticket_id))
        entries.extend(
            (
                row.created_at,
                1,
                row.id,
                ConversationEntry(
                    row.created_at,
                    "out",
                    row.channel,
                    row.address,
                    row.text,
                    row.delivery_status or row.status,
                ),
            )
            for row in outbound
        )
        entries.sort(key=lambda e: (e[0], e[1], e[2]))
        return [e[3] for e in entries]

    async def districts(self) -> list[str]:
        """Districts that occur on tickets (for the filter's choices)."""
        rows = await self._s.scalars(
            select(TicketRow.district).where(TicketRow.district.is_not(None)).distinct()
        )
        return sorted(str(r) for r in rows)

    async def channels(self) -> list[str]:
        """Channels that occur on tickets (for the filter's choices)."""
        rows = await self._s.scalars(select(TicketRow.channel).distinct())
        return sorted(str(r) for r in rows)
