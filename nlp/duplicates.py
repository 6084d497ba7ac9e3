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
    pair, 300 candidates a report). Two cheap upper bounds, computed for the whole pool at once,
    leave only a few pairs to score:
    - the token-sort ratio (rapidfuzz computes it for the whole pool in one C call);
    - `_set_ratio_bounds`: the token-set ratio bounded from letter counts (see there).
    So (sort + set bound) / 2 + what this pair's place/district adds bounds the final score. The
    set ratio is then computed best bound first, and the search stops as soon as no remaining
    bound can beat the best score found (branch and bound). The result is exactly what scoring
    every pair would give."""

    def __init__(self, candidates: Iterable[DuplicateCandidate] = ()) -> None:
        self._candidates = list(candidates)
        self._tokens = [content_tokens(c.normalized_text) for c in self._candidates]
        self._sorted = [_sorted_tokens(t) for t in self._tokens]
        profiles = [_letter_profile(t) for t in self._tokens]
        self._letters = np.stack([p.letters for p in profiles]) if profiles else _NO_LETTERS
        self._sizes = np.array([(p.total, p.words) for p in profiles], dtype=np.int32).reshape(-1, 2)
        self._places: np.ndarray | None = None
        self._districts: np.ndarray | None = None
        self._has_district: np.ndarray | None = None

    def add_newest(self, candidate: DuplicateCandidate) -> None:
        """A report newer than every other in the pool (it goes first)."""
        tokens = content_tokens(candidate.normalized_text)
        profile = _letter_profile(tokens)
        self._candidates.insert(0, candidate)
        self._tokens.insert(0, tokens)
        self._sorted.insert(0, _sorted_tokens(tokens))
        self._letters = np.vstack([profile.letters, self._letters])
        self._sizes = np.vstack([np.array([[profile.total, profile.words]], dtype=np.int32), self._sizes])
        self._places = self._districts = self._has_district = None

    def _boosts(self, new: DuplicateCandidate) -> np.ndarray:
        """What `_adjust` adds for each candidate, vectorised (place first, then district)."""
        boost = np.zeros(len(self._candidates))
        if not (new.place or new.district):
            return boost
        if self._places is None or self._districts is None or self._has_district is None:
            self._places = np.array([c.place for c in self._candidates], dtype=object)
            self._districts = np.array([c.district for c in self._candidates], dtype=object)
            self._has_district = np.array([c.district is not None for c in self._candidates], dtype=bool)
        if new.district:
            known = self._has_district
            boost[known] = np.where(self._districts[known] == new.district, DISTRICT_BOOST, -DISTRICT_PENALTY)
        if new.place:
            boost[self._places == new.place] = PLACE_BOOST
        return boost

    def _set_ratio_bounds(self, new_tokens: str) -> np.ndarray:
        """An upper bound of `fuzz.token_set_ratio(new_tokens, candidate)` for every candidate.

        rapidfuzz's token-set ratio of word sets A and B (I = A ∩ B, joined lengths |A|, |B|) is
        100 if I is not empty and one set contains the other; otherwise the best of
        - r_full = 100 - 100·indel(A∖B, B∖A) / (|A| + |B|) (the common part I cancels out), and
        - r_ab = 200·|I| / (|I| + |A|), r_ba likewise (only when I is not empty).
        An indel distance is at least the sum of the differences of the two strings' letter counts
        (the "bag distance"), and the letters of A∖B minus those of B∖A are those of A minus those
        of B: so r_full is bounded by letter counts alone. |I| is at most the letters the two
        share plus the spaces between its words, which are fewer than either set's. A set can only
        contain the other if its letter counts do. All of it is a few array operations over the
        letters of the new report. `tests/nlp/test_duplicates.py` checks each part against
        rapidfuzz on random texts, near copies and subsets."""
        subset, full, r_ab, r_ba = self._set_ratio_parts(new_tokens)
        bound = np.where(subset, 100.0, np.maximum(full, np.maximum(r_ab, r_ba)))
        return np.minimum(bound + 1e-6, 100.0)  # a hair up: float rounding never cuts a tie

    def _set_ratio_parts(self, new_tokens: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(one set may contain the other, bound of r_full, bound of r_ab, bound of r_ba) per candidate."""
        mine = _letter_profile(new_tokens)
        columns = np.flatnonzero(mine.letters)
        own = mine.letters[columns]
        theirs = self._letters[:, columns]
        total, words = self._sizes[:, 0], self._sizes[:, 1]
        shared_letters = theirs.sum(axis=1)
        elsewhere = total - shared_letters  # the candidate's letters the new report lacks
        a_len = mine.total + mine.words - 1
        b_len = total + words - 1
        bag = np.abs(theirs - own).sum(axis=1) + elsewhere + np.abs(words - mine.words)
        full = 100.0 - 100.0 * bag / np.maximum(a_len + b_len, 1)
        # Unless one set contains the other, I lacks a word of each: at most the letters both have
        # plus the spaces between one word fewer than the smaller set has.
        common = np.minimum(theirs, own).sum(axis=1) + np.minimum(words, mine.words) - 2
        common = np.maximum(common, 0)
        r_ab = 200.0 * common / (common + a_len)
        r_ba = 200.0 * common / np.maximum(common + b_len, 1)  # an empty candidate: 0
        within = (theirs >= own).all(axis=1) & (words >= mine.words)  # new ⊆ candidate possible
        contains = (theirs <= own).all(axis=1) & (elsewhere == 0) & (words <= mine.words)
        return within | contains, full, r_ab, r_ba

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
        upper = np.minimum((sorts + self._set_ratio_bounds(new_tokens)) / 2 + boosts, 100.0)
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


# --- letter counts for the set-ratio bound ------------------------------------------------------

_COLUMNS = 96  # letters get a column each as they are first seen; the rest share the last one
_NO_LETTERS = np.zeros((0, _COLUMNS), dtype=np.int32)
_LETTER_COLUMN: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class _LetterProfile:
    """A token string's distinct words as the bound sees them."""

    letters: np.ndarray  # how often each letter occurs in the distinct words, by column (int32)
    total: int  # letters in the distinct words
    words: int  # distinct words


@lru_cache(maxsize=8192)
def _letter_profile(tokens: str) -> _LetterProfile:
    """Cached like `content_tokens`: the pool's reports are profiled once, not once per group.

    Letters sharing the overflow column only loosen the bound (their counts add up), never break it."""
    words = set(tokens.split())
    counts = [0] * _COLUMNS
    for letter in "".join(words):
        column = _LETTER_COLUMN.get(letter)
        if column is None:
            column = _LETTER_COLUMN[letter] = min(len(_LETTER_COLUMN), _COLUMNS - 1)
        counts[column] += 1
    letters = np.array(counts, dtype=np.int32)
    letters.flags.writeable = False  # cached and shared by every pool
    return _LetterProfile(letters, sum(counts), len(words))
