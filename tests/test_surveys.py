"""After resolution: "is it fixed?" — yes closes, no reopens for an operator, silence closes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.intake.intent import IntentKind
from bot.jobs.surveys import SurveyCloser
from bot.models import TicketStatus
from tests.conftest import Rig, existing

S = TicketStatus
RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"


async def _resolved(rig: Rig, address: str = "tg:1") -> str:
    code = (await rig.say(rig.chat, address, RUBBISH)).ticket_code
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, code)
        await rig.lifecycle.change_status(tx, ticket, S.RESOLVED, actor="staff", note="جمع‌آوری شد")
    await rig.sada.dispatcher.drain()
    return code


@pytest.mark.parametrize("answer", ["۱", "1", "31", "۳۱", "بله", "آره", "  ۱ ", "١"])
async def test_yes_closes(rig: Rig, answer: str) -> None:
    code = await _resolved(rig)
    result = await rig.say(rig.chat, "tg:1", answer)
    assert result.intent == IntentKind.SURVEY_ANSWER and result.ticket_code == code
    ticket = await rig.ticket(code)
    assert ticket.status is S.CLOSED and ticket.closed_at is not None
    assert "بسته شد" in rig.chat.texts("tg:1")[-1]


@pytest.mark.parametrize("answer", ["۲", "2", "33", "۳۳", "نه", "خیر"])
async def test_no_reopens_and_flags_for_operator(rig: Rig, answer: str) -> None:
    code = await _resolved(rig)
    await rig.say(rig.chat, "tg:1", answer)
    ticket = await rig.ticket(code)
    assert ticket.status is S.REOPENED and ticket.needs_review
    assert "دوباره باز شد" in rig.chat.texts("tg:1")[-1]
    # The question is settled: a second "2" is no longer a survey answer.
    again = await rig.say(rig.chat, "tg:1", answer)
    assert again.intent != IntentKind.SURVEY_ANSWER


async def test_button_answer(rig: Rig) -> None:
    code = await _resolved(rig)
    await rig.say(rig.chat, "tg:1", "", button="survey:not_fixed")
    assert (await rig.ticket(code)).status is S.REOPENED


async def test_silence_closes_after_configured_days_and_only_then(rig: Rig) -> None:
    code = await _resolved(rig)
    closer = SurveyCloser(rig.store, rig.lifecycle, rig.clock, interval=60)
    rig.clock.advance(timedelta(days=2, hours=23))
    assert await closer.run_once() == 0
    assert (await rig.ticket(code)).status is S.RESOLVED
    rig.clock.advance(timedelta(hours=2))
    assert await closer.run_once() == 1
    assert (await rig.ticket(code)).status is S.CLOSED
    assert await closer.run_once() == 0
    # A late "2" after closing is not a survey answer any more.
    late = await rig.say(rig.chat, "tg:1", "۲")
    assert late.intent != IntentKind.SURVEY_ANSWER
    assert (await rig.ticket(code)).status is S.CLOSED


async def test_digit_without_open_survey_is_not_an_answer(rig: Rig) -> None:
    result = await rig.say(rig.chat, "tg:8", "۱")
    assert result.intent == IntentKind.NOISE


async def test_reopen_by_staff_cancels_open_survey(rig: Rig) -> None:
    code = await _resolved(rig)
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, code)
        await rig.lifecycle.change_status(tx, ticket, S.REOPENED, actor="op", note="بازدید دوباره لازم است")
    result = await rig.say(rig.chat, "tg:1", "۱")
    assert result.intent != IntentKind.SURVEY_ANSWER
    assert (await rig.ticket(code)).status is S.REOPENED
