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
        # Keywords match at the start of a word ("موش" must not fire inside "خاموش").
        self._keywords = {
            c: tuple(re.compile(r"(?<!\w)" + re.escape(fold(k))) for k in ks)
            for c, ks in keywords.items()
            if c in departments
        }

    @property
    def version(self) -> str:
        return "keywords-1"

    def classify(self, text: str) -> Classification:
        folded = fold(text).replace("\u200c", " ")
        hits = {c: sum(bool(k.search(folded)) for k in ks) for c, ks in self._keywords.items()}
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
