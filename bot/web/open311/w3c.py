"""W3C date-times (the spec's ISO 8601 subset): always with a zone, shown in Tehran time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.dates.jalali import TEHRAN

# YYYY-MM-DDThh:mm[:ss[.s…]] then Z or ±hh:mm. A "+" left unescaped in a query string arrives as a
# space, so a space stands for "+" before the offset.
_W3C = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+\- ]\d{2}:\d{2})")


EARLIEST, LATEST = 1970, 2999


class DateError(ValueError):
    """Not a W3C date-time with a zone."""


def parse_w3c(text: str) -> datetime:
    """The instant `text` names; DateError when it has no zone or is no date."""
    found = _W3C.fullmatch(text.strip()) if len(text) <= 40 else None
    if found is None:
        raise DateError("expected a W3C date-time with Z or an offset, e.g. 2026-01-01T00:00:00+03:30")
    zone = found.group(2)
    zone = "+00:00" if zone == "Z" else zone.replace(" ", "+")
    try:
        moment = datetime.fromisoformat(found.group(1) + zone).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise DateError(f"not a real date-time: {exc}") from None
    if not EARLIEST <= moment.year <= LATEST:  # far ends overflow a window's arithmetic
        raise DateError(f"the year must be between {EARLIEST} and {LATEST}")
    return moment


def format_w3c(moment: datetime) -> str:
    """`moment` in Tehran time with its offset, to the second (2026-12-06T23:47:24+03:30)."""
    return moment.astimezone(TEHRAN).isoformat(timespec="seconds")
