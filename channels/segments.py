"""SMS length: how many billed parts a text takes (protocols.md, "SMS length and Persian text")."""

from __future__ import annotations

# GSM 03.38 basic set; the extension set costs two septets each.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")

UCS2_SINGLE, UCS2_PART = 70, 67
GSM_SINGLE, GSM_PART = 160, 153


def is_gsm7(text: str) -> bool:
    """Whether `text` fits the GSM-7 alphabet (any Persian letter does not)."""
    return all(ch in _GSM_BASIC or ch in _GSM_EXTENDED for ch in text)


def encoded_length(text: str) -> int:
    """Length in the unit the text's encoding bills: septets for GSM-7, UTF-16 code units for UCS-2."""
    if is_gsm7(text):
        return sum(2 if ch in _GSM_EXTENDED else 1 for ch in text)
    # Characters outside the BMP (most emoji) are two UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def sms_parts(text: str) -> int:
    """How many SMS parts `text` is sent as (0 for an empty text)."""
    if not text:
        return 0
    length = encoded_length(text)
    single, part = (GSM_SINGLE, GSM_PART) if is_gsm7(text) else (UCS2_SINGLE, UCS2_PART)
    return 1 if length <= single else -(-length // part)
