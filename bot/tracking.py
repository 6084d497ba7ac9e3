"""Tracking codes: 10 digits, random, with a Damm check digit.

Damm's check digit catches every single-digit typo and every swap of two adjacent digits, so a
mistyped code is "not found", never someone else's ticket. The first digit is 1–8: never 0 (lost
on old phones and spreadsheets) and never 9 (a 10-digit number starting with 9 is a mobile number
without its leading zero).
"""

from __future__ import annotations

import re
import secrets

from nlp.letters import ascii_digits

CODE_LENGTH = 10

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# Digit runs, allowing the separators people type inside long numbers ("123 456 7890", "123-456").
_DIGIT_RUN = re.compile(r"\d(?:[\s\-_./]?\d)*")


def damm_digit(digits: str) -> str:
    """The Damm check digit of a string of ASCII digits."""
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return str(interim)


def new_code() -> str:
    """A fresh random tracking code (uniqueness is checked against the store by the caller)."""
    body = str(secrets.choice(range(1, 9))) + "".join(
        str(secrets.randbelow(10)) for _ in range(CODE_LENGTH - 2)
    )
    return body + damm_digit(body)


def is_valid(code: str) -> bool:
    """Whether `code` (ASCII digits) is well formed and its check digit matches."""
    return (
        len(code) == CODE_LENGTH
        and code.isascii()
        and code.isdigit()
        and code[0] in "12345678"
        and damm_digit(code) == "0"
    )


def digit_runs(text: str) -> list[str]:
    """Every run of digits in `text`, in any script, separators removed, as ASCII."""
    return [re.sub(r"\D", "", m.group()) for m in _DIGIT_RUN.finditer(ascii_digits(text))]
