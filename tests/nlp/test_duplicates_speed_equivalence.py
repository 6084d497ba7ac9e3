"""Cheaper near-duplicate scoring gives exactly the old results.

`nlp/duplicates.py` was made cheaper per comparison (a place's spot families and named spots, and
a new report's lookup keys, computed once; a pair with no head noun in common skipped when it cannot
reach the best score; the word-level lexicon look-ups short-circuited). Below is a
verbatim copy of the code as it was before (the reference), run against the new code over every
text of the shipped dev and held-out sets, those texts with alleys and plates added, and random
perturbations of them: profiles, pair scores, place relations and `best` (pools and batch overlays)
must be identical, float for float. The copy is an oracle for this one refactoring (issue 19): when
the scoring is changed on purpose, delete this file (its behaviour is pinned by test_duplicates.py,
test_warm_pools.py and bench/duplicates_eval.py), not the change.
"""

# ruff: noqa: E501, RUF001, RUF003

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nlp.duplicates as dup
from nlp.duplicates import (
    _CLAUSE,
    _CONCEPT_WORDS,
    _CONCEPTS,
    _FAMILY_KEYS,
    _HEAD_NAMES,
    _HONORIFICS,
    _KINDS,
    _MARKERS,
    _NUMBER_WORDS,
    _NUMBERED,
    _ORDINALS,
    _ROUTES,
    _STOP,
    _STRICT_FAMILIES,
    _TOKEN,
    _UNITS,
    DEFAULT_THRESHOLD,
    LONGER_EXTRA,
    LONGER_EXTRA_OTHER,
    SHORTER_MISSING,
    SHORTER_MISSING_OTHER,
    SPOT_BONUS,
    VAGUE_PENALTY,
    VERBATIM_WORDS,
    WORD_WEIGHT,
    DuplicateCandidate,
    Entry,
    PlaceMatch,
    _forms,
    _is_name,
    _is_stop,
    _key,
    _stem,
    _words,
)
from nlp.normalizer import Normalizer
from nlp.places import Gazetteer

# ------------------------------------------------------------------------------------------------
# The reference: nlp/duplicates.py as it was before the speed-up, verbatim (the word tables and the
# word-level helpers `_key`, `_words`, `_forms`, `_stem`, `_is_stop`, `_is_name`, which did not
# change, are imported above).
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Where:
    areas: frozenset[str]  # first word of each street, square, neighbourhood or park name
    spots: frozenset[str]  # "family:value": «alley:12», «plate:45», «alley:رضایی», «place:ملت»
    free: frozenset[str]  # other words, in which the other report's area names may occur

    def family(self, name: str) -> frozenset[str]:
        return frozenset(s for s in self.spots if s.startswith(name + ":"))


@dataclass(frozen=True, slots=True)
class _Profile:
    """What scoring needs of one report, computed once (cached by text and place)."""

    terms: dict[str, float]  # problem concept or word → weight
    heads: frozenset[str]
    weight: float
    where: _Where
    verbatim: str  # the text as compared for a forwarded copy; "" when too short to trust


def _match(
    index: dict[str, list[tuple[tuple[str, ...], Entry]]], words: list[str], i: int
) -> tuple[int, Entry | None]:
    """The longest entry starting at word i (each word matched in any of its forms)."""
    best_n, best = 0, None
    for form in _forms(words[i]):
        for entry_words, entry in index.get(form, ()):
            n = len(entry_words)
            if n <= best_n or i + n > len(words):
                continue
            k = 1
            while k < n and entry_words[k] in _forms(words[i + k]):
                k += 1
            if k == n:
                best_n, best = n, entry
    return best_n, best


def _number(word: str) -> int | None:
    """A number written in digits, in words («دوازده») or as an ordinal («دوازدهم»)."""
    if word.isdigit():
        return int(word)
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word in _ORDINALS:
        return _ORDINALS[word]
    for ending in ("مین", "م", "ام"):  # «دوازدهم», «چهاردهمین», «سی‌ام»
        if word.endswith(ending) and word[: -len(ending)] in _NUMBER_WORDS:
            return _NUMBER_WORDS[word[: -len(ending)]]
    return None


def _number_at(words: list[str], i: int) -> tuple[int, int] | None:
    """(value, words read) of a number at word i, compounds included («صد و ده», «چهل و پنجم»)."""
    value = _number(words[i])
    if value is None:
        return None
    n = 1
    while i + n + 1 < len(words) and words[i + n] == "و":
        part = _number(words[i + n + 1])
        if part is None or part >= value:
            break
        value, n = value + part, n + 2
    return value, n


def _address(words: list[str], used: set[int], named: set[str]) -> tuple[set[str], set[str]]:
    """(areas, spots) named in one clause. The positions of markers and names go to `used`, the
    words after a name («پمپ بنزین») to `named` (the other report may name them as places)."""
    areas: set[str] = set()
    spots: set[str] = set()
    i = 0
    while i < len(words):
        n, marker = _match(_MARKERS, words, i)
        if marker is None or _match(_CONCEPTS, words, i)[0] > n:  # «سر و صدا» is no «سر»
            i += 1
            continue
        marker_words = tuple(words[i : i + n])
        used.update(range(i, i + n))
        i += n
        while i < len(words) and (words[i] in _HONORIFICS or words[i] in _KINDS):
            used.add(i)
            i += 1
        if i >= len(words) or _match(_MARKERS, words, i)[1] is not None:
            continue
        family = _FAMILY_KEYS.get(marker_words, "place")
        number = _number_at(words, i)
        if number is not None:
            value, read = number
            used.update(range(i, i + read))
            i += read
            if i < len(words) and words[i] in _UNITS:  # «کوچه سه روزه»: for three days
                continue
            if marker[0] == "area":
                areas.add(str(value))  # «هفده شهریور» is «۱۷ شهریور»
                continue
            spots.add(f"{family}:{value}")
            if family in _NUMBERED and i < len(words) and _is_name(words[i]):
                areas.add(_stem(words[i]))  # «کوچه ۱۲ ولیعصر»: alley 12 of Valiasr
                used.add(i)
                i += 1
            continue
        if not _is_name(words[i], first=True):
            continue
        name = _stem(words[i])
        if marker[0] == "area":
            areas.add(name)
        else:
            spots.add(f"{family}:{name}")
            named.add(name)  # «مدرسه هاشمی»: the other report may call it «خیابان هاشمی»
        used.add(i)
        i += 1
        rest: list[str] = []
        while (
            len(rest) < 2 and i < len(words) and _is_name(words[i]) and _match(_MARKERS, words, i)[1] is None
        ):
            rest.append(_stem(words[i]))  # the rest of a name («پمپ بنزین») is no problem word
            used.add(i)
            i += 1
        if marker_words in _ROUTES:
            spots.update(f"{family}:{word}" for word in rest)  # «خط ونک تجریش» is «خط تجریش ونک»
        named.update(rest)
    return areas, spots


def _gazetteer_place(place: str) -> tuple[set[str], set[str]]:
    """(areas, spots) of the bot's place: a gazetteer name, or an address it wrote out."""
    words = _words(place)
    if words and _match(_MARKERS, words, 0)[1] is not None:
        areas, spots = _address(words, set(), set())
        if areas or spots or len(words) != 2 or words[1] in _CONCEPT_WORDS:
            return areas, spots
        return {_stem(words[1])}, set()  # the gazetteer's «پارک شهر», though «شهر» says nothing
    rest = [w for w in words if w not in _HONORIFICS and _is_name(w)]
    return ({_stem(rest[0])} if rest else set()), set()


def _concepts(words: list[str], used: set[int]) -> tuple[dict[str, float], set[str]]:
    """(problem terms, other words) of the words the address did not use."""
    terms: dict[str, float] = {}
    free: set[str] = set()
    i = 0
    while i < len(words):
        if i in used:
            i += 1
            continue
        word = words[i]
        n, hit = _match(_CONCEPTS, words, i)
        if hit and (n > 1 or word not in _STOP) and not used.intersection(range(i, i + n)):
            if hit[1]:
                terms[hit[0]] = max(terms.get(hit[0], 0.0), hit[1])
            i += n
            continue
        i += 1
        if _is_stop(word) or _number(word) is not None or len(word) < 2:
            continue
        stem = _stem(word)
        free.add(stem)
        terms.setdefault(stem, WORD_WEIGHT)
    return terms, free


@lru_cache(maxsize=8192)
def _profile(normalized_text: str, place: str | None) -> _Profile:
    """Cached: the same open tickets are scored against every new report of their category."""
    terms: dict[str, float] = {}
    areas: set[str] = set()
    spots: set[str] = set()
    free: set[str] = set()
    for clause in _CLAUSE.split(_key(normalized_text)):
        words = _TOKEN.findall(clause)
        used: set[int] = set()
        clause_areas, clause_spots = _address(words, used, free)
        areas |= clause_areas
        spots |= clause_spots
        clause_terms, clause_free = _concepts(words, used)
        free |= clause_free
        for term, weight in clause_terms.items():
            terms[term] = max(terms.get(term, 0.0), weight)
    if place:
        more_areas, more_spots = _gazetteer_place(place)
        areas |= more_areas
        spots |= more_spots
        for stem in {_stem(w) for w in _words(place)}:  # a bare place name is no problem word
            terms.pop(stem, None)
    words = _words(normalized_text)
    return _Profile(
        terms=terms,
        heads=frozenset(t for t in terms if t in _HEAD_NAMES),
        weight=sum(terms.values()),
        where=_Where(frozenset(areas), frozenset(spots), frozenset(free)),
        verbatim=" ".join(words) if len(words) >= VERBATIM_WORDS else "",
    )


def _relation(district_a: str | None, a: _Where, district_b: str | None, b: _Where) -> PlaceMatch:
    if district_a and district_b and district_a != district_b:
        return PlaceMatch.CONFLICT
    # An area one report names with a marker, the other may name bare («پلاک ۴۵ وزرا»).
    areas_a = a.areas | (b.areas & a.free)
    areas_b = b.areas | (a.areas & b.free)
    if areas_a and areas_b and areas_a.isdisjoint(areas_b):
        return PlaceMatch.CONFLICT
    if a.spots and b.spots and (a.spots.isdisjoint(b.spots) or _families_differ(a, b)):
        return PlaceMatch.CONFLICT
    same_area = not areas_a.isdisjoint(areas_b)
    shared_spots = a.spots & b.spots
    if shared_spots:
        # A numbered alley alone («کوچه ۱۲») is in every street: it needs the street too.
        named = any(not s.partition(":")[2].isdigit() for s in shared_spots)
        return PlaceMatch.SPOT if same_area or named else PlaceMatch.VAGUE
    if same_area:
        return PlaceMatch.VAGUE if (a.spots or b.spots) else PlaceMatch.AREA
    return PlaceMatch.NONE


def _families_differ(a: _Where, b: _Where) -> bool:
    """Both name an alley (plate, bus line, junction...) and not the same one."""
    for family in _STRICT_FAMILIES:
        mine, theirs = a.family(family), b.family(family)
        if mine and theirs and mine.isdisjoint(theirs):
            return True
    return False


def _problem(a: _Profile, b: _Profile) -> float:
    if a.heads.isdisjoint(b.heads):
        return 0.0
    if a.weight == b.weight:  # either may be «the shorter»: the same score both ways round
        return max(_covered(a, b), _covered(b, a))
    return _covered(a, b) if a.weight < b.weight else _covered(b, a)


def _covered(shorter: _Profile, longer: _Profile) -> float:
    """How much of the shorter report's problem the longer one states, and no other."""
    shared = missing = 0.0
    for term, weight in shorter.terms.items():
        if term in longer.terms:
            shared += min(weight, longer.terms[term])
        else:
            missing += weight * SHORTER_MISSING.get(weight, SHORTER_MISSING_OTHER)
    extra = 0.0
    for term, weight in longer.terms.items():
        if term not in shorter.terms:
            extra += weight * LONGER_EXTRA.get(weight, LONGER_EXTRA_OTHER)
    return shared / (shared + missing + extra)


_PLACE_TERM = {PlaceMatch.SPOT: SPOT_BONUS, PlaceMatch.AREA: 0.0, PlaceMatch.VAGUE: -VAGUE_PENALTY}


def _score(district_a: str | None, a: _Profile, district_b: str | None, b: _Profile) -> float:
    place = _relation(district_a, a.where, district_b, b.where)
    if place is not PlaceMatch.CONFLICT and a.verbatim and a.verbatim == b.verbatim:
        return 100.0
    if place not in _PLACE_TERM:
        return 0.0
    return max(0.0, min(100.0, 100.0 * _problem(a, b) + _PLACE_TERM[place]))


class DuplicatePool:
    """Open reports of one category, profiled once, to score many new reports against.

    Candidates are kept in the caller's order (newest first); on equal scores the newer wins.
    Only a candidate that shares a place name with the new report (named by both, or named by one
    and written bare by the other) or is its verbatim copy can score above 0, so `best` looks
    candidates up by those keys and scores only them: the same result as scoring every pair."""

    def __init__(self, candidates: Iterable[DuplicateCandidate] = ()) -> None:
        self._candidates: list[DuplicateCandidate] = []
        self._profiles: list[_Profile] = []
        self._rank: list[int] = []  # the caller's order: lower is newer
        self._alive: list[bool] = []
        self._index: dict[str, int] = {}  # candidate key → its live position
        self._by_key: dict[str, list[int]] = {}
        self._newest = 0
        self._lowest = 0  # no rank is lower (newer) than this
        for rank, candidate in enumerate(candidates):
            self.add(candidate, rank)

    def __len__(self) -> int:
        return len(self._index)

    def add_newest(self, candidate: DuplicateCandidate) -> None:
        """A report newer than every other in the pool."""
        self._newest = min(self._newest, self._lowest) - 1
        self.add(candidate, self._newest)

    def add(self, candidate: DuplicateCandidate, rank: int) -> None:
        """A report at `rank` (lower is newer); a candidate of the same key is replaced."""
        self.remove(candidate.key)
        profile = _profile(candidate.normalized_text, candidate.place)
        index = len(self._candidates)
        self._candidates.append(candidate)
        self._profiles.append(profile)
        self._rank.append(rank)
        self._lowest = min(self._lowest, rank)
        self._alive.append(True)
        self._index[candidate.key] = index
        for key in _stored_keys(profile):
            self._by_key.setdefault(key, []).append(index)

    def get(self, key: str) -> DuplicateCandidate | None:
        """The live candidate of `key`, if any."""
        index = self._index.get(key)
        return None if index is None else self._candidates[index]

    def members(self) -> list[str]:
        """Keys of the live candidates."""
        return list(self._index)

    def remove(self, key: str) -> bool:
        """Take the candidate of `key` out (a ticket closed or merged); False if it was not in."""
        index = self._index.pop(key, None)
        if index is None:
            return False
        self._alive[index] = False
        if len(self._index) * 2 < len(self._candidates) - 16:
            self._compact()
        return True

    def _compact(self) -> None:
        """Rebuild without the removed candidates (their slots are skipped until then)."""
        live = sorted(self._index.values())
        candidates = [self._candidates[i] for i in live]
        ranks = [self._rank[i] for i in live]
        self._candidates, self._profiles, self._rank, self._alive = [], [], [], []
        self._index, self._by_key = {}, {}
        self._lowest = 0
        for candidate, rank in zip(candidates, ranks, strict=True):
            self.add(candidate, rank)

    def overlay(self) -> DuplicatePool:
        """A pool for one batch: this pool's candidates as they are, plus what the batch adds with
        `add_newest` (tickets it opens), which this pool never sees."""
        return _Overlay(self)

    def best(
        self, new: DuplicateCandidate, *, threshold: float = DEFAULT_THRESHOLD
    ) -> tuple[str, float] | None:
        """The best candidate scoring ≥ threshold against `new`, as (key, score), else None."""
        found = self._best(new, _profile(new.normalized_text, new.place), threshold)
        return None if found is None else (found[2].key, round(found[0], 1))

    def _best(
        self, new: DuplicateCandidate, mine: _Profile, threshold: float
    ) -> tuple[float, int, DuplicateCandidate] | None:
        """(score, rank, candidate) of the best match: the highest score ≥ threshold, the newest of equals."""
        hopeful = {i for key in _wanted_keys(mine) for i in self._by_key.get(key, ())}
        best_score, best_index = threshold, -1
        alive = self._alive
        for index in hopeful:
            if not alive[index]:
                continue
            score = _score(new.district, mine, self._candidates[index].district, self._profiles[index])
            if score <= 0.0:
                continue
            if score > best_score or (
                score == best_score and (best_index < 0 or self._rank[index] < self._rank[best_index])
            ):
                best_score, best_index = score, index
        if best_index < 0:
            return None
        return best_score, self._rank[best_index], self._candidates[best_index]


class _Overlay(DuplicatePool):
    """A batch's view of a shared pool (`DuplicatePool.overlay`)."""

    def __init__(self, base: DuplicatePool) -> None:
        super().__init__()
        self._base = base
        self._newest = base._lowest  # what the batch adds is newer than all of base

    def __len__(self) -> int:
        return len(self._base) + len(self._index)

    def _best(
        self, new: DuplicateCandidate, mine: _Profile, threshold: float
    ) -> tuple[float, int, DuplicateCandidate] | None:
        parts = (self._base._best(new, mine, threshold), super()._best(new, mine, threshold))
        found = [f for f in parts if f is not None]
        # The same rule as one pool: the highest score, the newest (lowest rank) of equal scores.
        return min(found, key=lambda f: (-f[0], f[1])) if found else None


def _stored_keys(profile: _Profile) -> set[str]:
    """What a candidate is found by: its place names, its other words, its verbatim text."""
    where = profile.where
    keys = {f"p:{name}" for name in where.areas | where.spots} | {f"w:{word}" for word in where.free}
    if profile.verbatim:
        keys.add(f"v:{profile.verbatim}")
    return keys


def _wanted_keys(profile: _Profile) -> set[str]:
    """What a new report looks candidates up by (a shared place needs one of these to match)."""
    where = profile.where
    names = where.areas | where.spots
    keys = {f"p:{name}" for name in names} | {f"w:{name}" for name in where.areas}
    keys |= {f"p:{word}" for word in where.free}
    if profile.verbatim:
        keys.add(f"v:{profile.verbatim}")
    return keys


OldPool = DuplicatePool  # the reference pool (verbatim above)

# ------------------------------------------------------------------------------------------------
# The corpus: every text of the shipped dev and held-out sets, normalised and located as the bot
# does, plus each with an alley and plate added (a few numbers, so that many share one).
# ------------------------------------------------------------------------------------------------

_DATA = Path(__file__).resolve().parents[2] / "nlp" / "data"
_DIGITS = "۰۱۲۳۴۵۶۷۸۹"


@dataclass(frozen=True, slots=True)
class Report:
    text: str  # normalised
    category: str
    district: str | None
    place: str | None


def _fa(n: int) -> str:
    return "".join(_DIGITS[int(c)] for c in str(n))


@pytest.fixture(scope="module")
def corpus(normalizer: Normalizer) -> list[Report]:
    gazetteer = Gazetteer.load()
    reports: list[Report] = []
    rng = random.Random(20261206)
    for part in ("dev", "heldout"):
        for path in sorted((_DATA / part).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                raw = json.loads(line)["text"]
                found = gazetteer.locate(raw)
                district = found.district if found else None
                place = (found.place or found.text) if found else None
                text = normalizer.normalize(raw)
                reports.append(Report(text, path.stem, district, place))
                alley = f" کوچه {_fa(rng.randint(1, 8))} پلاک {_fa(rng.randint(1, 6))}"
                reports.append(Report(text + alley, path.stem, district, place))
    assert len(reports) >= 2000
    return reports


def _old_where(text: str, place: str | None) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    where = _profile(text, place).where
    return where.areas, where.spots, where.free


def _same_profile(text: str, place: str | None) -> None:
    old, new = _profile(text, place), dup._profile(text, place)
    assert list(new.terms.items()) == list(old.terms.items())
    assert (new.heads, new.weight, new.verbatim) == (old.heads, old.weight, old.verbatim)
    assert (new.where.areas, new.where.spots, new.where.free) == _old_where(text, place)
    for family in (*_STRICT_FAMILIES, "place"):
        assert new.where.family(family) == old.where.family(family)
    assert new.wanted == _wanted_keys(old)
    assert dup._stored_keys(new) == _stored_keys(old)


def _same_pair(a: Report, b: Report) -> None:
    old_a, old_b = _profile(a.text, a.place), _profile(b.text, b.place)
    new_a, new_b = dup._profile(a.text, a.place), dup._profile(b.text, b.place)
    old = _score(a.district, old_a, b.district, old_b)
    assert dup._score(a.district, new_a, b.district, new_b) == old
    assert dup._relation(a.district, new_a.where, b.district, new_b.where) is _relation(
        a.district, old_a.where, b.district, old_b.where
    )
    assert dup._problem(new_a, new_b) == _problem(old_a, old_b)


def _candidate(key: str, r: Report) -> DuplicateCandidate:
    return DuplicateCandidate(key, r.text, "c", r.district, r.place)


def test_profiles_are_identical(corpus: list[Report]) -> None:
    for r in corpus:
        _same_profile(r.text, r.place)
        _same_profile(r.text, None)
        assert dup.content_tokens(r.text) == " ".join(sorted(_profile(r.text, None).terms))


def test_pair_scores_are_identical_within_each_category(corpus: list[Report]) -> None:
    by_category: dict[str, list[Report]] = {}
    for r in corpus:
        by_category.setdefault(r.category, []).append(r)
    pairs = 0
    for reports in by_category.values():
        for a in reports:
            for b in reports:
                _same_pair(a, b)
                pairs += 1
    assert pairs > 200_000


@pytest.mark.parametrize(
    ("threshold", "districts"),
    [
        (0.0, True),  # every score > 0 counts: nothing skipped
        (SPOT_BONUS, True),  # the skip's edge: a pair with no head noun in common may still tie
        (SPOT_BONUS + 0.5, True),
        (DEFAULT_THRESHOLD, True),
        (DEFAULT_THRESHOLD, False),
    ],
)
def test_best_over_a_pool_of_every_text_is_identical(
    corpus: list[Report], threshold: float, districts: bool
) -> None:
    reports = corpus if districts else [Report(r.text, r.category, None, r.place) for r in corpus]
    candidates = [_candidate(str(i), r) for i, r in enumerate(reports)]
    new_pool, old_pool = dup.DuplicatePool(candidates), OldPool(candidates)
    matched = 0
    for i, r in enumerate(reports):
        query = _candidate("new", r)
        found = new_pool.best(query, threshold=threshold)
        assert found == old_pool.best(query, threshold=threshold), i
        matched += found is not None
    assert matched > 0


def test_batches_over_warm_pools_are_identical(corpus: list[Report]) -> None:
    """As `NewRequests._repeats` runs them: a kept pool, a batch overlay that adds what it opens,
    tickets closed (removed) between batches; the first half of the corpus is open, the rest comes in."""
    half = len(corpus) // 2
    candidates = [_candidate(str(i), r) for i, r in enumerate(corpus[:half])]
    new_pool, old_pool = dup.DuplicatePool(candidates), OldPool(candidates)
    rng = random.Random(7)
    for start in range(half, len(corpus), 150):
        for key in rng.sample(new_pool.members(), 40):
            assert new_pool.remove(key) == old_pool.remove(key)
        new_batch, old_batch = new_pool.overlay(), old_pool.overlay()
        for i in range(start, min(start + 150, len(corpus))):
            query = _candidate("new", corpus[i])
            found = new_batch.best(query, threshold=DEFAULT_THRESHOLD)
            assert found == old_batch.best(query, threshold=DEFAULT_THRESHOLD), i
            assert new_batch.best(query, threshold=0.0) == old_batch.best(query, threshold=0.0), i
            if found is None:
                new_batch.add_newest(_candidate(str(-i), corpus[i]))
                old_batch.add_newest(_candidate(str(-i), corpus[i]))
        assert sorted(new_pool.members()) == sorted(old_pool.members())


# --- random perturbations ---------------------------------------------------------------------

_PLACES = ["خیابان ولیعصر", "خیابان ستارخان", "پارک لاله", "میدان ونک", "بلوار کشاورز", "کوچه شهید رضایی"]
_SPOTS = ["کوچه", "پلاک", "بن بست", "خط", "چهارراه", "بلوک", "روبروی بانک ملت", "جلوی مدرسه"]
_WORDS = [
    "چاله",
    "زباله",
    "خاموشه",
    "شکسته",
    "دریچه",
    "درخت",
    "جمع نشده",
    "سلام",
    "ماشین",
    "بازه",
    "روزه",
    "و",
]


@st.composite
def _perturbed(draw: st.DrawFn, corpus: list[Report]) -> Report:
    base = draw(st.sampled_from(corpus))
    words = base.text.split()
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["drop", "place", "spot", "word", "cut"]))
        at = draw(st.integers(0, len(words)))
        if op == "drop" and words:
            del words[min(at, len(words) - 1)]
        elif op == "place":
            words[at:at] = draw(st.sampled_from(_PLACES)).split()
        elif op == "spot":
            number = draw(st.one_of(st.integers(1, 12).map(_fa), st.sampled_from(["دوازدهم", "سه", "12"])))
            words[at:at] = [*draw(st.sampled_from(_SPOTS)).split(), number]
        elif op == "word":
            words[at:at] = draw(st.sampled_from(_WORDS)).split()
        elif op == "cut" and len(words) > 3:
            words = words[: max(3, at)]
    district = draw(st.sampled_from([base.district, None, "6", "4"]))
    place = draw(st.sampled_from([base.place, None, *_PLACES, "پارک شهر"]))
    return Report(" ".join(words), base.category, district, place)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_perturbed_reports_score_and_match_identically(corpus: list[Report], data: st.DataObject) -> None:
    reports = [data.draw(_perturbed(corpus)) for _ in range(data.draw(st.integers(2, 12)))]
    for a in reports:
        _same_profile(a.text, a.place)
        for b in reports:
            _same_pair(a, b)
    candidates = [_candidate(str(i), r) for i, r in enumerate(reports[1:])]
    threshold = data.draw(st.sampled_from([0.0, 10.0, 50.0, DEFAULT_THRESHOLD]))
    query = _candidate("new", reports[0])
    found = dup.DuplicatePool(candidates).best(query, threshold=threshold)
    assert found == OldPool(candidates).best(query, threshold=threshold)


@pytest.mark.parametrize(
    ("threshold", "expected"), [(0.0, 10.0), (SPOT_BONUS, 10.0), (SPOT_BONUS + 0.5, None)]
)
def test_the_skip_keeps_a_spot_bonus_only_pair_at_its_edge(threshold: float, expected: float | None) -> None:
    """Two problems at one spot score the spot bonus alone: still a match at a threshold of 10."""
    ticket = DuplicateCandidate("1", "زباله خیابان ولیعصر کوچه ۱۲", "c")
    new = DuplicateCandidate("new", "چاله خیابان ولیعصر کوچه ۱۲", "c")
    found = dup.DuplicatePool([ticket]).best(new, threshold=threshold)
    assert found == OldPool([ticket]).best(new, threshold=threshold)
    assert (found[1] if found else None) == expected
