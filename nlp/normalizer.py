"""Text normalisation: the one form every later step (model, urgency, places, duplicates) reads.

Order matters. Look-alike letters and digit scripts are folded first, so the entity patterns see
one alphabet. URLs, e-mails, phone numbers and tracking codes are then cut out and put back
untouched (digits ASCII), because hazm's spacing rules split `https://x.ir/a?b=1` and
`0912-123-4567` apart. Only the text between them is transliterated (Finglish), normalised by hazm
and stripped of emoji.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum

from nlp.finglish import Finglish
from nlp.letters import fold

# Only the hazm Normalizer is used, which needs no model files; never let hazm wait on a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_D = "0-9"  # after fold(), every digit is ASCII


class EntityKind(StrEnum):
    """What a protected span is."""

    URL = "url"
    EMAIL = "email"
    PHONE = "phone"
    TRACKING_CODE = "tracking_code"
    NUMBER = "number"


@dataclass(frozen=True, slots=True)
class Entity:
    """A span kept out of normalisation; `value` is the original with ASCII digits."""

    kind: EntityKind
    value: str
    canonical: str


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """The normalised text plus what was protected and whether it arrived as Finglish."""

    text: str
    entities: tuple[Entity, ...]
    finglish: bool


# Alternation order is priority: a URL may contain digits that look like a phone number.
_ENTITY = re.compile(
    rf"""
    (?P<url>(?:https?://|www\.)[^\s<>"]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:ir|com|org|net|io)\b(?:/[^\s<>"]*)?)
    |(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)
    |(?P<phone>(?<![{_D}])(?:\+98|0098|98|0)?[\s-]?9[{_D}]{{2}}[\s-]?[{_D}]{{3}}[\s-]?[{_D}]{{4}}(?![{_D}]))
    |(?P<tracking_code>(?<![{_D}])[{_D}]{{10}}(?![{_D}]))
    |(?P<number>(?<![{_D}])0[{_D}]{{2,3}}-[{_D}]{{7,8}}(?![{_D}]))
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Pictographs, dingbats, flags, variation selectors and skin tones: always stripped, so the
# model never learns from them and every channel gives the same text.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff\ufe0f\u200d\U0001f3fb-\U0001f3ff]+"
)
_SPACES = re.compile(r"\s+")
# Every entity needs a digit, an @ or a dot; most messages have none of them near a Latin letter,
# and skipping the entity scan then saves a sixth of normalisation time.
_ENTITY_HINT = re.compile(r"[0-9@]|www|https?:|\.(?:ir|com|org|net|io)\b", re.IGNORECASE)
# hazm keeps ZWNJ next to spaces in a few spellings; a ZWNJ touching a space joins nothing.
_LOOSE_ZWNJ = re.compile("\u200c*( )\u200c*")


def canonical_phone(value: str) -> str:
    """An Iranian mobile number in any written form → E.164 (`+989121234567`)."""
    digits = re.sub(r"\D", "", value)
    return "+98" + digits[-10:]


class Normalizer:
    """hazm normalisation plus the folds Sada needs; build ONE per process (hazm is heavy)."""

    def __init__(self, finglish: Finglish | None = None) -> None:
        from hazm import Normalizer as HazmNormalizer  # imported here: 45 MB, only when used
        from hazm.constants import TRANSLATION_DST, TRANSLATION_SRC

        # persian_numbers=False: digits stay ASCII (codes, plates and phones are compared as ASCII).
        self._hazm = HazmNormalizer(persian_numbers=False)
        # hazm 0.12.1's normalize() rebuilds this table on every call (a quarter of its time);
        # build it once and run hazm's public steps in normalize()'s order ourselves.
        self._hazm_table = str.maketrans(dict(zip(TRANSLATION_SRC, TRANSLATION_DST, strict=False)))
        # ...and translating is slow for Persian text, while its characters (presentation forms,
        # rare Arabic letters) seldom occur: translate only when one is present.
        changed = [c for c, d in zip(TRANSLATION_SRC, TRANSLATION_DST, strict=False) if c != d]
        self._hazm_chars = re.compile("[" + re.escape("".join(changed)) + "]")
        self._finglish = finglish if finglish is not None else Finglish()

    def normalize(self, text: str) -> str:
        """Normalised text with URLs, phones, codes and e-mails preserved (digits ASCII)."""
        return self.analyze(text).text

    def normalize_many(self, texts: list[str]) -> list[str]:
        """`normalize` over a batch."""
        return [self.analyze(t).text for t in texts]

    def analyze(self, text: str) -> NormalizedText:
        """Normalise and also return the protected entities and whether the text was Finglish."""
        folded = fold(text)
        pieces: list[str] = []
        entities: list[Entity] = []
        gaps: list[str] = []
        last = 0
        for match in _ENTITY.finditer(folded) if _ENTITY_HINT.search(folded) else ():
            gaps.append(folded[last : match.start()])
            kind = EntityKind(match.lastgroup or "number")
            value = match.group().strip()
            canon = canonical_phone(value) if kind is EntityKind.PHONE else value
            entities.append(Entity(kind, value, canon))
            last = match.end()
        gaps.append(folded[last:])
        finglish = self._finglish.is_finglish(" ".join(gaps))
        for i, gap in enumerate(gaps):
            pieces.append(self._normalize_gap(gap, finglish))
            if i < len(entities):
                pieces.append(entities[i].value)
        joined = _SPACES.sub(" ", " ".join(pieces)).strip()
        return NormalizedText(_LOOSE_ZWNJ.sub(r"\1", joined), tuple(entities), finglish)

    def _normalize_gap(self, gap: str, finglish: bool) -> str:
        gap = _EMOJI.sub(" ", gap)
        if finglish:
            gap = self._finglish.transliterate(gap)
        if not gap.strip():
            return ""
        return self._hazm_normalize(gap).lower()

    def _hazm_normalize(self, text: str) -> str:
        """hazm's Normalizer.normalize with persian_numbers=False, minus the per-call table build."""
        hazm = self._hazm
        if self._hazm_chars.search(text):
            text = text.translate(self._hazm_table)
        text = hazm.persian_style(text)
        text = hazm.remove_diacritics(text)
        text = hazm.correct_spacing(text)
        text = hazm.unicodes_replacement(text)
        text = hazm.remove_specials_chars(text)
        text = hazm.decrease_repeated_chars(text)
        return str(hazm.seperate_mi(text))
