"""Warm duplicate pools (`nlp.duplicates.WarmPools`, `Understander.open_pool`): kept from batch to
batch, they must answer exactly as a pool built afresh from the same open tickets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake.understanding import Understander
from nlp.duplicates import DuplicateCandidate, DuplicatePool, WarmPools
from storage.tickets import DuplicateRow

_TEXTS = [
    "چاله بزرگ خیابان ولیعصر",
    "چاله خیابان ولیعصر نبش کوچه 12",
    "چراغ کوچه 12 خاموشه",
    "زباله جلوی پارک لاله جمع نشده",
    "آشغال پارک لاله مونده",
    "دریچه فاضلاب خیابان ولیعصر بازه",
    "درخت افتاده روی پیاده رو کوچه 14",
]
_TICKET = st.tuples(
    st.integers(1, 40),
    st.sampled_from(_TEXTS),
    st.sampled_from([None, "6", "4"]),
    st.sampled_from([None, "ولیعصر", "لاله", "کوچه 12"]),
)


def _rows(tickets: list[tuple[int, str, str | None, str | None]]) -> list[DuplicateCandidate]:
    """Open tickets as the store gives them: one row per id, newest (highest id) first."""
    by_id = {i: DuplicateCandidate(str(i), text, "c", d, p) for i, text, d, p in tickets}
    return [by_id[i] for i in sorted(by_id, reverse=True)]


@given(
    rounds=st.lists(st.lists(_TICKET, max_size=25), min_size=1, max_size=5),
    new=st.lists(_TICKET, min_size=1, max_size=4),
    threshold=st.sampled_from([0.0, 40.0, 80.0]),
)
@settings(max_examples=300, deadline=None)
def test_a_kept_pool_answers_as_a_fresh_one(
    rounds: list[list[tuple[int, str, str | None, str | None]]],
    new: list[tuple[int, str, str | None, str | None]],
    threshold: float,
) -> None:
    """Round after round the open tickets change (opened, closed, text or place edited); the kept
    pool's answers — and after the batch opens tickets of its own — are the fresh pool's."""
    warm = WarmPools()
    for tickets in rounds:
        rows = _rows(tickets)
        fresh, kept = DuplicatePool(rows), warm.pool(("c", None), rows)
        assert len(kept) == len(rows)
        for k, (_, text, district, place) in enumerate(new):
            report = DuplicateCandidate("NEW", text, "c", district, place)
            assert kept.best(report, threshold=threshold) == fresh.best(report, threshold=threshold)
            opened = DuplicateCandidate(str(-(k + 1)), text, "c", district, place)
            fresh.add_newest(opened)
            kept.add_newest(opened)


def test_what_a_batch_opens_stays_in_its_batch() -> None:
    """A ticket the batch opens has no id before its INSERT and may be rolled back: the next batch
    must not find it unless the store lists it."""
    warm = WarmPools()
    report = DuplicateCandidate("NEW", "چاله بزرگ خیابان ولیعصر", "c", "6", "ولیعصر")
    first = warm.pool(("c", "6"), [])
    first.add_newest(DuplicateCandidate("-1", report.normalized_text, "c", "6", "ولیعصر"))
    assert first.best(report) == ("-1", 100.0)
    assert warm.pool(("c", "6"), []).best(report) is None
    stored = [DuplicateCandidate("7", report.normalized_text, "c", "6", "ولیعصر")]
    assert warm.pool(("c", "6"), stored).best(report) == ("7", 100.0)


def test_a_ticket_closed_or_edited_is_seen_so() -> None:
    warm = WarmPools()
    report = DuplicateCandidate("NEW", "چاله بزرگ خیابان ولیعصر", "c", "6", "ولیعصر")
    ticket = DuplicateCandidate("3", "چاله بزرگ خیابان ولیعصر", "c", "6", "ولیعصر")
    assert warm.pool(("c", "6"), [ticket]).best(report) == ("3", 100.0)
    edited = DuplicateCandidate("3", "زباله جلوی پارک لاله جمع نشده", "c", "6", "لاله")
    assert warm.pool(("c", "6"), [edited]).best(report) is None
    assert warm.pool(("c", "6"), []).best(report) is None


def test_the_newest_of_equal_matches_wins_across_kept_and_batch() -> None:
    """Equal scores: the newer ticket wins, whether it is kept or opened by the batch."""
    text, place = "چاله بزرگ خیابان ولیعصر", "ولیعصر"
    report = DuplicateCandidate("NEW", text, "c", "6", place)
    rows = [DuplicateCandidate(k, text, "c", "6", place) for k in ("9", "5")]
    pool = WarmPools().pool(("c", "6"), rows)
    assert pool.best(report) == ("9", 100.0)
    pool.add_newest(DuplicateCandidate("-1", text, "c", "6", place))
    assert pool.best(report) == ("-1", 100.0)


def test_pools_beyond_the_limit_are_forgotten_least_recently_used_first() -> None:
    warm = WarmPools(max_pools=2)
    for key in (("a", None), ("b", None), ("a", None), ("c", None)):
        warm.pool(key, [])
    assert len(warm) == 2
    assert set(warm._pools) == {("a", None), ("c", None)}


@pytest.mark.parametrize("district", [None, "6"])
def test_understander_open_pool_is_its_duplicate_pool(district: str | None) -> None:
    """The gateway's door: store rows in, the same answers as `duplicate_pool`, twice in a row."""
    from nlp.keywords import KeywordClassifier

    from .conftest import DEPARTMENTS

    nlp = Understander(KeywordClassifier(DEPARTMENTS, fallback_category="general"))
    rows = [
        DuplicateRow(12, "چاله بزرگ خیابان ولیعصر", "6", "ولیعصر"),
        DuplicateRow(8, "چراغ کوچه 12 خاموشه", "6", "کوچه 12"),
    ]
    found = nlp.understand("چاله بزرگ خیابان ولیعصر منطقه 6")
    for _ in range(2):
        assert Understander.duplicate_of(found, nlp.open_pool("road_damage", district, rows), 80.0) == (
            Understander.duplicate_of(found, Understander.duplicate_pool("road_damage", rows), 80.0)
        )
    assert Understander.duplicate_of(found, nlp.open_pool("road_damage", district, rows), 80.0) == 12
