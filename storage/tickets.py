"""Tickets, their reporters and their append-only history."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    bindparam,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OPEN_STATUSES, EventKind, Identity, Priority, Ticket, TicketEvent, TicketStatus
from storage.inserts import insert_returning_ids, insert_rows_ignoring_conflict
from storage.tables import EventRow, IdentityRow, ReporterRow, TicketRow, table_of


@dataclass(frozen=True, slots=True)
class NewTicket:
    """Everything needed to open a ticket."""

    tracking_code: str
    citizen_id: int
    channel: str
    text: str
    normalized_text: str
    category: str
    department: str
    confidence: float
    model_version: str
    top_k: tuple[tuple[str, float], ...]
    needs_review: bool
    priority: Priority
    status: TicketStatus
    district: str | None
    location_text: str | None
    latitude: float | None
    longitude: float | None
    created_at: datetime
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    """What near-duplicate scoring needs of an open ticket."""

    id: int
    normalized_text: str
    district: str | None
    place: str | None


def _row_values(new: NewTicket) -> dict[str, Any]:
    return {
        "tracking_code": new.tracking_code,
        "citizen_id": new.citizen_id,
        "channel": new.channel,
        "text": new.text,
        "normalized_text": new.normalized_text,
        "category": new.category,
        "department": new.department,
        "confidence": new.confidence,
        "model_version": new.model_version,
        "top_k": [list(p) for p in new.top_k],
        "needs_review": new.needs_review,
        "priority": new.priority.value,
        "status": new.status.value,
        "district": new.district,
        "location_text": new.location_text,
        "latitude": new.latitude,
        "longitude": new.longitude,
        "duplicate_of": None,
        "created_at": new.created_at,
        "updated_at": new.created_at,
        "due_at": new.due_at,
        "resolved_at": None,
        "closed_at": None,
        "assignee_id": None,
    }


def ticket_from_row(row: TicketRow) -> Ticket:
    return Ticket(
        id=row.id,
        tracking_code=row.tracking_code,
        status=TicketStatus(row.status),
        category=row.category,
        department=row.department,
        confidence=row.confidence,
        needs_review=row.needs_review,
        priority=Priority(row.priority),
        text=row.text,
        normalized_text=row.normalized_text,
        channel=row.channel,
        citizen_id=row.citizen_id,
        model_version=row.model_version,
        top_k=tuple((str(c), float(p)) for c, p in row.top_k),
        district=row.district,
        location_text=row.location_text,
        latitude=row.latitude,
        longitude=row.longitude,
        duplicate_of=row.duplicate_of,
        created_at=row.created_at,
        updated_at=row.updated_at,
        due_at=row.due_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        assignee_id=row.assignee_id,
    )


_OPEN = sorted(s.value for s in OPEN_STATUSES)
# Built once (intake asks it for every group): reused, it is not built and cache-keyed again.
_CODES_TAKEN = select(TicketRow.tracking_code).where(
    TicketRow.tracking_code.in_(bindparam("codes", expanding=True))
)


def _similar_query(index: int, limit: int) -> Select[int, int, str, str | None, str | None]:
    """Pair `index` of a union: category `c<index>`, district `d<index>` (NULL: any district)."""
    district = bindparam(f"d{index}", type_=String)
    return (
        select(
            literal(index).label("q"),
            TicketRow.id,
            TicketRow.normalized_text,
            TicketRow.district,
            TicketRow.location_text,
        )
        .where(
            TicketRow.category == bindparam(f"c{index}", type_=String),
            TicketRow.created_at >= bindparam("since"),
            TicketRow.status.in_(_OPEN),
            district.is_(None) | (TicketRow.district == district) | TicketRow.district.is_(None),
        )
        .order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
        .limit(limit)
    )


@functools.lru_cache(maxsize=128)
def _similar_union(pairs: int, limit: int) -> Select[Any] | CompoundSelect:
    """The UNION ALL of `pairs` `_similar_query`s, built once per size: intake runs one for every
    group, and a statement object reused with new values is not built and cache-keyed again."""
    parts = [_similar_query(i, limit).subquery() for i in range(pairs)]
    return union_all(*(select(part) for part in parts)) if pairs > 1 else select(parts[0])


_INSERT_EVENTS = insert(table_of(EventRow))


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One history row to append."""

    ticket_id: int
    kind: EventKind
    at: datetime
    actor: str
    data: dict[str, Any]


class TicketRepository:
    """Reads and writes tickets; every write that matters also appends an event (caller's job)."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def code_exists(self, code: str) -> bool:
        """Whether a tracking code is taken."""
        return bool(await self.codes_taken([code]))

    async def codes_taken(self, codes: Collection[str]) -> set[str]:
        """Which of these tracking codes are taken (one query)."""
        if not codes:
            return set()
        rows = await self._s.scalars(_CODES_TAKEN, {"codes": sorted(codes)})
        return set(rows)

    async def create(self, new: NewTicket) -> Ticket:
        """Insert a ticket."""
        return (await self.create_many([new]))[0]

    async def create_many(self, news: Sequence[NewTicket]) -> list[Ticket]:
        """Insert tickets in one multi-row INSERT; returned in the order given."""
        if not news:
            return []
        values = [_row_values(new) for new in news]
        ids = await insert_returning_ids(self._s, TicketRow, values)
        return [
            ticket_from_row(SimpleNamespace(id=ticket_id, **row))  # type: ignore[arg-type]
            for ticket_id, row in zip(ids, values, strict=True)
        ]

    async def get(self, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
        """One ticket by id (row-locked on PostgreSQL when `for_update`)."""
        stmt = select(TicketRow).where(TicketRow.id == ticket_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = await self._s.scalar(stmt)
        return None if row is None else ticket_from_row(row)

    async def get_many(self, ticket_ids: Collection[int]) -> dict[int, Ticket]:
        """Tickets by id (one query); ids that do not exist are absent."""
        if not ticket_ids:
            return {}
        rows = await self._s.scalars(select(TicketRow).where(TicketRow.id.in_(sorted(ticket_ids))))
        return {row.id: ticket_from_row(row) for row in rows}

    async def by_code(self, code: str) -> Ticket | None:
        """One ticket by tracking code."""
        row = await self._s.scalar(select(TicketRow).where(TicketRow.tracking_code == code))
        return None if row is None else ticket_from_row(row)

    async def update(self, ticket_id: int, at: datetime, **values: Any) -> Ticket:
        """Change columns of a ticket (status, category, flags…) and bump `updated_at`."""
        for key, value in values.items():
            if isinstance(value, TicketStatus | Priority):
                values[key] = value.value
        await self._s.execute(
            update(TicketRow).where(TicketRow.id == ticket_id).values(updated_at=at, **values)
        )
        row = await self._s.get(TicketRow, ticket_id, populate_existing=True)
        assert row is not None  # noqa: S101 - updated just above
        return ticket_from_row(row)

    async def add_reporter(self, ticket_id: int, identity_id: int, at: datetime) -> bool:
        """Make `identity_id` hear about this ticket; False when it already does."""
        return bool(await self.add_reporters([(ticket_id, identity_id)], at))

    async def add_reporters(self, pairs: Sequence[tuple[int, int]], at: datetime) -> set[tuple[int, int]]:
        """`add_reporter` for many (ticket, identity) pairs in one statement; returns those added."""
        if not pairs:
            return set()
        await self._s.flush()
        stmt = insert_rows_ignoring_conflict(
            self._s, ReporterRow, ["ticket_id", "identity_id"], ("ticket_id", "identity_id")
        )
        rows = await self._s.execute(
            stmt,
            [{"ticket_id": t, "identity_id": i, "added_at": at} for t, i in pairs],
        )
        return {(t, i) for t, i in rows}

    async def move_reporters(self, from_ticket: int, to_ticket: int, at: datetime) -> list[Identity]:
        """Reporters of a merged ticket follow the surviving one; returns those newly added."""
        moved: list[Identity] = []
        for identity in await self.reporters(from_ticket):
            if await self.add_reporter(to_ticket, identity.id, at):
                moved.append(identity)
        return moved

    async def reporters(self, ticket_id: int) -> list[Identity]:
        """Everyone who reported the ticket, first reporter first."""
        rows = await self._s.execute(
            select(IdentityRow)
            .join(ReporterRow, ReporterRow.identity_id == IdentityRow.id)
            .where(ReporterRow.ticket_id == ticket_id)
            .order_by(ReporterRow.id)
        )
        return [
            Identity(id=r.id, citizen_id=r.citizen_id, channel=r.channel, address=r.address)
            for r in rows.scalars()
        ]

    async def add_event(
        self, ticket_id: int, kind: EventKind, at: datetime, actor: str, data: dict[str, Any] | None = None
    ) -> None:
        """Append one history row."""
        self._s.add(EventRow(ticket_id=ticket_id, kind=kind.value, at=at, actor=actor, data=data or {}))

    async def add_events(self, events: Sequence[NewEvent]) -> None:
        """Append many history rows in one multi-row INSERT (after anything added one by one)."""
        if not events:
            return
        await self._s.flush()
        await self._s.execute(
            _INSERT_EVENTS,
            [
                {"ticket_id": e.ticket_id, "kind": e.kind.value, "at": e.at, "actor": e.actor, "data": e.data}
                for e in events
            ],
        )

    async def events(self, ticket_id: int) -> list[TicketEvent]:
        """A ticket's history, oldest first."""
        await self._s.flush()
        rows = await self._s.scalars(
            select(EventRow).where(EventRow.ticket_id == ticket_id).order_by(EventRow.id)
        )
        return [
            TicketEvent(
                id=r.id, ticket_id=r.ticket_id, kind=EventKind(r.kind), at=r.at, actor=r.actor, data=r.data
            )
            for r in rows
        ]

    async def open_similar(
        self, category: str, since: datetime, *, district: str | None = None, limit: int = 300
    ) -> list[DuplicateRow]:
        """Open tickets of one category created since `since`, newest first (near-duplicate candidates).

        Only the columns the scorer reads are loaded: this runs for every new request. With a known
        district, tickets in other districts are left out (the scorer would reject them anyway)."""
        key = (category, district)
        return (await self.open_similar_many([key], since, limit=limit))[key]

    async def open_similar_many(
        self, keys: Collection[tuple[str, str | None]], since: datetime, *, limit: int = 300
    ) -> dict[tuple[str, str | None], list[DuplicateRow]]:
        """`open_similar` for many (category, district) pairs: one UNION ALL query per 100 pairs."""
        rows: dict[tuple[str, str | None], list[DuplicateRow]] = {k: [] for k in keys}
        ordered = sorted(rows, key=lambda k: (k[0], k[1] or ""))
        for start in range(0, len(ordered), 100):
            chunk = ordered[start : start + 100]
            values: dict[str, Any] = {"since": since}
            for i, (category, district) in enumerate(chunk):
                values[f"c{i}"], values[f"d{i}"] = category, district
            result = await self._s.execute(_similar_union(len(chunk), limit), values)
            for q, ticket_id, normalized, district, place in result:
                rows[chunk[q]].append(DuplicateRow(ticket_id, normalized, district, place))
        # A union keeps no order: newest first again (ids grow with creation time), per pair.
        return {k: sorted(v, key=lambda r: r.id, reverse=True) for k, v in rows.items()}

    async def for_identity(self, identity_id: int, limit: int = 5) -> list[Ticket]:
        """The tickets this identity reported, latest report first (a repeat that joined an older
        ticket counts as reported when it joined)."""
        rows = await self._s.scalars(
            select(TicketRow)
            .join(ReporterRow, ReporterRow.ticket_id == TicketRow.id)
            .where(ReporterRow.identity_id == identity_id)
            .order_by(ReporterRow.id.desc())
            .limit(limit)
        )
        return [ticket_from_row(r) for r in rows]

    async def latest_report(self, identity_id: int) -> tuple[Ticket, datetime] | None:
        """The ticket this identity reported last and when (a repeat counts when it joined, a
        merge when the reporters were carried over), or None."""
        row = (
            await self._s.execute(
                select(TicketRow, ReporterRow.added_at)
                .join(ReporterRow, ReporterRow.ticket_id == TicketRow.id)
                .where(ReporterRow.identity_id == identity_id)
                .order_by(ReporterRow.id.desc())
                .limit(1)
            )
        ).first()
        return None if row is None else (ticket_from_row(row[0]), row[1])

    async def count(self) -> int:
        """How many tickets there are."""
        return int(await self._s.scalar(select(func.count(TicketRow.id))) or 0)

    async def recent(self, limit: int = 50) -> list[Ticket]:
        """The newest tickets."""
        rows = await self._s.scalars(select(TicketRow).order_by(TicketRow.id.desc()).limit(limit))
        return [ticket_from_row(r) for r in rows]

    async def corrections(self) -> list[tuple[str, str]]:
        """(ticket text, corrected category) for every operator reclassification, latest per ticket."""
        rows = await self._s.execute(
            select(TicketRow.text, EventRow.data, EventRow.id)
            .join(EventRow, EventRow.ticket_id == TicketRow.id)
            .where(EventRow.kind == EventKind.RECLASSIFIED.value)
            .order_by(EventRow.id)
        )
        latest: dict[str, str] = {}
        for text, data, _ in rows:
            latest[text] = str(data.get("to_category"))
        return list(latest.items())
