"""A transparent keyword classifier: the honest baseline and the fallback when no model exists.

It never guesses: a message that matches no keyword gets an empty ranking, which the
understanding step (`nlp.policy.Router`) sends to the fallback category with `needs_review` set,
so a person decides (Rasa's keyword classifier + fallback component).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from nlp.calibration import AbstainRule
from nlp.classification import Ranking
from nlp.letters import fold

# Stems, after look-alike folding. Kept short on purpose: this is a fallback, not the model.
DEFAULT_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "waste_collection": ("زباله", "آشغال", "سطل", "مخزن", "پسماند"),
    "street_cleaning": ("جارو", "رفت و روب", "کثیف", "نظافت", "برگ"),
    "construction_debris": ("نخاله", "ضایعات ساختمانی", "خاک و نخاله"),
    "green_space": ("درخت", "فضای سبز", "چمن", "هرس", "آبیاری"),
    "road_damage": ("چاله", "آسفالت", "پیاده رو", "جدول", "دریچه"),
    "surface_water": ("آبگرفتگی", "جوی", "آب گرفتگی", "کانال"),
    "snow_ice": ("برف", "یخ"),
    "street_lighting": ("چراغ برق", "تیر برق", "روشنایی", "لامپ", "خاموش"),
    "traffic": ("ترافیک", "چراغ راهنما", "سرعتگیر", "پارک دوبل", "تابلو"),
    "public_transport": ("اتوبوس", "تاکسی", "مترو", "ایستگاه"),
    "building_violation": ("ساخت و ساز", "بدون مجوز", "بنایی", "غیرمجاز"),
    "sidewalk_obstruction": ("سد معبر", "دستفروش", "بساط"),
    "stray_animals": ("سگ", "گربه", "موش", "سوسک", "حیوان"),
    "fire_safety": ("آتش", "دود", "بوی گاز", "ریزش", "سیم برق"),
    "social_harm": ("کارتن خواب", "معتاد", "کودک کار", "متکدی", "گدا"),
    "noise_pollution": ("سروصدا", "سر و صدا", "بلندگو", "آلودگی صوتی"),
}


# A top category with less than this share of the hits is flagged for review.
KEYWORD_RULE = AbstainRule(min_confidence=0.6, min_margin=0.0)


class KeywordClassifier:
    """Score categories by how many of their keywords occur (implements the Scorer protocol)."""

    def __init__(
        self,
        departments: Mapping[str, str],
        *,
        fallback_category: str = "general",
        keywords: Mapping[str, tuple[str, ...]] = DEFAULT_KEYWORDS,
    ) -> None:
        self._departments = dict(departments)
        self._fallback = fallback_category
        # Keywords match at the start of a word ("موش" must not fire inside "خاموش"). One table
        # for all of them: each word start is looked up once per keyword length, instead of one
        # regex search of the whole text per keyword.
        self._owners: dict[str, set[str]] = {}
        for category, ks in keywords.items():
            if category in departments:
                for k in ks:
                    self._owners.setdefault(fold(k), set()).add(category)
        self._lengths = sorted({len(k) for k in self._owners if k})
        self._categories = [c for c in keywords if c in departments]

    @property
    def version(self) -> str:
        return "keywords-1"

    @property
    def rule(self) -> AbstainRule:
        """Fewer than 60% of the keyword hits for the top category: a person confirms."""
        return KEYWORD_RULE

    @property
    def departments(self) -> Mapping[str, str]:
        return self._departments

    @property
    def fallback_category(self) -> str:
        return self._fallback

    @property
    def categories(self) -> frozenset[str]:
        """The categories some keyword can reach."""
        return frozenset(c for owners in self._owners.values() for c in owners)

    def normalize_many(self, texts: Sequence[str]) -> list[str]:
        """Look-alike letters folded, digits made ASCII: all a keyword match needs."""
        return [fold(t) for t in texts]

    def classify_normalized(self, normalized: Sequence[str]) -> list[Ranking]:
        # Folding is idempotent, so raw and folded text rank the same: one entry point.
        return self.classify_many(normalized)

    def classify_many(self, texts: Sequence[str]) -> list[Ranking]:
        """Rank raw or folded texts."""
        return [self.rank(t) for t in texts]

    def rank(self, text: str) -> Ranking:
        """Categories by their share of the keywords found (at most three); empty when none."""
        folded = fold(text).replace("\u200c", " ")
        found: set[str] = set()
        for start in _word_starts(folded):
            for length in self._lengths:
                if (piece := folded[start : start + length]) in self._owners:
                    found.add(piece)
        hits = dict.fromkeys(self._categories, 0)
        for keyword in found:
            for category in self._owners[keyword]:
                hits[category] += 1
        total = sum(hits.values())
        return Ranking(tuple(sorted(((c, n / total) for c, n in hits.items() if n), key=lambda p: -p[1])[:3]))


_WORD_START = re.compile(r"(?<!\w)")


def _word_starts(text: str) -> list[int]:
    """Every position not preceded by a word character (where `(?<!\\w)` matches)."""
    return [m.start() for m in _WORD_START.finditer(text)]
