"""Working-day arithmetic for SLAs: Iranian weekend (Friday by default) on Tehran's calendar.

Official holidays are a later addition (issue 6): `holidays` already takes them as dates.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta

from bot.jalali import TEHRAN, to_tehran

# An "immediate" category (sla_days = 0) is due within this long.
IMMEDIATE = timedelta(hours=2)


def due_at(
    created: datetime, sla_days: int, *, days_off: Collection[int] = (4,), holidays: Collection[date] = ()
) -> datetime:
    """End of the `sla_days`-th working day after `created` (Tehran time), or 2 hours for 0."""
    if sla_days <= 0:
        return created + IMMEDIATE
    day = to_tehran(created).date()
    remaining = sla_days
    while remaining:
        day += timedelta(days=1)
        if day.weekday() not in days_off and day not in holidays:
            remaining -= 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=TEHRAN)
