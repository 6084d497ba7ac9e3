"""Aggregate read models for the digest, the panel's reports and the public statistics.

Every figure is computed by the database (COUNT, GROUP BY, ORDER BY … LIMIT/OFFSET for medians),
so the cost follows the size of the time window, not of the store. `scope` narrows everything to
one department (a department head's view); None is the whole city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OPEN_STATUSES, EventKind, SurveyAnswer, TicketStatus
from storage.tables import EventRow, SurveyRow, TicketRow, UserRow

S = TypeVar("S", bound="Select[*tuple[Any, ...]]")

_OPEN = sorted(s.value for s in OPEN_STATUSES)
GROUPABLE = {
    "channel": TicketRow.channel,
    "category": TicketRow.category,
    "department": TicketRow.department,
    "status": TicketRow.status,
}
# Tehran has kept +03:30 all year since 1401; day buckets use that fixed offset on both dialects.
TEHRAN_OFFSET_MINUTES = 210


@dataclass(frozen=True, slots=True)
class DayAgainstWeek:
    """Tickets of one group on the day, and in the seven days before it."""

    key: str
    day: int
    previous_week: int

    @property
    def average(self) -> float:
        return self.previous_week / 7


@dataclass(frozen=True, slots=True)
class OverdueTicket:
    """An open ticket past its due time."""

    tracking_code: str
    category: str
    department: str
    district: str | None
    created_at: datetime
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Confusion:
    """Operators moved `count` tickets from one category to another."""

    from_category: str
    to_category: str
    count: int


@dataclass(frozen=True, slots=True)
class PlaceCount:
    """Tickets at one place (district, else the place named in the text) on the day and the week before."""

    place: str
    day: int
    previous_week: int


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tickets created on one Tehran day (ISO date) in one category and district."""

    day: str
    category: str
    district: str | None
    count: int


@dataclass(frozen=True, slots=True)
class Workload:
    """One person's share of the work (`user_id` None: the tickets nobody has): open tickets
    assigned now, how many of them are past due, and tickets resolved in the period."""

    user_id: int | None
    username: str
    display_name: str
    department: str | None
    open: int
    overdue: int
    resolved: int


def _place() -> ColumnElement[str | None]:
    return func.coalesce(TicketRow.district, TicketRow.location_text)


class ReportQueries:
    """Aggregates over tickets, their events and surveys, on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session
        self._dialect = session.get_bind().dialect.name

    @staticmethod
    def _scoped(stmt: S, scope: str | None) -> S:
        return stmt if scope is None else stmt.where(TicketRow.department == scope)

    async def day_against_week(
        self, by: str, day_start: datetime, day_end: datetime, week_start: datetime, scope: str | None
    ) -> list[DayAgainstWeek]:
        """New tickets per `by` (channel, category, department, status) on the day and the week before."""
        column = GROUPABLE[by]
        on_day = TicketRow.created_at >= day_start
        stmt = select(
            column,
            func.sum(case((on_day, 1), else_=0)),
            func.sum(case((on_day, 0), else_=1)),
        ).where(TicketRow.created_at >= week_start, TicketRow.created_at < day_end)
        stmt = self._scoped(stmt, scope).group_by(column)
        rows = (await self._s.execute(stmt)).all()
        out = [DayAgainstWeek(str(key), int(d or 0), int(w or 0)) for key, d, w in rows]
        return sorted(out, key=lambda g: (-g.day, -g.previous_week, g.key))

    async def created(self, start: datetime, end: datetime, scope: str | None) -> int:
        """Tickets created in [start, end)."""
        stmt = select(func.count()).where(TicketRow.created_at >= start, TicketRow.created_at < end)
        return int(await self._s.scalar(self._scoped(stmt, scope)) or 0)

    async def resolved(self, start: datetime, end: datetime, scope: str | None) -> int:
        """Tickets whose (latest) resolution falls in [start, end)."""
        stmt = select(func.count()).where(TicketRow.resolved_at >= start, TicketRow.resolved_at < end)
        return int(await self._s.scalar(self._scoped(stmt, scope)) or 0)

    async def backlog(self, as_of: datetime, scope: str | None) -> int:
        """Tickets open now that were created before `as_of`."""
        stmt = select(func.count()).where(TicketRow.status.in_(_OPEN), TicketRow.created_at < as_of)
        return int(await self._s.scalar(self._scoped(stmt, scope)) or 0)

    async def overdue(
        self, as_of: datetime, scope: str | None, limit: int
    ) -> tuple[int, list[OverdueTicket]]:
        """How many open tickets were past due at `as_of`, and the `limit` oldest (earliest due first)."""
        where = and_(TicketRow.status.in_(_OPEN), TicketRow.due_at < as_of)
        total = int(await self._s.scalar(self._scoped(select(func.count()).where(where), scope)) or 0)
        stmt = select(
            TicketRow.tracking_code,
            TicketRow.category,
            TicketRow.department,
            TicketRow.district,
            TicketRow.created_at,
            TicketRow.due_at,
        ).where(where)
        stmt = self._scoped(stmt, scope).order_by(TicketRow.due_at, TicketRow.id).limit(limit)
        rows = (await self._s.execute(stmt)).all()
        return total, [
            OverdueTicket(c, cat, dep, dist, created, due)
            for c, cat, dep, dist, created, due in rows
            if due is not None  # the WHERE clause guarantees it
        ]

    def _hours_to_resolve(self) -> ColumnElement[Any]:
        if self._dialect == "sqlite":
            return (func.julianday(TicketRow.resolved_at) - func.julianday(TicketRow.created_at)) * 24.0
        return func.extract("epoch", TicketRow.resolved_at - TicketRow.created_at) / 3600.0

    async def median_hours_to_resolve(
        self, start: datetime, end: datetime, scope: str | None, category: str | None = None
    ) -> float | None:
        """Median hours from creation to resolution of tickets resolved in [start, end)."""
        where = [TicketRow.resolved_at >= start, TicketRow.resolved_at < end]
        if category is not None:
            where.append(TicketRow.category == category)
        n = int(await self._s.scalar(self._scoped(select(func.count()).where(*where), scope)) or 0)
        if n == 0:
            return None
        hours = self._hours_to_resolve()
        stmt = self._scoped(select(hours).where(*where), scope)
        stmt = stmt.order_by(hours).offset((n - 1) // 2).limit(1 if n % 2 else 2)
        middle = [float(v) for v in (await self._s.scalars(stmt)).all()]
        return sum(middle) / len(middle)

    async def survey_answers(self, start: datetime, end: datetime, scope: str | None) -> tuple[int, int]:
        """("fixed" answers, all answers) given in [start, end)."""
        fixed = case((SurveyRow.answer == SurveyAnswer.FIXED.value, 1), else_=0)
        stmt = select(func.sum(fixed), func.count()).where(
            SurveyRow.answered_at >= start, SurveyRow.answered_at < end
        )
        if scope is not None:
            stmt = stmt.join(TicketRow, TicketRow.id == SurveyRow.ticket_id).where(
                TicketRow.department == scope
            )
        row = (await self._s.execute(stmt)).one()
        return int(row[0] or 0), int(row[1] or 0)

    def _events(
        self, kind: EventKind, start: datetime, end: datetime, scope: str | None
    ) -> ColumnElement[bool]:
        where = and_(EventRow.kind == kind.value, EventRow.at >= start, EventRow.at < end)
        if scope is not None:
            owned = select(TicketRow.id).where(TicketRow.department == scope)
            where = and_(where, EventRow.ticket_id.in_(owned))
        return where

    async def status_changes(
        self, to: TicketStatus, start: datetime, end: datetime, scope: str | None
    ) -> int:
        """Moves to status `to` recorded in [start, end)."""
        where = self._events(EventKind.STATUS_CHANGED, start, end, scope)
        stmt = select(func.count()).where(where, EventRow.data["to"].as_string() == to.value)
        return int(await self._s.scalar(stmt) or 0)

    async def auto_routed(self, start: datetime, end: datetime, scope: str | None) -> int:
        """Tickets created in [start, end) that the classifier routed without asking for review."""
        where = self._events(EventKind.CLASSIFIED, start, end, scope)
        flagged = EventRow.data["needs_review"].as_boolean()
        stmt = select(func.count()).where(where, func.coalesce(flagged, False).is_(False))
        return int(await self._s.scalar(stmt) or 0)

    async def confusions(
        self, start: datetime, end: datetime, scope: str | None
    ) -> tuple[int, list[Confusion]]:
        """Operator corrections in [start, end), and their (from → to) pairs, most frequent first."""
        where = self._events(EventKind.RECLASSIFIED, start, end, scope)
        src, dst = EventRow.data["from_category"].as_string(), EventRow.data["to_category"].as_string()
        stmt = select(src, dst, func.count()).where(where).group_by(src, dst)
        pairs = [Confusion(str(a), str(b), int(n)) for a, b, n in (await self._s.execute(stmt)).all()]
        pairs.sort(key=lambda c: (-c.count, c.from_category, c.to_category))
        return sum(c.count for c in pairs), pairs

    async def places(
        self, day_start: datetime, day_end: datetime, week_start: datetime, scope: str | None
    ) -> list[PlaceCount]:
        """Tickets per place on the day and in the seven days before it (places with a name only)."""
        place = _place()
        on_day = TicketRow.created_at >= day_start
        stmt = select(place, func.sum(case((on_day, 1), else_=0)), func.sum(case((on_day, 0), else_=1)))
        stmt = stmt.where(
            TicketRow.created_at >= week_start, TicketRow.created_at < day_end, place.is_not(None)
        )
        rows = (await self._s.execute(self._scoped(stmt, scope).group_by(place))).all()
        return [PlaceCount(str(p), int(d or 0), int(w or 0)) for p, d, w in rows]

    async def examples(
        self, place: str, start: datetime, end: datetime, scope: str | None, limit: int
    ) -> list[str]:
        """Texts of the latest tickets at `place` in [start, end)."""
        stmt = select(TicketRow.text).where(
            _place() == place, TicketRow.created_at >= start, TicketRow.created_at < end
        )
        stmt = self._scoped(stmt, scope).order_by(TicketRow.created_at.desc(), TicketRow.id.desc())
        return list((await self._s.scalars(stmt.limit(limit))).all())

    # --- panel reports and public statistics --------------------------------------------------

    def _tehran_day(self) -> ColumnElement[str]:
        if self._dialect == "sqlite":
            return func.date(TicketRow.created_at, f"+{TEHRAN_OFFSET_MINUTES} minutes")
        local = func.timezone("Asia/Tehran", TicketRow.created_at)
        return func.to_char(local, "YYYY-MM-DD")

    async def buckets(self, start: datetime, end: datetime, scope: str | None) -> list[Bucket]:
        """Tickets created in [start, end) per Tehran day, category and district."""
        day = self._tehran_day()
        stmt = select(day, TicketRow.category, TicketRow.district, func.count()).where(
            TicketRow.created_at >= start, TicketRow.created_at < end
        )
        stmt = self._scoped(stmt, scope).group_by(day, TicketRow.category, TicketRow.district)
        rows = (await self._s.execute(stmt.order_by(day))).all()
        return [Bucket(str(d), str(c), dist, int(n)) for d, c, dist, n in rows]

    async def counts(
        self, by: str, scope: str | None, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, int]:
        """Tickets per `by` (or per district with by="district"), optionally created in [start, end)."""
        column = TicketRow.district if by == "district" else GROUPABLE[by]
        stmt = select(column, func.count())
        if start is not None:
            stmt = stmt.where(TicketRow.created_at >= start)
        if end is not None:
            stmt = stmt.where(TicketRow.created_at < end)
        rows = (await self._s.execute(self._scoped(stmt, scope).group_by(column))).all()
        return {str(k) if k is not None else "": int(n) for k, n in rows}

    async def recurring(
        self, start: datetime, end: datetime, scope: str | None, limit: int
    ) -> list[tuple[str, str, int]]:
        """The most frequent (category, place) pairs in [start, end)."""
        place = _place()
        stmt = select(TicketRow.category, place, func.count().label("n")).where(
            TicketRow.created_at >= start, TicketRow.created_at < end, place.is_not(None)
        )
        stmt = self._scoped(stmt, scope).group_by(TicketRow.category, place)
        stmt = stmt.order_by(func.count().desc(), TicketRow.category, place).limit(limit)
        return [(str(c), str(p), int(n)) for c, p, n in (await self._s.execute(stmt)).all()]

    async def resolved_by_category(self, start: datetime, end: datetime) -> dict[str, int]:
        """Tickets whose (latest) resolution falls in [start, end), per category (the whole city)."""
        stmt = (
            select(TicketRow.category, func.count())
            .where(TicketRow.resolved_at >= start, TicketRow.resolved_at < end)
            .group_by(TicketRow.category)
        )
        return {str(c): int(n) for c, n in (await self._s.execute(stmt)).all()}

    async def workload(
        self, start: datetime, end: datetime, as_of: datetime, scope: str | None
    ) -> list[Workload]:
        """Per person: open tickets assigned (and past due at `as_of`), and tickets resolved in
        [start, end) still assigned to them; every active user of the scope's departments appears,
        idle ones with zeros; the unassigned open tickets come last (`user_id` None). Two grouped
        queries, each on an index (status, resolved_at), and one for the people."""
        late = case((TicketRow.due_at < as_of, 1), else_=0)
        open_stmt = self._scoped(
            select(TicketRow.assignee_id, func.count(), func.sum(late)).where(TicketRow.status.in_(_OPEN)),
            scope,
        ).group_by(TicketRow.assignee_id)
        done_stmt = self._scoped(
            select(TicketRow.assignee_id, func.count()).where(
                TicketRow.resolved_at >= start, TicketRow.resolved_at < end
            ),
            scope,
        ).group_by(TicketRow.assignee_id)
        open_by = {uid: (int(n), int(o or 0)) for uid, n, o in await self._s.execute(open_stmt)}
        done_by = {uid: int(n) for uid, n in await self._s.execute(done_stmt)}
        people = select(UserRow).where(
            (UserRow.id.in_(sorted(k for k in {*open_by, *done_by} if k is not None)))
            | (
                UserRow.active.is_(True)
                & (UserRow.department == scope if scope is not None else UserRow.department.is_not(None))
            )
        )
        out = [
            Workload(
                u.id,
                u.username,
                u.display_name,
                u.department,
                open_by.get(u.id, (0, 0))[0],
                open_by.get(u.id, (0, 0))[1],
                done_by.get(u.id, 0),
            )
            for u in await self._s.scalars(people)
        ]
        out.sort(key=lambda w: (-w.open, -w.resolved, w.display_name, w.username))
        nobody = open_by.get(None, (0, 0))
        out.append(Workload(None, "", "", scope, nobody[0], nobody[1], done_by.get(None, 0)))
        return out
