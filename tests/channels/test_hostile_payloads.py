"""What outside testing sent through the real front door (`Sada.web_app()`: webhook → flood limit →
group commit → gateway): deeply nested JSON, lone surrogate escapes, a hotline batch with one
odd record, and a stranger's contact card. No 5xx, nothing acknowledged and not stored, and a
contact card proves a phone number only when Telegram says it is the sender's own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sada
from bot.intake.flood import FloodSettings
from bot.models import TicketStatus
from storage.abuse import AbuseRepository
from tests.channels import updates as u
from tests.channels.conftest import HOOK_SECRET, HOTLINE_TOKEN, RUBBISH, Service, ServiceFactory

TG = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
AUTH = {"Authorization": f"Bearer {HOTLINE_TOKEN}"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def door(make_service: ServiceFactory) -> AsyncIterator[tuple[Service, TestClient[Any, Any]]]:
    """The service and a client on the application production serves."""
    svc = await make_service()
    client = TestClient(TestServer(svc.sada.web_app(), host="127.0.0.1"))
    await client.start_server()
    yield svc, client
    await client.close()


async def texts_stored(svc: Service) -> list[str]:
    async with svc.store.read() as tx:
        return [t.text for t in await tx.tickets.recent()]


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Every JSON-reading door: Telegram, Bale, an SMS provider posting JSON, a generic SMS gateway, the
# hotline (whole body and NDJSON lines).
HOOKS = [
    ("/hooks/telegram/{s}", TG),
    ("/hooks/bale/{s}", {}),
    ("/hooks/sms/{s}", JSON),
    ("/hooks/meli/{s}", JSON),
    ("/hooks/gateway2/{s}", JSON),
    ("/hotline/hotline/records", {**AUTH, **JSON}),
]


@pytest.mark.parametrize(("path", "headers"), HOOKS, ids=[p.split("/")[2] for p, _ in HOOKS])
@pytest.mark.parametrize(
    "body",
    [nested(9_000), nested_arrays(30_000), nested(500), nested_arrays(5_000)],
    ids=["object-9000", "array-30000", "object-500", "array-5000"],
)
async def test_deeply_nested_json_is_a_400_everywhere(
    door: tuple[Service, TestClient[Any, Any]], path: str, headers: dict[str, str], body: bytes
) -> None:
    svc, client = door
    response = await client.post(path.format(s=HOOK_SECRET), data=body, headers=headers)
    assert response.status == 400, await response.text()
    assert await svc.ticket_count() == 0


async def test_a_deep_value_inside_a_telegram_update_is_a_400(
    door: tuple[Service, TestClient[Any, Any]],
) -> None:
    svc, client = door
    update = json.dumps(u.text(1, 10, RUBBISH)).encode()
    body = update[:-1] + b', "extra": ' + nested_arrays(2000) + b"}"
    response = await client.post(f"/hooks/telegram/{HOOK_SECRET}", data=body, headers=TG)
    assert response.status == 400
    assert await svc.ticket_count() == 0


LONE = "\\ud800"  # as it travels in JSON: an escape of half a surrogate pair


async def test_a_lone_surrogate_in_a_telegram_message_is_stored_once(
    door: tuple[Service, TestClient[Any, Any]],
) -> None:
    """It used to be 503 on every delivery: Telegram retried, and the message was never stored."""
    svc, client = door
    body = json.dumps(u.text(1, 10, RUBBISH + " X")).replace(" X", LONE)
    for _ in range(2):  # Telegram's redelivery is a duplicate, not a second ticket
        response = await client.post(f"/hooks/telegram/{HOOK_SECRET}", data=body, headers=TG)
        assert response.status == 200, await response.text()
    assert await texts_stored(svc) == [RUBBISH + "\ufffd"]
    # The citizen's name may carry one too.
    update = u.text(2, 11, "چراغ کوچه خاموش است", uid=43)
    update["message"]["from"]["first_name"] = "X"
    response = await client.post(
        f"/hooks/telegram/{HOOK_SECRET}", data=json.dumps(update).replace('"X"', f'"{LONE}"'), headers=TG
    )
    assert response.status == 200
    assert await svc.ticket_count() == 2


async def test_a_lone_surrogate_in_an_sms_is_stored(door: tuple[Service, TestClient[Any, Any]]) -> None:
    svc, client = door
    body = json.dumps({"from": "09121234567", "to": "10004346", "message": "X", "messageid": "k-1"})
    response = await client.post(
        f"/hooks/sms/{HOOK_SECRET}", data=body.replace('"X"', f'"{RUBBISH}{LONE}"'), headers=JSON
    )
    assert response.status == 200, await response.text()
    assert await texts_stored(svc) == [RUBBISH + "\ufffd"]


def record(call_id: str, transcript: str, caller: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": caller,
        "started_at": "2026-11-22T10:00:00+03:30",
        "transcript": transcript,
    }


async def test_a_hotline_batch_with_a_lone_surrogate_is_stored_whole_and_retries_are_not_a_flood(
    door: tuple[Service, TestClient[Any, Any]],
) -> None:
    """The outside reproduction: `[good, lone surrogate, good]` POSTed once a second. It was 503 for
    tries 1–20 (the odd record failed and the one after it was skipped), then 200 "accepted: 3"
    with the odd record dropped by the flood limit and both callers recorded as flooders."""
    svc, client = door
    batch = [
        record("c-1", "چاله بزرگ وسط خیابان ولیعصر", "09121110001"),
        record("c-2", "X", "09121110002"),
        record("c-3", "چراغ های کوچه خاموش است", "09121110001"),
    ]
    body = json.dumps(batch).replace('"X"', f'"آب قطع است {LONE}"')
    answers = []
    for _ in range(25):
        response = await client.post("/hotline/hotline/records", data=body, headers={**AUTH, **JSON})
        answers.append((response.status, await response.json()))
        svc.clock.advance(timedelta(seconds=1))
    assert answers[0] == (200, {"status": "ok", "accepted": 3, "duplicates": 0, "errors": []})
    assert {(s, a["accepted"], a["duplicates"]) for s, a in answers[1:]} == {(200, 0, 3)}
    assert sorted(await texts_stored(svc)) == sorted(
        ["چاله بزرگ وسط خیابان ولیعصر", "آب قطع است \ufffd", "چراغ های کوچه خاموش است"]
    )
    async with svc.store.read() as tx:
        assert await AbuseRepository(tx.session).events() == []


async def test_a_bad_hotline_record_fails_alone(door: tuple[Service, TestClient[Any, Any]]) -> None:
    """A record that cannot be parsed is refused by index; the records after it are still stored."""
    svc, client = door
    batch = [
        record("c-1", "چاله بزرگ وسط خیابان ولیعصر", "09121110001"),
        record("c-2", "آب قطع است", "137"),
        record("c-3", "چراغ های کوچه خاموش است", "09121110003"),
    ]
    response = await client.post("/hotline/hotline/records", json=batch, headers=AUTH)
    assert response.status == 400
    answer = await response.json()
    assert answer["accepted"] == 2 and [e["index"] for e in answer["errors"]] == [1]
    assert await svc.ticket_count() == 2


async def test_records_over_the_flood_limit_are_reported_as_refused(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    """A 2xx counts only what is committed: records dropped by the flood limit are named as refused."""
    svc = await make_service()
    limited = Sada(
        replace(svc.sada.config, flood=FloodSettings(max_messages=2)),
        channels=svc.sada.channels,
        clock=svc.clock,
        store=svc.store,
    )
    await limited.start(background_tasks=False)
    client = TestClient(TestServer(limited.web_app(), host="127.0.0.1"))
    await client.start_server()
    try:
        problems = ["چاله بزرگ خیابان ولیعصر", "چراغ کوچه خاموش", "آب لوله ترکیده", "درخت افتاده"]
        batch = [record(f"c-{i}", text, "09121110001") for i, text in enumerate(problems)]
        response = await client.post("/hotline/hotline/records", json=batch, headers=AUTH)
        answer = await response.json()
        assert response.status == 400
        assert answer["accepted"] == 2
        assert [(e["index"], e["error"]) for e in answer["errors"]] == [
            (2, "flood limit: not stored"),
            (3, "flood limit: not stored"),
        ]
        assert await svc.ticket_count() == 2
        async with svc.store.read() as tx:
            assert len(await AbuseRepository(tx.session).events()) == 1
    finally:
        await client.close()


@pytest.mark.parametrize("owner", [None, 777], ids=["no-user-id", "someone-else"])
async def test_a_stranger_cannot_answer_another_citizens_survey(
    door: tuple[Service, TestClient[Any, Any]], owner: int | None
) -> None:
    """A contact card without `user_id` (typed in, from the address book) or with another user's id
    is not the sender's number: it must not join the stranger's chat to the citizen who owns it."""
    svc, client = door
    response = await client.post(
        f"/hooks/sms/{HOOK_SECRET}",
        data={"from": "09121234567", "to": "10004346", "message": RUBBISH, "messageid": "v-1"},
    )
    assert response.status == 200
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
        await svc.sada.lifecycle.change_status(
            tx, ticket, TicketStatus.RESOLVED, actor="staff", note="انجام شد"
        )
    await svc.drain()

    stranger = 99
    card = u.contact(1, "+989121234567", uid=stranger, owner=owner)
    assert (await client.post(f"/hooks/telegram/{HOOK_SECRET}", json=card, headers=TG)).status == 200
    answer = u.text(2, 60, "خیر", uid=stranger)
    assert (await client.post(f"/hooks/telegram/{HOOK_SECRET}", json=answer, headers=TG)).status == 200
    assert (await svc.ticket(ticket.tracking_code)).status is TicketStatus.RESOLVED
    # The stranger's chat is a citizen of its own, with no phone number.
    async with svc.store.read() as tx:
        assert await tx.citizens.phone_at("telegram", str(stranger)) is None

    # The owner's own answer still counts.
    response = await client.post(
        f"/hooks/sms/{HOOK_SECRET}",
        data={"from": "09121234567", "to": "10004346", "message": "خیر", "messageid": "v-2"},
    )
    assert response.status == 200
    assert (await svc.ticket(ticket.tracking_code)).status is TicketStatus.REOPENED


async def test_the_senders_own_contact_still_links_the_chat(
    door: tuple[Service, TestClient[Any, Any]],
) -> None:
    svc, client = door
    card = u.contact(1, "+989121234567", uid=42, owner=42)
    assert (await client.post(f"/hooks/telegram/{HOOK_SECRET}", json=card, headers=TG)).status == 200
    async with svc.store.read() as tx:
        assert await tx.citizens.phone_at("telegram", "42") == "+989121234567"
