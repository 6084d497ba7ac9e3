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
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

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


@lru_cache(maxsize=8192)
def content_tokens(normalized_text: str) -> str:
    """The problem-bearing tokens of a normalised text, space-joined, in original order.

    Cached: the same open tickets are scored against every new report of their category."""
    text = fold(normalized_text).replace("\u200c", " ").lower()
    return " ".join(t for t in _TOKEN.findall(text) if t not in _FILLER)


@lru_cache(maxsize=8192)
def _sorted_tokens(tokens: str) -> str:
    return " ".join(sorted(tokens.split()))


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
    pool = DuplicatePool(c for c in open_candidates if c.category == new.category and c.key != new.key)
    return pool.best(new, threshold=threshold)


class DuplicatePool:
    """Open reports of one category, tokenised once, to score many new reports against.

    Candidates are kept in the caller's order (newest first); on equal scores the earlier wins.

    Scoring every candidate with the token-set ratio is the expensive part of intake (about 2 µs a
    pair, 300 candidates a report). The token-sort ratio is ten times cheaper and, since the set
    ratio is at most 100, bounds the final score from above: (sort + 100) / 2 + what this pair's
    place/district adds. rapidfuzz computes the sort ratio for the whole pool in one C call. The
    set ratio is then computed best bound first, and the search stops as soon as no remaining
    bound can beat the best score found (branch and bound). The result is exactly what scoring
    every pair would give."""

    def __init__(self, candidates: Iterable[DuplicateCandidate] = ()) -> None:
        self._candidates = list(candidates)
        self._tokens = [content_tokens(c.normalized_text) for c in self._candidates]
        self._sorted = [_sorted_tokens(t) for t in self._tokens]
        self._places: np.ndarray | None = None
        self._districts: np.ndarray | None = None

    def add_newest(self, candidate: DuplicateCandidate) -> None:
        """A report newer than every other in the pool (it goes first)."""
        self._candidates.insert(0, candidate)
        self._tokens.insert(0, content_tokens(candidate.normalized_text))
        self._sorted.insert(0, _sorted_tokens(self._tokens[0]))
        self._places = self._districts = None

    def _boosts(self, new: DuplicateCandidate) -> np.ndarray:
        """What `_adjust` adds for each candidate, vectorised (place first, then district)."""
        boost = np.zeros(len(self._candidates))
        if not (new.place or new.district):
            return boost
        if self._places is None or self._districts is None:
            self._places = np.array([c.place for c in self._candidates], dtype=object)
            self._districts = np.array([c.district for c in self._candidates], dtype=object)
        if new.district:
            known = np.not_equal(self._districts, None)
            boost[known] = np.where(self._districts[known] == new.district, DISTRICT_BOOST, -DISTRICT_PENALTY)
        if new.place:
            boost[self._places == new.place] = PLACE_BOOST
        return boost

    def best(self, new: DuplicateCandidate, *, threshold: float = 75.0) -> tuple[str, float] | None:
        """The best candidate scoring ≥ threshold against `new`, as (key, score), else None."""
        new_tokens = content_tokens(new.normalized_text)
        if not new_tokens or not self._candidates:
            return None
        # token_sort_ratio is the plain ratio of the sorted token strings: sort once, not per pair.
        # float64: cdist defaults to float32, which would shift scores that tie the threshold.
        sorts = process.cdist(
            [_sorted_tokens(new_tokens)], self._sorted, scorer=fuzz.ratio, dtype=np.float64
        )[0]
        boosts = self._boosts(new)
        upper = np.minimum((sorts + 100.0) / 2 + boosts, 100.0)
        hopeful = np.flatnonzero(upper >= threshold)
        best_score, best_index = threshold, -1
        # Best bound first; a stable sort keeps the pool's order (newest first) among equal bounds.
        for index in hopeful[np.argsort(-upper[hopeful], kind="stable")].tolist():
            bound = float(upper[index])
            if bound < best_score or (bound == best_score and best_index >= 0 and index > best_index):
                break  # nothing left can beat (or tie earlier than) the best found
            sort_score = float(sorts[index])
            needed = 2 * (best_score - float(boosts[index])) - sort_score  # set score that ties the best
            # The cutoff only skips work; a hair below `needed` so float rounding never skips a tie.
            cutoff = max(0.0, needed - 1e-6)
            set_score = fuzz.token_set_ratio(new_tokens, self._tokens[index], score_cutoff=cutoff)
            score = _adjust((set_score + sort_score) / 2, new, self._candidates[index])
            if score > best_score or (score == best_score and (best_index < 0 or index < best_index)):
                best_score, best_index = score, index
        if best_index < 0:
            return None
        return self._candidates[best_index].key, round(best_score, 1)
