"""Tracking codes: 10 digits, random, check digit catches typos, never phone-like."""

from __future__ import annotations

from bot.tracking import damm_digit, digit_runs, is_valid, new_code


def test_codes_are_ten_digits_valid_and_start_1_to_8() -> None:
    codes = [new_code() for _ in range(2000)]
    assert all(len(c) == 10 and c.isdigit() and is_valid(c) for c in codes)
    assert {c[0] for c in codes} <= set("12345678")
    # Random over 8×10^8 codes (nine digits and a check digit): 2,000 draws repeat one about once
    # in 400 runs (the store refuses a taken code anyway); a small or broken space repeats many.
    assert len(set(codes)) >= len(codes) - 2


def test_codes_are_not_sequential() -> None:
    codes = [int(new_code()) for _ in range(200)]
    steps = {b - a for a, b in zip(codes, codes[1:], strict=False)}
    assert len(steps) > 190  # a counter would give one step
    assert sorted(codes) != codes


def test_every_single_digit_error_and_adjacent_swap_is_caught() -> None:
    for _ in range(200):
        code = new_code()
        for i in range(10):
            for d in "0123456789":
                typo = code[:i] + d + code[i + 1 :]
                assert typo == code or not is_valid(typo)
        for i in range(9):
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert swapped == code or not is_valid(swapped)


def test_damm_known_value() -> None:
    assert damm_digit("572") == "4"  # the textbook example
    assert not is_valid("0000000000") and not is_valid("9121234567") and not is_valid("12345")


def test_digit_runs_in_all_scripts_and_with_separators() -> None:
    assert digit_runs("کد ۱۲۳۴۵۶۷۸۹۰") == ["1234567890"]
    assert digit_runs("٠٩١٢ ١٢٣ ٤٥٦٧") == ["09121234567"]
    assert digit_runs("123-456-7890 و 12") == ["1234567890", "12"]
    assert digit_runs("بدون عدد") == []
