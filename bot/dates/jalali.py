"""Dates as people in Iran read them: Jalali calendar, Tehran time, Persian digits."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime

from nlp.letters import persian_digits

TEHRAN = ZoneInfo("Asia/Tehran")


def to_tehran(moment: datetime) -> datetime:
    """The same instant on Tehran's wall clock."""
    return moment.astimezone(TEHRAN)


def jalali_date(moment: datetime) -> str:
    """e.g. ۱۴۰۵/۰۹/۰۱"""
    local = to_tehran(moment)
    return persian_digits(jdatetime.date.fromgregorian(date=local.date()).strftime("%Y/%m/%d"))


def jalali_datetime(moment: datetime) -> str:
    """e.g. ۱۴۰۵/۰۹/۰۱ ۱۴:۳۰"""
    local = to_tehran(moment)
    return f"{jalali_date(moment)} {persian_digits(local.strftime('%H:%M'))}"


def parse_jalali_date(text: str) -> datetime:
    """Parse 1405-09-01 or ۱۴۰۵/۰۹/۰۱ as midnight Tehran time of that day."""
    from nlp.letters import ascii_digits

    parts = ascii_digits(text.strip()).replace("/", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a Jalali date (YYYY-MM-DD): {text!r}")
    gregorian = jdatetime.date(int(parts[0]), int(parts[1]), int(parts[2])).togregorian()
    return datetime(gregorian.year, gregorian.month, gregorian.day, tzinfo=TEHRAN)
