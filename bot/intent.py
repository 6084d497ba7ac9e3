"""What is this message? A cheap, ordered check of the intents a citizen's message can carry."""

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


@dataclass(frozen=True, slots=True)
class Intent:
    """The decision, with what it needs: a tracking code typed, or a survey answer."""

    kind: IntentKind
    code: str | None = None
    answer: SurveyAnswer | None = None


_COMMANDS_HELP = {"start", "help", "menu", "شروع", "راهنما", "کمک", "منو", "راهنمایی"}
_COMMANDS_STATUS = {"status", "وضعیت", "پیگیری", "peygiri", "paygiri", "peigiri"}
_TRACKING_WORDS = ("پیگیری", "رهگیری", "کد", "وضعیت", "شماره درخواست", "peygiri", "paygiri", "code", "vaziat")
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
# Courtesies carry no request: a message of only these (and punctuation) gets a prompt, not a ticket.
_COURTESY = re.compile(
    r"سلام(?:\s*علیکم)?|درود|وقت\s*(?:تون|تان)?\s*بخیر|روز\s*بخیر|خسته\s*نباشید|ممنون(?:م)?|مرسی|متشکر(?:م)?|"
    r"تشکر|سپاس(?:گزارم)?|لطفا|لطفاً|با\s*تشکر|\b(?:hi|hello|salam|slm|merci|mersi|mamnoon|ok|okay)\b|"
    r"باشه|اوکی|خداحافظ"
)
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


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
    if survey_open:
        if bare in _YES:
            return Intent(IntentKind.SURVEY_ANSWER, answer=SurveyAnswer.FIXED)
        if bare in _NO:
            return Intent(IntentKind.SURVEY_ANSWER, answer=SurveyAnswer.NOT_FIXED)
    status = _status_query(text, bare)
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


def _status_query(text: str, bare: str) -> Intent | None:
    """A tracking code typed alone or with a few words; a near-code with tracking words is a typo.

    In a longer message a 10-digit number is taken as a code only with a valid check digit and a
    tracking word, so postal codes and phone numbers in complaints do not become status queries.
    """
    runs = [r for r in digit_runs(text) if 8 <= len(r) <= 12]
    asks = any(word in bare.replace("کد پستی", " ") for word in _TRACKING_WORDS)
    words_without_digits = [w for w in bare.split() if not any(ch.isdigit() for ch in w)]
    short = len(words_without_digits) <= 4
    for run in runs:
        if len(run) == CODE_LENGTH and not _is_phone_like(run) and (short or (asks and is_valid(run))):
            return Intent(IntentKind.STATUS_QUERY, code=run)
    if short and asks:
        if runs:
            return Intent(IntentKind.STATUS_QUERY, code=runs[0])
        if len(bare.split()) <= 3:
            return Intent(IntentKind.STATUS_QUERY)
    return None
