"""Inbound SMS webhooks: the webhook table — canned payloads per receiving channel (Kavenegar,
Melipayamak, generic) — run against the real aiohttp routes, and its `reply` rows end to end to
the reply at the fake provider. A new receiving SMS provider adds its rows to CASES."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import Medium
from channels.segments import sms_parts
from channels.sms import SmsChannel, SmsFieldNames, content_ids, fit_parts, parse_sms
from channels.webhook import BadPayload
from nlp.letters import persian_digits
from tests.channels.conftest import HOOK_SECRET, POTHOLE, RUBBISH, ServiceFactory

MOBILE = "09121234567"
E164 = "+989121234567"


@dataclass(frozen=True)
class Case:
    """One canned request: what the provider sends and what we must answer."""

    label: str
    channel: str
    method: str
    query: dict[str, str] | None = None
    form: dict[str, str] | None = None
    json_body: Any = None
    raw: bytes | None = None
    content_type: str | None = None
    secret: str = HOOK_SECRET
    status: int = 200
    tickets: int = 1
    answer: str | None = None
    reply: bool = False  # also end to end: the reply reaches the provider; five retries, one ticket


KAVENEGAR = "sms"
MELI = "meli"
GENERIC = "gateway2"

CASES = [
    # Kavenegar push: GET or POST, form or JSON, tolerant field names (unverified wire format).
    Case(
        "kn get",
        KAVENEGAR,
        "GET",
        query={"from": MOBILE, "to": "10004346", "message": RUBBISH, "messageid": "1"},
        reply=True,
    ),
    Case(
        "kn post form",
        KAVENEGAR,
        "POST",
        form={"sender": MOBILE, "receptor": "10004346", "text": RUBBISH, "id": "2"},
        reply=True,
    ),
    Case("kn post json", KAVENEGAR, "POST", json_body={"from": MOBILE, "message": RUBBISH, "messageid": 3}),
    Case(
        "kn +98 form",
        KAVENEGAR,
        "POST",
        form={"from": "+98 912 123 4567", "message": RUBBISH, "messageid": "4"},
    ),
    Case(
        "kn persian digits",
        KAVENEGAR,
        "GET",
        query={"from": "۰۹۱۲۱۲۳۴۵۶۷", "message": RUBBISH, "messageid": "5"},
    ),
    Case(
        "kn arabic digits",
        KAVENEGAR,
        "GET",
        query={"from": "٠٩١٢١٢٣٤٥٦٧", "message": RUBBISH, "messageid": "6"},
    ),
    Case(
        "kn arabic letters",
        KAVENEGAR,
        "GET",
        query={"from": MOBILE, "message": "زباله هاي كوچه ما رو سه روزه جمع نكردن", "messageid": "7"},
    ),
    Case(
        "kn missing sender",
        KAVENEGAR,
        "POST",
        form={"message": RUBBISH, "messageid": "8"},
        status=400,
        tickets=0,
    ),
    Case(
        "kn missing text", KAVENEGAR, "POST", form={"from": MOBILE, "messageid": "9"}, status=400, tickets=0
    ),
    Case(
        "kn landline",
        KAVENEGAR,
        "POST",
        form={"from": "02188776655", "message": RUBBISH},
        status=400,
        tickets=0,
    ),
    Case(
        "kn malformed json",
        KAVENEGAR,
        "POST",
        raw=b'{"from": "0912',
        content_type="application/json",
        status=400,
        tickets=0,
    ),
    Case("kn json array", KAVENEGAR, "POST", json_body=[{"from": MOBILE}], status=400, tickets=0),
    Case(
        "kn bad form",
        KAVENEGAR,
        "POST",
        raw=b"\xff\xfe=%%",
        content_type="application/x-www-form-urlencoded",
        status=400,
        tickets=0,
    ),
    Case(
        "kn oversized",
        KAVENEGAR,
        "POST",
        form={"from": MOBILE, "message": "آ" * 70_000},
        status=413,
        tickets=0,
    ),
    Case(
        "kn forged secret",
        KAVENEGAR,
        "POST",
        form={"from": MOBILE, "message": RUBBISH},
        secret="x" * 28,
        status=404,
        tickets=0,
    ),
    Case(
        "kn empty secret",
        KAVENEGAR,
        "POST",
        form={"from": MOBILE, "message": RUBBISH},
        secret="",
        status=404,
        tickets=0,
    ),
    # Melipayamak: GET to/body/from, answered with a plain OK.
    Case(
        "mp get",
        MELI,
        "GET",
        query={"to": "50004001", "body": RUBBISH, "from": MOBILE},
        answer="OK",
        reply=True,
    ),
    Case(
        "mp 98 prefix",
        MELI,
        "GET",
        query={"to": "50004001", "body": RUBBISH, "from": "989121234567"},
        answer="OK",
    ),
    Case(
        "mp mixed digits",
        MELI,
        "GET",
        query={"to": "50004001", "body": RUBBISH, "from": "09۱۲1٢34567"},
        answer="OK",
    ),
    Case("mp missing from", MELI, "GET", query={"to": "50004001", "body": RUBBISH}, status=400, tickets=0),
    Case("mp missing body", MELI, "GET", query={"to": "50004001", "from": MOBILE}, status=400, tickets=0),
    Case(
        "mp forged secret",
        MELI,
        "GET",
        query={"body": RUBBISH, "from": MOBILE},
        secret="y" * 28,
        status=404,
        tickets=0,
    ),
    # Generic webhook: field names from configuration.
    Case(
        "gen json",
        GENERIC,
        "POST",
        json_body={"msisdn": MOBILE, "shortcode": "3000", "content": RUBBISH, "ref": "g1"},
        answer="ACK",
        reply=True,
    ),
    Case("gen form", GENERIC, "POST", form={"msisdn": MOBILE, "content": RUBBISH, "ref": "g2"}, answer="ACK"),
    Case(
        "gen usual names are not enough",
        GENERIC,
        "POST",
        form={"from": MOBILE, "text": RUBBISH},
        status=400,
        tickets=0,
    ),
    Case(
        "gen forged",
        GENERIC,
        "POST",
        form={"msisdn": MOBILE, "content": RUBBISH},
        secret="z" * 28,
        status=404,
        tickets=0,
    ),
]


async def _call(svc: Any, case: Case) -> Any:
    path = f"/hooks/{case.channel}/{case.secret}"
    kwargs: dict[str, Any] = {"params": case.query or {}}
    if case.form is not None:
        kwargs["data"] = case.form
    elif case.json_body is not None:
        kwargs["data"] = json.dumps(case.json_body, ensure_ascii=False).encode()
        kwargs["headers"] = {"Content-Type": "application/json"}
    elif case.raw is not None:
        kwargs["data"] = case.raw
        kwargs["headers"] = {"Content-Type": case.content_type or "text/plain"}
    return await svc.client.request(case.method, path, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
async def test_canned_payloads(make_service: ServiceFactory, case: Case) -> None:
    svc = await make_service()
    response = await _call(svc, case)
    body = await response.text()
    assert response.status == case.status, body
    if case.answer is not None:
        assert body == case.answer
    assert await svc.ticket_count() == case.tickets
    if case.tickets:
        async with svc.store.transaction() as tx:
            [ticket] = await tx.tickets.recent()
            [identity] = await tx.tickets.reporters(ticket.id)
        assert identity.address == E164 and identity.channel == case.channel


REPLIES = [case for case in CASES if case.reply]


async def test_every_sms_webhook_has_rows(make_service: ServiceFactory) -> None:
    svc = await make_service()

    async def nowhere(message: Any) -> Any:
        raise AssertionError(message)

    hooks = {
        name
        for name, channel in svc.sada.channels.items()
        if channel.medium is Medium.SMS and isinstance(channel, SmsChannel) and channel.routes(nowhere)
    }
    assert hooks == {case.channel for case in CASES}
    assert hooks == {case.channel for case in REPLIES}


@pytest.mark.parametrize("case", REPLIES, ids=[c.label for c in REPLIES])
async def test_sms_becomes_a_ticket_and_the_reply_reaches_the_provider(
    make_service: ServiceFactory, case: Case
) -> None:
    svc = await make_service()
    assert (await _call(svc, case)).status == 200
    await svc.drain()
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
    [(sent_by, to, text)] = svc.sms.texts()
    # The generic webhook replies through its reply_via sender, the others through their own account.
    assert (sent_by, to) == (svc.replier(case.channel), MOBILE)
    assert persian_digits(ticket.tracking_code) in text
    assert sms_parts(text) == 1  # the SMS variant fits one UCS-2 part


@pytest.mark.parametrize("case", REPLIES, ids=[c.label for c in REPLIES])
async def test_a_provider_retrying_five_times_yields_one_ticket_and_one_reply(
    make_service: ServiceFactory, case: Case
) -> None:
    svc = await make_service()
    for _ in range(5):
        assert (await _call(svc, case)).status == 200
    await svc.drain()
    assert await svc.ticket_count() == 1
    assert len(svc.sms.texts()) == 1


async def test_melipayamak_two_different_messages_are_two_tickets(make_service: ServiceFactory) -> None:
    svc = await make_service()
    for text in (RUBBISH, POTHOLE):
        response = await svc.client.get(
            f"/hooks/meli/{HOOK_SECRET}", params={"to": "5000", "body": text, "from": MOBILE}
        )
        assert response.status == 200
    assert await svc.ticket_count() == 2


async def test_kavenegar_delivery_report_updates_the_row(make_service: ServiceFactory) -> None:
    svc = await make_service()
    await _call(svc, CASES[0])
    await svc.drain()
    [row] = await svc.outbox()
    response = await svc.client.post(
        f"/hooks/sms/{HOOK_SECRET}/status", data={"messageid": row.provider_message_id, "status": "10"}
    )
    assert response.status == 200 and (await response.json())["matched"] == 1
    [row] = await svc.outbox()
    assert row.delivery_status == "delivered"
    response = await svc.client.post(
        f"/hooks/sms/{HOOK_SECRET}/status", data={"messageid": row.provider_message_id, "status": "11"}
    )
    [row] = await svc.outbox()
    assert row.delivery_status == "undelivered"
    async with svc.store.transaction() as tx:
        events = await tx.tickets.events(row.ticket_id)
    assert events[-1].kind.value == "delivery_failed" and events[-1].data["delivery"] == "11"
    bad = await svc.client.post(f"/hooks/sms/{HOOK_SECRET}/status", data={"status": "10"})
    assert bad.status == 400
    forged = await svc.client.post(f"/hooks/sms/{'q' * 28}/status", data={"messageid": "1", "status": "10"})
    assert forged.status == 404


async def test_kavenegar_polling_takes_unread_messages(make_service: ServiceFactory) -> None:
    svc = await make_service(sms={"poll_interval_seconds": 1})
    svc.sms.inbox = [
        {"messageid": 91, "message": RUBBISH, "sender": MOBILE, "receptor": "10004346", "date": 1795336200},
        {
            "messageid": 92,
            "message": "x",
            "sender": "not-a-number",
            "receptor": "10004346",
            "date": 1795336200,
        },
    ]
    channel = svc.sada.channels["sms"]
    messages = await channel.poll_once()  # type: ignore[attr-defined]
    assert [m.provider_message_id for m in messages] == ["91"]
    for message in messages:
        await svc.sada.inbound(message)
    await svc.drain()
    assert await svc.ticket_count() == 1 and svc.sms.texts()[0][1] == MOBILE


def test_parse_sms_is_pure_and_tolerant() -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    names = SmsFieldNames()
    first = parse_sms({"From": MOBILE, "Message": "سلام"}, names, channel="sms", now=now)
    again = parse_sms({"from": "+989121234567", "message": "سلام"}, names, channel="sms", now=now)
    assert first.address == E164 and first.provider_message_id == again.provider_message_id  # content id
    with pytest.raises(BadPayload, match="sender"):
        parse_sms({"message": "x"}, names, channel="sms", now=now)


def test_content_ids_hold_for_a_window_and_name_the_window_before() -> None:
    start = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)  # a window starts here
    same, earlier = content_ids(E164, "5000", "سلام", start + timedelta(minutes=9))
    assert content_ids(E164, "5000", "سلام", start) == (same, earlier)
    later, before_later = content_ids(E164, "5000", "سلام", start + timedelta(minutes=10))
    assert later != same and before_later == same
    assert content_ids(E164, "5000", "سلام!", start)[0] != same  # other words, other message
    assert content_ids("+989120000000", "5000", "سلام", start)[0] != same  # another sender


def test_long_replies_are_cut_to_the_configured_parts() -> None:
    text = "درخواست شما ثبت شد " * 30
    cut = fit_parts(text, 2)
    assert sms_parts(cut) == 2 and cut.endswith("…")
    assert fit_parts("کوتاه", 1) == "کوتاه"
