"""Near-duplicate scoring: is a new report the same problem, at the same place, as an open ticket?

A wrong join hides a problem from the department that owns it, so a join needs evidence of both,
and each report is read in two parts.

**Where.** Address phrases are cut out of the text: a marker («خیابان», «کوچه», «روبروی», ...) and
the name or number after it («کوچه ۱۲», «کوچه دوازدهم» and «koche 12» are all alley 12), plus the
gazetteer place and district the bot found. Areas (streets, squares, neighbourhoods, parks) and
spots (alleys, plates, bus lines, junctions, landmarks) are kept apart, spots by family. Two
reports are at different places when their districts differ, when both name areas and none is
shared, when both name an alley (a plate, a bus line, a junction) and not the same one, or when
all their spots differ. An area one report names with a marker the other may write bare
(«پلاک ۴۵ وزرا»). Reports that share no place are not joined, except a verbatim copy of six words
or more (a forwarded message).

**What.** The other words are mapped to problem concepts (`_HEADS`, `_CONDITIONS`): «چاله»,
«گودال» and «دست‌انداز» are one road-surface defect, «دریچه» and «منهول» one manhole, «خاموشه»
and «روشن نمیشه» one condition. Greetings, politeness, fillers, generic municipal words, times,
sizes and verbs of complaint say nothing (`_STOP`, `_IGNORED`); context nouns (cars, children,
rain) weigh little; any other word a little more. A head noun weighs most, a condition half as
much. Two reports with no head noun in common are different problems. The problem score is the
shared weight over itself plus what the shorter report says that the longer one does not, plus
part of what only the longer one says: a letter may wrap detail around the same problem, but
another head noun or condition still counts («پیاده‌رو شکسته» is not «جعبه میوه تو پیاده‌رو»).

The score, 0..100, is 100 × the problem score, +10 when both name the same spot, −30 when only
one of two reports in the same area names a spot in it (the other is too vague to tell), and 0
when the places conflict or share nothing. The bot joins at `DEFAULT_THRESHOLD` (80): the same
spot needs a problem score of 0.70, the same area without spots 0.80, and a vague pair never
joins. On the pair set the rules were written against (`bench/duplicates_eval.py`), 75 gave
precision 1.0 and recall 0.86 but the highest wrong pair scored 73: 80 keeps a margin (precision
1.0, recall 0.77). On a blind set written afterwards it is precision 0.88, recall 0.16
(docs/NLP.md): joining is cautious on purpose, since a wrong join hides a problem.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache

from nlp.letters import fold

DEFAULT_THRESHOLD = 80.0

# --- words (folded; ZWNJ inside an entry joins the words of one phrase) --------------------------

# Say nothing about the problem or the place: greetings, politeness, fillers, pronouns and
# particles, generic municipal words, people, times, sizes, verbs of complaint and of being.
_STOP_TEXT = """
    سلام درود علیکم وقت بخیر روزتون خسته نباشید عرض ادب احترام با سپاس تشکر ممنون مرسی متشکرم
    لطفا لطف خواهش خواهشا خواهشمند خواهشمندیم تمنا تقاضا استدعا استحضار میرساند بفرمایید فرمایید
    الو ببینید ببخشید آقا خانم جناب حضرت سرکار بنده اینجانب ما من شما ایشون ایشان او اونا آنها
    هست است هستش نیست بود هستند هستیم هستم باشد شد شده شدن شدند نشده نشد شود بشه بشن
    کرده کردن کردند کرد کنید کنین کنه کنند کنم کنیم نکردن نکرده نکنید
    دارد داره دارن دارند داریم دارم ندارد نداره ندارن گفتم گفتند گفته گفت بگم بگید بدید بدین
    زنگ زدم زدیم زد زده زدن خواستم بدونم برسونم رفت رفته رفتن اومده آمده اومد آمد بیاد بیاید
    بیاین بیان خورد خوردند خوردن دید دیده دیدیم داده دادن داد ایم اند ام اید
    که و یا از به در با بی این اون آن رو را یه یک تو توی هم همین همون اینکه چون ولی اما تا
    برای بر پس پیش روی درون داخل مورد جهت طرف دیگه دیگر هر همه کل کلا اصلا واقعا خیلی
    بسیار زیاد زیادی کمی کم چند چندین چندبار بار بارها مدت حدود تقریبا بیش بیشتر کمتر هنوز الان
    حالا فقط حتی هیچ هیچکس کسی کسایی یکی چیزی چی چرا کجا کی چطور آیا مگه اگه اگر وقتی
    شهرداری شهردار شهر منطقه ناحیه مسئولین مسئولان مسئول محترم مربوطه شورا شورای اعضای ریاست
    سامانه 137 تماس پیگیری رسیدگی اقدام درخواست شکایت گزارش خبرنگار خبر پیام اطلاع دستور انجام
    اهالی ساکنین ساکنان ساکن شهروندان شهروند مردم کسبه همسایه خانواده نفر نفرات
    روز روزه روزها هفته هفته‌ست ماه ماهه ماه‌هاست سال ساله امسال امروز دیروز دیشب فردا
    صبح ظهر شب شبها شبا شبه شبانه عصر ساعت دقیقه همیشه هرروز مدتیه مدتهاست وقته اخیر گذشته فصل
    اولین دومین آخرین
    مشکل معضل وضعیت نامناسب گلایه اعتراض رنج آزار اذیت نگرانی نگران خطرناک خطرناکه خطر حادثه
    سریع فورا فوری زودتر قبل بعد جدی شدید شدیدا بد بدی وحشتناک وحشتناکه افتضاح داغونه متاسفانه
    نتیجه‌ای نتیجه پاسخگو جواب جوابگو کاری فکری مگر نیومدن اومدن ممکن ممکنه باید نباید
    بزرگ بزرگی کوچک کوچیک گنده عمیق وسط طول عرض متر سطح حجم قسمت بخش محدوده حاشیه
    وجود ایجاد تبدیل علت دلیل باعث موجب خود خودش جا جای محل زیر سر تر ترین خدمت
    ترمیم تعمیر درست متعدد مختلف رد عبور تردد گیر
    ای آی ها های هایی شون مون
"""

# Context: where or to whom it happens, not what. Weighs a little; synonyms are one term.
_CONTEXT_WORDS = """
    car: ماشین خودرو
    child: بچه کودک دانش‌آموز
    walker: عابر عابرین عابران آدم رهگذر
    home: خونه خانه منزل منازل حیاط
    door: در درب
    rain: بارون باران بارش
    *: مغازه ساختمان ساختمون زمین مادرم پدرم پسرم دخترم پیرمرد سالمند زن بانوان مدرسه
    *: راه مسیر لاین کامیون تریلی ترافیک
    passenger: مسافر مسافرا مسافران
"""
# Phrases that say nothing, though their words might («تماس گرفته‌ایم», «پر از», «کسی نیومده»).
_IGNORED = """
    ignored: تماس‌گرفته تماس‌گرفتیم تماس‌گرفتم کسی‌نیامده کسی‌نیومده کسی‌نمیاد پر‌از زمین‌خورد
    ignored: زمین‌خوردند زمین‌میخورن راه‌افتاده درست‌شده درست‌کنه
"""

# Address markers. Areas: streets, squares, neighbourhoods, parks. Spots: what narrows an area
# down (alleys, plates, bus lines, junctions, landmarks after a relative marker).
_AREA_MARKERS = """
    خیابان خیابون خ بلوار بزرگراه اتوبان میدان میدون فلکه محله شهرک کوی پارک بوستان زیرگذر
    روگذر جاده ایستگاه پل‌عابر پل‌عابر‌پیاده
"""
_SPOT_MARKERS = """
    کوچه کوچه‌ی بن‌بست بنبست پلاک خط فاز بلوک چهارراه تقاطع سه‌راه پل خروجی ورودی
    روبروی روبرو رو‌به‌روی مقابل جلوی جلو جنب نبش نرسیده‌به بعد‌از قبل‌از نزدیک سمت ضلع
    ابتدای انتهای اول ته پشت کنار بالای حدفاصل بین
    بیمارستان دانشگاه ترمینال مسجد مدرسه دبستان بانک پاساژ
"""
# Between a marker and its name: the kind of station or bridge («ایستگاه مترو قلهک»).
_KIND_TEXT = "مترو اتوبوس تاکسی عابر پیاده"
# Part of the title, not the name («کوچه شهید رضایی»).
_HONORIFICS_TEXT = "شهید شهیدان دکتر امام آیت الله سردار حاج سید شیخ استاد علامه"
# After a number, a unit: «کوچه سه روزه» is «the alley, for three days», not alley 3.
_UNITS_TEXT = "روز روزه هفته ماه سال ساعت دقیقه بار نفر تا متر شب"
# Families of spots: «کوچه ۱۲» and «بن‌بست ۱۲» are one alley, «پلاک ۱۲» is not. Two reports that
# name different members of one family are at different places («کوچه ۱۲» and «کوچه ۱۴», «پلاک ۱۷»
# and «پلاک ۲۳»); landmarks (the family «place») only when they are all the spots both give, as
# one landmark has many names.
_FAMILIES = {
    "کوچه": "alley", "کوچه ی": "alley", "بن بست": "alley", "بنبست": "alley", "پلاک": "plate",
    "خط": "line", "فاز": "phase", "بلوک": "block", "چهارراه": "junction", "تقاطع": "junction",
    "سه راه": "junction",
}  # fmt: skip
_NUMBERED = frozenset({"alley", "plate", "line", "phase", "block"})
_STRICT_FAMILIES = (*sorted(_NUMBERED), "junction")
_STRICT_SET = frozenset(_STRICT_FAMILIES)
# Spots named by two ends, in any order.
_ROUTES = frozenset({("خط",), ("بین",), ("حدفاصل",)})

_NUMBER_WORDS = {
    "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "شیش": 6, "هفت": 7, "هشت": 8, "نه": 9,
    "ده": 10, "یازده": 11, "دوازده": 12, "سیزده": 13, "چهارده": 14, "پانزده": 15, "پونزده": 15,
    "شانزده": 16, "شونزده": 16, "هفده": 17, "هیفده": 17, "هجده": 18, "هیجده": 18, "نوزده": 19,
    "بیست": 20, "سی": 30, "چهل": 40, "پنجاه": 50, "شصت": 60, "هفتاد": 70, "هشتاد": 80, "نود": 90,
    "صد": 100, "یکصد": 100, "دویست": 200, "سیصد": 300, "چهارصد": 400, "پانصد": 500, "ششصد": 600,
    "هفتصد": 700, "هشتصد": 800, "نهصد": 900,
}  # fmt: skip
_ORDINALS = {"یکم": 1, "دوم": 2, "سوم": 3, "سیم": 3, "پنجم": 5, "نهم": 9}

# Problem concepts: a head noun says what is wrong, a condition how. A text word matches a form
# as written or without one or two endings («چراغای» → «چراغ»); the longest form wins.
_HEADS = """
    surface: چاله چال چاله‌چوله گودال گودی حفره دست‌انداز دستانداز آسفالت ترانشه حفاری لکه‌گیری
    manhole: دریچه منهول درپوش چاه دریچه‌فاضلاب
    sidewalk: پیاده‌رو پیادهرو پیاده‌روی پیادهروی موزاییک موزائیک سنگفرش کفپوش سنگ
    curb: جدول جداول
    paint: رنگ رنگ‌آمیزی
    ramp: رمپ شیب‌راه سطح‌شیبدار
    garbage: زباله آشغال پسماند کیسه‌زباله
    bin: مخزن مخازن سطل سطل‌زباله مخزن‌زباله
    leachate: شیرابه
    sweeping: جارو جاروب رفتگر رفت‌وروب نظافت کثیف برگ
    graffiti: دیوارنویسی نوشته تبلیغات آگهی پوستر
    litter: کاغذ بطری پلاستیک
    debris: نخاله مصالح آجر ماسه خاک گچ
    dust: خاک‌بلند گرد‌و‌خاک گردوخاک
    tree: درخت درختان چنار کاج تنه درختچه
    branch: شاخه
    lawn: چمن فضای‌سبز گل گیاه
    irrigation: آبیاری آب‌نمیدن آب‌نمیدهند شیلنگ
    play: وسایل‌بازی سرسره تاب الاکلنگ زمین‌بازی
    bench: نیمکت صندلی
    drainage: آبگرفتگی آب‌گرفتگی آب‌گرفته آب‌میگیره آب‌میگیرد آب‌جمع آب‌برگشته سیلاب سیل دریاچه پر‌آب
    drainage: جوی جوب آبراه آبرو کانال لایروبی لجن
    guard: حفاظ نرده
    snow: برف برفروبی برف‌روبی
    ice: یخ یخزدگی یخ‌زدگی لیز
    salt: نمک نمک‌پاشی نمکپاشی شن
    light: چراغ لامپ روشنایی چراغ‌برق
    pole: تیر تیر‌چراغ تیر‌برق تیر‌چراغ‌برق
    signal: چراغ‌راهنمایی چراغ‌قرمز چراغ‌راهنما
    timing: زمان زمان‌بندی زمانبندی
    crossing: خط‌کشی خطکشی عابر‌پیاده گذرگاه
    bump: سرعت‌گیر سرعتگیر
    sign: تابلو تابلوی علائم
    wreck: اسقاط خودرو‌رها‌شده ماشین‌رها‌شده
    parking: دوبله پارک‌دوبل
    bus: اتوبوس تندرو
    shelter: سقف سایبان
    taxi: تاکسی
    behaviour: رفتار بدرفتاری بد‌رفتاری بی‌ادبی بی‌احترامی برخورد‌بد
    fare: کرایه نرخ
    metro: مترو قطار پله‌برقی
    floor: طبقه
    permit: مجوز پروانه
    balcony: بالکن پیش‌آمدگی
    use: کاربری کارگاه انبار تراشکاری
    building: ساختمون‌سازی ساختمان‌سازی ساخت‌وساز پیمانکار سازنده احداث نیمه‌کاره
    vendor: دستفروش دستفروشان بساط
    goods: جعبه میوه اجناس کالا میوه‌فروشی
    obstruction: سد‌معبر اشغال
    dog: سگ
    cat: گربه
    rat: موش
    insect: سوسک سمپاشی سم‌پاشی
    carcass: لاشه
    jackal: شغال
    snake: مار
    gas: گاز
    collapse: ریزش مخروبه کلنگی متروکه فرسوده نیمه‌تخریب داره‌میریزه در‌حال‌ریزش بریزه
    fire: آتش آتیش آتش‌سوزی حریق
    extinguisher: کپسول آتش‌نشانی
    homeless: کارتن‌خواب
    addict: معتاد مواد
    child_labour: کودکان‌کار کودک‌کار
    beggar: متکدی گدا گدایی
    picker: زباله‌گرد
    music: موزیک آهنگ بلندگو
    compressor: کمپرسور
    horn: بوق
    smoke: دود دودکش تنور
    carwash: کارواش
    bakery: نانوایی
    generator: موتور‌برق
"""
_CONDITIONS = """
    broken: شکسته خراب آسیب تخریب کنده کندن خم کج ترک ناهموار پستی‌بلندی کار‌نمیکنه کار‌نمیکند
    broken: کار‌نمی‌کند زرد‌چشمک از‌کار‌افتاده
    sunken: نشست پایین‌تر فرو‌رفته
    off: خاموش روشن‌نمیشه روشن‌نمیشن روشن‌نمی‌شود سوخته تاریک تاریکه قطع بریده بریدن
    flicker: چشمک خاموش‌روشن
    on: روشن روشن‌میمونن روشن‌می‌مانند روشن‌میمونه
    dry: خشک خشکیده زرد
    open: باز برداشته برداشتن
    full: پر سرریز ساریز انباشته
    uncollected: جمع‌نشده جمع‌نکردن نبردن جمع‌آوری‌نشده نیومده نیامده سر‌نزده ندیده‌اند
    dumped: ریخته ریختن تخلیه خالی
    fallen: افتاده افتادن
    blocked: مسدود بسته گرفتگی گرفته
    late: دیر تاخیر
    smell: بو بوی تعفن
    illegal: غیرمجاز بدون‌مجوز بدون‌پروانه
    noise: صدا سروصدا سر‌و‌صدا
    pruning: هرس
    excessive: بی‌رویه
"""

HEAD_WEIGHT = 3.0
CONDITION_WEIGHT = 1.5
WORD_WEIGHT = 0.5
CONTEXT_WEIGHT = 0.25
# What a term only one report has costs, as a share of its weight. The shorter report's terms
# should all be in the longer one; the longer may add detail around the same problem (a letter),
# so its extra words cost little, but another head noun or condition still costs half.
SHORTER_MISSING = {HEAD_WEIGHT: 1.0, CONDITION_WEIGHT: 0.75}
SHORTER_MISSING_OTHER = 0.5
LONGER_EXTRA = {HEAD_WEIGHT: 0.5, CONDITION_WEIGHT: 0.5}
LONGER_EXTRA_OTHER = 0.15

SPOT_BONUS = 10.0
VAGUE_PENALTY = 30.0
VERBATIM_WORDS = 6  # a copy this long is a forwarded message, not two people's own words

# Plural, possessive and spoken endings («چراغای», «خاموشه», «موزاییکاش», «کوچمون»).
_SUFFIX_TEXT = "هایی هاشون هامون اشون امون هاش های ها ای اش شون مون ا ش ی ه"
_SUFFIXES = sorted(_SUFFIX_TEXT.split(" "), key=len, reverse=True)
_TOKEN = re.compile(r"\w+")
_VERB_PREFIX = re.compile("(?<![\\w\u200c])(ن?می)\u200c")
_CLAUSE = re.compile(r"[.,،؛;:!?؟()\[\]«»\"\n\-]+")


def _key(text: str) -> str:
    """Folded, lower-case, ZWNJ as space but kept after a verb prefix («می‌کنند» is one word)."""
    return _VERB_PREFIX.sub(r"\1", fold(text).lower()).replace("\u200c", " ")


def _words(text: str) -> list[str]:
    return _TOKEN.findall(_key(text))


def _strip(word: str) -> list[str]:
    # A one-letter ending leaves three letters at least: «گله» (a flock) is no «گل» (a flower).
    return [
        word[: -len(s)]
        for s in _SUFFIXES
        if word.endswith(s) and len(word) - len(s) >= (3 if len(s) == 1 and s != "ا" else 2)
    ]


@lru_cache(maxsize=65536)
def _forms(word: str) -> tuple[str, ...]:
    """The word, then without one ending, then without two: what a lexicon entry may match."""
    once = _strip(word)
    twice = [f for w in once for f in _strip(w)]
    return tuple(dict.fromkeys([word, *once, *twice]))


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """The word without its longest ending: how names and other words are compared."""
    stripped = _strip(word)
    return stripped[0] if stripped else word


@lru_cache(maxsize=65536)
def _is_stop(word: str) -> bool:
    """A word that says nothing («روزه», «شبا»), or a present-tense verb («میاد», «نمیکنن»)."""
    return (
        word in _STOP
        or any(f in _STOP for f in _strip(word))
        or (len(word) > 3 and word.startswith(("می", "نمی")))
    )


Entry = tuple[str, float]


def _index(table: dict[tuple[str, ...], Entry]) -> dict[str, list[tuple[tuple[str, ...], Entry]]]:
    """Entries by their first word, longest first."""
    index: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
    for words, entry in sorted(table.items(), key=lambda item: -len(item[0])):
        index.setdefault(words[0], []).append((words, entry))
    return index


def _lexicon(text: str, weight: float) -> dict[tuple[str, ...], Entry]:
    """`name: forms` lines → {form (its words): (name, weight)}; the name «*» is each form's own."""
    table: dict[tuple[str, ...], Entry] = {}
    for line in text.strip().splitlines():
        name, _, forms = line.partition(":")
        for form in forms.split():
            words = tuple(_words(form))
            table[words] = (" ".join(words) if name.strip() == "*" else name.strip(), weight)
    return table


def _match(
    index: dict[str, list[tuple[tuple[str, ...], Entry]]], words: list[str], i: int
) -> tuple[int, Entry | None]:
    """The longest entry starting at word i (each word matched in any of its forms)."""
    forms = _forms(words[i])
    if index.keys().isdisjoint(forms):  # most words start no entry
        return 0, None
    best_n, best = 0, None
    for form in forms:
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


_STOP = frozenset(_words(_STOP_TEXT))
_HONORIFICS = frozenset(_words(_HONORIFICS_TEXT))
_UNITS = frozenset(_words(_UNITS_TEXT))
_KINDS = frozenset(_words(_KIND_TEXT))
_CONCEPTS = _index(
    _lexicon(_IGNORED, 0.0)
    | _lexicon(_CONTEXT_WORDS, CONTEXT_WEIGHT)
    | _lexicon(_CONDITIONS, CONDITION_WEIGHT)
    | _lexicon(_HEADS, HEAD_WEIGHT)
)
_HEAD_NAMES = frozenset(e[0] for entries in _CONCEPTS.values() for _, e in entries if e[1] == HEAD_WEIGHT)
_CONCEPT_WORDS = frozenset(w for entries in _CONCEPTS.values() for words, _ in entries for w in words)
_MARKERS = _index(
    {tuple(_words(m)): ("area", 0.0) for m in _AREA_MARKERS.split()}
    | {tuple(_words(m)): ("spot", 0.0) for m in _SPOT_MARKERS.split()}
)
_MARKER_WORDS = frozenset(w for entries in _MARKERS.values() for words, _ in entries for w in words)


@lru_cache(maxsize=65536)
def _starts(word: str) -> tuple[bool, bool]:
    """(may a marker, may a concept start at this word?): False is `_match(...)` finding nothing."""
    forms = _forms(word)
    return not _MARKERS.keys().isdisjoint(forms), not _CONCEPTS.keys().isdisjoint(forms)


_FAMILY_KEYS = {tuple(k.split()): v for k, v in _FAMILIES.items()}
# Not a name: «کوچه بغلی», «خیابان اصلی».
_NOT_NAMES = frozenset(_words("بغلی اصلی کناری فرعی پشتی خودمون بالا پایین"))


# --- one report ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DuplicateCandidate:
    """A report as the scorer sees it: normalised text plus what was extracted from it."""

    key: str
    normalized_text: str
    category: str
    district: str | None = None
    place: str | None = None


@dataclass(frozen=True, slots=True)
class _Where:
    areas: frozenset[str]  # first word of each street, square, neighbourhood or park name
    spots: frozenset[str]  # "family:value": «alley:12», «plate:45», «alley:رضایی», «place:ملت»
    free: frozenset[str]  # other words, in which the other report's area names may occur
    # Derived once from `spots`, as every comparison reads them: the spots of each strict family
    # (only the families named), and the spots named by a word rather than a number.
    strict: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)
    named: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        strict: dict[str, set[str]] = {}
        named: list[str] = []
        for spot in self.spots:
            family, _, value = spot.partition(":")  # a family has no «:» (`_address`)
            if family in _STRICT_SET:
                strict.setdefault(family, set()).add(spot)
            if not value.isdigit():
                named.append(spot)
        object.__setattr__(self, "strict", {f: frozenset(members) for f, members in strict.items()})
        object.__setattr__(self, "named", frozenset(named))

    def _scan(self, name: str) -> frozenset[str]:
        return frozenset(s for s in self.spots if s.startswith(name + ":"))

    def family(self, name: str) -> frozenset[str]:
        if name in _STRICT_FAMILIES:
            return self.strict.get(name, frozenset())
        return self._scan(name)


@dataclass(frozen=True, slots=True)
class _Profile:
    """What scoring needs of one report, computed once (cached by text and place)."""

    terms: dict[str, float]  # problem concept or word → weight
    heads: frozenset[str]
    weight: float
    where: _Where
    verbatim: str  # the text as compared for a forwarded copy; "" when too short to trust
    # The keys a new report looks candidates up by (`_wanted_keys`), once it is a new report.
    wanted_keys: set[str] | None = field(init=False, repr=False, compare=False, default=None)

    @property
    def wanted(self) -> set[str]:
        keys = self.wanted_keys
        if keys is None:  # two threads may both compute it: the same set
            keys = _wanted_keys(self)
            object.__setattr__(self, "wanted_keys", keys)
        return keys


@lru_cache(maxsize=65536)
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


@lru_cache(maxsize=65536)
def _is_name(word: str, *, first: bool = False) -> bool:
    """Can this word be (part of) a place name? Not a stop word, a marker or a problem word. The
    first word after a marker is read as written («کوچه گلها» is an alley, though «گل» is a
    flower), but for the spoken «is» («پارک لاله خاموشه»); later words in any of their forms."""
    if len(word) < 2 or _is_stop(word) or any(f in _MARKER_WORDS or f in _NOT_NAMES for f in _forms(word)):
        return False
    if first:
        return word not in _CONCEPT_WORDS and not (word.endswith("ه") and word[:-1] in _CONCEPT_WORDS)
    return not any(f in _CONCEPT_WORDS for f in _forms(word))


def _address(words: list[str], used: set[int], named: set[str]) -> tuple[set[str], set[str]]:
    """(areas, spots) named in one clause. The positions of markers and names go to `used`, the
    words after a name («پمپ بنزین») to `named` (the other report may name them as places)."""
    areas: set[str] = set()
    spots: set[str] = set()
    i = 0
    while i < len(words):
        if not _starts(words[i])[0]:  # `_match(_MARKERS, words, i)` finds nothing
            i += 1
            continue
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


@lru_cache(maxsize=8192)
def _place_parts(place: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Cached `_gazetteer_place(place)`, and the stems of its words: the same gazetteer places
    come back in report after report."""
    areas, spots = _gazetteer_place(place)
    return frozenset(areas), frozenset(spots), frozenset(_stem(w) for w in _words(place))


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
        n, hit = _match(_CONCEPTS, words, i) if _starts(word)[1] else (0, None)
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
    key = _key(normalized_text)
    for clause in _CLAUSE.split(key):
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
        more_areas, more_spots, stems = _place_parts(place)
        areas |= more_areas
        spots |= more_spots
        for stem in stems:  # a bare place name is no problem word
            terms.pop(stem, None)
    words = _TOKEN.findall(key)  # `_words(normalized_text)`
    return _Profile(
        terms=terms,
        heads=frozenset(t for t in terms if t in _HEAD_NAMES),
        weight=sum(terms.values()),
        where=_Where(frozenset(areas), frozenset(spots), frozenset(free)),
        verbatim=" ".join(words) if len(words) >= VERBATIM_WORDS else "",
    )


def content_tokens(normalized_text: str) -> str:
    """The problem terms of a normalised text (concept names, word stems), sorted, space-joined."""
    return " ".join(sorted(_profile(normalized_text, None).terms))


# --- two reports --------------------------------------------------------------------------------


class PlaceMatch(IntEnum):
    """How the places of two reports relate (the order is the strength of the evidence)."""

    CONFLICT = 0  # different districts, areas or spots
    NONE = 1  # nothing shared
    VAGUE = 2  # the same area; only one of them names a spot in it
    AREA = 3  # the same area, no spot named by either
    SPOT = 4  # the same spot (and no different area)


def place_relation(a: DuplicateCandidate, b: DuplicateCandidate) -> PlaceMatch:
    """How the places of two reports relate, from their districts, gazetteer places and addresses."""
    return _relation(a.district, _where(a), b.district, _where(b))


def _where(candidate: DuplicateCandidate) -> _Where:
    return _profile(candidate.normalized_text, candidate.place).where


def _relation(district_a: str | None, a: _Where, district_b: str | None, b: _Where) -> PlaceMatch:
    if district_a and district_b and district_a != district_b:
        return PlaceMatch.CONFLICT
    # An area one report names with a marker, the other may name bare («پلاک ۴۵ وزرا»).
    areas_a, areas_b = a.areas, b.areas
    if areas_b and a.free and not areas_b.isdisjoint(a.free):
        areas_a = areas_a | (areas_b & a.free)
    if a.areas and b.free and not a.areas.isdisjoint(b.free):
        areas_b = areas_b | (a.areas & b.free)
    if areas_a and areas_b and areas_a.isdisjoint(areas_b):
        return PlaceMatch.CONFLICT
    if a.spots and b.spots and (a.spots.isdisjoint(b.spots) or _families_differ(a, b)):
        return PlaceMatch.CONFLICT
    same_area = not areas_a.isdisjoint(areas_b)
    if a.spots and b.spots:  # not disjoint (above): they share a spot
        # A numbered alley alone («کوچه ۱۲») is in every street: it needs the street too.
        named = not a.named.isdisjoint(b.named)  # a shared spot named by a word
        return PlaceMatch.SPOT if same_area or named else PlaceMatch.VAGUE
    if same_area:
        return PlaceMatch.VAGUE if (a.spots or b.spots) else PlaceMatch.AREA
    return PlaceMatch.NONE


def _families_differ(a: _Where, b: _Where) -> bool:
    """Both name an alley (plate, bus line, junction...) and not the same one."""
    theirs = b.strict
    if not theirs:
        return False
    for family, mine in a.strict.items():
        other = theirs.get(family)
        if other is not None and mine.isdisjoint(other):
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
# The most a pair with no head noun in common (a problem score of 0) scores, but a verbatim copy.
_NO_PROBLEM_MAX = max(0.0, min(100.0, max(_PLACE_TERM.values())))


def _score(district_a: str | None, a: _Profile, district_b: str | None, b: _Profile) -> float:
    place = _relation(district_a, a.where, district_b, b.where)
    if place is not PlaceMatch.CONFLICT and a.verbatim and a.verbatim == b.verbatim:
        return 100.0
    if place not in _PLACE_TERM:
        return 0.0
    return max(0.0, min(100.0, 100.0 * _problem(a, b) + _PLACE_TERM[place]))


def similarity(a: DuplicateCandidate, b: DuplicateCandidate) -> float:
    """0..100: the evidence that two reports are one problem at one place (any category)."""
    return _score(
        a.district, _profile(a.normalized_text, a.place), b.district, _profile(b.normalized_text, b.place)
    )


def find_duplicate(
    new: DuplicateCandidate,
    open_candidates: Iterable[DuplicateCandidate],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[str, float] | None:
    """The best open candidate of the same category scoring ≥ threshold, as (key, score), else None."""
    pool = DuplicatePool(c for c in open_candidates if c.category == new.category and c.key != new.key)
    return pool.best(new, threshold=threshold)


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
        by_key = self._by_key
        hopeful = {i for key in mine.wanted for i in by_key.get(key, ())}
        best_score, best_index = threshold, -1
        alive, profiles, candidates = self._alive, self._profiles, self._candidates
        for index in hopeful:
            if not alive[index]:
                continue
            theirs = profiles[index]
            # No head noun in common: the problem scores 0, so the pair scores at most the spot
            # bonus, or 100 for a verbatim copy. Skipped when that cannot reach the best so far.
            if (
                best_score > _NO_PROBLEM_MAX
                and mine.heads.isdisjoint(theirs.heads)
                and not (mine.verbatim and mine.verbatim == theirs.verbatim)
            ):
                continue
            score = _score(new.district, mine, candidates[index].district, theirs)
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


class WarmPools:
    """Pools of open tickets by (category, district), kept from batch to batch.

    The gateway builds a pool of every (category, district) a batch needs from the store's open
    tickets; most of them are the same from one batch to the next. `pool` brings the kept pool to
    exactly the rows given (a ticket not among them is dropped, a new one profiled, one whose text
    or place changed profiled again) and returns a batch overlay of it, so what the batch opens
    stays out of the kept pool. The result is the same as `DuplicatePool(rows)`, newest first.
    At most `max_pools` pools are kept (the least recently used goes)."""

    def __init__(self, max_pools: int = 512) -> None:
        self._pools: dict[tuple[str, str | None], DuplicatePool] = {}
        self._max_pools = max_pools
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pools)

    def pool(self, key: tuple[str, str | None], candidates: Sequence[DuplicateCandidate]) -> DuplicatePool:
        """An overlay of the kept pool of `key`, holding exactly `candidates` (newest first)."""
        with self._lock:
            kept = self._pools.pop(key, None)
            if kept is None:
                kept = DuplicatePool()
            self._pools[key] = kept  # most recently used last
            if len(self._pools) > self._max_pools:
                del self._pools[next(iter(self._pools))]
            _sync(kept, candidates)
            return kept.overlay()

    def forget(self, key: tuple[str, str | None] | None = None) -> None:
        """Drop one kept pool, or all of them."""
        with self._lock:
            if key is None:
                self._pools.clear()
            else:
                self._pools.pop(key, None)


def _sync(pool: DuplicatePool, candidates: Sequence[DuplicateCandidate]) -> None:
    """Make `pool` hold exactly `candidates`, ranked in their order (newest first)."""
    wanted = {c.key for c in candidates}
    for key in pool.members():
        if key not in wanted:
            pool.remove(key)
    for rank, candidate in enumerate(candidates):
        index = pool._index.get(candidate.key)
        if index is not None and pool._candidates[index] == candidate:
            pool._rank[index] = rank
        else:
            pool.add(candidate, rank)


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
