"""The letter around a complaint is left out of what the classifier reads; the complaint is not."""

from __future__ import annotations

import pytest

from nlp.features import feature_text
from nlp.framing import strip_framing
from nlp.normalizer import Normalizer


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer()


def _read(normalizer: Normalizer, text: str) -> str:
    """What the classifier's features are computed from, as production builds it."""
    return feature_text(normalizer.normalize(text), framing=True)


@pytest.mark.parametrize(
    ("letter", "kept", "gone"),
    [
        (
            "با سلام و احترام خدمت شهردار محترم، احتراماً به استحضار می‌رساند که کوچه ما چاله بزرگی دارد."
            " خواهشمند است دستور فرمایید رسیدگی شود. با تشکر از همکاری شما",
            ["کوچه ما چاله بزرگی دارد"],
            ["سلام", "شهردار", "احتراما", "استحضار", "خواهشمند", "تشکر"],
        ),
        (
            "سلام وقت بخیر خسته نباشید، مسئولین محترم شهرداری لطفا زباله‌های سر کوچه رو جمع کنید خیلی ممنون",
            ["زباله ها", "سر کوچه", "جمع کنید"],
            ["سلام", "بخیر", "خسته نباشید", "مسئولین محترم", "لطفا", "ممنون"],
        ),
        (
            "باسمه تعالی. ریاست محترم شورای اسلامی شهر، سگ‌های ولگرد شب‌ها در پارک به بچه‌ها حمله می‌کنند",
            ["سگ ها", "ولگرد", "حمله"],
            ["باسمه", "ریاست", "شورای"],
        ),
        ("salam vaght bekheir. kooche ma chale dare mamnoon", ["چاله"], ["سلام", "ممنون"]),
    ],
)
def test_formulas_go_and_the_problem_stays(
    normalizer: Normalizer, letter: str, kept: list[str], gone: list[str]
) -> None:
    read = _read(normalizer, letter)
    for phrase in kept:
        assert phrase in read
    for phrase in gone:
        assert phrase not in read


@pytest.mark.parametrize(
    "text",
    [
        "سلام، خیلی ممنون از زحماتتون",  # nothing but courtesy: the courtesy is the message
        "ممنون از رفتگرهای محله که کوچه رو مثل آینه تمیز کردن",  # thanks FOR someone: general's content
        "با تشکر از آتش‌نشانان عزیز که دیشب به موقع رسیدند",
    ],
)
def test_thanks_that_is_the_message_is_kept(normalizer: Normalizer, text: str) -> None:
    read = _read(normalizer, text)
    assert any(word in read for word in ("ممنون", "تشکر"))


def test_words_that_only_look_like_formulas_stay() -> None:
    assert strip_framing("سلامت بچه ها در خطر است و لطفعلی خان هم شاکی است") == (
        "سلامت بچه ها در خطر است و لطفعلی خان هم شاکی است"
    )


def test_framing_is_off_when_the_settings_say_so(normalizer: Normalizer) -> None:
    text = normalizer.normalize("با سلام و احترام، چاله")
    assert "سلام" in feature_text(text, framing=False)
