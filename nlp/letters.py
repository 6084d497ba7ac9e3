"""Cheap, dependency-free folding of Persian look-alike letters and digit scripts.

Used before anything compares text: classification, de-duplication, tracking-code and
phone parsing. The fold table follows shared/reference/protocols.md ("Look-alikes").
"""

from __future__ import annotations

import re

_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"

_TO_ASCII_DIGITS = str.maketrans(_PERSIAN_DIGITS + _ARABIC_DIGITS, "0123456789" * 2)
_TO_PERSIAN_DIGITS = str.maketrans("0123456789" + _ARABIC_DIGITS, _PERSIAN_DIGITS * 2)

# Arabic diacritics (harakat, tanwin, shadda, sukun, superscript alef) carry no meaning for us.
_DIACRITICS = "".join(chr(c) for c in range(0x064B, 0x0653)) + "\u0670"

_LETTER_FOLDS = str.maketrans(
    {
        "\u064a": "\u06cc",  # Arabic yeh ي → Persian yeh ی
        "\u0649": "\u06cc",  # alef maksura ى → ی
        "\u0643": "\u06a9",  # Arabic kaf ك → keheh ک
        "\u0629": "\u0647",  # teh marbuta ة → ه
        "\u0623": "\u0627",  # أ → ا
        "\u0625": "\u0627",  # إ → ا
        "\u0671": "\u0627",  # ٱ → ا
        "\u0624": "\u0648",  # ؤ → و
        "\u0640": None,  # tatweel ـ
        **{ch: None for ch in _DIACRITICS},
    }
)

# ZWNJ handled consistently: keep a single ZWNJ between letters, drop it elsewhere.
_ZWNJ_RUNS = re.compile("\u200c{2,}")
_ZWNJ_EDGES = re.compile(r"(?:(?<=\s)|^)\u200c|\u200c(?=\s|$)")
# Other invisible format characters old phones and copy-paste leave behind.
_INVISIBLES = re.compile("[\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


# str.translate walks every character through a dict (~0.5 µs each for Persian text); a regex
# finds the rare characters that need folding far faster, so translate only when one is present.
_NEEDS_FOLD = re.compile("[" + "".join(re.escape(chr(c)) for c in _LETTER_FOLDS) + "]")
_NEEDS_DIGITS = re.compile("[" + _PERSIAN_DIGITS + _ARABIC_DIGITS + "]")


def fold_letters(text: str) -> str:
    """Fold Arabic look-alike letters to Persian, drop diacritics, tatweel and stray ZWNJ."""
    if _NEEDS_FOLD.search(text):
        text = text.translate(_LETTER_FOLDS)
    text = _INVISIBLES.sub("", text)
    text = _ZWNJ_RUNS.sub("\u200c", text)
    return _ZWNJ_EDGES.sub("", text)


def ascii_digits(text: str) -> str:
    """Turn Persian and Arabic-Indic digits into ASCII digits."""
    return text.translate(_TO_ASCII_DIGITS) if _NEEDS_DIGITS.search(text) else text


def persian_digits(text: str) -> str:
    """Turn ASCII and Arabic-Indic digits into Persian digits (for text shown to people)."""
    return text.translate(_TO_PERSIAN_DIGITS)


def fold(text: str) -> str:
    """Letters folded and digits made ASCII: the form every comparison starts from."""
    return ascii_digits(fold_letters(text))
