"""Finglish: Persian written in Latin letters, as old phones and some citizens send it.

Detection tells Latin-script Persian (`ashghal haye kooche jam nashode`) from English, URLs and
codes; transliteration maps it to Persian script with a lexicon of municipal vocabulary first and
letter rules as the fallback. Spelling variants (oo/u/ou, ee/i, kh/x, gh/q, doubled letters, final
e/eh, 2/3/7 for hamza/ain/heh) are folded into one canonical key on both sides, so the lexicon
needs one spelling per word and still matches the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_LEXICON_PATH = Path(__file__).parent / "data" / "finglish_lexicon.tsv"

_LATIN_WORD = re.compile(r"[A-Za-z0-9']*[A-Za-z][A-Za-z0-9']*")
_PERSIAN_LETTER = re.compile("[\u0600-\u06ff]")
_LATIN_LETTER = re.compile("[A-Za-z]")

# English words that show a Latin message is English, not Finglish. Words that are also common
# Finglish (in, to, do, man, bad, kar, ...) are left out on purpose.
_ENGLISH_WORDS_TEXT = """
    the is are was were and of for with this that there have has not no yes please street road
    garbage trash light lights tree trees bus car cars my your our we you they he she it hello
    hi thank thanks problem since from at by be been will would can could should an or but if
    our near next city water dog dogs noise fire smoke gas help broken full week day days"""
_ENGLISH_WORDS = frozenset(_ENGLISH_WORDS_TEXT.split())

# Function words that are Finglish but absent from a municipal lexicon.
_FINGLISH_MARKERS_TEXT = """
    va ke ro ham az be dar ba baraye ya in oon un inja mikonam mikone mishe shode nashode hast
    nist dare nadare bayad lotfan salam mamnoon merci kheili chera chi koja"""
_FINGLISH_MARKERS = frozenset(_FINGLISH_MARKERS_TEXT.split())

# A lone `e`/`-e` between words is the ezafe (kooche e ma, cheragh-e): silent in Persian script.
_EZAFE = frozenset({"e", "-e"})

# Suffixes glued to a known stem: (latin, persian, joined with a ZWNJ).
_SUFFIXES: tuple[tuple[str, str, bool], ...] = (
    ("haye", "های", True),
    ("hay", "های", True),
    ("ha", "ها", True),
    ("aye", "ای", False),
    ("moon", "مون", False),
    ("mun", "مون", False),
    ("ye", "ی", True),
    ("ro", "رو", False),
    ("esh", "ش", False),
    ("am", "م", False),
    ("e", "", False),
    ("i", "ی", False),
    ("a", "ا", False),
)

_CONSONANTS = {
    "kh": "خ", "sh": "ش", "ch": "چ", "gh": "ق", "zh": "ژ",
    "b": "ب", "p": "پ", "t": "ت", "s": "س", "j": "ج", "h": "ه", "d": "د", "r": "ر", "z": "ز",
    "f": "ف", "k": "ک", "g": "گ", "l": "ل", "m": "م", "n": "ن", "v": "و", "y": "ی", "c": "ک",
    "3": "ع", "7": "ح", "2": "ئ",
}  # fmt: skip
_VOWELS = "aeiou"


def canonical(word: str, *, fold_o: bool = True) -> str:
    """Fold Finglish spelling variants into one key (used for the lexicon and for input)."""
    w = word.lower().replace("'", "")
    w = w.replace("x", "kh").replace("q", "gh").replace("w", "v")
    w = w.replace("ou", "u").replace("oo", "u").replace("ee", "i")
    if fold_o:
        # Citizens write o, u, oo and ou for the same sound (koche, kooche, kuche): one key.
        w = w.replace("o", "u")
    w = re.sub(r"i+y(?=[aeiou])", "i", w)  # khiyaban → khiaban
    w = re.sub(r"([a-z])\1+", r"\1", w)  # doubled letters: kooche handled above, sadde → sade
    if w.endswith("eh") and len(w) > 3:
        w = w[:-1]
    return w


@dataclass(frozen=True, slots=True)
class FinglishLexicon:
    """Canonical Finglish key → Persian spelling."""

    entries: Mapping[str, str]

    @classmethod
    def load(cls, path: Path = DEFAULT_LEXICON_PATH) -> FinglishLexicon:
        """Read a `finglish<TAB>persian` file; `#` lines are comments."""
        pairs = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            latin, _, persian = line.partition("\t")
            if persian.strip():
                pairs.append((latin.strip(), persian.strip()))
        return cls.from_pairs(pairs)

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> FinglishLexicon:
        """Build from (finglish, persian) pairs; later pairs win."""
        return cls({canonical(latin): persian for latin, persian in pairs})

    def lookup(self, word: str) -> str | None:
        """The Persian for a whole word, a known stem plus suffix, or None."""
        key = canonical(word)
        hit = self.entries.get(key) or self.entries.get(re.sub("[237]", "", key))
        if hit:
            return hit
        for suffix, persian_suffix, zwnj in _SUFFIXES:
            stem = key[: -len(suffix)]
            if key.endswith(suffix) and len(stem) >= 3 and stem in self.entries:
                joiner = "\u200c" if zwnj else ""
                return self.entries[stem] + joiner + persian_suffix
        return None


def _rule_transliterate(word: str) -> str:
    """Letter rules for words the lexicon does not know (short vowels dropped medially)."""
    w = canonical(word, fold_o=False)
    prefix = ""
    for latin, persian in (("nemi", "نمی"), ("mi", "می")):
        if w.startswith(latin) and len(w) > len(latin) + 2:
            prefix, w = persian + "\u200c", w[len(latin) :]
            break
    out: list[str] = []
    i = 0
    while i < len(w):
        ch = w[i]
        two = w[i : i + 2]
        first, last = i == 0, i == len(w) - 1
        if two in _CONSONANTS:
            out.append(_CONSONANTS[two])
            i += 2
            continue
        if ch in _VOWELS:
            if first:
                out.append({"a": "ا", "e": "ا", "o": "ا", "i": "ای", "u": "او"}[ch])
            elif ch == "a":
                # A medial `a` before two consonants is usually the short vowel, which Persian omits.
                rest = w[i + 1 : i + 3]
                short = len(rest) == 2 and all(c not in _VOWELS for c in rest)
                out.append("" if short else "ا")
            elif ch == "e":
                out.append("ه" if last else "")
            elif ch == "o":
                out.append("و" if last else "")
            else:
                out.append("ی" if ch == "i" else "و")
            i += 1
            continue
        out.append(_CONSONANTS.get(ch, ""))
        i += 1
    return prefix + "".join(out)


class Finglish:
    """Detects Latin-script Persian and transliterates it; build once and reuse."""

    def __init__(self, lexicon: FinglishLexicon | None = None) -> None:
        self._lexicon = lexicon if lexicon is not None else FinglishLexicon.load()

    def persian_score(self, text: str) -> float:
        """Share of Latin words that look Persian, minus the share that look English (-1..1)."""
        words = [w.lower() for w in _LATIN_WORD.findall(text)]
        if not words:
            return 0.0
        persian = sum(w in _FINGLISH_MARKERS or self._lexicon.lookup(w) is not None for w in words)
        english = sum(w in _ENGLISH_WORDS for w in words)
        return (persian - english) / len(words)

    def is_finglish(self, text: str) -> bool:
        """True when the Latin part of `text` is Persian in Latin letters (not English or codes)."""
        latin = len(_LATIN_LETTER.findall(text))
        if latin < 3 or latin < len(_PERSIAN_LETTER.findall(text)):
            return False
        return self.persian_score(text) >= 0.25

    def transliterate_word(self, word: str) -> str:
        """One Latin word to Persian script: lexicon first, letter rules otherwise."""
        if word.lower() in _EZAFE:
            return ""  # «kooche e ma»: the ezafe vowel is not written in Persian script
        return self._lexicon.lookup(word) or _rule_transliterate(word)

    def transliterate(self, text: str) -> str:
        """Replace every Latin word of `text` by its Persian spelling; other characters stay."""
        return _LATIN_WORD.sub(lambda m: self.transliterate_word(m.group()), text)

    def to_persian(self, text: str) -> str:
        """Transliterate `text` if it is Finglish, else return it unchanged."""
        return self.transliterate(text) if self.is_finglish(text) else text
