"""Normalisation: look-alikes, digit scripts, protected spans, spacing and Finglish."""

from __future__ import annotations

import pytest

from nlp.letters import ascii_digits, fold, persian_digits
from nlp.normalizer import EntityKind, Normalizer, canonical_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Arabic yeh/kaf from old phones fold to Persian; tatweel and diacritics go.
        ("زباله هاي كوچه رو نبردن", "زباله\u200cهای کوچه رو نبردن"),
        ("خيابـــان وليعصر", "خیابان ولیعصر"),
        ("مُشکِلِ آسفالت", "مشکل آسفالت"),
        ("مراجعة كنيد", "مراجعه کنید"),
        # Digit scripts all become ASCII.
        ("کوچه ۱۲ پلاک ٤٥", "کوچه 12 پلاک 45"),
        # Repeated letters and whitespace runs collapse; emoji are stripped.
        ("سلاااام   آقا\n\nچاله 😡😡 بزرگه", "سلام آقا چاله بزرگه"),
        # hazm's ZWNJ for plural and verb prefixes.
        ("کتاب ها و خانه ی ما", "کتاب\u200cها و خانه\u200cی ما"),
        # Finglish becomes Persian script.
        ("ashghal haye kooche jam nashode", "آشغال\u200cهای کوچه جمع نشده"),
        ("booye gaz miad too koche", "بوی گاز میاد تو کوچه"),
        # English stays English (lower-cased), not transliterated.
        ("The street light is broken", "the street light is broken"),
        ("", ""),
    ],
)
def test_normalize_table(normalizer: Normalizer, raw: str, expected: str) -> None:
    assert normalizer.normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "kind", "value", "canonical"),
    [
        (
            "لینک عکس https://example.ir/a/b?c=1&d=۲ رو ببینید",
            EntityKind.URL,
            "https://example.ir/a/b?c=1&d=2",
            None,
        ),
        ("سایت www.tehran.ir خرابه", EntityKind.URL, "www.tehran.ir", None),
        ("شماره من ۰۹۱۲۱۲۳۴۵۶۷ است", EntityKind.PHONE, "09121234567", "+989121234567"),
        ("تماس: +98 912 123 4567", EntityKind.PHONE, "+98 912 123 4567", "+989121234567"),
        ("شماره ٠٩٣٥١١١٢٢٣٣ هست", EntityKind.PHONE, "09351112233", "+989351112233"),
        ("00989121234567 زنگ بزنید", EntityKind.PHONE, "00989121234567", "+989121234567"),
        ("کد رهگیری ۱۴۰۳۰۵۱۲۳۴ چی شد؟", EntityKind.TRACKING_CODE, "1403051234", None),
        ("ایمیل a.rezaei@mail.com", EntityKind.EMAIL, "a.rezaei@mail.com", None),
    ],
)
def test_protected_spans_survive(
    normalizer: Normalizer, raw: str, kind: EntityKind, value: str, canonical: str | None
) -> None:
    result = normalizer.analyze(raw)
    assert [(e.kind, e.value) for e in result.entities] == [(kind, value)]
    assert value in result.text  # put back unchanged, digits ASCII
    if canonical:
        assert result.entities[0].canonical == canonical


def test_url_is_not_split_by_hazm(normalizer: Normalizer) -> None:
    # Plain hazm would give "https: / / x. com / a ? b= 1".
    assert normalizer.normalize("ببینید: https://x.com/a?b=1 !!").split()[1] == "https://x.com/a?b=1"


def test_finglish_flag_and_idempotence(normalizer: Normalizer) -> None:
    first = normalizer.analyze("salam, chale bozorg too khiaban valiasr")
    assert first.finglish
    assert "چاله" in first.text and "خیابان" in first.text
    assert normalizer.normalize(first.text) == first.text


@pytest.mark.parametrize(
    "text",
    ["سلام کوچه ما ۳ روزه آشغال جمع نشده", "زباله هاي كوچه", "تماس ۰۹۱۲۱۲۳۴۵۶۷ لطفا", "khiaban azadi tarike"],
)
def test_normalize_is_idempotent(normalizer: Normalizer, text: str) -> None:
    once = normalizer.normalize(text)
    assert normalizer.normalize(once) == once


def test_letters_helpers() -> None:
    assert fold("يك ۱۲٣") == "یک 123"
    assert ascii_digits("۰۹۱۲") == "0912"
    assert persian_digits("137") == "۱۳۷"
    assert (
        canonical_phone("۰۹۱۲ ۱۲۳ ۴۵۶۷".translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")))
        == "+989121234567"
    )
