"""Reading the ticket list's query string: filters, a date range and one search box.

The search box takes a tracking code, a phone number or words, in any digit script; which one it
is follows from its shape (a valid check digit makes a code, an Iranian mobile shape a phone).
Dates are Jalali (۱۴۰۵/۰۹/۱۵, 1405-09-15); a year from 1900 on can only be Gregorian (2026-12-06),
so such a date is read as Gregorian instead of as a Jalali year five centuries away.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.dates.jalali import TEHRAN, parse_jalali_date
from bot.tracking import is_valid
from nlp.letters import ascii_digits, fold
from storage.panel_queries import TicketFilter

_MOBILE = re.compile(r"^(?:0098|98|0)?9\d{9}$")
_SEPARATORS = re.compile(r"[\s\-_.()+]")
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
GREGORIAN_FROM = 1900  # Jalali 1900 is Gregorian 2521; Gregorian 1900 is Jalali 1279
JALALI_FROM = 1300
FILTER_KEYS = (
    "status",
    "category",
    "department",
    "channel",
    "district",
    "assignee",
    "overdue",
    "from",
    "to",
    "q",
)
# `assignee`: everyone's (the filter form's «همه»), the user's own, or nobody's.
ASSIGNEES = ("all", "me", "none")


class BadFilter(ValueError):
    """Filter values the list cannot use: field → error key of labels.ERRORS; `key` is the first field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = dict(errors)
        self.key = next(iter(self.errors))


@dataclass(frozen=True, slots=True)
class ReadDate:
    """A date typed into the list's filter: midnight Tehran time, and whether it was Gregorian."""

    start: datetime
    gregorian: bool


def read_date(text: str) -> ReadDate:
    """Read ۱۴۰۵/۰۹/۱۵ or 1405-09-15 as Jalali and 2026-12-06 as Gregorian; ValueError otherwise."""
    found = _DATE.fullmatch(ascii_digits(text.strip()))
    if found is None:
        raise ValueError(f"not a date (YYYY-MM-DD): {text!r}")
    year, month, day = (int(part) for part in found.groups())
    if year >= GREGORIAN_FROM:
        moment = date(year, month, day)
        return ReadDate(datetime(moment.year, moment.month, moment.day, tzinfo=TEHRAN), gregorian=True)
    if year < JALALI_FROM:
        raise ValueError(f"year out of range: {text!r}")
    return ReadDate(parse_jalali_date(f"{year}-{month}-{day}"), gregorian=False)


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """What the search box asked for."""

    code: str | None = None
    phone: str | None = None
    texts: tuple[str, ...] = ()


def parse_search(query: str) -> SearchTerms:
    """Classify the search box's text as a tracking code, a phone number or words."""
    query = query.strip()[:200]
    if not query:
        return SearchTerms()
    digits = _SEPARATORS.sub("", ascii_digits(query))
    if digits.isdigit():
        if is_valid(digits):
            return SearchTerms(code=digits)
        if _MOBILE.match(digits):
            return SearchTerms(phone="+98" + digits[-10:])
    folded = fold(query)
    return SearchTerms(texts=(query,) if folded == query else (query, folded))


def parse_filter(
    query: Mapping[str, str], allowed: Mapping[str, Collection[str]], *, me: int | None = None
) -> TicketFilter:
    """Build a TicketFilter from the list's query string; `allowed` maps field → valid values and
    `me` is the user's id (for `assignee=me`).

    Raises BadFilter naming every field it cannot use: the list is then not shown at all, since a
    list without the filter the user asked for looks just like the list they asked for."""
    errors: dict[str, str] = {}

    def choice(key: str) -> str | None:
        value = query.get(key, "").strip()
        if not value:
            return None
        if value not in allowed.get(key, ()):
            errors[key] = "unknown_choice"
            return None
        return value

    def day(key: str) -> datetime | None:
        value = query.get(key, "").strip()
        if not value:
            return None
        try:
            return read_date(value).start
        except ValueError:
            errors[key] = "bad_date"
            return None

    status, category, department = choice("status"), choice("category"), choice("department")
    assignee = query.get("assignee", "").strip()
    if assignee and assignee not in ASSIGNEES:
        errors["assignee"] = "unknown_choice"
    start, end = day("from"), day("to")
    if start is not None and end is not None and start > end:
        errors["to"] = "date_order"
    if errors:
        raise BadFilter(errors)
    terms = parse_search(query.get("q", ""))
    return TicketFilter(
        status=status,
        category=category,
        department=department,
        channel=query.get("channel", "").strip() or None,
        district=query.get("district", "").strip() or None,
        overdue=query.get("overdue", "") in ("1", "on", "true"),
        created_from=start,
        created_before=end + timedelta(days=1) if end is not None else None,
        code=terms.code,
        phone=terms.phone,
        texts=terms.texts,
        assignee_id=me if assignee == "me" else None,
        unassigned=assignee == "none",
    )
