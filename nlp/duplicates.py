"""Near-duplicate scoring: is a new report the same problem as an open ticket?

The bot picks the open tickets of the time window from the store; this module only scores them.
Same category is required. Text similarity is the mean of rapidfuzz's token-set ratio (word
order free, tolerant to one report adding detail) and token-sort ratio (which stops a short report
that is a subset of a long one from scoring 100), over normalised tokens
with greetings, fillers and politeness words removed (every report says «سلام لطفا رسیدگی کنید»,
which would otherwise make unrelated reports look alike). The same gazetteer place or district
adds a boost; a different known district subtracts one, since two reports of one pothole cannot
be in two districts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from nlp.letters import fold

# Words that say nothing about the problem (folded forms).
_FILLER_TEXT = """
    سلام درود وقت بخیر خسته نباشید لطفا لطفاً لطف کنید کنین رسیدگی پیگیری ممنون مرسی متشکرم تشکر
    با تشکر الو ببینید ببخشید آقا خانم خواهش میکنم می کنم هست است که و از به در با این اون آن رو
    را یه یک تو توی هم ما من شما خیلی"""
_FILLER = frozenset(_FILLER_TEXT.split())
_TOKEN = re.compile(r"[\w]+")

PLACE_BOOST = 15.0
DISTRICT_BOOST = 8.0
DISTRICT_PENALTY = 20.0


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """A report as the scorer sees it: normalised text plus what was extracted from it."""

    key: str
    normalized_text: str
    category: str
    district: str | None = None
    place: str | None = None


def content_tokens(normalized_text: str) -> str:
    """The problem-bearing tokens of a normalised text, space-joined, in original order."""
    text = fold(normalized_text).replace("\u200c", " ").lower()
    return " ".join(t for t in _TOKEN.findall(text) if t not in _FILLER)


def similarity(a: DuplicateCandidate, b: DuplicateCandidate) -> float:
    """0..100: text similarity of two reports plus the place/district adjustment (any category)."""
    return _adjust(_text_score(content_tokens(a.normalized_text), content_tokens(b.normalized_text)), a, b)


def _text_score(a: str, b: str, cutoff: float = 0.0) -> float:
    set_score = fuzz.token_set_ratio(a, b, score_cutoff=cutoff)
    if not set_score:
        return 0.0
    return (set_score + fuzz.token_sort_ratio(a, b)) / 2


def _adjust(score: float, a: DuplicateCandidate, b: DuplicateCandidate) -> float:
    if a.place and b.place and a.place == b.place:
        score += PLACE_BOOST
    elif a.district and b.district:
        score += DISTRICT_BOOST if a.district == b.district else -DISTRICT_PENALTY
    return max(0.0, min(100.0, score))


def find_duplicate(
    new: DuplicateCandidate,
    open_candidates: Iterable[DuplicateCandidate],
    *,
    threshold: float = 75.0,
) -> tuple[str, float] | None:
    """The best open candidate of the same category scoring ≥ threshold, as (key, score), else None."""
    new_tokens = content_tokens(new.normalized_text)
    if not new_tokens:
        return None
    best: tuple[str, float] | None = None
    for cand in open_candidates:
        if cand.category != new.category or cand.key == new.key:
            continue
        # The set ratio bounds the mean from above, and the boost adds at most PLACE_BOOST: a pair
        # whose set ratio is below threshold - PLACE_BOOST can never qualify, so rapidfuzz stops early.
        raw = _text_score(new_tokens, content_tokens(cand.normalized_text), max(0.0, threshold - PLACE_BOOST))
        if not raw:
            continue
        score = _adjust(raw, new, cand)
        if score >= threshold and (best is None or score > best[1]):
            best = (cand.key, round(score, 1))
    return best
