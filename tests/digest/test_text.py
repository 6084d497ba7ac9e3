"""The digest's chat text: how an overdue ticket's line reads (issue 17, "Bugs seen" 5)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from bot.config import config_from_mapping
from bot.dates.jalali import TEHRAN
from bot.digest.figures import Digest, Late, Rate
from bot.digest.text import render_text
from bot.digest.wording import Names, channel_name, district_name
from storage.reports import DayAgainstWeek, OverdueTicket

DAY = date(2026, 12, 5)


def _digest(*late: Late) -> Digest:
    return Digest(
        day=DAY,
        department=None,
        new=3,
        new_week_average=2.0,
        resolved=1,
        resolved_week_average=1.0,
        backlog=7,
        by_channel=(DayAgainstWeek("telegram", 2, 7), DayAgainstWeek("sms", 1, 7)),
        by_category=(),
        by_department=(),
        overdue_total=len(late),
        overdue=late,
        median_hours_day=None,
        median_hours_week=None,
        satisfaction=Rate(0, 0),
        reopen=Rate(0, 0),
        misclassification=Rate(0, 0),
        confusions=(),
        hotspots=(),
    )


def _late(district: str | None, days: float) -> Late:
    moment = datetime(2026, 11, 20, 9, tzinfo=TEHRAN)
    return Late(OverdueTicket("4837211685", "street_lighting", "electricity", district, moment, moment), days)


def _names() -> Names:
    return Names(config_from_mapping({}, base_dir=Path("."), env={}).taxonomy)


def test_an_overdue_line_names_the_district_in_persian_and_has_no_dot_to_misread() -> None:
    text = render_text(_digest(_late("6", 7), _late(None, 1.5), _late("منطقه ۲", 2)), _names())
    lines = [line for line in text.splitlines() if "روز کاری تأخیر" in line]
    assert lines == [
        "• ۴۸۳۷۲۱۱۶۸۵ – روشنایی معابر و پارک‌ها – منطقه ۶ – ۷ روز کاری تأخیر",
        "• ۴۸۳۷۲۱۱۶۸۵ – روشنایی معابر و پارک‌ها – ۱٫۵ روز کاری تأخیر",
        "• ۴۸۳۷۲۱۱۶۸۵ – روشنایی معابر و پارک‌ها – منطقه ۲ – ۲ روز کاری تأخیر",
    ]
    assert "·" not in text  # a middle dot beside Persian digits reads as a zero
    assert "• تلگرام: ۲" in text and "• پیامک: ۱" in text


def test_channel_and_district_names() -> None:
    assert channel_name("telegram") == "تلگرام" and channel_name("hotline") == "تلفن ۱۳۷"
    assert channel_name("meli", "melipayamak", sms=True) == "پیامک"  # named otherwise: by its medium
    assert channel_name("tg", "telegram") == "تلگرام"  # ... or by its kind
    assert channel_name("tg") == "tg"  # unknown: as configured, never an empty label
    assert district_name("12") == "منطقه ۱۲" and district_name("۳") == "منطقه ۳"
    assert district_name("منطقه ۵") == "منطقه ۵" and district_name("ونک") == "ونک"


def test_every_sms_provider_is_named_sms_without_a_row_of_its_own() -> None:
    """A channel named freely is named by its kind, and any SMS provider's channel (one the table
    has never heard of included) by its medium, so a new provider needs no entry in the table."""
    from bot.web.panel.labels import channel_names

    specs = config_from_mapping(
        {
            "channels": {
                "kn": {"kind": "kavenegar", "api_key_env": "SADA_TEST_KN", "sender": "1000"},
                "tg": {"kind": "fake"},
            }
        },
        base_dir=Path("."),
        env={"SADA_TEST_KN": "k" * 20},
    ).channels
    name = channel_names(specs)
    assert (name("kn"), name("tg"), name("other")) == ("پیامک", "tg", "other")
    assert channel_name("kn", "some_new_provider", sms=True) == "پیامک"
