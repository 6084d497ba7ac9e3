"""Near-duplicates: same problem reported twice, across channels, spellings and digit scripts."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from nlp.duplicates import DuplicateCandidate, DuplicatePool, content_tokens, find_duplicate, similarity
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


WORDS = [
    "زباله",
    "کوچه",
    "چاله",
    "خیابان",
    "چراغ",
    "پارک",
    "سگ",
    "آب",
    "لوله",
    "خاموش",
    "جمع",
    "نشده",
    "شکسته",
    "بزرگ",
    "ولیعصر",
    "رسالت",
]


@given(
    pool=st.lists(
        st.tuples(
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=8),
            st.sampled_from([None, "6", "4"]),
            st.sampled_from([None, "ولیعصر", "رسالت"]),
        ),
        max_size=40,
    ),
    new=st.tuples(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=8),
        st.sampled_from([None, "6", "4"]),
        st.sampled_from([None, "ولیعصر", "رسالت"]),
    ),
    threshold=st.sampled_from([50.0, 75.0, 90.0]),
)
@settings(max_examples=300, deadline=None)
def test_pool_is_exactly_the_best_of_every_pair(
    pool: list[tuple[list[str], str | None, str | None]],
    new: tuple[list[str], str | None, str | None],
    threshold: float,
) -> None:
    """The pruned search gives what scoring every pair gives: the highest score ≥ threshold,
    the earliest (newest) candidate on a tie."""
    candidates = [
        DuplicateCandidate(f"K{i}", " ".join(words), "c", district, place)
        for i, (words, district, place) in enumerate(pool)
    ]
    report = DuplicateCandidate("NEW", " ".join(new[0]), "c", new[1], new[2])
    expected: tuple[str, float] | None = None
    best = threshold
    for candidate in candidates:
        score = similarity(report, candidate)
        if score > best or (expected is None and score == best):
            expected, best = (candidate.key, round(score, 1)), score
    assert DuplicatePool(candidates).best(report, threshold=threshold) == expected


_NEAR_WORD = st.text(alphabet="ابتسکگی۱2x", min_size=1, max_size=4)  # few letters: words look alike
_ANY_WORD = st.sampled_from(WORDS) | _NEAR_WORD | st.text(min_size=1, max_size=6).filter(str.strip)


@st.composite
def _report_and_pool(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A report and a pool of variants of it: some of its words (a subset), plus a few others
    (a superset, a near copy), or unrelated words — where the bound must be tight and still hold."""
    words = draw(st.lists(_ANY_WORD, min_size=1, max_size=8))
    pool = []
    for _ in range(draw(st.integers(1, 12))):
        kept = [w for w in words if draw(st.booleans())]
        pool.append(" ".join(kept + draw(st.lists(_ANY_WORD, max_size=3))))
    return " ".join(words), pool


def _exact_parts(a: str, b: str) -> tuple[bool, float, float, float]:
    """rapidfuzz's token-set ratio taken apart: (a set contains the other, r_full, r_ab, r_ba)."""
    set_a, set_b = set(a.split()), set(b.split())
    sect = len(" ".join(set_a & set_b))
    diff_ab, diff_ba = " ".join(sorted(set_a - set_b)), " ".join(sorted(set_b - set_a))
    subset = bool(set_a & set_b) and (not diff_ab or not diff_ba)
    sect_ab, sect_ba = sect + (sect != 0) + len(diff_ab), sect + (sect != 0) + len(diff_ba)
    full = 100 - 100 * Indel.distance(diff_ab, diff_ba) / (sect_ab + sect_ba) if sect_ab + sect_ba else 0.0
    r_ab = 100 - 100 * (1 + len(diff_ab)) / (sect + sect_ab) if sect else 0.0
    r_ba = 100 - 100 * (1 + len(diff_ba)) / (sect + sect_ba) if sect else 0.0
    return subset, full, r_ab, r_ba


@given(case=_report_and_pool())
@settings(max_examples=1000, deadline=None)
def test_set_ratio_bound_is_never_below_the_set_ratio(case: tuple[str, list[str]]) -> None:
    """The letter-count bound that prunes the search holds, part by part, for any words (Persian,
    Latin, digits, symbols, more distinct letters than it has columns for, repeats, subsets)."""
    text, texts = case
    tokens = content_tokens(text)
    assume(tokens)
    built = DuplicatePool(DuplicateCandidate(f"K{i}", t, "c") for i, t in enumerate(texts))
    grown = DuplicatePool()
    for t in reversed(texts):  # add_newest must keep the letter counts in step with the texts
        grown.add_newest(DuplicateCandidate("K", t, "c"))
    bounds = built._set_ratio_bounds(tokens)
    assert (grown._set_ratio_bounds(tokens) == bounds).all()
    parts = zip(*built._set_ratio_parts(tokens), strict=True)
    for bound, (subset, full, r_ab, r_ba), t in zip(bounds, parts, texts, strict=True):
        theirs = content_tokens(t)
        exact = _exact_parts(tokens, theirs)
        ratio = fuzz.token_set_ratio(tokens, theirs)
        if theirs:  # the reference above is rapidfuzz's own computation
            assert ratio == pytest.approx(100.0 if exact[0] else max(exact[1:]))
        assert bound >= ratio
        assert subset or not exact[0]
        if theirs and not exact[0]:  # otherwise the ratio is 0 or 100 whatever the parts say
            assert full >= exact[1] - 1e-9 and r_ab >= exact[2] - 1e-9 and r_ba >= exact[3] - 1e-9
