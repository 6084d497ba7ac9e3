"""Realistic citizen messages for load: the held-out complaints, each made distinct by its place.

The texts are the shipped held-out set (`nlp/data/heldout`, every category and register: SMS,
Telegram, hotline transcripts, Finglish, Arabic letters). Nothing trains on them, so using them
as load does not touch the evaluation; the classifier is never trained on what it is timed on.

Message i is held-out text i mod n, in that register, wrapped the way people write: sometimes a
greeting before it, always where (alley and plate numbers that are unique to message i, in
Persian or Latin digits, or in Finglish for a Finglish text), sometimes a plea after it. The
numbers keep near-duplicate detection from joining all the copies of one text (two reports that
name different plates are at different places). A fraction `repeats` of the messages is a
verbatim copy of an earlier one from another sender (a neighbour forwarding it), which the
service may join to the first report's ticket, as it would in a city.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from nlp.dataset import load_split

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
GREETINGS = ("سلام، ", "سلام وقت بخیر. ", "با سلام و احترام، ", "سلام خسته نباشید، ", "درود، ")
FINGLISH_GREETINGS = ("salam, ", "salam vaght bekheir. ", "dorood, ")
PLEAS = (
    " لطفا رسیدگی کنید.",
    " ممنون میشم پیگیری کنید.",
    " چند بار هم زنگ زدیم کسی نیومد.",
    " خواهشا زودتر یه کاری بکنید.",
    " تشکر.",
)
FINGLISH_PLEAS = (" lotfan residegi konid.", " mamnoon misham peygiri konid.", " merci.")
REPEAT_FRACTION = 0.05


def _where(i: int, rng: random.Random, finglish: bool) -> str:
    """A place unique to message i: the same plate never comes twice in one run."""
    alley, plate = i // 400 + 1, i % 400 + 1
    if finglish:
        return rng.choice((f", koche {alley} pelak {plate}", f" - kooche {alley}, pelak {plate}"))
    text = rng.choice((f"، کوچه {alley} پلاک {plate}", f" (کوچه {alley}، پلاک {plate})"))
    return text.translate(PERSIAN_DIGITS) if rng.random() < 0.6 else text


@dataclass
class MessageSource:
    """Message i's text, deterministic for a seed; `repeats` of them copy an earlier message."""

    seed: int = 19
    repeats: float = REPEAT_FRACTION
    _texts: list[tuple[str, bool]] = field(init=False, repr=False)
    _made: list[str] = field(init=False, repr=False, default_factory=list)
    _copies: set[int] = field(init=False, repr=False, default_factory=set)

    def __post_init__(self) -> None:
        examples = load_split("heldout")
        self._texts = [(e.text.strip(), e.style == "finglish") for e in examples]
        random.Random(self.seed).shuffle(self._texts)

    def text(self, i: int) -> str:
        """Message i (texts are made in order, so a repeat only copies a message already made)."""
        while len(self._made) <= i:
            self._made.append(self._make(len(self._made)))
        return self._made[i]

    def _make(self, i: int) -> str:
        rng = random.Random(self.seed * 1_000_003 + i)
        if i > 0 and rng.random() < self.repeats:
            self._copies.add(i)
            return self._made[rng.randrange(i)]
        body, finglish = self._texts[i % len(self._texts)]
        greeted = body.lower().startswith(("salam", "سلام", "الو", "با سلام", "درود"))
        start = (
            "" if greeted or rng.random() < 0.6 else rng.choice(FINGLISH_GREETINGS if finglish else GREETINGS)
        )
        plea = rng.choice(FINGLISH_PLEAS if finglish else PLEAS) if rng.random() < 0.35 else ""
        return start + body.rstrip(".!؟?") + _where(i, rng, finglish) + "." * bool(not plea) + plea

    def is_repeat(self, i: int) -> bool:
        """Whether message i copies an earlier one."""
        self.text(i)
        return i in self._copies
