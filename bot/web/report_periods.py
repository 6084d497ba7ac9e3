"""Report periods and the tables built on them: Tehran days, Saturday–Friday weeks, Jalali months.

The store counts tickets per Tehran day, category and district (`ReportQueries.buckets`, one GROUP
BY query for a whole report). This module owns the calendar on top of those buckets: the panel's
trend (days, weeks or Jalali months as columns), the weekly neighbourhood needs (normalised per
district and category), and the week and month arithmetic the public statistics publish by. It
works on a few hundred buckets at most.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

import jdatetime

from bot.dates.jalali import TEHRAN
from storage.reports import Bucket, ReportQueries

UNKNOWN_DISTRICT = ""  # the key of tickets without a district
TREND_KEYS = ("category", "district")
MAX_DAYS = 366


class Step(StrEnum):
    """How many days one column of a trend (or one published period) covers."""

    DAY = "day"
    WEEK = "week"  # Saturday to Friday
    MONTH = "month"  # a Jalali month


@dataclass(frozen=True, slots=True)
class Period:
    """One column of a trend: the Tehran days `first` … `last`, both included."""

    first: date
    last: date


@dataclass(frozen=True, slots=True)
class Series:
    """One row of a trend: a category or district and its count per period."""

    key: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Trend:
    """Tickets created per period and per category (or district), busiest first."""

    by: str
    step: Step
    periods: tuple[Period, ...]
    series: tuple[Series, ...]

    @property
    def totals(self) -> tuple[int, ...]:
        """All tickets per period."""
        return tuple(sum(s.counts[i] for s in self.series) for i in range(len(self.periods)))

    @property
    def total(self) -> int:
        return sum(s.total for s in self.series)


@dataclass(frozen=True, slots=True)
class NeedsCell:
    """One district × category: its count, its share of the district's tickets, and that share
    against the city's share for the category (1.0 = like the city; 2.0 = twice as often)."""

    count: int
    share: float
    index: float | None


@dataclass(frozen=True, slots=True)
class NeedsRow:
    """One district; `volume_index` is its total against the average district's (None: unknown)."""

    district: str
    total: int
    volume_index: float | None
    cells: dict[str, NeedsCell]


@dataclass(frozen=True, slots=True)
class Recurring:
    """A problem that keeps coming back: one category at one place (district, else named place)."""

    category: str
    place: str
    count: int


@dataclass(frozen=True, slots=True)
class Needs:
    """The neighbourhood needs of one week: districts × categories, normalised, and recurring problems."""

    first: date
    last: date
    categories: tuple[str, ...]  # busiest first
    city: dict[str, int]  # category → tickets in the whole scope
    rows: tuple[NeedsRow, ...]  # busiest district first, unknown district last
    recurring: tuple[Recurring, ...]

    @property
    def total(self) -> int:
        return sum(self.city.values())


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) of the Tehran days `first` … `last`: the instants the store is asked about."""
    start = datetime.combine(first, time(0), tzinfo=TEHRAN)
    return start, datetime.combine(last + timedelta(days=1), time(0), tzinfo=TEHRAN)


def week_of(day: date) -> tuple[date, date]:
    """The Iranian week (Saturday … Friday) holding `day`."""
    saturday = day - timedelta(days=(day.weekday() - 5) % 7)
    return saturday, saturday + timedelta(days=6)


def month_of(day: date) -> tuple[date, date]:
    """The Jalali month holding `day`: its first and last days."""
    j = jdatetime.date.fromgregorian(date=day)
    following = jdatetime.date(j.year + (j.month == 12), j.month % 12 + 1, 1)
    return jdatetime.date(j.year, j.month, 1).togregorian(), following.togregorian() - timedelta(days=1)


def step_for(first: date, last: date) -> Step:
    """Days for up to a month, weeks up to half a year, Jalali months beyond."""
    span = (last - first).days + 1
    if span <= 31:
        return Step.DAY
    return Step.WEEK if span <= 183 else Step.MONTH


def periods(first: date, last: date, step: Step) -> list[Period]:
    """The columns covering `first` … `last`; the first and last may be partial weeks or months."""
    out: list[Period] = []
    day = first
    while day <= last:
        if step is Step.DAY:
            end = day
        elif step is Step.WEEK:
            end = week_of(day)[1]
        else:
            end = month_of(day)[1]
        end = min(end, last)
        out.append(Period(day, end))
        day = end + timedelta(days=1)
    return out


def _key(bucket: Bucket, by: str) -> str:
    if by == "category":
        return bucket.category
    return bucket.district or UNKNOWN_DISTRICT


async def trend(queries: ReportQueries, by: str, first: date, last: date, scope: str | None) -> Trend:
    """Tickets created on the Tehran days `first` … `last` per period and per `by` (category, district)."""
    if by not in TREND_KEYS:
        raise ValueError(f"a trend is by category or district, not {by!r}")
    step = step_for(first, last)
    cols = periods(first, last, step)
    column_of = {}
    for i, p in enumerate(cols):
        for n in range((p.last - p.first).days + 1):
            column_of[(p.first + timedelta(days=n)).isoformat()] = i
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(cols))
    for b in await queries.buckets(*bounds(first, last), scope):
        if b.day in column_of:  # always, unless the database's day disagrees with ours
            counts[_key(b, by)][column_of[b.day]] += b.count
    series = [Series(key, tuple(c)) for key, c in counts.items()]
    series.sort(key=lambda s: (-s.total, s.key == UNKNOWN_DISTRICT, s.key))
    return Trend(by=by, step=step, periods=tuple(cols), series=tuple(series))


async def needs(
    queries: ReportQueries, first: date, last: date, scope: str | None, recurring_limit: int = 10
) -> Needs:
    """Requests per district × category on the Tehran days `first` … `last`, normalised."""
    start, end = bounds(first, last)
    grid: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    city: dict[str, int] = defaultdict(int)
    for b in await queries.buckets(start, end, scope):
        grid[b.district or UNKNOWN_DISTRICT][b.category] += b.count
        city[b.category] += b.count
    total = sum(city.values())
    known = [sum(cats.values()) for district, cats in grid.items() if district != UNKNOWN_DISTRICT]
    mean = sum(known) / len(known) if known else 0.0
    rows = []
    for district, cats in grid.items():
        district_total = sum(cats.values())
        cells = {}
        for category, n in cats.items():
            share = n / district_total
            city_share = city[category] / total
            cells[category] = NeedsCell(n, share, share / city_share if city_share else None)
        volume = district_total / mean if mean and district != UNKNOWN_DISTRICT else None
        rows.append(NeedsRow(district, district_total, volume, cells))
    rows.sort(key=lambda r: (r.district == UNKNOWN_DISTRICT, -r.total, r.district))
    categories = sorted(city, key=lambda c: (-city[c], c))
    found = await queries.recurring(start, end, scope, recurring_limit)
    recurring = [Recurring(c, p, n) for c, p, n in found]
    return Needs(first, last, tuple(categories), dict(city), tuple(rows), tuple(recurring))
