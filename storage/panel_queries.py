"""Read models for the operator panel: filtered ticket lists, the triage queue, a ticket's conversation.

Department scoping is applied here, in the query, so a staff member's list can never contain another
department's ticket whatever the filters say.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from bot.models import OPEN_STATUSES, Priority, Ticket
from storage.tables import CitizenRow, IdentityRow, InboundRow, OutboxRow, ReporterRow, TicketRow, UserRow
from storage.tickets import ticket_from_row

_OPEN = sorted(s.value for s in OPEN_STATUSES)
# How the list can be ordered (the query string's `sort`): newest first is the default.
SORTS = ("new", "due", "priority", "updated")


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
    assignee_id: int | None = None  # tickets given to this user
    unassigned: bool = False  # tickets given to nobody


@dataclass(frozen=True, slots=True)
class TicketPage:
    """One page of a ticket list; `pinned` holds the ids of urgent open tickets lifted to the top."""

    items: list[Ticket]
    total: int
    page: int
    pages: int
    pinned: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class _Tier:
    """One slice of an ordered list: the rows matching `where`, in `order`. A list is its tiers one
    after another; each tier is read through an index on its own order, so a page never sorts the
    whole table (a CASE expression in ORDER BY would)."""

    where: ColumnElement[bool] | None
    order: Sequence[Any]


_NEWEST = (TicketRow.created_at.desc(), TicketRow.id.desc())


class _Few(FunctionElement[bool]):
    """A condition few rows meet, said so to SQLite's planner (`likelihood(…, 0.05)`); as is elsewhere.

    Open tickets are a small share of a city's table, but with bound parameters and only per-index
    averages SQLite guesses "half the table", and for `urgent AND open AND category = ?` it reads a
    category's whole history in date order (22 ms) instead of the (status, category) index (1 ms)."""

    type = Boolean()
    inherit_cache = True
    name = "few"
    _is_implicitly_boolean = True  # a condition itself: no "= 1" after it where booleans are ints


@compiles(_Few)
def _few(element: _Few, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(_Few, "sqlite")
def _few_sqlite(element: _Few, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.05)"


def _open() -> ColumnElement[bool]:
    return _Few(TicketRow.status.in_(_OPEN))


@dataclass(frozen=True, slots=True)
class Person:
    """A panel user tickets can be given to."""

    id: int
    username: str
    name: str
    department: str


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
        sort: str = "new",
        pin_urgent: bool = False,
    ) -> TicketPage:
        """Tickets matching `flt` in the order `sort` names (see SORTS); `scope` limits them to one
        department. With `pin_urgent` (newest first only), urgent open tickets come before the rest.

        Counting is what costs on a large table (a word search counts by reading every row), so
        page 1 counts nothing it can do without: when it holds fewer rows than a page, they are all
        there are; and a tier's size is counted only when a page starts past its beginning."""
        tiers = self._tiers(sort, pin_urgent)
        total: int | None = None
        if page > 1:
            total = await self._count(flt, scope, now)
            page = min(page, max(1, -(-total // page_size)))
        page = max(1, page)
        offset, wanted = (page - 1) * page_size, page_size
        items: list[Ticket] = []
        pinned: set[int] = set()
        for number, tier in enumerate(tiers):
            if offset and number < len(tiers) - 1:
                size = await self._count(flt, scope, now, tier.where)
                if offset >= size:
                    offset -= size
                    continue
            stmt = self._filtered(select(TicketRow), flt, scope, now)
            if tier.where is not None:
                stmt = stmt.where(tier.where)
            rows = await self._s.scalars(stmt.order_by(*tier.order).limit(wanted).offset(offset))
            found = [ticket_from_row(r) for r in rows]
            if pin_urgent and sort == "new" and number == 0:
                pinned.update(t.id for t in found)
            items.extend(found)
            wanted -= len(found)
            offset = 0
            if wanted <= 0:
                break
        if total is None:
            total = len(items) if len(items) < page_size else await self._count(flt, scope, now)
        pages = max(1, -(-total // page_size))
        return TicketPage(items=items, total=total, page=page, pages=pages, pinned=frozenset(pinned))

    @staticmethod
    def _tiers(sort: str, pin_urgent: bool) -> list[_Tier]:
        urgent = TicketRow.priority == Priority.URGENT.value
        if sort == "due":
            # Open tickets by deadline (the most overdue first), then closed ones by deadline, then
            # those without one. The open ones are few: read through the (status, due_at) index.
            due = TicketRow.due_at.is_not(None)
            by_due = (TicketRow.due_at, TicketRow.id)
            return [
                _Tier(and_(due, _open()), by_due),
                _Tier(and_(due, not_(TicketRow.status.in_(_OPEN))), by_due),
                _Tier(TicketRow.due_at.is_(None), _NEWEST),
            ]
        if sort == "priority":
            return [_Tier(urgent, _NEWEST), _Tier(not_(urgent), _NEWEST)]
        if sort == "updated":
            return [_Tier(None, (TicketRow.updated_at.desc(), TicketRow.id.desc()))]
        if pin_urgent:
            urgent_open = and_(urgent, _open())
            return [_Tier(urgent_open, _NEWEST), _Tier(not_(urgent_open), _NEWEST)]
        return [_Tier(None, _NEWEST)]

    async def _count(
        self, flt: TicketFilter, scope: str | None, now: datetime, where: ColumnElement[bool] | None = None
    ) -> int:
        stmt = self._filtered(select(func.count(TicketRow.id)), flt, scope, now)
        if where is not None:
            stmt = stmt.where(where)
        return int(await self._s.scalar(stmt) or 0)

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
        if flt.assignee_id is not None:
            stmt = stmt.where(TicketRow.assignee_id == flt.assignee_id)
        if flt.unassigned:
            stmt = stmt.where(TicketRow.assignee_id.is_(None))
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

    async def assigned_count(self, user_id: int) -> int:
        """How many tickets (in any status) are given to this user."""
        stmt = select(func.count(TicketRow.id)).where(TicketRow.assignee_id == user_id)
        return int(await self._s.scalar(stmt) or 0)

    async def people(self, scope: str | None) -> list[Person]:
        """Active staff who can be given tickets (one department's when `scope` is set), by name."""
        stmt = select(UserRow).where(UserRow.active.is_(True), UserRow.department.is_not(None))
        if scope is not None:
            stmt = stmt.where(UserRow.department == scope)
        rows = await self._s.scalars(stmt.order_by(UserRow.display_name, UserRow.id))
        return [Person(r.id, r.username, r.display_name, str(r.department)) for r in rows]

    async def names(self, user_ids: Collection[int]) -> dict[int, str]:
        """Display names of these users (for the list's assignee column)."""
        if not user_ids:
            return {}
        rows = await self._s.execute(select(UserRow.id, UserRow.display_name).where(UserRow.id.in_(user_ids)))
        return {int(i): str(n) for i, n in rows}

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
