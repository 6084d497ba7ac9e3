"""The letter around a complaint: greetings, blessings, forms of address, polite closings.

Real citizens wrap a pothole in a letter («با سلام و احترام، خدمت شهردار محترم … خواهشمند است
دستور فرمایید … با تشکر»). Those formulas say nothing about which department owns the problem,
yet they are long, so in a TF-IDF row they dilute the one sentence that does, and a model that
saw them mostly in `general` messages reads them as evidence for `general`. `strip_framing`
removes them from what the classifier reads (training and classification alike); what remains is
the request. A message that is nothing but formulas («سلام، خیلی ممنون از زحماتتون») is kept
whole: there the courtesy *is* the content, and it belongs to `general`.

The patterns run on normalised text with ZWNJ read as a space (see nlp.features.feature_text).
Complaints about inaction («چند بار با ۱۳۷ تماس گرفتیم») are not formulas: they stay, and the
training data carries them in every category.
"""

from __future__ import annotations

import re

# Where a closing formula must stand: before punctuation or at the end of the text.
_END = r"(?=\s*(?:[،,.!؟?:؛;]|$))"

# Spacing inside formulas varies («خدا قوت», «خداقوت»): `_` stands for an optional space.
_PHRASES: tuple[str, ...] = (
    # Invocations and greetings.
    r"بسمه_تعالی",
    r"باسمه_تعالی",
    r"بسم_الله(?: الرحمن الرحیم)?",
    r"به نام (?:خدا|خداوند(?: بخشنده(?: و)? مهربان)?|آن که .{0,20}?)",
    r"(?:با|ضمن) (?:عرض )?(?:سلام|درود)(?: و (?:احترام|ادب|تحیت|تحیات|خسته نباشید|خدا_قوت|عرض ادب))*",
    r"سلام(?: و)? (?:عرض )?(?:ادب|احترام)",
    r"سلام_علیکم",
    r"(?:صبح|ظهر|عصر|شب|روز|وقت)(?: ?(?:تون|تان|شما))? (?:به ?|ب)خیر",
    r"سلام(?: (?:علیک|عليكم|دوستان|خدمت شما|عزیزان))?",
    r"(?:عرض )?خسته نباشید",
    r"خدا_قوت",
    r"درود(?: (?:بر شما|فراوان|و احترام))?",
    r"احتراما",
    r"احترامًا",
    r"(?:به|باستحضار) ?(?:استحضار|اطلاع)(?: (?:عالی|حضرتعالی|جنابعالی))? "
    r"(?:می ?رساند|میرساند|می ?رسانیم|می ?رسانم)",
    # Forms of address.
    r"(?:خدمت|حضور)(?: (?:محترم|ارجمند))? (?:جناب|سرکار)?(?: ?آقای)? ?شهردار(?: محترم| گرامی| عزیز)?",
    r"(?:جناب )?(?:آقای )?شهردار (?:محترم|گرامی|عزیز)",
    r"(?:ریاست|رئیس|اعضای|عضو) (?:محترم )?(?:شورای (?:اسلامی )?شهر|شورا)(?: (?:محترم|گرامی))?",
    r"(?:مسئولین|مسئولان|مسولین|مسولان|مدیران|متولیان)(?: (?:محترم|گرامی|عزیز|ذیربط|مربوطه|شهری))+",
    r"(?:همشهریان|شهروندان) (?:عزیز|گرامی|محترم)",
    # Polite requests and closings.
    r"(?:خواهشمند|خواهشمندیم|تقاضامندیم|تقاضامند|مستدعی) (?:است|هستیم|هستم|ام|ایم)?",
    r"دستور (?:فرمایید|بفرمایید|فرمائید|دهید|بدهید|بدید|رسیدگی)",
    r"(?:لطفا|لطفاً|لطف کنید|لطف کنین|لطف بفرمایید)",
    # Thanks closes a letter only where it ends a sentence: «ممنون از رفتگرهای محله» is thanks
    # for someone, and a `general` message whose content that is.
    r"(?:با|ضمن|پیشاپیش|باز هم|بازهم) (?:تشکر|سپاس|سپاسگزاری|قدردانی)"
    r"(?: (?:فراوان|از (?:شما|همکاری ?(?:شما|تان|تون)|زحمات ?(?:شما|تان|تون)|حسن توجه(?: شما)?)))*" + _END,
    r"(?:پیشاپیش |از قبل )?(?:خیلی |بسیار )?(?:ممنون|متشکر|سپاسگزار|سپاس ?گذار|مرسی|سپاس)"
    r"(?: ?(?:م|یم|هستم|هستیم))?" + _END,
    r"(?:پیشاپیش |از قبل )?(?:خیلی |بسیار )?(?:ممنون|متشکر|سپاسگزار|سپاس ?گذار) "
    r"(?:میشم|می شم|میشیم|می شویم|می شوم|خواهم بود|خواهیم بود)",
    r"(?:خدا|خداوند) (?:خیرتون|خیرتان|خیرت|خیر) (?:بده|بدهد|دهد)",
    r"خدا (?:حفظتون|حفظتان) کنه",
    r"التماس دعا",
    r"اجرکم عند ?الله",
    r"ان ?شا ?الله",
    r"یا علی",
    r"با احترام",
    r"با آرزوی (?:توفیق|موفقیت|سلامتی)(?: (?:روزافزون|برای شما))?",
)

FRAMING_PHRASES = _PHRASES  # part of the model's version: edited formulas retrain it
_FORMULAS = re.compile(
    r"(?<!\w)(?:" + "|".join(p.replace("_", " ?") for p in _PHRASES) + r")(?!\w)",
)
_PUNCT_RUNS = re.compile(r"(?:\s*[،,.!؟?:؛;]+\s*)+")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")

# Below this many words, what is left after the formulas is not a request of its own.
MIN_CONTENT_WORDS = 2


def strip_framing(text: str) -> str:
    """`text` without its letter formulas; the text unchanged when nothing else would be left."""
    stripped = _FORMULAS.sub(" ", text)
    if stripped == text:
        return text
    if len(_WORD.findall(stripped)) < MIN_CONTENT_WORDS:
        return text
    stripped = _PUNCT_RUNS.sub(lambda m: " " + m.group(0).strip()[:1] + " ", stripped)
    return _SPACES.sub(" ", stripped).strip(" ،,.!؟?:؛;")
