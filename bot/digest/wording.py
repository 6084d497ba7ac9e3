"""Persian wording shared by the digest's text, e-mail and chart: names, numbers, dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.dates.jalali import jalali_date
from bot.digest.figures import day_bounds
from bot.taxonomy import Taxonomy
from nlp.letters import persian_digits
from storage.retention import scrub

# The one table of channel names people read (digest, e-mail, chart and the panel): keyed by the
# usual channel names of config.example.toml, and by channel kind for channels named otherwise;
# any other channel whose medium is SMS (every SMS provider, whatever its kind) is «پیامک».
SMS_NAME = "پیامک"
CHANNEL_NAMES = {
    "telegram": "تلگرام",
    "bale": "بله",
    "sms": SMS_NAME,
    "hotline": "تلفن ۱۳۷",
    "console": "کنسول",
    "panel": "پنل",
    "phone": "تلفن ۱۳۷",  # recorded in the panel by a hotline operator
    "in_person": "حضوری",  # recorded in the panel at the front desk
    "desk": "پیشخوان",  # answers to walk-ins who left no number (channels/desk.py)
    "web": "وب‌سایت",  # the citizen web form (bot/web/webform)
    "open311": "Open311",  # requests from other systems through the GeoReport v2 API
}
# Between the parts of one line: a middle dot beside Persian digits reads as a zero (۰).
SEPARATOR = " – "
WEEKDAYS = ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه")
CITY = "کل شهر"


def channel_name(name: str, kind: str | None = None, *, sms: bool = False) -> str:
    """The Persian name of a channel: by its configured name, else by its kind, else «پیامک» for
    an SMS channel (`sms`), else the name as is."""
    return CHANNEL_NAMES.get(name) or CHANNEL_NAMES.get(kind or "") or (SMS_NAME if sms else name)


def district_name(district: str) -> str:
    """«منطقه ۶» for a district number (in any digits); other district labels as given, Persian digits."""
    text = persian_digits(district.strip())
    return f"منطقه {text}" if text.isdigit() else text


def number(value: float, decimals: int = 0) -> str:
    """Persian digits, with the Persian decimal separator."""
    text = f"{value:.{decimals}f}" if decimals else str(round(value))
    return persian_digits(text.replace(".", "٫"))


def percent(value: float | None) -> str:
    """e.g. ۴۲٪, or a dash when there is nothing to divide by."""
    return "—" if value is None else number(value * 100) + "٪"


def duration(hours: float | None) -> str:
    """Hours under two days, days beyond."""
    if hours is None:
        return "—"
    if hours < 48:
        return f"{number(hours, 1 if hours < 10 else 0)} ساعت"
    return f"{number(hours / 24, 1)} روز"


def change(day: float, average: float) -> str:
    """▲۲۰٪ / ▼۱۵٪ against the average, or nothing when there is no average."""
    if average <= 0:
        return ""
    delta = (day - average) / average
    if abs(delta) < 0.005:
        return " (بدون تغییر)"
    return f" ({'▲' if delta > 0 else '▼'}{percent(abs(delta))})"


def day_title(day: date) -> str:
    """e.g. سه‌شنبه ۱۴۰۴/۰۹/۰۱"""
    start, _ = day_bounds(day)
    return f"{WEEKDAYS[day.weekday()]} {jalali_date(start)}"


def hide_long_numbers(text: str) -> str:
    """`text` with every run of 7+ digits (a phone number, perhaps, however it is split) replaced
    by «…»: the retention rule (`storage.retention.scrub`)."""
    return scrub(text, "…")


def example(text: str, limit: int = 120) -> str:
    """A citizen's message shortened for a digest, with long numbers hidden."""
    clean = persian_digits(hide_long_numbers(" ".join(text.split())))
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Names:
    """Persian names of categories, departments and channels."""

    taxonomy: Taxonomy

    def category(self, code: str) -> str:
        found = self.taxonomy.categories.get(code)
        return found.name if found else code

    def department(self, code: str | None) -> str:
        return CITY if code is None else self.taxonomy.departments.get(code, code)

    def channel(self, name: str) -> str:
        return channel_name(name)

    def group(self, by: str, key: str) -> str:
        """The name of a group key of `by` (channel, category or department)."""
        if by == "channel":
            return self.channel(key)
        if by == "category":
            return self.category(key)
        return self.department(key)
