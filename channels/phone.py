"""Iranian mobile numbers in any spelling and digit script → E.164 (`+989121234567`).

protocols.md lists the forms that arrive: 09121234567, 9121234567, 989121234567, +989121234567,
00989121234567, in Persian, Arabic-Indic or ASCII digits, often with spaces or dashes inside.
"""

from __future__ import annotations

import re

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 2)
# Separators people and old phones put inside numbers, plus invisible direction marks.
_SEPARATORS = re.compile(r"[\s\-().\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MOBILE = re.compile(r"9\d{9}")


class PhoneError(ValueError):
    """Not an Iranian mobile number."""


def canonical_mobile(raw: str) -> str:
    """The E.164 form of an Iranian mobile number; raises PhoneError for anything else."""
    text = _SEPARATORS.sub("", raw.translate(_DIGITS))
    if text.startswith("+"):
        text = "00" + text[1:]
    for prefix in ("0098", "98", "0"):
        if text.startswith(prefix) and len(text) == len(prefix) + 10:
            text = text[len(prefix) :]
            break
    if not _MOBILE.fullmatch(text):
        raise PhoneError("not an Iranian mobile number")
    return "+98" + text


def maybe_mobile(raw: str | None) -> str | None:
    """`canonical_mobile`, or None when `raw` is empty or not a mobile number."""
    if not raw:
        return None
    try:
        return canonical_mobile(raw)
    except PhoneError:
        return None


def local_form(e164: str) -> str:
    """09121234567: the form Iranian SMS panels expect for receptors."""
    return "0" + e164.removeprefix("+98")


def masked(e164: str) -> str:
    """+98912***4567: enough to tell numbers apart in a log line, not enough to call one."""
    return e164[:6] + "***" + e164[-4:] if len(e164) > 10 else "***"
