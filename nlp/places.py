"""Where a report is: address phrases, explicit districts, and a gazetteer lookup (place → district).

Citizens give addresses as a chain of markers and names: «خ ولیعصر نبش کوچه ۱۲ روبروی پارک لاله».
We cut the text into marker phrases, fuzzy-match the names against the gazetteer with rapidfuzz
(both sides look-alike-folded, ZWNJ as space, digits ASCII, Finglish transliterated first), and
take an explicit «منطقه ۶» / «ناحیه ۲» over anything the gazetteer says.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process

from nlp.finglish import Finglish
from nlp.letters import fold

DEFAULT_GAZETTEER_PATH = Path(__file__).parent / "data" / "gazetteer_tehran.toml"

# Marker words (folded, ZWNJ as space). Longer alternatives first so «کوچه ی» beats «کوچه».
_MARKERS = (
    "خیابان", "خیابون", "خ", "کوچه ی", "کوچه", "کوچه", "بن بست", "میدان", "میدون", "فلکه", "بلوار",
    "بزرگراه", "اتوبان", "پلاک", "نبش", "روبروی", "رو به روی", "روبه روی", "روبرو", "جنب", "بعد از",
    "قبل از", "نرسیده به", "چهارراه", "چهار راه", "سه راه", "پل", "شهرک", "محله", "کوی", "پارک",
    "ایستگاه", "بیمارستان", "مسجد", "مدرسه", "دانشگاه", "ترمینال", "برج",
)  # fmt: skip
_MARKER_RE = "|".join(re.escape(m) for m in sorted(set(_MARKERS), key=len, reverse=True))
# A marker, then up to three name tokens that are not themselves markers or function words.
# Words that end a place name: prepositions and particles; pronouns («کوچه ما» is our alley, not
# an alley called «ما»); verbs, as written in chat («از کوچه میاد», «کوچه آب گرفته»).
_STOP = (
    r"(?:که|و|از|به|در|تو|توی|رو|را|یه|این|اون|هم|با|برای|جلوی|جلو|کنار|سمت|نزدیک|داخل"
    r"|ما|من|شما|ایشون|اینجا|اونجا"
    r"|می|نمی|میاد|میان|میره|میرن|میشه|است|هست|هستش|نیست|بود|شده|نشده|گرفته|افتاده|ریخته|مونده"
    r"|مانده|داره|دارد|نداره|ندارد|کرده|کردن|کردند)"
)
_PHRASE = re.compile(
    rf"(?<![\w])(?P<marker>{_MARKER_RE})\.?\s+"
    rf"(?P<name>(?:(?!(?:{_MARKER_RE}|{_STOP})(?![\w]))[\w\-]+\s?){{1,3}})"
)
_DISTRICT = re.compile(
    r"(?<![\w])(?P<kind>منطقه|ناحیه|mantaghe|nahie|nahiye)\s*(?P<num>\d{1,2}|[^\W\d]+(?:\sو\s[^\W\d]+)?)"
)
_NUMBER_WORDS = {
    "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "شیش": 6, "هفت": 7, "هشت": 8, "نه": 9,
    "ده": 10, "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14, "پانزده": 15, "پونزده": 15,
    "شانزده": 16, "شونزده": 16, "هفده": 17, "هیفده": 17, "هجده": 18, "هیجده": 18, "نوزده": 19,
    "بیست": 20, "بیست و یک": 21, "بیست و دو": 22,
}  # fmt: skip
_LATIN = re.compile("[A-Za-z]")
# Names that are also everyday words are only trusted after a marker, never bare.
_BARE_KINDS = frozenset({"neighbourhood", "landmark", "square"})

_FUZZY_CACHE = 20_000  # remembered fuzzy place lookups before the memo starts over
_NAME_WORD = re.compile(r"\w+")
_MISSING = object()  # "not in the fuzzy memo" (None is a remembered "no match")


def place_key(text: str) -> str:
    """The comparison form of a place name: folded, lower-case, ZWNJ and dashes as spaces."""
    text = fold(text).lower().replace("\u200c", " ").replace("-", " ")
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry."""

    name: str
    kind: str
    district: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlacePhrase:
    """A marker and the name that follows it, as written (after folding)."""

    marker: str
    name: str
    context: str = ""

    @property
    def text(self) -> str:
        """Marker and name together."""
        return f"{self.marker} {self.name}"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a report is: the address text found, the gazetteer place and its district."""

    text: str
    place: str | None
    district: str | None
    score: float
    subdistrict: str | None = None
    phrases: tuple[str, ...] = field(default_factory=tuple)


def _number(word: str) -> int | None:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)


def extract_phrases(text: str) -> list[PlacePhrase]:
    """Marker phrases in (folded) text, in order of appearance (name cut at a number or 2 words)."""
    return _phrases_in(place_key(text))


def _phrases_in(key: str) -> list[PlacePhrase]:
    """`extract_phrases` of a text already in `place_key` form."""
    phrases = []
    for m in _PHRASE.finditer(key):
        words = m["name"].split()
        # «کوچه 12 زباله» is alley 12: a number ends the name; otherwise names are 1–2 words
        # (the gazetteer match below may still use a third).
        cut = next((i + 1 for i, w in enumerate(words) if w.isdigit()), min(len(words), 2))
        phrases.append(PlacePhrase(m["marker"], " ".join(words[:cut]), " ".join(words)))
    return phrases


def explicit_district(text: str) -> tuple[str | None, str | None]:
    """(district, subdistrict) written out as «منطقه ۶» / «ناحیه ۲» (digits or words)."""
    return _district_in(place_key(text))


def _district_in(key: str) -> tuple[str | None, str | None]:
    """`explicit_district` of a text already in `place_key` form."""
    district = subdistrict = None
    for match in _DISTRICT.finditer(key):
        raw = match["num"]
        number = _number(raw) if raw.isdigit() else _number(raw) or _number(raw.split()[0])
        if number is None:
            continue
        if match["kind"] in ("منطقه", "mantaghe") and district is None:
            district = str(number)
        elif match["kind"] not in ("منطقه", "mantaghe") and subdistrict is None:
            subdistrict = str(number)
    return district, subdistrict


class Gazetteer:
    """Place names of one city with their districts; `locate` finds them in messages."""

    def __init__(self, places: Sequence[Place], *, city: str = "", min_score: float = 85.0) -> None:
        self.city = city
        self.places = tuple(places)
        self._min_score = min_score
        self._by_key: dict[str, Place] = {}
        for place in self.places:
            for name in (place.name, *place.aliases):
                self._by_key.setdefault(place_key(name), place)
        self._keys = list(self._by_key)
        # What `_bare_match` may find, and the first words of those names (a cheap test first).
        self._bare = {k: p for k, p in self._by_key.items() if p.kind in _BARE_KINDS and len(k) >= 4}
        self._bare_firsts = frozenset(k.split(" ")[0] for k in self._bare)
        self._fuzzy: dict[str, tuple[Place, float] | None] = {}
        self._finglish = Finglish()

    @classmethod
    def load(cls, path: Path | str = DEFAULT_GAZETTEER_PATH) -> Gazetteer:
        """Read a TOML gazetteer: `city` and `places = [{name, kind, district, aliases}]`."""
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
        places = [
            Place(
                name=str(p["name"]),
                kind=str(p.get("kind", "street")),
                district=str(p["district"]),
                aliases=tuple(str(a) for a in p.get("aliases", ())),
            )
            for p in data.get("places", ())
        ]
        return cls(places, city=str(data.get("city", "")))

    def match(self, name: str) -> tuple[Place, float] | None:
        """The gazetteer place closest to `name` (rapidfuzz ratio ≥ min_score) and its score."""
        key = place_key(name)
        if key in self._by_key:
            return self._by_key[key], 100.0
        # One lookup: another thread may clear the memo between a membership test and a read.
        memo = self._fuzzy.get(key, _MISSING)
        if memo is not _MISSING:
            return memo  # type: ignore[return-value]
        best = process.extractOne(key, self._keys, scorer=fuzz.ratio, score_cutoff=self._min_score)
        found = (self._by_key[best[0]], float(best[1])) if best else None
        # Street names repeat from report to report: remember fuzzy answers (bounded).
        if len(self._fuzzy) >= _FUZZY_CACHE:
            self._fuzzy.clear()
        self._fuzzy[key] = found
        return found

    def _match_phrase(self, phrase: PlacePhrase) -> tuple[Place, float, str] | None:
        """Best match over the name's 1..3-token prefixes, with and without the marker."""
        words = (phrase.context or phrase.name).split()
        best: tuple[Place, float, str] | None = None
        for n in range(len(words), 0, -1):
            name = " ".join(words[:n])
            for query in (f"{phrase.marker} {name}", name):
                hit = self.match(query)
                # Longer queries win ties: «میدان ولیعصر» is a square, «ولیعصر» a street.
                if hit and (best is None or hit[1] > best[1]):
                    best = (hit[0], hit[1], f"{phrase.marker} {name}")
        return best

    def _bare_match(self, folded: str) -> tuple[Place, str] | None:
        """Distinctive names (neighbourhoods, landmarks, squares) written without a marker."""
        tokens = _NAME_WORD.findall(folded)  # «قلهک؛» is «قلهک»: punctuation is no part of a name
        firsts = self._bare_firsts
        starts = [i for i, token in enumerate(tokens) if token in firsts]
        for n in (3, 2, 1):
            for i in starts:
                if i + n > len(tokens):
                    break
                gram = " ".join(tokens[i : i + n])
                place = self._bare.get(gram)
                if place:
                    return place, gram
        return None

    def locate(self, text: str) -> Location | None:
        """Address phrases, best gazetteer place and district in `text`; None if nothing found."""
        if _LATIN.search(text):
            text = self._finglish.transliterate(text)
        folded = place_key(text)
        key = place_key(folded)  # what extract_phrases(folded) and explicit_district(folded) read
        phrases = _phrases_in(key)
        district, subdistrict = _district_in(key)
        hits = [self._match_phrase(phrase) for phrase in phrases]
        best: tuple[Place, float, str] | None = None
        for hit in hits:
            if hit and (best is None or hit[1] > best[1]):
                best = hit
        if best is None:
            bare = self._bare_match(folded)
            if bare:
                best = (bare[0], 90.0, bare[1])
        if best is None and not phrases and district is None:
            return None
        shown = [hit[2] if hit else p.text for p, hit in zip(phrases, hits, strict=True)]
        address = " ".join(shown) or (best[2] if best else "")
        return Location(
            text=address or f"منطقه {district}",
            place=best[0].name if best else None,
            # An explicit district is what the citizen knows; the gazetteer is approximate.
            district=district or (best[0].district if best else None),
            score=round(best[1], 1) if best else (100.0 if district else 0.0),
            subdistrict=subdistrict,
            phrases=tuple(shown),
        )
