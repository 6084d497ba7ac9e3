"""What is this message? A cheap, ordered check of the intents a citizen's message can carry.

The rules, in the order `detect` applies them:
- a button, a bare location, a command («راهنما», «/status»);
- with a survey open: its answer, also inside thanks («خیلی ممنون، مشکل حل شد», «ممنون ولی حل نشده»);
- a tracking code (with a few words, or a valid one with a tracking word);
- thanks, a blessing or a farewell and nothing else («ممنون از پیگیری شما», «خدا قوت»): COURTESY,
  a short answer and no ticket. Thanks around a problem («ممنون، ولی سطل زباله شکسته») and praise
  that says what for («تشکر از رفتگرهای محله») stay requests, for an operator to read;
- a status question written as a sentence: a progress cue («چی شد», «به کجا رسید», «پیگیری شد؟»)
  in a message of nothing but status words is a STATUS_QUERY; with other words too, it is one only
  if it names the earlier report («درخواستم», «شکایتی که دادم», «کد پیگیری», «زنگ زدم»), and then
  `names_problem` is set and bot.intake.gateway decides (a status answer, unless it names a concrete
  problem the sender has no open ticket of). A progress word in a complaint («چی شد که ماشین زباله
  نمیاد») and a request to cancel are not status questions;
- a bare greeting or too little text: NOISE, the prompt to describe the problem;
- anything else: a NEW_REQUEST, the only intent that reaches classification and duplicate matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.models import SurveyAnswer
from bot.tracking import CODE_LENGTH, digit_runs, is_valid
from nlp.letters import fold


class IntentKind(StrEnum):
    """The intents the gateway handles."""

    NEW_REQUEST = "new_request"
    STATUS_QUERY = "status_query"
    SURVEY_ANSWER = "survey_answer"
    HELP = "help"
    NOISE = "noise"
    LOCATION = "location"  # a shared location without text (Telegram, Bale)
    COURTESY = "courtesy"  # thanks, a blessing, a farewell: a short answer, never a ticket
    ATTACHMENT = "attachment"  # a photo, video or document without words: joins the open report


@dataclass(frozen=True, slots=True)
class Intent:
    """The decision, with what it needs: a tracking code typed, or a survey answer.

    `names_problem` marks a status question that also names something more than the question
    («درخواستم برای چاله چی شد؟ هنوز چاله هست»): bot.intake.gateway answers it with the status, or takes it
    as a new report when it names a concrete problem the sender has no open ticket of."""

    kind: IntentKind
    code: str | None = None
    answer: SurveyAnswer | None = None
    names_problem: bool = False


_COMMANDS_HELP = {"start", "help", "menu", "شروع", "راهنما", "کمک", "منو", "راهنمایی"}
_COMMANDS_STATUS = {"status", "وضعیت", "پیگیری", "peygiri", "paygiri", "peigiri"}
_TRACKING_WORDS = ("پیگیری", "رهگیری", "کد", "وضعیت", "شماره درخواست", "peygiri", "paygiri", "code", "vaziat")
# Any of them anywhere in the text (substrings, as `in`): one search instead of one per word.
_TRACKING = re.compile("|".join(re.escape(word) for word in _TRACKING_WORDS))
_YES = {
    "1",
    "31",
    "بله",
    "بلی",
    "آره",
    "اره",
    "آری",
    "رفع شد",
    "درست شد",
    "حل شد",
    "yes",
    "bale",
    "are",
    "areh",
}
_NO = {
    "2",
    "33",
    "نه",
    "خیر",
    "نخیر",
    "رفع نشده",
    "درست نشده",
    "حل نشده",
    "نه رفع نشده",
    "no",
    "na",
    "nah",
    "kheir",
    "nakheir",
}
# Greetings and courtesies carry no request: they do not count as a message's content.
_COURTESY = re.compile(
    r"سلام(?:\s*علیکم)?|درود|وقت\s*(?:تون|تان)?\s*بخیر|روز\s*بخیر|خسته\s*نباشید|ممنون(?:م)?|مرسی|متشکر(?:م)?|"
    r"تشکر|سپاس(?:گزارم)?|لطفا|لطفاً|با\s*تشکر|\b(?:hi|hello|salam|slm|merci|mersi|mamnoon|ok|okay)\b|"
    r"باشه|اوکی|خداحافظ"
)
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    """A word table written as running text."""
    return frozenset(text.split())


# --- Survey answers wrapped in thanks: «خیلی ممنون، مشکل حل شد», «نه هنوز برطرف نشده». ---
_YES_WORDS = frozenset({"بله", "بلی", "آره", "اره", "آری", "yes", "bale", "are", "areh"})
_NO_WORDS = frozenset({"نه", "خیر", "نخیر", "no", "na", "nah", "kheir", "nakheir"})
_FIXED = frozenset(f"{verb} {aux}" for verb in ("رفع", "درست", "حل", "برطرف") for aux in ("شد", "شده"))
_NOT_FIXED = frozenset(f"{verb} {aux}" for verb in ("رفع", "درست", "حل", "برطرف") for aux in ("نشد", "نشده"))
_ANSWER_FILLER = frozenset({"ولی", "اما", "مشکل", "مشکلم", "خیلی", "واقعا", "هنوز", "کاملا", "دیگه", "که"})

# --- Thanks, blessings and farewells. A message of only these (and the words that go with them)
# is a courtesy: a short answer, no ticket. A greeting alone is not: it opens a conversation.
_THANKS = re.compile(
    r"\b(?:"
    r"ممنون(?:م|یم)?|مرسی|متشکر(?:م|یم)?|تشکر|سپاس(?: ?گ[زذ]ار(?:م|یم)?)?|قدردانی|"
    r"دست(?:تون|تان|ت|شما)? درد نکن(?:ه|د|ید)|دم(?:تون|ت|تان)? گرم|"
    r"خدا ?قوت|خدا (?:خیرتون|خیرتان|خیرت|خیر) (?:بده|بدهد|دهد)|خدا (?:حفظتون|حفظتان) کنه|"
    r"زنده باشید|عمرتون دراز|موفق باشید|پاینده باشید|سلامت باشید|"
    r"خدا ?حافظ|خدا ?نگهدار|بدرود|"
    r"merc[iy]|mersi|mrc|mamnoo?n(?:am)?|mamnun(?:am)?|motshakk?eram|tashakk?or|sepas|"
    r"khoda ?(?:ghovat|hafez)|khodafez|dastetoon dard nakone|thanks?|thx|tnx|bye"
    r")\b"
)
_COURTESY_WORDS = _words(
    """
    از بابت برای به که و هم با شما ما من همه همگی خیلی بسیار واقعا بی نهایت فراوان
    پیگیری رسیدگی زحمات زحمت زحمتکش همکاری همراهی توجه لطف سریع خوب عالی
    بود بودید هستید کردید کردین کردن شد شده انجام مشکل حل رفع برطرف درست
    عزیز عزیزان محترم گرامی شهرداری همکاران کارکنان مسئولین مسئولان پرسنل سامانه صدا 137
    سلام درود وقت بخیر روز عصر صبح شب خسته نباشید نباشین الو آقا خانم جناب
    تون تان ها های هام هامون هاتون
    az baraye bara be ke va ham ba shoma kheili kheyli vaghean peygiri peygiritoon
    zahmat zahamat zahmatatoon hamkari moshkel hal shod khaste nabashid salam
    """
)

# --- Status questions written as sentences: «درخواستم به کجا رسید؟», «خواستم بدونم شکایتم پیگیری
# شد یا نه». A cue asks about progress; a reference names the citizen's earlier report.
_PROGRESS = re.compile(
    r"\b(?:"
    r"چی ?شد|چه ?شد|چی شده|چیشده|چطور شد|چه خبر|چخبر|"
    r"(?:به )?کجا (?:رسید|رسیده|کشید)|خبری|دست کی(?:ه|ست)?|بی ?(?:پاسخ|جواب)|"
    # Someone acted, or did not: «پیگیری شد؟», «هیچ کاری نکردن».
    r"(?:پیگیری|رسیدگی|بررسی|اقدام|اقدامی|کاری)(?: هم)? "
    r"(?:ن?شد|ن?شده|ن?میشه|ن?می شه|ن?کرد|ن?کردید|ن?کردین|ن?کردن)|"
    # It happened, or did not: «ثبت شد؟», «هنوز حل نشده» («میشه ثبت کرد» is not a question).
    r"(?:ارجاع|انجام|ثبت|اعلام|حل|رفع|برطرف|درست)(?: هم)? (?:ن?شد|ن?شده|ن?میشه|ن?می شه)|"
    r"(?:جواب|جوابی|پاسخ|پاسخی)(?: هم)? (?:ن?دادید|ن?دادین|ن?دادن|نیومد|نیامد|نگرفتم|نگرفتیم)|"
    r"(?:در )?چه (?:مرحله|وضعیت|حال)\w*|کجای کار|وضعیت(?:ش|شو|شون)|"
    r"وضعیت (?:\w+ )?(?:درخواست|شکایت|گزارش|پیگیری|پرونده|نامه)\w*|"
    r"(?:پیگیری|بررسی) (?:کنم|کنیم|کنید|کنین)|"
    r"پیگیری (?:\w+ )?(?:درخواست|شکایت|گزارش|پرونده|نامه)\w*|"
    r"chi ?shod|che ?shod|koja resid\w*|khabari|(?:peygiri|residegi|barresi|anjam) (?:na)?shod|"
    r"vaziat(?:esh|e darkhast\w*|e shekayat\w*)|dast kie"
    r")\b"
)
# A word that names the citizen's earlier report («درخواستم», «شکایتی که دادم»)...
_REFERENCE = re.compile(
    r"(?:(?:درخواست|شکایت|گزارش|پیام|نامه|تماس|مشکل|موضوع|پرونده|تیکت|"
    r"darkhast|shekayat|gozaresh|payam|moshkel|parvande)"
    r"(?:ی|م|مون|مان|ام|یم|ه|ها|هام|های|هامون|تون|ات|ش|am|amoon|aman|e|i|ha|ham)?"
    # «پیگیری کنید» asks for action; only «پیگیریم», «پیگیری‌هام» is the citizen's follow-up.
    r"|پیگیری(?:م|مون|ام|هام|هامون)|peygiri(?:am|amoon))"
)
# ... or a phrase that does: its tracking code, or saying they called or reported.
_REFERENCE_PHRASE = re.compile(
    r"\b(?:(?:کد|شماره) (?:پیگیری|رهگیری)|شماره درخواست|(?:code|shomare) peygiri|"
    r"(?:زنگ|تماس) (?:زدم|زدیم|گرفتم|گرفتیم)|(?:ثبت|گزارش|اطلاع|خبر) (?:کردم|کردیم|دادم|دادیم))\b"
)
# Asking to cancel or change a report is for an operator, not a status answer.
_CHANGE = re.compile(r"\b(?:لغو|کنسل|ابطال|ویرایش|cancel)")
_STATUS_WORDS = _COURTESY_WORDS | _words(
    """
    الو آلو ببخشید ببخشین معذرت عذر میخوام آقا خانم خانوم لطفا خواهشا خواهش ممنون ممنونم مرسی
    من ما شما مون مان ام ای ایه ی تون تان منو مارو رو را مال خودم خودمون شو مو
    و یا نه آیا ایا هم یه یک این اون آن همون همان اینکه که بی
    به در تو از با برای واسه درباره راجع مورد بابت مربوط
    می میخواستم خواستم میخواستیم خواستیم میخوام بدونم بدونیم ببینم ببینیم ببین ببینید بپرسم بپرسیم
    بگید بگین بفرمایید بفرمایین بدید بدین اطلاع میشه میشم میشیم شم میتونید میتونین مطمئن
    کنم کنیم کنید کنین دارم داشتم دادم دادیم داده بودم بودیم کردم کردیم کرده کردن کردند
    فرستادم فرستادیم گفتم گفتیم زدم زدیم زنگ تماس گرفتم گرفتیم گرفتن ثبت اعلام
    قبلا قبلی قبلیم قبلیمون پیش دیروز پریروز هفته ماه روز روزه ساعت چند دو سه چهار پنج ده
    خیلی وقته وقت مدت مدتیه هنوز الان حالا بالاخره آخر اخر پس دیگه
    کی چرا چطور چه چی کجا چیه چیست شد نشد شده نشده شدن رسید رسیده نرسید کشید
    خبر خبری جواب جوابی پاسخ پاسخی نتیجه نتیجش اقدام اقدامی رسیدگی بررسی پیگیری وضعیت مرحله حال
    هست نیست هستش است کسی کرد نکرد کردید نکردید نکردن انجام ارجاع کاری حل رفع برطرف درست
    گم کد رهگیری شماره نیومد نیامد اومد آمد منتظرم منتظریم منتظر هیچ هیچی شهرداری سامانه 137
    alo salam bebakhshid man ma mikhastam khastam bebinam bedoonam bedunam bedonam az be ro ke
    chi che shod nashod shode nashode koja resid reside khabari khabar hanooz hanuz ghabli
    ghablim dadam sabt kardam vaziat vaziate lotfan pas ya na code hafte pish kasi tamas
    nagerefte natije alan dast kie agha aghaye khanom mohtaram sallam slm
    ست کردین نگرفتم نگرفتیم گرفتین دست
    """
)
_SUFFIXES = _words("هاتون هامون تون تان مون مان ها ام ای یه ست شو مو ش م ی ه")  # «درخواستم», «وضعیتیه»


def _bare(text: str) -> str:
    """Lower-case, folded, punctuation collapsed to single spaces."""
    return _PUNCT.sub(" ", fold(text).lower()).strip()


def _is_phone_like(run: str) -> bool:
    return (
        (len(run) == 11 and run.startswith("09"))
        or (len(run) == 12 and run.startswith("989"))
        or (len(run) == 10 and run.startswith("9"))
    )


def detect(
    text: str, *, button: str | None, survey_open: bool, min_request_letters: int, location: bool = False
) -> Intent:
    """Decide the intent of one message; the order of the checks is the policy."""
    if button:
        return _from_button(button, survey_open)
    if location and not text.strip():
        return Intent(IntentKind.LOCATION)
    bare = _bare(text)
    stripped = text.strip()
    # Telegram commands may carry the bot's name: /start@SadaBot
    command = _bare(stripped[1:].split("@", 1)[0]) if stripped.startswith("/") else bare
    if command in _COMMANDS_HELP:
        return Intent(IntentKind.HELP)
    if command in _COMMANDS_STATUS:
        return Intent(IntentKind.STATUS_QUERY)
    if survey_open and (answer := _survey_answer(bare)) is not None:
        return Intent(IntentKind.SURVEY_ANSWER, answer=answer)
    status = _status_query(text, bare)
    if status is not None:
        return status
    if _is_courtesy(bare):
        return Intent(IntentKind.COURTESY)
    status = _status_sentence(bare)
    if status is not None:
        return status
    content = _COURTESY.sub(" ", bare)
    letters = sum(ch.isalpha() for ch in content)
    if letters < min_request_letters or len(content.split()) < 2:
        return Intent(IntentKind.NOISE)
    return Intent(IntentKind.NEW_REQUEST)


def _from_button(button: str, survey_open: bool) -> Intent:
    if button == "survey:fixed" and survey_open:
        return Intent(IntentKind.SURVEY_ANSWER, answer=SurveyAnswer.FIXED)
    if button == "survey:not_fixed" and survey_open:
        return Intent(IntentKind.SURVEY_ANSWER, answer=SurveyAnswer.NOT_FIXED)
    if button == "menu:status":
        return Intent(IntentKind.STATUS_QUERY)
    return Intent(IntentKind.HELP)


def _survey_answer(bare: str) -> SurveyAnswer | None:
    """«۱», «بله», or the answer inside thanks and fillers: «ممنون ولی مشکل حل نشده»."""
    if bare in _YES:
        return SurveyAnswer.FIXED
    if bare in _NO:
        return SurveyAnswer.NOT_FIXED
    words = [w for w in _THANKS.sub(" ", bare).split() if w not in _ANSWER_FILLER]
    if not words:
        return None
    first, rest = words[0], " ".join(words[1:])
    core = " ".join(words)
    if core in _YES or core in _FIXED or (first in _YES_WORDS and rest in _FIXED):
        return SurveyAnswer.FIXED
    if core in _NO or core in _NOT_FIXED or (first in _NO_WORDS and rest in _NOT_FIXED):
        return SurveyAnswer.NOT_FIXED
    return None


def _status_query(text: str, bare: str) -> Intent | None:
    """A tracking code typed alone or with a few words; a near-code with tracking words is a typo.

    In a longer message a 10-digit number is taken as a code only with a valid check digit and a
    tracking word, so postal codes and phone numbers in complaints do not become status queries.
    Without a code, a few words all about tracking («وضعیت درخواست») are a status query; «وضعیت
    کوچه بده» is not.
    """
    runs = [r for r in digit_runs(text) if 8 <= len(r) <= 12]
    asks = _TRACKING.search(bare.replace("کد پستی", " ")) is not None
    words_without_digits = [w for w in bare.split() if not any(ch.isdigit() for ch in w)]
    short = len(words_without_digits) <= 4
    for run in runs:
        if len(run) == CODE_LENGTH and not _is_phone_like(run) and (short or (asks and is_valid(run))):
            return Intent(IntentKind.STATUS_QUERY, code=run)
    if short and asks:
        if runs:
            return Intent(IntentKind.STATUS_QUERY, code=runs[0])
        if len(bare.split()) <= 3 and _only(bare, _STATUS_WORDS):
            return Intent(IntentKind.STATUS_QUERY)
    return None


def _is_courtesy(bare: str) -> bool:
    """Thanks, a blessing or a farewell, and nothing but the words that go with them."""
    if not _THANKS.search(bare):
        return False
    return _only(_COURTESY.sub(" ", _THANKS.sub(" ", bare)), _COURTESY_WORDS)


def _status_sentence(bare: str) -> Intent | None:
    """A question about progress, with or without naming the report: a status query.

    Made of nothing but status words («الو ببخشید میخواستم ببینم پیگیری من به کجا رسید»), it is
    one whatever it refers to. With other words too, it is one only if it names the earlier report
    («درخواستم برای چاله چی شد»), and then `names_problem` leaves the last word to the gateway; a
    progress word alone in a complaint («چی شد که ماشین زباله دیگه نمیاد») is not a question."""
    if not _PROGRESS.search(bare) or _CHANGE.search(bare):
        return None
    rest = _COURTESY.sub(" ", _THANKS.sub(" ", bare))
    if _only(rest, _STATUS_WORDS):
        return Intent(IntentKind.STATUS_QUERY)
    if _REFERENCE_PHRASE.search(bare) or any(_REFERENCE.fullmatch(word) for word in rest.split()):
        return Intent(IntentKind.STATUS_QUERY, names_problem=True)
    return None


def _only(text: str, words: frozenset[str]) -> bool:
    """Every word of `text` is one of `words`, a reference to a report, or carries a digit."""
    return all(_known(word, words) for word in text.split())


def _known(word: str, words: frozenset[str]) -> bool:
    if word in words or _REFERENCE.fullmatch(word) or any(ch.isdigit() for ch in word):
        return True
    return any(word.endswith(s) and word[: -len(s)] in words for s in _SUFFIXES)
