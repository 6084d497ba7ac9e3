"""Near-duplicates: a new report joins an open ticket only for the same problem at the same place.

The pair set (`nlp/data/dev_pairs/duplicate_pairs.jsonl`) is scored through the production path:
the hazm normaliser and the gazetteer as `bot.intake.understanding.Understander` runs them, the store's
district filter, and `Understander.duplicate_of` with the configured threshold.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.duplicates_eval import BLIND_PAIRS, Pair, decide, load_pairs, scores
from bot.config import load_config
from nlp.duplicates import (
    DEFAULT_THRESHOLD,
    DuplicateCandidate,
    DuplicatePool,
    PlaceMatch,
    content_tokens,
    find_duplicate,
    place_relation,
    similarity,
)
from nlp.normalizer import Normalizer
from nlp.places import Gazetteer


@pytest.fixture(scope="module")
def threshold() -> float:
    """The join threshold the bot is configured with by default."""
    return load_config(None, env={}).gateway.duplicate_threshold


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def _joins(normalizer: Normalizer, a: str, b: str, category: str, threshold: float) -> bool:
    """Does `b`, a new report, join the open ticket `a`? (the production path, one pair)"""
    return decide([Pair(a, b, category, True, "test")], threshold, normalizer)[0].joined


def test_the_configured_threshold_is_the_one_the_scorer_is_calibrated_for(threshold: float) -> None:
    assert threshold == DEFAULT_THRESHOLD


def test_pair_set_joins_with_precision_095(normalizer: Normalizer, threshold: float) -> None:
    """Issue 14: precision ≥ 0.95 on the labelled pairs, and joining still happens (recall)."""
    pairs = load_pairs()
    assert len(pairs) >= 220
    assert 0.35 <= sum(p.same for p in pairs) / len(pairs) <= 0.45
    result = scores(decide(pairs, threshold, normalizer))
    assert result.precision >= 0.95, result
    assert result.recall >= 0.75, result


def test_blind_pair_set_keeps_wrong_joins_rare(normalizer: Normalizer, threshold: float) -> None:
    """120 pairs written without sight of the rules or the tuning pairs (docs/NLP.md): the honest
    figure. Joining is cautious, so recall is low there; a wrong join is what must stay rare."""
    pairs = load_pairs(BLIND_PAIRS)
    assert len(pairs) >= 120
    result = scores(decide(pairs, threshold, normalizer))
    assert result.precision >= 0.85, result


def test_pair_set_kinds_never_join_across_places(normalizer: Normalizer, threshold: float) -> None:
    """The same problem in another alley, street or neighbourhood is another ticket."""
    pairs = [p for p in load_pairs() if p.kind == "same_problem_other_place"]
    assert len(pairs) >= 40
    assert not [d.pair for d in decide(pairs, threshold, normalizer) if d.joined]


@pytest.mark.parametrize(
    ("a", "b", "category"),
    [
        (
            "پیاده رو خیابان فاطمی جلوی بانک ملت شکسته و موزاییکاش بالا اومده",
            "مغازه میوه فروشی خیابان فاطمی جلوی بانک ملت جعبه های میوه رو چیده تو پیاده رو",
            "road_damage",
        ),
        (
            "پیاده رو خیابان فاطمی جلوی بانک ملت شکسته و موزاییکاش بالا اومده",
            "مغازه میوه فروشی خیابان فاطمی جلوی بانک ملت جعبه های میوه رو چیده تو پیاده رو",
            "sidewalk_obstruction",
        ),
        (
            "یه چاله بزرگ وسط خیابان پیروزی نرسیده به کوچه ۴۰",
            "دریچه فاضلاب خیابان پیروزی نرسیده به کوچه ۴۰ بازه",
            "road_damage",
        ),
        ("درخت چنار پارک ملت سمت ونک خشک شده", "چمن‌های پارک ملت سمت ونک آب نخورده و زرد شده", "green_space"),
        ("چراغای پارک لاله خاموشه", "چراغای پارک لاله تا ظهر روشن میمونن", "street_lighting"),
    ],
)
def test_different_problems_at_one_place_do_not_join(
    normalizer: Normalizer, threshold: float, a: str, b: str, category: str
) -> None:
    assert not _joins(normalizer, a, b, category, threshold)
    assert not _joins(normalizer, b, a, category, threshold)


@pytest.mark.parametrize(
    ("a", "b", "category"),
    [
        (  # one pothole, two citizens, two registers
            "یه چاله خیلی گنده وسط خیابان ستارخان روبروی کوچه ۱۴ هست ماشینا میفتن توش",
            "با سلام و احترام؛ در خیابان ستارخان مقابل کوچه چهاردهم، چاله عمیقی در آسفالت ایجاد شده و "
            "چند خودرو آسیب دیده‌اند. بارها با ۱۳۷ تماس گرفته‌ایم. لطفا رسیدگی فرمایید.",
            "road_damage",
        ),
        (
            "سلام زباله های کوچه ۱۲ خیابان ولیعصر سه روزه جمع نشده",
            "زباله هاي كوچه ١٢ وليعصر رو سه روزه نبردن",  # Arabic letters and digits
            "waste_collection",
        ),
        (
            "سلام زباله های کوچه ۱۲ خیابان ولیعصر سه روزه جمع نشده",
            "zobale haye koche 12 valiasr jam nashode",
            "waste_collection",
        ),
        ("چراغ های پارک لاله شب ها خاموشه", "چراغای پارک لاله خاموشه شبا", "street_lighting"),
    ],
)
def test_one_problem_told_twice_joins(
    normalizer: Normalizer, threshold: float, a: str, b: str, category: str
) -> None:
    assert _joins(normalizer, a, b, category, threshold)
    assert _joins(normalizer, b, a, category, threshold)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("زباله‌های کوچه ۱۲ ولیعصر سه روزه جمع نشده", "زباله های کوچه ۱۴ ولیعصر سه روزه جمع نشده"),
        ("زباله‌های کوچه ۱۲ ولیعصر سه روزه جمع نشده", "زباله های کوچه ۱۲ پاسداران سه روزه جمع نشده"),
        ("بوی زباله پلاک ۱۷ کوچه یاسمن", "بوی زباله پلاک ۲۳ کوچه یاسمن"),
        ("زباله‌های کوچه پنجم نارمک جمع نشده", "زباله های کوچه پنجم تهرانپارس جمع نشده"),  # another district
        ("زباله کوچه ما مونده", "زباله کوچه ما مونده"),  # no place, too short to be a forwarded copy
    ],
)
def test_the_same_words_elsewhere_do_not_join(
    normalizer: Normalizer, threshold: float, a: str, b: str
) -> None:
    assert not _joins(normalizer, a, b, "waste_collection", threshold)


def test_a_forwarded_message_joins_without_a_place(normalizer: Normalizer, threshold: float) -> None:
    text = "سلام خسته نباشید سه روزه زباله های کوچه جمع نشده و بوی بدی گرفته لطفا رسیدگی کنید"
    assert _joins(normalizer, text, text, "waste_collection", threshold)


@pytest.mark.parametrize(
    "text", ["کوچه ۱۲ ولیعصر", "کوچه دوازدهم ولیعصر", "koche 12 valiasr", "کوچه دوازده خیابان ولیعصر"]
)
def test_alley_numbers_in_any_writing_are_one_alley(normalizer: Normalizer, text: str) -> None:
    a = DuplicateCandidate("a", normalizer.normalize("زباله‌های کوچه ۱۲ خیابان ولیعصر"), "c", "6", "ولیعصر")
    b = DuplicateCandidate("b", normalizer.normalize(f"زباله‌های {text}"), "c")
    assert place_relation(a, b) is PlaceMatch.SPOT


def test_a_different_district_is_another_place() -> None:
    a = DuplicateCandidate("a", "زباله های کوچه 3 جمع نشده", "c", "6", "کوچه 3")
    b = DuplicateCandidate("b", "زباله های کوچه 3 جمع نشده", "c", "9", "کوچه 3")
    assert place_relation(a, b) is PlaceMatch.CONFLICT and similarity(a, b) == 0


def test_greetings_politeness_and_complaint_verbs_are_no_problem_words() -> None:
    assert content_tokens("سلام خسته نباشید لطفا رسیدگی کنید چاله") == "surface"
    assert content_tokens("با عرض سلام و احترام، بارها با ۱۳۷ تماس گرفته‌ایم ولی کسی نیامده") == ""


def test_find_duplicate_keeps_to_the_category(normalizer: Normalizer) -> None:
    text = normalizer.normalize("چراغ های پارک لاله شب ها خاموشه")
    ticket = DuplicateCandidate("T", text, "street_lighting", "6", "لاله")
    assert find_duplicate(DuplicateCandidate("N", text, "street_lighting", "6", "لاله"), [ticket]) == (
        "T",
        100.0,
    )
    assert find_duplicate(DuplicateCandidate("N", text, "green_space", "6", "لاله"), [ticket]) is None


# --- the pool is exactly the best of every pair ---------------------------------------------------

_PLACES = [
    "خیابان ولیعصر", "کوچه ۱۲ ولیعصر", "کوچه دوازدهم خیابان ولیعصر", "کوچه ۱۴ ولیعصر", "پارک لاله",
    "خیابان پاسداران روبروی بانک ملت", "کوچه رضایی", "پلاک ۷ کوچه گلستان", "خط ۲۱۸", "ولیعصر", "",
]  # fmt: skip
_PROBLEMS = [
    "چاله بزرگ", "گودال", "دریچه باز", "زباله جمع نشده", "مخزن زباله پر شده", "چراغ خاموش",
    "درخت خشک", "سگ ولگرد", "جعبه میوه تو پیاده رو", "پیاده رو شکسته", "",
]  # fmt: skip
_FILLERS = ["", "سلام", "لطفا رسیدگی کنید", "ماشینا میفتن توش", "سه روزه"]
_REPORT = st.tuples(
    st.lists(st.sampled_from(_PLACES + _PROBLEMS + _FILLERS), min_size=1, max_size=4).map(" ".join),
    st.sampled_from([None, "6", "6", "4"]),
    st.sampled_from([None, "ولیعصر", "لاله", "کوچه 12"]),
)


@given(pool=st.lists(_REPORT, max_size=30), new=_REPORT, threshold=st.sampled_from([40.0, 75.0, 90.0]))
@settings(max_examples=400, deadline=None)
def test_pool_is_exactly_the_best_of_every_pair(
    pool: list[tuple[str, str | None, str | None]], new: tuple[str, str | None, str | None], threshold: float
) -> None:
    """`best` looks candidates up by place words instead of scoring all: it must find what
    scoring every pair finds — the highest score ≥ threshold (above 0), the newest on a tie —
    for a pool built at once and for one grown newest first."""
    candidates = [DuplicateCandidate(f"K{i}", text, "c", d, p) for i, (text, d, p) in enumerate(pool)]
    report = DuplicateCandidate("NEW", new[0], "c", new[1], new[2])
    expected: tuple[str, float] | None = None
    best = threshold
    for candidate in candidates:
        score = similarity(report, candidate)
        if score > 0 and (score > best or (expected is None and score == best)):
            expected, best = (candidate.key, round(score, 1)), score
    assert DuplicatePool(candidates).best(report, threshold=threshold) == expected
    grown = DuplicatePool()
    for candidate in reversed(candidates):
        grown.add_newest(candidate)
    assert grown.best(report, threshold=threshold) == expected


@pytest.mark.parametrize(
    ("ticket", "new"),
    [("چاله بزرگ ولیعصر", "چاله بزرگ خیابان ولیعصر"), ("چاله بزرگ خیابان ولیعصر", "چاله بزرگ ولیعصر")],
)
def test_pool_finds_a_place_one_report_names_bare(ticket: str, new: str) -> None:
    """One report says «خیابان ولیعصر», the other only «ولیعصر»: the pool must look it up both ways."""
    open_ticket = DuplicateCandidate("T", ticket, "c")
    report = DuplicateCandidate("N", new, "c")
    assert place_relation(open_ticket, report) is PlaceMatch.AREA
    assert DuplicatePool([open_ticket]).best(report) == ("T", round(similarity(report, open_ticket), 1))


def test_similarity_is_symmetric_on_the_pair_set(normalizer: Normalizer, gazetteer: Gazetteer) -> None:
    for pair in load_pairs()[:80]:
        a, b = (_candidate(normalizer, gazetteer, key, text) for key, text in (("a", pair.a), ("b", pair.b)))
        assert similarity(a, b) == pytest.approx(similarity(b, a))


def _candidate(normalizer: Normalizer, gazetteer: Gazetteer, key: str, text: str) -> DuplicateCandidate:
    location = gazetteer.locate(text)
    place = (location.place or location.text) if location else None
    return DuplicateCandidate(
        key, normalizer.normalize(text), "c", location.district if location else None, place
    )


def test_500_candidates_score_well_under_50_ms(normalizer: Normalizer, gazetteer: Gazetteer) -> None:
    """Intake scores each new report against up to 300 open tickets of its category and district."""
    texts = sorted({t for p in load_pairs() for t in (p.a, p.b)})
    candidates = [_candidate(normalizer, gazetteer, str(i), texts[i % len(texts)]) for i in range(500)]
    reports = [_candidate(normalizer, gazetteer, "new", t) for t in texts[:50]]
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        pool = DuplicatePool(candidates)
        for report in reports:
            pool.best(report, threshold=DEFAULT_THRESHOLD)
        timings.append((time.perf_counter() - start) / len(reports))
    assert min(timings) < 0.005  # per report, pool building included: well under 50 ms
