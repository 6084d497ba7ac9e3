"""The blocked-bot fallback: a citizen who blocked the bot and shared a phone gets the SMS variant of
each reply (one or two UCS-2 parts, no line breaks, no buttons, no "we'll tell you here"), counted
in parts at the fake SMS provider."""

from __future__ import annotations

from typing import Any

from bot.models import Medium, OutboundMessage, TicketStatus
from bot.replies import STATUS_NAMES, render
from channels.segments import sms_parts
from tests.channels import updates as u
from tests.channels.conftest import HOOK_SECRET, RUBBISH, ServiceFactory

HEADER = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
HOOK = f"/hooks/telegram/{HOOK_SECRET}"
PHONE = "09121234567"
HERE = "همین‌جا"  # "here": true of the chat, wrong in an SMS


def _sms(svc: Any) -> list[str]:
    """Texts the fake Kavenegar accepted for the citizen, in order."""
    return [text for provider, to, text in svc.sms.texts() if provider == "kavenegar" and to == PHONE]


def _assert_sms_shaped(text: str) -> None:
    assert sms_parts(text) <= 2, (sms_parts(text), text)
    assert "\n" not in text and HERE not in text, text


async def test_a_blocked_chat_gets_the_sms_variant_of_each_reply(make_service: ServiceFactory) -> None:
    svc = await make_service()
    await svc.client.post(HOOK, json=u.contact(1, "989121234567"), headers=HEADER)
    svc.bot_api.blocked.add("42")  # the citizen blocks the bot before any reply reaches them
    await svc.client.post(HOOK, json=u.text(2, 10, RUBBISH), headers=HEADER)
    await svc.drain()
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
    describe, created = _sms(svc)
    assert describe == render("describe", Medium.SMS)
    # The ticket reply is whichever "created…" template applied, in its SMS wording.
    assert created in {
        render(key, Medium.SMS, code=ticket.tracking_code)
        for key in ("created", "created_review", "created_urgent")
    }
    # Later replies are rerouted when claimed (the chat is known to be blocked): SMS wording too.
    await svc.client.post(HOOK, json=u.text(3, 11, "/status"), headers=HEADER)
    await svc.drain()
    status = _sms(svc)[-1]
    latest = f"{ticket.tracking_code}: {STATUS_NAMES[ticket.status]}"
    assert status == render("status_list", Medium.SMS, latest=latest)
    for text in _sms(svc):
        _assert_sms_shaped(text)
    assert svc.bot_api.sent("42") == []  # nothing reached the blocked chat


async def test_a_survey_to_a_blocked_chat_asks_for_digits_instead_of_buttons(
    make_service: ServiceFactory,
) -> None:
    svc = await make_service()
    await svc.client.post(HOOK, json=u.contact(1, "989121234567"), headers=HEADER)
    await svc.client.post(HOOK, json=u.text(2, 10, RUBBISH), headers=HEADER)
    await svc.drain()
    svc.bot_api.blocked.add("42")
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
        await svc.sada.lifecycle.change_status(
            tx, ticket, TicketStatus.RESOLVED, actor="op", note="جمع‌آوری شد"
        )
    await svc.drain()
    resolved, survey = _sms(svc)
    assert resolved == render("now_resolved", Medium.SMS, code=ticket.tracking_code, note="جمع‌آوری شد")
    # The chat survey offers buttons; its SMS variant asks for ۱ or ۲ instead.
    assert survey == render("survey", Medium.SMS, code=ticket.tracking_code)
    for text in (resolved, survey):
        _assert_sms_shaped(text)


async def test_a_reply_queued_before_the_sms_variant_was_stored_goes_without_line_breaks(
    make_service: ServiceFactory,
) -> None:
    """A row queued by an older version holds only the chat text: it is sent flattened to one line
    (the SMS channel still cuts it to its part limit), never with the chat's line breaks."""
    svc = await make_service()
    await svc.client.post(HOOK, json=u.contact(1, "989121234567"), headers=HEADER)
    await svc.drain()
    svc.bot_api.blocked.add("42")
    async with svc.store.transaction() as tx:
        await tx.outbox.enqueue(
            OutboundMessage("telegram", "42", "درخواست ۱۲۳ ثبت شد.\nکد پیگیری: ۱۲۳"),
            ticket_id=None,
            priority=0,
            at=svc.clock.now(),
        )
    await svc.drain()
    assert _sms(svc)[-1] == "درخواست ۱۲۳ ثبت شد. کد پیگیری: ۱۲۳"
