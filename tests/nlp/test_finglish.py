"""Finglish: detection against English/URLs/codes, and transliteration of municipal vocabulary."""

from __future__ import annotations

import pytest

from nlp.finglish import Finglish, FinglishLexicon, canonical


@pytest.fixture(scope="module")
def finglish() -> Finglish:
    return Finglish()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ashghal haye kooche jam nashode", True),
        ("salam cheraghaye khiyabune ma khamooshe", True),
        ("sag velgard too parke mahale", True),
        ("mo3tad zire pol khabide", True),
        ("lotfan rasidegi konid", True),
        ("KOOCHE MA TARIKE", True),
        ("hello the street lights are broken", False),
        ("please send a truck for the garbage", False),
        ("ABC123 XY", False),
        ("سلام چراغ کوچه ما خاموشه ok", False),  # Persian text with one Latin word
        ("", False),
    ],
)
def test_detection(finglish: Finglish, text: str, expected: bool) -> None:
    assert finglish.is_finglish(text) is expected


@pytest.mark.parametrize(
    ("word", "persian"),
    [
        ("ashghal", "آشغال"),
        ("zobale", "زباله"),
        ("zobaleh", "زباله"),
        ("koche", "کوچه"),
        ("kooche", "کوچه"),
        ("kuche", "کوچه"),
        ("chale", "چاله"),
        ("khiyaban", "خیابان"),
        ("xiaban", "خیابان"),
        ("ghat", "قطع"),
        ("qat", "قطع"),
        ("mo3tad", "معتاد"),
        ("dastforosha", "دستفروشا"),
        ("chaleha", "چاله\u200cها"),  # known stem + plural suffix
        ("derakhtaye", "درختای"),
    ],
)
def test_lexicon_variants(finglish: Finglish, word: str, persian: str) -> None:
    assert finglish.transliterate_word(word) == persian


@pytest.mark.parametrize(
    ("word", "persian"),
    [
        ("golestan", "گلستان"),  # unknown word: letter rules, short medial vowels dropped
        ("shiraz", "شیراز"),
        ("mikharan", "می\u200cخاران"),
    ],
)
def test_rules_for_unknown_words(finglish: Finglish, word: str, persian: str) -> None:
    assert finglish.transliterate_word(word) == persian


def test_canonical_folds_spelling_variants() -> None:
    assert canonical("Kooche") == canonical("kuche") == canonical("koucheh")
    assert canonical("xarab") == canonical("kharab")
    assert canonical("sadde") == canonical("sade")


def test_custom_lexicon_later_pairs_win() -> None:
    lexicon = FinglishLexicon.from_pairs([("bad", "بعد"), ("bad", "بد")])
    assert lexicon.lookup("bad") == "بد"
    assert lexicon.lookup("unknownword") is None


def test_lexicon_has_several_hundred_entries() -> None:
    assert len(FinglishLexicon.load().entries) >= 400
