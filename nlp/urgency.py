"""Immediate danger (fire, smoke, gas, electricity, collapse): raises a ticket's priority.

Rules, not the model: a missed gas leak costs lives and the phrases are few, so recall comes from
patterns that read normalised text (Finglish is already in Persian script by then; a few Latin
patterns catch what detection missed). A danger phrase directly followed by a negated verb
(«بوی گاز نمیاد», «آتیش نگرفته») does not count; that check is cheap and covers the common case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from nlp.letters import fold


class Danger(StrEnum):
    """Why a message is urgent (stored as `urgent_reasons`)."""

    FIRE = "fire"
    SMOKE = "smoke"
    GAS = "gas"
    ELECTRIC = "electric"
    COLLAPSE = "collapse"


_Z = "[\u200c ]?"  # ZWNJ, space or nothing between parts of one word
_B = r"(?<![\w\u200c])"  # start of a word: «اتش» inside «فضولاتشون» is not fire
_W = r"(?:\s\S+){0,10}?\s"  # up to ten words in between
_STRUCTURE = r"(?:دیوار|ساختمان|ساختمون|سقف|نما|بالکن|سوله|ستون|طاق|جان\s?پناه|خونه|خانه|پل|گود)"
_PATTERNS: dict[Danger, tuple[str, ...]] = {
    Danger.FIRE: (
        # Not the fire brigade, fireworks, a ceasefire, the street «آتشگاه», a campfire
        # («آتیش روشن کردن», social harm) or the idiom «دلم آتیش گرفت».
        rf"(?<!دلم\s){_B}(?:آتش|آتیش|اتیش|اتش)(?!{_Z}(?:نشان|بازی|بس|گاه|\s?روشن|\s?بزن|\s?میزن|\s?می\u200cزن))",
        rf"{_B}(?:انفجار|منفجر)",
        rf"{_B}حریق",
        rf"{_B}شعله",
        rf"(?:داره|دارد|درحال|در\sحال)\s?(?:می{_Z})?سوز",
        rf"آژیر{_Z}(?:دود|حریق|آتش)|اعلام{_Z}حریق",
        r"\b(?:atish|atash|fire)\b",
    ),
    Danger.SMOKE: (
        rf"{_B}دود(?:\s\S+){{0,4}}?\s(?:غلیظ|بلند|میاد|می{_Z}آید|بیرون|گرفته|کرد|کرده|میکنه|می{_Z}کنه|داره)",
        rf"{_B}دود\s?(?:غلیظ|زیاد|سفید|سیاه)",
        r"(?:پر|غرق)\s(?:از\s)?دود",
        rf"{_B}بو(?:ی)?\s(?:سوختگی|سیم\s?سوخته|سیم{_Z}سوز)",  # smell of burning: the smoke rules apply
        r"\b(?:dud|dood|smoke)\b",
    ),
    Danger.GAS: (
        rf"{_B}بو(?:ی)?\s?(?:شدید\s|تند\s)?گاز",
        r"نشت(?:ی)?\s?(?:گاز|لوله)",
        r"گاز\s?(?:نشت|پس\s?میده|ول\s?شده|میاد)",
        rf"گاز{_Z}گرفتگی",
        r"لوله\s?(?:ی\s)?گاز\s?(?:ترکید|شکست|سوراخ|پاره|آسیب)",
        r"کپسول\s?(?:ی\s)?گاز(?:\s\S+){0,6}?\s(?:فس|نشت|ترکید)",
        r"\b(?:booye?|buye?)\s+gaz\b|\bgas\s+(?:leak|smell)\b",
    ),
    Danger.ELECTRIC: (
        r"(?<!جوشکاری\sمیکنن\s)جرقه",
        rf"برق{_Z}گرفتگی|برق\s?(?:گرفت|می{_Z}گیره|داره|میگیره)",
        r"اتصالی",
        r"(?:سیم|کابل)(?:\u200c?ها(?:ی)?|ای|اش|ش|شم|ا)?(?!\w)(?:\s\S+){0,4}?\s(?:افتاده|پاره|لخت|آویزون|آویزان|رو\sزمین|روی\sزمین|بیرون|معلوم|قطع\sشده)",
        r"(?:تیر|دکل|ترانس)\s?(?:برق|چراغ)(?:\s\S+){0,8}?\s(?:افتاده|کج\sشده|شکسته|داره\sمیفته|در\sحال\sسقوط|ترکید|دود)",
        r"\b(?:jaraghe|jaraqe|sparks?|live\s+wire)\b",
    ),
    Danger.COLLAPSE: (
        r"(?:خطر|احتمال|در\sحال|درحال|داره|ممکنه|می{_Z}?تونه|هر\sلحظه)\s?(?:ریزش|بریزه|میریزه|می\u200cریزه|بیفته|بیافته|میفته|خراب\sشه|فرو\sبریزه)",
        rf"{_B}{_STRUCTURE}\S*{_W}(?:ریزش|فرو\s?ریخت|ریخته\b|ریخت\b|کج\sشده|ترک\s?(?:برداشته|خورده)|نشست\sکرده|"
        r"شکم\sداده|لق\sشده|یه\s?وری\sشده|(?:داره\s)?میاد\sپایین|داره\sمی\S*فت)",
        r"(?:میترس|می\u200cترس)(?:یم|م)(?:\s\S+){0,3}?\s(?:بریزه|خراب\sشه|بیفته|بیاد\sپایین|بیاد\sرو)",
        r"آجر\S*(?:\s\S+){0,3}?\s(?:دارن\s)?(?:میفتن|می\u200cافتن|میفته)",
        rf"فرو{_Z}?ریخت|فرو{_Z}?ریزی|رانش\s?زمین",
        r"\b(?:rizesh|collapse)\b",
    ),
}

_COMPILED = tuple((danger, re.compile("|".join(pats), re.IGNORECASE)) for danger, pats in _PATTERNS.items())
# Each danger's patterns all contain one of its stems; most messages contain none, and a substring
# test is far cheaper than the regex, so a danger's regex runs only when a stem is present.
_STEMS: dict[Danger, tuple[str, ...]] = {
    Danger.FIRE: tuple(
        ["آتش", "آتیش", "اتیش", "اتش", "حریق", "شعله", "سوز", "انفجار", "منفجر", "atish", "atash", "fire"]
    ),
    Danger.SMOKE: ("دود", "سوخت", "dud", "dood", "smoke"),
    Danger.GAS: ("گاز", "نشت", "gaz", "gas"),
    Danger.ELECTRIC: ("جرقه", "برق", "اتصالی", "سیم", "کابل", "تیر", "jara", "spark", "wire"),
    Danger.COLLAPSE: tuple(
        [
            "ریز",
            "ریخت",
            "ترک",
            "کج",
            "نشست",
            "رانش",
            "بیفت",
            "بیافت",
            "میفت",
            "خراب",
            "شکم",
            "لق",
            "وری",
            "پایین",
            "rizesh",
            "collapse",
        ]
    ),
}

# A negated verb right after the danger phrase cancels it. The list is what citizens write;
# «نشده» is left out on purpose: «آتیش گرفته و هنوز خاموش نشده» is still urgent.
_NEGATIONS = re.compile(
    r"^(?:\S+\s)?(?:نمیاد|نمی\u200cآید|نمیاید|نمی\u200cاد|نمیده|نیست|نیس|نداره|ندارد|نداشت|نگرفته|نگرفت|"
    r"نکرده|نکرد|نبود|نمیکنه|نمی\u200cکنه|نمیشه|nemiad|nist|nadare)\b"
)


# Smoke from a chimney, bakery, generator or workshop is pollution (noise_pollution), not a fire.
_SMOKE_SOURCES = re.compile(r"نانوایی|نونوایی|ژنراتور|موتور\sبرق|کارگاه|اگزوز|مازوت|کباب|منقل|قلیان|سیگار")


@dataclass(frozen=True, slots=True)
class Urgency:
    """The detector's verdict."""

    reasons: tuple[Danger, ...]

    @property
    def urgent(self) -> bool:
        """True when any danger was found."""
        return bool(self.reasons)


class UrgencyDetector:
    """Finds immediate danger in (normalised) Persian, Arabic-letter or Finglish text."""

    def detect(self, text: str, *, normalized: bool = False) -> Urgency:
        """The dangers named in `text`, each once, in a fixed order (`normalized`: already folded)."""
        folded = text if normalized else fold(text)
        lowered = folded.lower()
        found: list[Danger] = []
        for danger, pattern in _COMPILED:
            if not any(stem in lowered for stem in _STEMS[danger]):
                continue
            if danger is Danger.SMOKE and _SMOKE_SOURCES.search(folded):
                continue
            for match in pattern.finditer(folded):
                if not _NEGATIONS.match(folded[match.end() :].lstrip()):
                    found.append(danger)
                    break
        return Urgency(tuple(found))
