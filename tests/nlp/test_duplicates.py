"""Near-duplicates: same problem reported twice, across channels, spellings and digit scripts."""

from __future__ import annotations

import time

import pytest

from nlp.duplicates import DuplicateCandidate, content_tokens, find_duplicate, similarity
from nlp.normalizer import Normalizer

OPEN = [
    # key, raw text, category, district, place
    ("T1", "سلام زباله های کوچه ۱۲ خیابان ولیعصر سه روزه جمع نشده", "waste_collection", "6", "ولیعصر"),
    ("T2", "چاله بزرگ وسط بزرگراه رسالت روبروی پمپ بنزین", "road_damage", "4", "رسالت"),
    ("T3", "چراغ های پارک لاله شب ها خاموشه", "street_lighting", "6", "لاله"),
    ("T4", "سگ های ولگرد تو پارک محله نارمک به بچه ها حمله میکنن", "stray_animals", "8", "نارمک"),
    ("T5", "زباله های کوچه جمع نشده", "waste_collection", "15", None),
]

CASES = [
    # (new raw text, category, district, place, expected key or None)
    ("زباله هاي كوچه ١٢ وليعصر رو سه روزه نبردن", "waste_collection", "6", "ولیعصر", "T1"),  # Arabic letters
    ("zobale haye kooche 12 valiasr jam nashode", "waste_collection", "6", "ولیعصر", "T1"),  # Finglish
    (
        "الو سلام ببینید یه چاله خیلی بزرگ تو بزرگراه رسالت هست روبروی پمپ بنزین",
        "road_damage",
        "4",
        "رسالت",
        "T2",
    ),
    ("چراغای پارک لاله خاموشه شبا", "street_lighting", "6", "لاله", "T3"),
    # Same words, other category: never a duplicate.
    ("چراغ های پارک لاله شب ها خاموشه", "green_space", "6", "لاله", None),
    # Same category, different problem in another district.
    ("سطل زباله پارک شهر شکسته", "waste_collection", "12", "پارک شهر", None),
    # Same category and district, unrelated text.
    ("پیاده رو خیابان فاطمی خراب شده", "road_damage", "6", "فاطمی", None),
]


@pytest.fixture(scope="module")
def open_candidates(normalizer: Normalizer) -> list[DuplicateCandidate]:
    return [DuplicateCandidate(k, normalizer.normalize(t), c, d, p) for k, t, c, d, p in OPEN]


@pytest.mark.parametrize(("raw", "category", "district", "place", "expected"), CASES)
def test_find_duplicate(
    normalizer: Normalizer,
    open_candidates: list[DuplicateCandidate],
    raw: str,
    category: str,
    district: str,
    place: str,
    expected: str | None,
) -> None:
    new = DuplicateCandidate("NEW", normalizer.normalize(raw), category, district, place)
    found = find_duplicate(new, open_candidates, threshold=75)
    assert (found[0] if found else None) == expected


def test_district_mismatch_lowers_score(normalizer: Normalizer) -> None:
    text = normalizer.normalize("زباله های کوچه جمع نشده")
    same = similarity(
        DuplicateCandidate("a", text, "waste_collection", "6"),
        DuplicateCandidate("b", text, "waste_collection", "6"),
    )
    other = similarity(
        DuplicateCandidate("a", text, "waste_collection", "6"),
        DuplicateCandidate("b", text, "waste_collection", "9"),
    )
    assert same == 100 and other <= 80


def test_fillers_do_not_make_reports_alike() -> None:
    assert content_tokens("سلام خسته نباشید لطفا رسیدگی کنید چاله") == "چاله"


def test_fast_for_hundreds_of_candidates(
    normalizer: Normalizer, open_candidates: list[DuplicateCandidate]
) -> None:
    many = [
        DuplicateCandidate(f"K{i}", f"{c.normalized_text} {i}", c.category, c.district, c.place)
        for i in range(100)
        for c in open_candidates
    ]
    new = DuplicateCandidate("NEW", normalizer.normalize("چاله تو رسالت"), "road_damage", "4", "رسالت")
    start = time.perf_counter()
    find_duplicate(new, many, threshold=75)
    assert time.perf_counter() - start < 0.05  # 500 candidates well under a request's budget
