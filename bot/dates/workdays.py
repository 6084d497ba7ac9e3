"""Working-day arithmetic for SLAs on Tehran's calendar.

The Iranian week ends on Friday; many offices also close on Thursday or work only its morning, so
Thursday is configurable as a working day, a half day or a day off. Official holidays are listed
per Jalali year (solar ones are fixed; lunar ones move about eleven days a year and are announced
with the official calendar). The lists for 1404 and 1405 ship below; config may replace a year's
list (`[calendar.holidays]`), which is how next year's calendar gets in without a release.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import jdatetime

from bot.dates.jalali import TEHRAN, to_tehran

# An "immediate" category (sla_days = 0) is due within this long.
IMMEDIATE = timedelta(hours=2)
FRIDAY, THURSDAY = 4, 3

# Solar holidays, the same every year (Jalali MM-DD).
SOLAR_HOLIDAYS = (
    "01-01",  # Nowruz
    "01-02",
    "01-03",
    "01-04",
    "01-12",  # Islamic Republic Day
    "01-13",  # Nature Day
    "03-14",  # death of Imam Khomeini
    "03-15",  # 15 Khordad uprising
    "11-22",  # Revolution Day
    "12-29",  # oil nationalisation
)

# Lunar holidays by Jalali year. 1404 follows the official calendar; 1405 is the Umm al-Qura date
# plus one day (Iran's sighting usually runs a day behind) until the official calendar is out.
LUNAR_HOLIDAYS: dict[int, tuple[str, ...]] = {
    1404: (
        "01-11",  # Eid al-Fitr
        "01-12",  # day after Eid al-Fitr (also Islamic Republic Day)
        "02-04",  # martyrdom of Imam Sadiq
        "03-16",  # Eid al-Adha
        "03-24",  # Eid al-Ghadir
        "04-14",  # Tasua
        "04-15",  # Ashura
        "05-23",  # Arbaeen
        "05-31",  # demise of the Prophet, martyrdom of Imam Hasan
        "06-02",  # martyrdom of Imam Reza
        "06-10",  # martyrdom of Imam Hasan Askari
        "06-19",  # birth of the Prophet
        "09-03",  # martyrdom of Fatimah
        "10-13",  # birth of Imam Ali
        "10-27",  # Mab'ath
        "11-15",  # birth of Imam Mahdi
        "12-20",  # martyrdom of Imam Ali
    ),
    1405: (
        "01-01",  # Eid al-Fitr (on Nowruz)
        "01-02",
        "01-25",  # martyrdom of Imam Sadiq
        "03-07",  # Eid al-Adha
        "03-15",  # Eid al-Ghadir
        "04-04",  # Tasua
        "04-05",  # Ashura
        "05-13",  # Arbaeen
        "05-21",  # demise of the Prophet, martyrdom of Imam Hasan
        "05-23",  # martyrdom of Imam Reza
        "05-31",  # martyrdom of Imam Hasan Askari
        "06-09",  # birth of the Prophet
        "08-23",  # martyrdom of Fatimah
        "10-02",  # birth of Imam Ali
        "10-16",  # Mab'ath
        "11-04",  # birth of Imam Mahdi
        "12-10",  # martyrdom of Imam Ali
        "12-19",  # Eid al-Fitr
        "12-20",  # day after Eid al-Fitr
    ),
}


def jalali_day(year: int, month_day: str) -> date:
    """The Gregorian date of Jalali `year`-`month_day` (MM-DD); ValueError when there is no such day."""
    month, _, day = month_day.partition("-")
    if not (month.isdigit() and day.isdigit()):
        raise ValueError(f"not a Jalali MM-DD: {month_day!r}")
    return jdatetime.date(year, int(month), int(day)).togregorian()


def official_holidays(years: Mapping[int, Iterable[str]] | None = None) -> frozenset[date]:
    """Shipped holidays, with any year in `years` (Jalali year → MM-DD list) replacing the shipped one."""
    lists: dict[int, tuple[str, ...]] = {y: SOLAR_HOLIDAYS + days for y, days in LUNAR_HOLIDAYS.items()}
    for year, days in (years or {}).items():
        lists[year] = tuple(days)
    return frozenset(jalali_day(year, md) for year, days in lists.items() for md in days)


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days count for SLAs: weekly days off, weekly half days, and official holidays."""

    days_off: tuple[int, ...] = (FRIDAY,)  # Python weekday numbers
    half_days: tuple[int, ...] = ()
    holidays: frozenset[date] = field(default_factory=frozenset)

    def work_on(self, day: date) -> float:
        """How much of a working day `day` is: 1, 0.5 or 0."""
        if day in self.holidays or day.weekday() in self.days_off:
            return 0.0
        return 0.5 if day.weekday() in self.half_days else 1.0

    def due_at(self, created: datetime, sla_days: int) -> datetime:
        """End of the day (Tehran) on which `sla_days` working days after `created` are complete."""
        if sla_days <= 0:
            return created + IMMEDIATE
        day = to_tehran(created).date()
        remaining = float(sla_days)
        while remaining > 0:
            day += timedelta(days=1)
            remaining -= self.work_on(day)
        return datetime.combine(day, time(23, 59, 59), tzinfo=TEHRAN)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working days from the day after `start` up to and including `end`'s day (Tehran)."""
        first, last = to_tehran(start).date(), to_tehran(end).date()
        total, day = 0.0, first
        while day < last:
            day += timedelta(days=1)
            total += self.work_on(day)
        return total


def due_at(
    created: datetime,
    sla_days: int,
    *,
    days_off: Collection[int] = (FRIDAY,),
    holidays: Collection[date] = (),
) -> datetime:
    """End of the `sla_days`-th working day after `created` (Tehran time), or 2 hours for 0."""
    calendar = WorkCalendar(days_off=tuple(days_off), holidays=frozenset(holidays))
    return calendar.due_at(created, sla_days)
