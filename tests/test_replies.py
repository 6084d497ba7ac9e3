"""Replies: Persian digits, Jalali dates, and SMS variants that fit one UCS-2 part."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from bot.dates.jalali import jalali_date, jalali_datetime, parse_jalali_date
from bot.models import Medium
from bot.replies import STATUS_NAMES, TEMPLATES, render
from bot.taxonomy import default_taxonomy_data
from channels.segments import sms_parts

# Templates whose SMS carries an operator's note: their length is the note's, so they can take two
# parts. The README lists exactly these.
NOTE_TEMPLATES = {"now_resolved", "now_rejected", "now_reopened"}

LONGEST_DEPARTMENT = max(default_taxonomy_data()["departments"].values(), key=len)
LONGEST_STATUS = max(STATUS_NAMES.values(), key=len)
WORST = {
    "code": "8888888888",
    "other": "8888888888",
    "department": LONGEST_DEPARTMENT,
    "status": LONGEST_STATUS,
    "when": "۱۴۰۵/۱۲/۲۹ ۲۳:۵۹",
    "date": "۱۴۰۵/۱۲/۲۹",
    "lines": "\n".join(f"• 8888888888: {LONGEST_STATUS}" for _ in range(5)),
    "latest": f"8888888888: {LONGEST_STATUS}",
    "note": "",
    "note_line": "",
}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_sms_variant_fits_one_part_with_worst_case_values(key: str) -> None:
    text = render(key, Medium.SMS, **WORST)
    if key in NOTE_TEMPLATES:
        # With a realistic short note it still fits; a long note takes more parts.
        short = render(key, Medium.SMS, **{**WORST, "note": "اکیپ اعزام و رفع شد"})
        assert sms_parts(short) == 1, short
    else:
        assert sms_parts(text) == 1, f"{key}: {len(text)} chars: {text}"


@pytest.mark.parametrize("key", sorted(TEMPLATES))
@pytest.mark.parametrize("medium", list(Medium))
def test_no_latin_digits_reach_citizens(key: str, medium: Medium) -> None:
    text = render(key, medium, **{**WORST, "note": "ساعت 10 رفع شد"})
    assert not set(text) & set(string.digits), text


def test_jalali_dates_in_tehran_time() -> None:
    moment = datetime(2026, 11, 22, 20, 45, tzinfo=UTC)  # 00:15 on 2 Azar in Tehran (UTC+3:30)
    assert jalali_date(moment) == "۱۴۰۵/۰۹/۰۲"
    assert jalali_datetime(moment) == "۱۴۰۵/۰۹/۰۲ ۰۰:۱۵"
    assert parse_jalali_date("1405-09-01").date().isoformat() == "2026-11-22"
    assert parse_jalali_date("۱۴۰۵/۰۹/۰۱") == parse_jalali_date("1405-09-01")
    with pytest.raises(ValueError, match="Jalali"):
        parse_jalali_date("yesterday")


def test_urgent_reply_tells_to_call_125() -> None:
    for medium in Medium:
        assert "۱۲۵" in render("created_urgent", medium, **WORST)


def test_sms_parts_counting() -> None:
    assert sms_parts("") == 0
    assert sms_parts("a" * 160) == 1 and sms_parts("a" * 161) == 2
    assert sms_parts("س" * 70) == 1 and sms_parts("س" * 71) == 2 and sms_parts("س" * 134) == 2
    assert sms_parts("س" * 135) == 3
    assert sms_parts("س" * 69 + "😀") == 2  # an emoji is two UTF-16 units
    assert sms_parts("{" * 80) == 1 and sms_parts("{" * 81) == 2  # GSM extension chars count twice
