"""Telegram and Bale: canned updates through the real webhook route, replies at a fake Bot API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.models import Button, OutboundMessage, SendError
from channels.base import RecipientBlocked
from channels.telegram import TelegramChannel, markup
from channels.webhook import BadPayload
from nlp.letters import persian_digits
from tests.channels import updates as u
from tests.channels.conftest import HOOK_SECRET, RUBBISH, TG_TOKEN, ServiceFactory

HEADER = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
KEYBOARD = (Button("ثبت درخواست", "menu:new"), Button("پیگیری", "menu:status"), Button("راهنما", "menu:help"))


@pytest.fixture
async def channel() -> Any:
    ch = TelegramChannel("telegram", token=TG_TOKEN, secret=HOOK_SECRET, keyboard=KEYBOARD)
    yield ch
    await ch.aclose()


PARSED = [
    (u.text(1, 10, RUBBISH), {"address": "42", "text": RUBBISH, "provider_message_id": "42:10"}),
    (u.start(2), {"text": "/start", "button": None}),
    (u.text(3, 11, "پیگیری"), {"button": "menu:status"}),
    (u.contact(4, "989121234567"), {"contact_phone": "+989121234567", "text": ""}),
    (u.contact(5, "+98 912 123 4567"), {"contact_phone": "+989121234567"}),
    (u.location(6), {"location_lat": 35.7, "text": ""}),
    (u.photo(7, "تیر چراغ برق افتاده"), {"text": "تیر چراغ برق افتاده", "attachment": "large-file-id"}),
    (u.callback(8, "survey:fixed"), {"button": "survey:fixed", "provider_message_id": "cb:cbq-8"}),
    (u.text(9, 12, "زباله هاي كوچه ۱۲ جمع نشده"), {"text": "زباله هاي كوچه ۱۲ جمع نشده"}),
]


@pytest.mark.parametrize(("update", "expected"), PARSED)
def test_updates_parse_to_inbound_messages(
    channel: TelegramChannel, update: dict[str, Any], expected: dict[str, Any]
) -> None:
    message = channel.parse(update)
    assert message is not None and message.channel == "telegram"
    for key, value in expected.items():
        if key == "location_lat":
            assert message.location is not None and message.location.latitude == value
        elif key == "attachment":
            assert [a.reference for a in message.attachments] == [value]
        else:
            assert getattr(message, key) == value, key


IGNORED = [
    u.contact(20, "989121234567", owner=777),  # somebody else's contact card: no phone, nothing else
    u.message(21, 30, text="سلام", chat_type="group"),
    {"update_id": 22, "edited_message": u.text(0, 31, "x")["message"]},
    u.message(
        23,
        32,
        sticker={
            "file_id": "s",
            "file_unique_id": "s",
            "type": "regular",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
        },
    ),
]


@pytest.mark.parametrize("update", IGNORED)
def test_updates_without_anything_for_us_are_ignored(
    channel: TelegramChannel, update: dict[str, Any]
) -> None:
    assert channel.parse(update) is None


@pytest.mark.parametrize(
    "body", [{"message": {}}, {"update_id": "1"}, [1, 2], {"update_id": 1, "message": {"x": 1}}]
)
def test_malformed_updates_are_bad_payloads(channel: TelegramChannel, body: Any) -> None:
    with pytest.raises(BadPayload):
        channel.parse(body)


def test_menu_goes_on_a_reply_keyboard_with_share_phone_and_survey_buttons_inline() -> None:
    menu = markup(KEYBOARD).to_dict()  # type: ignore[union-attr]
    assert [b["text"] for b in menu["keyboard"][0]] == ["ثبت درخواست", "پیگیری", "راهنما"]
    assert menu["keyboard"][1][0]["request_contact"] is True
    assert menu["keyboard"][1][1]["request_location"] is True
    survey = markup((Button("بله", "survey:fixed"), Button("خیر", "survey:not_fixed"))).to_dict()  # type: ignore[union-attr]
    assert [b["callback_data"] for b in survey["inline_keyboard"][0]] == ["survey:fixed", "survey:not_fixed"]


@pytest.mark.parametrize("name", ["telegram", "bale"])
async def test_an_update_becomes_a_ticket_and_the_reply_carries_the_code(
    make_service: ServiceFactory, name: str
) -> None:
    svc = await make_service()
    api = svc.bot_api if name == "telegram" else svc.bale_api
    response = await svc.client.post(
        f"/hooks/{name}/{HOOK_SECRET}", json=u.text(1, 10, RUBBISH), headers=HEADER
    )
    assert response.status == 200
    await svc.drain()
    [sent] = api.sent("42")
    [ticket] = await _tickets(svc)
    assert ticket.channel == name
    assert persian_digits(ticket.tracking_code) in sent["text"]
    assert "کد پیگیری" in sent["text"]


async def test_start_sends_the_welcome_with_the_menu_keyboard(make_service: ServiceFactory) -> None:
    svc = await make_service()
    assert (
        await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", json=u.start(), headers=HEADER)
    ).status == 200
    await svc.drain()
    [sent] = svc.bot_api.sent("42")
    assert "صدا" in sent["text"]
    rows = sent["reply_markup"]["keyboard"]
    assert [b["text"] for b in rows[0]] == ["ثبت درخواست", "پیگیری", "راهنما"]
    assert rows[1][0]["request_contact"] is True
    assert await svc.ticket_count() == 0


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/hooks/telegram/wrong_secret_0123456789", HEADER, 404),
        ("/hooks/telegram/", HEADER, 404),
        (f"/hooks/telegram/{HOOK_SECRET}", {}, 403),  # Telegram always sends the header: required
        (f"/hooks/telegram/{HOOK_SECRET}", {"X-Telegram-Bot-Api-Secret-Token": "forged"}, 403),
        (f"/hooks/bale/{HOOK_SECRET}", {"X-Telegram-Bot-Api-Secret-Token": "forged"}, 403),
    ],
)
async def test_forged_or_missing_secret_is_refused_and_creates_nothing(
    make_service: ServiceFactory, path: str, headers: dict[str, str], status: int
) -> None:
    svc = await make_service()
    response = await svc.client.post(path, json=u.text(1, 10, RUBBISH), headers=headers)
    assert response.status == status
    await svc.drain()
    assert await svc.ticket_count() == 0 and svc.bot_api.sent() == [] and svc.bale_api.sent() == []


async def test_bale_without_the_header_is_accepted_on_the_secret_path(make_service: ServiceFactory) -> None:
    svc = await make_service()
    response = await svc.client.post(f"/hooks/bale/{HOOK_SECRET}", json=u.text(1, 10, RUBBISH))
    assert response.status == 200 and await svc.ticket_count() == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b'{"update_id": 5}', "application/json", 200),  # valid, nothing in it: ignored
        (b'{"update_id": 6, "message": {"message_id": 1}}', "application/json", 400),
        (b"x" * (300 * 1024), "application/json", 413),
    ],
)
async def test_bad_bodies_get_clear_answers(
    make_service: ServiceFactory, body: bytes, content_type: str, status: int
) -> None:
    svc = await make_service()
    response = await svc.client.post(
        f"/hooks/telegram/{HOOK_SECRET}", data=body, headers={**HEADER, "Content-Type": content_type}
    )
    assert response.status == status
    assert await svc.ticket_count() == 0


async def test_a_redelivered_update_is_one_ticket_and_one_reply(make_service: ServiceFactory) -> None:
    svc = await make_service()
    for _ in range(5):
        response = await svc.client.post(
            f"/hooks/telegram/{HOOK_SECRET}", json=u.text(1, 10, RUBBISH), headers=HEADER
        )
        assert response.status == 200
    await svc.drain()
    assert await svc.ticket_count() == 1 and len(svc.bot_api.sent("42")) == 1


async def test_retry_after_from_a_429_is_honoured(make_service: ServiceFactory) -> None:
    svc = await make_service()
    svc.bot_api.script.fail_next(
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 2},
            },
        )
    )
    await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", json=u.text(1, 10, RUBBISH), headers=HEADER)
    await svc.drain()
    [row] = await svc.outbox()
    assert row.status == "pending" and "429" in (row.last_error or "") and svc.bot_api.sent() == []
    svc.clock.advance(timedelta(seconds=1.5))
    await svc.drain()
    assert svc.bot_api.sent() == []  # the row is not due before retry_after
    svc.clock.advance(timedelta(seconds=1))
    started = asyncio.get_running_loop().time()
    await svc.drain()
    assert len(svc.bot_api.sent("42")) == 1
    # The bot's pacing held every send back for the rest of the 2 s too (a flood wait is per bot).
    assert asyncio.get_running_loop().time() - started > 0.5


async def test_send_errors_are_typed() -> None:
    from tests.channels.fakes import FakeBotApi

    api = FakeBotApi(TG_TOKEN)
    base = await api.start()
    ch = TelegramChannel("telegram", token=TG_TOKEN, secret=None, base_url=base, chat_interval=0, timeout=1)
    try:
        api.blocked.add("7")
        with pytest.raises(RecipientBlocked):
            await ch.send(OutboundMessage("telegram", "7", "سلام"))
        api.script.fail_next((500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}))
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("telegram", "8", "سلام"))
        assert info.value.retryable
        api.script.fail_next(
            (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        )
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("telegram", "9", "سلام"))
        assert not info.value.retryable
        api.script.fail_next(3.0)  # slower than the 1 s timeout
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("telegram", "10", "سلام"))
        assert info.value.retryable
        result = await ch.send(OutboundMessage("telegram", "11", "سلام"))
        assert result.provider_message_id
    finally:
        await ch.aclose()
        await api.close()


async def test_blocked_bot_falls_back_to_sms_for_a_citizen_who_shared_a_phone(
    make_service: ServiceFactory,
) -> None:
    svc = await make_service()
    hook = f"/hooks/telegram/{HOOK_SECRET}"
    await svc.client.post(hook, json=u.contact(1, "989121234567"), headers=HEADER)
    await svc.client.post(hook, json=u.text(2, 10, RUBBISH), headers=HEADER)
    svc.bot_api.blocked.add("42")
    await svc.drain()
    [ticket] = await _tickets(svc)
    sms = [t for t in svc.sms.texts() if t[0] == "kavenegar"]
    assert [r for _, r, _ in sms] == [
        "09121234567",
        "09121234567",
    ]  # the "describe" reply and the ticket reply
    assert persian_digits(ticket.tracking_code) in sms[-1][2]
    assert all(row.status == "sent" for row in await svc.outbox())
    # Later replies go straight to SMS: Telegram is not tried again.
    tries = len([c for c in svc.bot_api.calls if c.method == "sendMessage"])
    await svc.client.post(hook, json=u.text(3, 11, "/status"), headers=HEADER)
    await svc.drain()
    assert len([c for c in svc.bot_api.calls if c.method == "sendMessage"]) == tries
    assert len([t for t in svc.sms.texts() if t[0] == "kavenegar"]) == 3


async def test_blocked_bot_without_a_phone_fails_the_row_on_the_ticket(make_service: ServiceFactory) -> None:
    svc = await make_service()
    svc.bot_api.blocked.add("42")
    await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", json=u.text(1, 10, RUBBISH), headers=HEADER)
    await svc.drain()
    [row] = await svc.outbox()
    assert row.status == "failed" and "403" in (row.last_error or "")
    assert svc.sms.texts() == []


async def test_photo_with_caption_keeps_the_file_id_and_survey_button_is_answered(
    make_service: ServiceFactory,
) -> None:
    svc = await make_service()
    hook = f"/hooks/telegram/{HOOK_SECRET}"
    await svc.client.post(hook, json=u.photo(1, RUBBISH), headers=HEADER)
    [ticket] = await _tickets(svc)
    async with svc.store.transaction() as tx:
        events = await tx.tickets.events(ticket.id)
    assert events[0].data["attachments"] == ["large-file-id"]
    response = await svc.client.post(hook, json=u.callback(2, "menu:status"), headers=HEADER)
    assert response.status == 200
    await svc.drain()
    await asyncio.sleep(0.2)  # the callback answer is sent off the webhook's path
    assert [
        c.params["callback_query_id"] for c in svc.bot_api.calls if c.method == "answerCallbackQuery"
    ] == ["cbq-2"]
    assert STATUS_WORD in svc.bot_api.sent("42")[-1]["text"]


STATUS_WORD = "ارجاع"


async def test_one_message_per_second_per_chat(make_service: ServiceFactory) -> None:
    svc = await make_service(telegram={"chat_interval_seconds": 0.3})
    async with svc.store.transaction() as tx:
        for i in range(3):
            await tx.outbox.enqueue(
                OutboundMessage("telegram", "42", f"m{i}"), ticket_id=None, priority=0, at=svc.clock.now()
            )
        await tx.outbox.enqueue(
            OutboundMessage("telegram", "43", "other"), ticket_id=None, priority=0, at=svc.clock.now()
        )
    await svc.drain()
    times = [
        c.at for c in svc.bot_api.calls if c.method == "sendMessage" and str(c.params["chat_id"]) == "42"
    ]
    assert [p["text"] for p in svc.bot_api.sent("42")] == ["m0", "m1", "m2"]
    # Paced at 0.3 s when sent; seen at the fake server, one request's delay in flight can shorten
    # one gap and lengthen the next (a loaded CI machine), so check each gap loosely, the span tightly.
    assert all(b - a >= 0.15 for a, b in zip(times, times[1:], strict=False))
    assert times[-1] - times[0] >= 0.55
    other = next(c.at for c in svc.bot_api.calls if str(c.params.get("chat_id")) == "43")
    assert other - times[0] < 0.25  # another chat is not held up


async def test_polling_mode_reads_updates_and_replies(make_service: ServiceFactory) -> None:
    svc = await make_service(telegram={"mode": "polling", "poll_timeout_seconds": 0})
    svc.bot_api.updates = [u.text(7, 10, RUBBISH)]
    channel = svc.sada.channels["telegram"]
    task = asyncio.create_task(channel.run(svc.sada.inbound))  # type: ignore[attr-defined]
    try:
        for _ in range(100):
            if await svc.ticket_count():
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await svc.drain()
    assert await svc.ticket_count() == 1 and len(svc.bot_api.sent("42")) == 1
    assert "deleteWebhook" in [c.method for c in svc.bot_api.calls]


async def _tickets(svc: Any) -> list[Any]:
    async with svc.store.transaction() as tx:
        return await tx.tickets.recent()
