"""Every Persian sentence the Open311 API returns (services, notices, history notes).

Error descriptions stay English: they are for the client's developers, not for citizens.
"""

from __future__ import annotations

from datetime import datetime

from bot.dates.jalali import jalali_date
from bot.taxonomy import Category, Taxonomy
from nlp.letters import persian_digits

ACTOR_PREFIX = "open311:"  # how an API client appears in ticket history: open311:<client name>


def service_description(category: Category, taxonomy: Taxonomy) -> str:
    """What a service is for, who handles it and in how long."""
    department = taxonomy.departments.get(category.department, category.department)
    days = persian_digits(str(category.sla_days))
    return f"گزارش‌های «{category.name}»؛ رسیدگی با {department}، حداکثر در {days} روز کاری."


def keywords(category: Category, taxonomy: Taxonomy) -> str:
    """The service's tags, comma separated: its name, its department, its code."""
    department = taxonomy.departments.get(category.department, category.department)
    return ", ".join((category.name, department, category.code))


def intake_note(client: str) -> str:
    """The history note naming the API client that filed the request."""
    return f"ثبت از راه رابط Open311؛ برنامه فرستنده: {client}"


def media_note(url: str) -> str:
    """The history note keeping a media link the client sent (never fetched)."""
    return f"پیوند رسانه فرستاده‌شده با درخواست (بارگیری نشده): {url}"


RECLASSIFY_REASON = "کد خدمت انتخاب‌شده در رابط Open311"


def service_notice(department: str, due: datetime | None) -> str:
    """What the city will do: who handles it and by when (Jalali)."""
    if due is not None:
        return f"درخواست به {department} سپرده شد؛ موعد رسیدگی: {jalali_date(due)}."
    return f"درخواست به {department} سپرده شد."
