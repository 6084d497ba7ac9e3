"""Reading the ticket list's query string: filters, a Jalali date range and one search box.

The search box takes a tracking code, a phone number or words, in any digit script; which one it
is follows from its shape (a valid check digit makes a code, an Iranian mobile shape a phone).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.jalali import parse_jalali_date
from bot.tracking import is_valid
from nlp.letters import ascii_digits, fold
from storage.panel_queries import TicketFilter

_MOBILE = re.compile(r"^(?:0098|98|0)?9\d{9}$")
_SEPARATORS = re.compile(r"[\s\-_.()+]")
FILTER_KEYS = ("status", "category", "department", "channel", "district", "overdue", "from", "to", "q")


class BadFilter(ValueError):
    """A filter value the list cannot use; `key` names the field."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


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


def parse_filter(query: Mapping[str, str], allowed: Mapping[str, Collection[str]]) -> TicketFilter:
    """Build a TicketFilter from the list's query string; `allowed` maps field → valid values."""

    def choice(key: str) -> str | None:
        value = query.get(key, "").strip()
        if not value:
            return None
        if value not in allowed.get(key, ()):
            raise BadFilter(key)
        return value

    def date(key: str) -> datetime | None:
        value = query.get(key, "").strip()
        if not value:
            return None
        try:
            return parse_jalali_date(value)
        except ValueError as exc:
            raise BadFilter(key) from exc

    start, end = date("from"), date("to")
    terms = parse_search(query.get("q", ""))
    return TicketFilter(
        status=choice("status"),
        category=choice("category"),
        department=choice("department"),
        channel=query.get("channel", "").strip() or None,
        district=query.get("district", "").strip() or None,
        overdue=query.get("overdue", "") in ("1", "on", "true"),
        created_from=start,
        created_before=end + timedelta(days=1) if end is not None else None,
        code=terms.code,
        phone=terms.phone,
        texts=terms.texts,
    )
