"""The digest's figures for one Tehran day and one scope, computed by the store (SQL aggregates).

"The day" is the day reported on (the digest sent on the morning of 1 Azar covers 30 Aban). Counts
compare the day with the average of the seven days before it; rates, the median and the
misclassification figures cover the seven days ending with the day, so a quiet day does not turn
them into noise. Backlog and overdue are as of the end of the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import jdatetime

from bot.dates.jalali import TEHRAN
from bot.dates.workdays import WorkCalendar
from bot.models import TicketStatus
from nlp.letters import ascii_digits
from storage.reports import Confusion, DayAgainstWeek, OverdueTicket, PlaceCount, ReportQueries
from storage.store import Store

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Rate:
    """`part` of `whole`; no value when there is nothing to divide by."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True, slots=True)
class Late:
    """An overdue ticket and how many working days late it is."""

    ticket: OverdueTicket
    working_days_late: float


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A place with a spike: many more tickets on the day than its daily average of the week before."""

    place: str
    day: int
    average: float
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything one recipient's digest shows."""

    day: date  # Gregorian date of the reported Tehran day
    department: str | None  # None: the whole city
    new: int
    new_week_average: float
    resolved: int
    resolved_week_average: float
    backlog: int
    by_channel: tuple[DayAgainstWeek, ...]
    by_category: tuple[DayAgainstWeek, ...]
    by_department: tuple[DayAgainstWeek, ...]
    overdue_total: int
    overdue: tuple[Late, ...]
    median_hours_day: float | None
    median_hours_week: float | None
    satisfaction: Rate
    reopen: Rate
    misclassification: Rate
    confusions: tuple[Confusion, ...]
    hotspots: tuple[HotSpot, ...]

    @property
    def jalali(self) -> str:
        """The reported day as 1404-09-01 (ASCII digits, for keys and file names)."""
        return jalali_key(self.day)


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of each list a digest keeps, and what counts as a spike."""

    overdue: int = 10
    hotspot_min: int = 3
    hotspot_ratio: float = 2.0
    hotspots: int = 3
    examples: int = 2
    confusions: int = 3


def jalali_key(day: date) -> str:
    """1404-09-01 for a Gregorian date."""
    return jdatetime.date.fromgregorian(date=day).strftime("%Y-%m-%d")


def parse_day(text: str) -> date:
    """A Jalali YYYY-MM-DD (any digits) → its Gregorian date; ValueError with the reason."""
    parts = ascii_digits(text.strip()).replace("/", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a Jalali date (YYYY-MM-DD): {text!r}")
    try:
        return jdatetime.date(int(parts[0]), int(parts[1]), int(parts[2])).togregorian()
    except ValueError as exc:
        raise ValueError(f"no such Jalali day: {text!r} ({exc})") from None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Tehran day."""
    start = datetime.combine(day, time(0), tzinfo=TEHRAN)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=TEHRAN)


def hot_spots(places: list[PlaceCount], limits: Limits) -> list[PlaceCount]:
    """Places whose day count is at least `hotspot_min` and `hotspot_ratio` × their weekly average."""
    spikes = [
        p
        for p in places
        if p.day >= limits.hotspot_min and p.day >= limits.hotspot_ratio * (p.previous_week / 7)
    ]
    spikes.sort(key=lambda p: (-(p.day - p.previous_week / 7), p.place))
    return spikes[: limits.hotspots]


async def build_digest(
    store: Store, day: date, department: str | None, calendar: WorkCalendar, limits: Limits | None = None
) -> Digest:
    """Compute one digest: a handful of aggregate queries in one read transaction."""
    limits = limits or Limits()
    start, end = day_bounds(day)
    week_start = start - WEEK  # the seven days before the day
    rolling = end - WEEK  # the seven days ending with the day
    last_moment = end - timedelta(seconds=1)
    async with store.read() as tx:
        q = ReportQueries(tx.session)
        new = await q.created(start, end, department)
        new_before = await q.created(week_start, start, department)
        resolved = await q.resolved(start, end, department)
        resolved_before = await q.resolved(week_start, start, department)
        backlog = await q.backlog(end, department)
        by_channel = await q.day_against_week("channel", start, end, week_start, department)
        by_category = await q.day_against_week("category", start, end, week_start, department)
        by_department = await q.day_against_week("department", start, end, week_start, department)
        overdue_total, overdue = await q.overdue(end, department, limits.overdue)
        median_day = await q.median_hours_to_resolve(start, end, department)
        median_week = await q.median_hours_to_resolve(rolling, end, department)
        fixed, answers = await q.survey_answers(rolling, end, department)
        reopened = await q.status_changes(TicketStatus.REOPENED, rolling, end, department)
        resolutions = await q.status_changes(TicketStatus.RESOLVED, rolling, end, department)
        corrections, confusions = await q.confusions(rolling, end, department)
        routed = await q.auto_routed(rolling, end, department)
        spikes = hot_spots(await q.places(start, end, week_start, department), limits)
        spots = [
            HotSpot(
                place=p.place,
                day=p.day,
                average=p.previous_week / 7,
                examples=tuple(await q.examples(p.place, start, end, department, limits.examples)),
            )
            for p in spikes
        ]
    return Digest(
        day=day,
        department=department,
        new=new,
        new_week_average=new_before / 7,
        resolved=resolved,
        resolved_week_average=resolved_before / 7,
        backlog=backlog,
        by_channel=tuple(by_channel),
        by_category=tuple(by_category),
        by_department=tuple(by_department),
        overdue_total=overdue_total,
        overdue=tuple(Late(t, calendar.working_days_between(t.due_at, last_moment)) for t in overdue),
        median_hours_day=median_day,
        median_hours_week=median_week,
        satisfaction=Rate(fixed, answers),
        reopen=Rate(reopened, resolutions),
        misclassification=Rate(corrections, routed),
        confusions=tuple(confusions[: limits.confusions]),
        hotspots=tuple(spots),
    )
