"""A transparent keyword classifier: the honest baseline and the fallback when no model exists.

It never guesses: a message that matches no keyword goes to the fallback category with
`needs_review` set, so a person decides (Rasa's keyword classifier + fallback idea).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from nlp.classification import Classification
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


class KeywordClassifier:
    """Score categories by how many of their keywords occur; abstain when none or a tie."""

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

    def classify(self, text: str) -> Classification:
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
        ranked = sorted(((c, n / total) for c, n in hits.items() if n), key=lambda p: -p[1])[:3]
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            category, confidence, needs_review = self._fallback, 0.0, True
        else:
            category, confidence, needs_review = ranked[0][0], ranked[0][1], ranked[0][1] < 0.6
        return Classification(
            category=category,
            department=self._departments[category],
            confidence=round(confidence, 4),
            top_k=tuple((c, round(p, 4)) for c, p in ranked),
            model_version=self.version,
            needs_review=needs_review,
        )

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        return [self.classify(t) for t in texts]


_WORD_START = re.compile(r"(?<!\w)")


def _word_starts(text: str) -> list[int]:
    """Every position not preceded by a word character (where `(?<!\\w)` matches)."""
    return [m.start() for m in _WORD_START.finditer(text)]
