"""Immediate danger (fire, smoke, gas, electricity, collapse): raises a ticket's priority.

Rules, not the model: a missed gas leak costs lives and the phrases are few, so recall comes from
patterns that read normalised text (Finglish is already in Persian script by then; a few Latin
patterns catch what detection missed). A danger phrase directly followed by a negated verb
(«بوی گاز نمیاد», «آتیش نگرفته») does not count; that check is cheap and covers the common case.
A fire or collapse told as old news («پارسال آتیش گرفت») does not count either.

Collapse needs more than a pattern, because an urgent message sends the citizen to the fire
service and «ریختن» is mostly about rubble, soil, garbage or water being dumped or spilled. Each
collapse verb is checked against its subject, the nearest noun before it in the sentence: a
structure (wall, building, roof, balcony, bridge, …) or something else (rubble, soil, materials,
garbage, water, leaves, asphalt, a tree). «نخاله ساختمانی» is rubble: a structure word right after
such a noun only describes it. A noun after a place word («کنار دیوار», «جلوی خونه») is where,
not what. Plain «ریخت/ریخته/میریزه» also needs a sign of risk in the message («بقیه‌ش», «هر
لحظه», «ترک», «میترسیم», …) and no object marker between subject and verb (someone dumped it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
_E = r"(?![\w\u200c])"  # end of a word
_PATTERNS: dict[Danger, tuple[str, ...]] = {
    Danger.FIRE: (
        # Not the fire brigade, fireworks, a ceasefire, the street «آتشگاه», a campfire
        # («آتیش روشن کردن», social harm), ashes («خاکستر آتش») or the idiom «دلم آتیش گرفت».
        r"(?<!دلم\s)(?<!دلت\s)(?<!دلش\s)(?<!دلمون\s)(?<!دلتون\s)(?<!دلشون\s)(?<!جگرم\s)(?<!جیگرم\s)(?<!خاکستر\s)"
        rf"{_B}(?:آتش|آتیش|اتیش|اتش)(?!{_Z}(?:نشان|بازی|بس|گاه|\s?روشن|\s?بزن|\s?میزن|\s?می\u200cزن))",
        # ...unless that campfire is spreading.
        rf"{_B}(?:(?:آتش|آتیش|اتیش)(?!{_Z}نشان)|شعله)\S*(?:\s\S+){{0,8}}?\s(?:داره\s)?(?:پخش|سرایت|گسترش){_Z}"
        rf"(?:میشه|می{_Z}شه|می{_Z}شود|شده|کرده|میکنه|می{_Z}کنه|پیدا)",
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
        r"کپسول\s?(?:ی\s)?گاز(?:\s\S+){0,12}?\s(?:فس|نشت|ترکید)",
        r"\b(?:booye?|buye?)\s+gaz\b|\bgas\s+(?:leak|smell)\b",
    ),
    Danger.ELECTRIC: (
        r"(?<!جوشکاری\sمیکنن\s)جرقه(?!\S*\sجوش)",  # not welding sparks
        # «برق گرفتن» alone is getting a connection; «خطر برق گرفتن» is a shock.
        rf"برق{_Z}گرفتگی|برق\s?(?:گرفت(?!ن)|می{_Z}گیره|داره|میگیره)|خطر\sبرق",
        r"اتصالی",
        r"(?:سیم|کابل)(?:\u200c?ها(?:ی)?|ای|اش|ش|شم|ا)?(?!\w)(?:\s\S+){0,6}?\s(?:افتاده|پاره|لخت|آویزون|آویزان|"
        rf"رو\sزمین|روی\sزمین|بیرون|معلوم|قطع{_Z}شده|کنده{_Z}شده)",
        rf"(?:تیر|دکل|ترانس)\s?(?:برق|چراغ)(?:\s\S+){{0,8}}?\s(?:افتاده|کج{_Z}شده|شکسته|داره\sمیفته|در\sحال\sسقوط|ترکید|دود)",
        # A tree or branch on the lines.
        rf"(?:افتاده|تکیه{_Z}داده|گیر{_Z}کرده|خورده|کج{_Z}شده)\s(?:رو|روی|به|لای|تو|توی)\s(?:سیم|کابل)",
        r"\b(?:jaraghe|jaraqe|sparks?|live\s+wire)\b",
    ),
}

_COMPILED = tuple((danger, re.compile("|".join(pats), re.IGNORECASE)) for danger, pats in _PATTERNS.items())
# Each danger's patterns all contain one of its stems; most messages contain none, and a substring
# test is far cheaper than the regex, so a danger's rules run only when a stem is present.
_STEMS: dict[Danger, tuple[str, ...]] = {
    Danger.FIRE: tuple(
        ["آتش", "آتیش", "اتیش", "اتش", "حریق", "شعله", "سوز", "انفجار", "منفجر", "atish", "atash", "fire"]
    ),
    Danger.SMOKE: ("دود", "سوخت", "dud", "dood", "smoke"),
    Danger.GAS: ("گاز", "نشت", "gaz", "gas"),
    Danger.ELECTRIC: ("جرقه", "برق", "اتصالی", "سیم", "کابل", "تیر", "jara", "spark", "wire"),
}

# A negated verb right after the danger phrase cancels it. The list is what citizens write;
# «نشده» is left out on purpose: «آتیش گرفته و هنوز خاموش نشده» is still urgent.
_NEGATIONS = re.compile(
    r"^(?:\S+\s)?(?:نمیاد|نمی\u200cآید|نمیاید|نمی\u200cاد|نمیده|نیست|نیس|نداره|ندارد|نداشت|نگرفته|نگرفت|"
    r"نکرده|نکرد|نبود|نمیکنه|نمی\u200cکنه|نمیشه|nemiad|nist|nadare)\b"
)

# Smoke from a chimney, bakery, generator, factory or workshop is pollution, not a fire.
_SMOKE_SOURCES = re.compile(
    r"نانوایی|نونوایی|ژنراتور|موتور\sبرق|کارگاه|کارخانه|کارخونه|آجرپزی|کوره|اگزوز|مازوت|کباب|منقل|قلیان|قلیون|سیگار"
)

# --- Old news: «پارسال آتیش گرفت», «یک سال پس از آتش‌سوزی» (but «از دو سال پیش» is "since") ---
_PAST = re.compile(
    rf"پارسال|پرسال|(?:سال|ماه|هفته|روز)(?:{_Z}ها)?\s(?:پیش|قبل|گذشته|پس\sاز)|قبلا|قبلاً|دفعه\s(?:قبل|پیش)|اون\sموقع"
)
_NOW = re.compile(rf"الان|الآن|هنوز|همین|دوباره|امروز|هم{_Z}اکنون|داره|دارد|در\sحال")
_SENTENCE_END = re.compile(r"[.!?؟]")
_PAST_WINDOW = 12  # words before a match searched for a time in the past

# --- Collapse ---
# A structure word as one token: stem plus the plural, possessive or ezafe endings people write.
# «پل» and «نما» take fewer endings («پله» is a stair, «نماز» a prayer), «گود» too («گودی»).
_END = "\u200c?(?:ها|های|هاش|هایش|هاشون|ا|ای|اش|ش|ی|ه|یه|مون|شون|تون)"
_STRUCTURE_WORD = (
    rf"(?:دیوار|ساختمان|ساختمون|سقف|بالکن|سوله|ستون|طاق|پناه|جان{_Z}پناه|خونه|خانه)(?:{_END})?"
    r"|(?:پل|نما)(?:\u200c?(?:ها|های|ی|ش|اش))?|گود(?:\u200c?(?:ها|های|ش))?"
)
_STRUCTURE = re.compile(_STRUCTURE_WORD)
# What else «ریخته / میریزه / کج شده / فرو ریخته» is said of: rubble, soil, materials, garbage,
# water, leaves, pavement, trees. Bricks, stones and plaster are parts of a structure: neutral.
_OTHER = re.compile(
    rf"(?:نخاله|خاک|مصالح|زباله|آشغال|آت{_Z}آشغال|آب|برگ|شن|ماسه|سیمان|ضایعات|پسماند|شیشه|کاغذ|پوستر|"
    r"پلاستیک|لجن|گل|روغن|گازوئیل|بنزین|شیرابه|رنگ|میوه|بار|کیسه|کارتن|آسفالت|قیر|جدول|موزاییک|"
    rf"موزائیک|درخت|شاخه|نهال|برف|یخ|جرقه|نرده|حفاظ|گاردریل|وسایل|اثاث)(?:{_END}|\u200c?ان|و)?"
)
# A noun right after one of these says where, not what: «کنار دیوار», «جلوی خونه‌مون», «مخزن زباله».
_PLACE_WORD = re.compile(
    "جلوی|جلو|کنار|پشت|روبروی|روبه‌روی|نزدیک|نزدیکی|بغل|تو|توی|داخل|درون|زیر|روی|رو|به|سر|دم|بالای|لب|مقابل|"
    "جنب|اطراف|دور|در|مخزن|سطل|لوله|جوی|جوب|کانال|کنتور"
)
_OBJECT_MARKERS = frozenset({"رو", "را"})
# «ریزش برگ / باران / برف / مو» is leaves falling, rain, snow or hair, not a collapse.
_RIZESH = r"ریزش(?!\s(?:برگ|باران|بارون|برف|بارش|مو(?![\w\u200c])))"
_PUNCT = ",،;؛:()«»\"'…-"
_SUBJECT_WINDOW = 16  # words before a verb searched for its subject

# Risk or imminence, said of anything: the subject check guards against rubble.
_IMMINENT = re.compile(
    rf"(?:خطر|احتمال|بیم|در\sحال|درحال|داره|ممکنه|ممکن\sاست|می{_Z}?تونه|هر\sلحظه|در\sمعرض|در\sآستانه)\s?"
    rf"(?:{_RIZESH}|فرو{_Z}ریزی|فرو{_Z}ریزش|فرو{_Z}ریختن|بریزه|بریزد|میریزه|می{_Z}ریزه|میریزد|می{_Z}ریزد|"
    rf"بیفته|بیافته|بیفتد|بیوفته|میفته|می{_Z}افته|میوفته|خراب{_Z}شه|فرو\s?بریز(?:ه|د)){_E}"
    rf"|{_B}فرو{_Z}(?:ب|می{_Z})?ریز(?:د|ه){_E}|{_B}فرو{_Z}ریخت|{_B}فرو{_Z}ریزی|رانش\s?زمین"
    rf"|(?:میترس|می\u200cترس)(?:یم|م|ن)(?:\s\S+){{0,3}}?\s(?:بریزه|خراب{_Z}شه|بیفته|بیاد\sپایین|بیاد\sرو)"
    rf"|آجر\S*(?:\s\S+){{0,5}}?\s(?:دارن\s)?(?:میفتن|میوفتن|می{_Z}افت(?:ن|ان)|میفته)"
)
# Damage that only a structure suffers in a way that matters here.
_DAMAGE = re.compile(
    rf"{_B}(?:{_RIZESH}(?:{_Z}کرده)?|(?:کج|خم|متمایل|یه{_Z}وری|یک{_Z}وری){_Z}(?:شده|شد|میشه|می{_Z}شه|می{_Z}شود|گردیده)"
    rf"|ترک(?:\u200c?(?:ها|های|ا|ای))?(?:\s\S+)?{_Z}(?:برداشته|خورده)|دچار\s(?:ترک|ریزش|نشست|رانش)"
    rf"|نشست{_Z}(?:کرده|کرد|میکنه|می{_Z}کنه)|شکم{_Z}داده|لق{_Z}شده|شکاف{_Z}برداشته"
    r"|(?:داره\s)?میاد\sپایین|داره\sمیاد\s(?:رو|روی)|داره\sمی\S*فت)"
)
# Plain «ریخت / ریخته / میریزه»: not «به هم ریخته» (upset), «ریختن / ریخته‌اند» (they dumped) or
# «ریخته شده» (has been dumped).
_FELL = re.compile(
    rf"(?<!به\sهم\s)(?<!بهم\s){_B}(?:ریخت|ریخته|میریزه|می\u200cریزه|میریزد|می\u200cریزد){_E}(?!{_Z}شده)"
)
_RISK = re.compile(
    rf"خطر|هر\sلحظه|ممکنه|ممکن\sاست|احتمال|می{_Z}?ترس|نزدیک\sبود|بقیه|باقی|رو\sسر|روی\sسر|زیرش|آوار"
    rf"|ترک(?!ی)|شکم{_Z}داده|کج{_Z}شده|لق{_Z}شده|شکاف|داره\sمیاد|میاد\sپایین|نصفش|افتاد"
)
# Said outright: «ریزش دیوار», a Latin word detection missed.
_EXPLICIT = re.compile(rf"{_B}ریزش\s(?:{_STRUCTURE_WORD}){_E}|\b(?:rizesh|collapse)\b", re.IGNORECASE)


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
            if any(_counts(folded, m, past_matters=danger is Danger.FIRE) for m in pattern.finditer(folded)):
                found.append(danger)
        if _collapse(folded, lowered):
            found.append(Danger.COLLAPSE)
        return Urgency(tuple(found))


def _counts(text: str, match: re.Match[str], *, past_matters: bool) -> bool:
    """A danger phrase counts unless a negated verb follows it or (fire, collapse) it is old news."""
    if _NEGATIONS.match(text[match.end() :].lstrip()):
        return False
    return not (past_matters and _old_news(text, match))


def _said_outright(text: str, match: re.Match[str]) -> bool:
    """«ریزش دیوار» names its structure: nothing to check."""
    return True


def _not_of_other(text: str, match: re.Match[str]) -> bool:
    """Imminence counts unless it is said of rubble, water, garbage, a tree (…)."""
    return _subject(_words_before(text, match.start(), _SUBJECT_WINDOW))[0] != "other"


def _of_structure(text: str, match: re.Match[str]) -> bool:
    """Damage counts when its subject is a structure."""
    return _subject(_words_before(text, match.start(), _SUBJECT_WINDOW))[0] == "structure"


def _fell_at_risk(text: str, match: re.Match[str]) -> bool:
    """«ریخته» counts when a structure fell (not dumped: «... رو ریخته») and the message shows risk."""
    words = _words_before(text, match.start(), _SUBJECT_WINDOW)
    kind, at = _subject(words)
    if kind != "structure" or _OBJECT_MARKERS.intersection(words[at + 1 :]):
        return False
    return _RISK.search(text) is not None


_Accept = Callable[[str, re.Match[str]], bool]
# (pattern, stems, check): as for the other dangers, a rule's regex runs only when one of its stems
# (substrings it cannot match without) is in the text, and its check runs only on a match.
_IMMINENT_STEMS = (
    "ریزش", "بریز", "میریز", "می\u200cریز", "می ریز", "فرو ", "فرو\u200c", "فروری", "بیفت", "بیافت",
    "بیوفت", "میفت", "می\u200cافت", "می افت", "میوفت", "بیاد", "خراب", "رانش",
)  # fmt: skip
_DAMAGE_STEMS = (
    "ریزش", "کج", "خم", "متمایل", "یه وری", "یه\u200cوری", "یهوری", "یک وری", "یک\u200cوری", "یکوری",
    "ترک", "دچار", "نشست", "شکم", "لق", "شکاف", "پایین", "داره می",
)  # fmt: skip
_COLLAPSE_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...], _Accept], ...] = (
    (_EXPLICIT, ("ریزش", "rizesh", "collapse"), _said_outright),
    (_IMMINENT, _IMMINENT_STEMS, _not_of_other),
    (_DAMAGE, _DAMAGE_STEMS, _of_structure),
    (_FELL, ("ریخت", "میریز", "می\u200cریز"), _fell_at_risk),
)


def _collapse(text: str, lowered: str) -> bool:
    """A structure collapsing or about to, with the subject of each verb checked."""
    return any(
        accepts(text, match) and _counts(text, match, past_matters=True)
        for pattern, stems, accepts in _COLLAPSE_RULES
        if any(stem in lowered for stem in stems)
        for match in pattern.finditer(text)
    )


def _words_before(text: str, end: int, limit: int) -> list[str]:
    """Up to `limit` words before `end` in the same sentence, punctuation stripped, nearest last."""
    head = _SENTENCE_END.split(text[:end])[-1]
    return [w.strip(_PUNCT) for w in head.split()[-limit:]]


def _subject(words: list[str]) -> tuple[str | None, int]:
    """The nearest noun that can be a subject: ("structure" | "other" | None, its index)."""
    for at in range(len(words) - 1, -1, -1):
        word = words[at]
        if _STRUCTURE.fullmatch(word):
            kind = "structure"
        elif _OTHER.fullmatch(word):
            kind = "other"
        else:
            continue
        if _after_place_word(words, at):
            continue
        if kind == "structure" and any(_OTHER.fullmatch(w) for w in words[max(0, at - 2) : at]):
            return "other", at  # «نخاله ساختمانی», «خاک ساختمون همسایه», «آب از سقف»
        return kind, at
    return None, -1


def _after_place_word(words: list[str], at: int) -> bool:
    """True when words[at] follows a place word: «کنار دیوار», «جلوی خونه‌مون», «مخزن زباله»."""
    return at > 0 and _PLACE_WORD.fullmatch(words[at - 1]) is not None


def _old_news(text: str, match: re.Match[str]) -> bool:
    """True when a time in the past governs the match («پارسال آتیش گرفت») and nothing says now."""
    words = _words_before(text, match.start(), _PAST_WINDOW)
    window = " ".join(words)
    cues = list(_PAST.finditer(window))
    if not cues:
        return False
    cue = cues[-1]
    since = window[: cue.start()].split()[-2:]
    if "از" in since:
        return False  # «از دو سال پیش» is "since", the danger is current
    return not _NOW.search(window[cue.end() :] + " " + match.group())
