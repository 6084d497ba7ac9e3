"""The 137 hotline: transcript records over HTTP and from a followed NDJSON feed, replies by SMS."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.lifecycle import S
from channels.hotline import parse_record, split_batch
from channels.webhook import BadPayload
from nlp.letters import persian_digits
from tests.channels.conftest import HOTLINE_TOKEN, POTHOLE, RUBBISH, ServiceFactory

AUTH = {"Authorization": f"Bearer {HOTLINE_TOKEN}"}
TEXTS = [
    RUBBISH,
    POTHOLE,
    "چراغ های خیابان بهار شیراز از دیشب خاموشه و کوچه تاریکه",
    "درخت بزرگ کوچه ما خشک شده و ممکنه بیفته روی ماشینا",
    "آب گرفتگی شدید زیرگذر میدان انقلاب بعد از بارون دیشب",
    "سگ های ولگرد تو پارک محله زیاد شدن و بچه ها می ترسن",
]


def record(call_id: str, text: str = RUBBISH, caller: str = "09121234567", **extra: Any) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": caller,
        "started_at": "2026-11-22T10:00:00+03:30",
        "transcript": text,
        **extra,
    }


BAD_RECORDS = [
    ({k: v for k, v in record("c").items() if k != "call_id"}, "call_id"),
    ({k: v for k, v in record("c").items() if k != "caller"}, "caller"),
    ({k: v for k, v in record("c").items() if k != "started_at"}, "started_at"),
    ({k: v for k, v in record("c").items() if k != "transcript"}, "transcript"),
    (record("c", caller="137"), "mobile"),
    ({**record("c"), "started_at": "yesterday"}, "ISO 8601"),
    ({**record("c"), "started_at": "2026-11-22T10:00:00"}, "zone"),
    ({**record("c"), "asr_confidence": 7}, "asr_confidence"),
    ([1], "object"),
]


@pytest.mark.parametrize(("item", "problem"), BAD_RECORDS)
def test_bad_records_name_their_problem(item: Any, problem: str) -> None:
    with pytest.raises(BadPayload, match=problem):
        parse_record(item, "hotline", review_below=0.6)


def test_a_record_parses_with_its_metadata() -> None:
    msg = parse_record(
        record("c-9", caller="۰۹۱۲۱۲۳۴۵۶۷", operator_id="op-7", asr_confidence=0.41, district="6"),
        "hotline",
        review_below=0.6,
    )
    assert msg.address == "+989121234567" and msg.provider_message_id == "c-9"
    assert msg.meta == {
        "call_id": "c-9",
        "needs_review": True,
        "operator_id": "op-7",
        "district": "6",
        "asr_confidence": 0.41,
    }
    assert msg.received_at.utcoffset() is not None


def test_batches_are_one_object_an_array_or_ndjson() -> None:
    assert len(split_batch(json.dumps(record("a")).encode())) == 1
    assert len(split_batch(json.dumps([record("a"), record("b")]).encode())) == 2
    items = split_batch(b'{"call_id": "a"}\n{broken\n{"call_id": "b"}\n')
    assert isinstance(items[1], BadPayload) and len(items) == 3


async def test_a_transcript_becomes_a_ticket_and_the_caller_gets_an_sms(make_service: ServiceFactory) -> None:
    svc = await make_service()
    response = await svc.client.post("/hotline/hotline/records", json=record("call-1"), headers=AUTH)
    assert response.status == 200 and (await response.json())["accepted"] == 1
    await svc.drain()
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
    assert ticket.channel == "hotline"
    [(provider, to, text)] = svc.sms.texts()
    assert (provider, to) == ("kavenegar", "09121234567") and persian_digits(ticket.tracking_code) in text


async def test_ndjson_batch_is_idempotent_on_call_id_and_reports_bad_lines(
    make_service: ServiceFactory,
) -> None:
    svc = await make_service()
    lines = [json.dumps(record(f"call-{i}", TEXTS[i], caller=f"0912000000{i}")) for i in range(3)]
    body = ("\n".join(lines) + "\n{not json\n").encode()
    first = await svc.client.post("/hotline/hotline/records", data=body, headers=AUTH)
    assert first.status == 400
    answer = await first.json()
    assert answer["accepted"] == 3 and answer["errors"] == [{"index": 3, "error": "malformed JSON"}]
    again = await svc.client.post("/hotline/hotline/records", data="\n".join(lines).encode(), headers=AUTH)
    assert again.status == 200 and (await again.json()) == {
        "status": "ok",
        "accepted": 0,
        "duplicates": 3,
        "errors": [],
    }
    assert await svc.ticket_count() == 3


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-token-0000000"}, {"Authorization": HOTLINE_TOKEN}]
)
async def test_wrong_or_missing_token_is_refused_and_creates_nothing(
    make_service: ServiceFactory, headers: dict[str, str]
) -> None:
    svc = await make_service()
    response = await svc.client.post("/hotline/hotline/records", json=record("call-1"), headers=headers)
    assert response.status == 403
    assert await svc.ticket_count() == 0


async def test_low_asr_confidence_sets_needs_review_and_district_is_kept(
    make_service: ServiceFactory,
) -> None:
    svc = await make_service()
    await svc.client.post(
        "/hotline/hotline/records", json=record("c1", asr_confidence=0.3, district="district-6"), headers=AUTH
    )
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
    assert ticket.needs_review and ticket.status is S.REGISTERED and ticket.district == "district-6"


async def test_a_caller_answers_the_survey_by_sms(make_service: ServiceFactory) -> None:
    svc = await make_service()
    await svc.client.post("/hotline/hotline/records", json=record("c1"), headers=AUTH)
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
        await svc.sada.lifecycle.change_status(tx, ticket, S.RESOLVED, actor="staff", note="کوچه نظافت شد")
    await svc.drain()
    assert svc.sms.texts()[-1][2].startswith("مشکل")  # the survey question, by SMS
    # The caller texts "1" to the Kavenegar line: a different channel, the same citizen.
    response = await svc.client.get(
        f"/hooks/sms/{HOOK}", params={"from": "09121234567", "message": "۱", "messageid": "s1"}
    )
    assert response.status == 200
    assert (await svc.ticket(ticket.tracking_code)).status is S.CLOSED


HOOK = "hook_secret_0123456789abcdef"


async def _follow_until(svc: Any, count: int, *, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        async with svc.store.transaction() as tx:
            if await tx.tickets.count() >= count:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} tickets")


async def test_the_follower_stopped_mid_file_and_restarted_ingests_every_record_once(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    (tmp_path / "feed").mkdir()
    feed = tmp_path / "feed" / "calls-2026-11-22.ndjson"
    records = [record(f"call-{i}", TEXTS[i], caller=f"0912000000{i}") for i in range(6)]
    # Three complete records and half of the fourth (the call-centre system is mid-write).
    half = json.dumps(records[3], ensure_ascii=False)
    feed.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:3]) + half[:40], encoding="utf-8"
    )
    svc = await make_service()
    channel = svc.sada.channels["hotline"]
    seen: list[str] = []

    async def receive(message: Any) -> Any:
        result = await svc.sada.inbound(message)
        seen.append(f"{message.provider_message_id}{'(dup)' if result.duplicate else ''}")
        return result

    task = asyncio.create_task(channel.run(receive))  # type: ignore[attr-defined]
    await _follow_until(svc, 3)
    await asyncio.sleep(0.2)
    task.cancel()  # the process stops
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(seen) == ["call-0", "call-1", "call-2"]
    with feed.open("a", encoding="utf-8") as f:
        f.write(half[40:] + "\n" + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[4:]))
    # A new process: a new channel built from the same config and store.
    from bot.runtime.channel_factory import build_channels

    restarted = build_channels(svc.sada.config.channels, store=svc.store)["hotline"]
    task = asyncio.create_task(restarted.run(receive))  # type: ignore[attr-defined]
    try:
        await _follow_until(svc, 6)
        await asyncio.sleep(0.2)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert sorted(seen) == [f"call-{i}" for i in range(6)]  # each once, none read twice
    assert await svc.ticket_count() == 6
    await svc.drain()
    assert len(svc.sms.texts()) == 6


async def test_the_follower_skips_a_bad_line_and_reads_a_directory_in_order(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "feed"
    folder.mkdir(exist_ok=True)
    (folder / "a.ndjson").write_text(json.dumps(record("a1", TEXTS[0])) + "\n{broken\n", encoding="utf-8")
    (folder / "b.jsonl").write_text(
        json.dumps(record("b1", TEXTS[1], caller="09350000000")) + "\n", encoding="utf-8"
    )
    (folder / "notes.txt").write_text("ignored\n", encoding="utf-8")
    svc = await make_service()
    channel = svc.sada.channels["hotline"]
    task = asyncio.create_task(channel.run(svc.sada.inbound))  # type: ignore[attr-defined]
    try:
        await _follow_until(svc, 2)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await svc.ticket_count() == 2
