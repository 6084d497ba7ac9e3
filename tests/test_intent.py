"""Intent detection as a table: what a citizen's message is taken to be."""

from __future__ import annotations

import pytest

from bot.intake.intent import IntentKind, detect
from bot.models import SurveyAnswer
from bot.tracking import new_code
from nlp.letters import persian_digits

CODE = new_code()
K = IntentKind


@pytest.mark.parametrize(
    ("text", "survey_open", "kind", "code"),
    [
        ("زباله‌های کوچه سه روزه جمع نشده", False, K.NEW_REQUEST, None),
        ("ashghal haye kooche jam nashode", False, K.NEW_REQUEST, None),
        (CODE, False, K.STATUS_QUERY, CODE),
        (persian_digits(CODE), False, K.STATUS_QUERY, CODE),
        (f"سلام پیگیری درخواست {persian_digits(CODE)}", False, K.STATUS_QUERY, CODE),
        (f"peygiri {CODE}", False, K.STATUS_QUERY, CODE),
        ("کد پیگیری ۱۲۳۴۵۶۷۸", False, K.STATUS_QUERY, "12345678"),  # too short: will be "not found"
        ("پیگیری", False, K.STATUS_QUERY, None),
        ("/status", False, K.STATUS_QUERY, None),
        # Phone numbers and postal codes inside a complaint are not tracking codes.
        ("آب گرفتگی شدید کوچه، شماره من ۰۹۱۲۱۲۳۴۵۶۷ لطفا تماس بگیرید", False, K.NEW_REQUEST, None),
        ("چراغ های کوچه خاموشه کد پستی ۱۲۳۴۵۶۷۸۹۰ لطفا پیگیری کنید سریعتر", False, K.NEW_REQUEST, None),
        ("۱", True, K.SURVEY_ANSWER, None),
        ("۱", False, K.NOISE, None),
        ("سلام", False, K.NOISE, None),
        ("سلام خسته نباشید", False, K.NOISE, None),
        ("", False, K.NOISE, None),
        ("😡😡😡", False, K.NOISE, None),
        ("/start", False, K.HELP, None),
        ("راهنما", False, K.HELP, None),
    ],
)
def test_detect(text: str, survey_open: bool, kind: IntentKind, code: str | None) -> None:
    intent = detect(text, button=None, survey_open=survey_open, min_request_letters=8)
    assert intent.kind is kind
    assert intent.code == code


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("1", SurveyAnswer.FIXED),
        ("٣١", SurveyAnswer.FIXED),
        ("بله!", SurveyAnswer.FIXED),
        ("نه.", SurveyAnswer.NOT_FIXED),
        ("33", SurveyAnswer.NOT_FIXED),
        ("رفع نشده", SurveyAnswer.NOT_FIXED),
    ],
)
def test_survey_answers(text: str, answer: SurveyAnswer) -> None:
    assert detect(text, button=None, survey_open=True, min_request_letters=8).answer is answer


def test_buttons() -> None:
    assert (
        detect("", button="survey:fixed", survey_open=True, min_request_letters=8).answer
        is SurveyAnswer.FIXED
    )
    assert detect("", button="survey:fixed", survey_open=False, min_request_letters=8).kind is K.HELP
    assert detect("", button="menu:status", survey_open=False, min_request_letters=8).kind is K.STATUS_QUERY


def test_a_location_without_text_is_a_location_and_with_text_a_request() -> None:
    assert detect("", button=None, survey_open=False, min_request_letters=8, location=True).kind is (
        IntentKind.LOCATION
    )
    with_text = detect(
        "چاله بزرگ وسط خیابان ولیعصر", button=None, survey_open=False, min_request_letters=8, location=True
    )
    assert with_text.kind is IntentKind.NEW_REQUEST
    assert detect("", button=None, survey_open=False, min_request_letters=8).kind is IntentKind.NOISE
