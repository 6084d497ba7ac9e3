"""Delivery against local fakes: the Bot API on 127.0.0.1, an SMTP server (aiosmtpd), and the
once-per-recipient-per-day rule across restarts and two running workers."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.dates.clock import ManualClock
from bot.dates.jalali import TEHRAN
from bot.digest.delivery import FAILED, SENT, SKIPPED, make_sender
from bot.digest.job import DigestJob, due_day
from channels.telegram import TelegramChannel
from storage.digests import DigestDeliveryRepository
from storage.store import Store
from tests.channels.fakes import FakeBotApi
from tests.conftest import make_config
from tests.digest.seed import D_JALALI, D


def _decoded(part: Message) -> str:
    """A MIME part's payload, transfer-decoded, as text."""
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


TOKEN = "123456:digest-test-token"
# The morning after D, 07:31 Tehran: the digest of D is due.
MORNING = datetime(2025, 11, 23, 7, 31, tzinfo=TEHRAN)


class Inbox:
    """An aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        assert isinstance(envelope.content, bytes)
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int]]:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="127.0.0.1"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield inbox, port
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(TOKEN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


def digest_section(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "send_at": "07:30",
        "check_interval_seconds": 0.02,
        "smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "sender": "sada@city.example"},
        "recipients": {
            "mayor": {"chat_channel": "telegram", "chat_id": "555", "email": "mayor@city.example"},
            "waste_head": {"department": "waste", "email": "waste@city.example"},
        },
        **extra,
    }


# The config names the chat channel the mayor's digest goes through; each test builds its own.
CHAT = {"telegram": {"kind": "fake"}}


def telegram(fake: FakeBotApi) -> TelegramChannel:
    assert fake.server is not None
    base = str(fake.server.make_url("/bot"))
    return TelegramChannel(
        "telegram", token=TOKEN, secret=None, mode="polling", base_url=base, chat_interval=0
    )


async def test_telegram_and_email_delivery(
    seeded: tuple[Store, Any], bot_api: FakeBotApi, smtp: tuple[Inbox, int], tmp_path: Path, store_url: str
) -> None:
    store, handles = seeded
    inbox, port = smtp
    config = make_config(store_url, tmp_path, digest=digest_section(port), channels=CHAT)
    tg = telegram(bot_api)
    try:
        sender, _ = make_sender(config, store, {"telegram": tg}, ManualClock(MORNING))
        outcomes = await sender.deliver(D)
    finally:
        await tg.aclose()
    assert sorted((o.recipient, o.medium, o.status) for o in outcomes) == [
        ("mayor", "email", SENT),
        ("mayor", "telegram", SENT),
        ("waste_head", "email", SENT),
    ]
    # Telegram: the Persian text (within 4096 characters) and the chart as a photo, to the mayor only.
    [text] = bot_api.sent("555")
    assert len(text["text"]) <= 4096
    assert "۱۴۰۴/۰۹/۰۱" in text["text"] and "درخواست‌های جدید: ۷" in text["text"]
    assert handles["waste"][1][2] not in text["text"]  # codes are shown in Persian digits
    assert "".join("۰۱۲۳۴۵۶۷۸۹"[int(c)] for c in handles["waste"][1][2]) in text["text"]
    assert "09121234567" not in text["text"] and "۰۹۱۲۱۲۳۴۵۶۷" not in text["text"]
    photos = [c for c in bot_api.calls if c.method == "sendPhoto"]
    assert len(photos) == 1 and str(photos[0].params["chat_id"]) == "555"
    assert photos[0].params["photo"].content_type == "image/png"
    # E-mail: plain text and HTML with the chart inline, one per recipient, each for its scope.
    by_rcpt = {tuple(rcpt): msg for rcpt, msg in inbox.messages}
    assert set(by_rcpt) == {("mayor@city.example",), ("waste@city.example",)}
    mayor = by_rcpt[("mayor@city.example",)]
    kinds = [part.get_content_type() for part in mayor.walk()]
    assert {"text/plain", "text/html", "image/png"} <= set(kinds)
    html = _decoded(next(p for p in mayor.walk() if p.get_content_type() == "text/html"))
    assert 'dir="rtl"' in html and "کل شهر" in html
    waste_text = next(
        p for p in by_rcpt[("waste@city.example",)].walk() if p.get_content_type() == "text/plain"
    )
    plain = _decoded(waste_text)
    assert "حوزه: سازمان مدیریت پسماند" in plain and "درخواست‌های جدید: ۲" in plain
    # Everything is recorded as sent.
    async with store.transaction() as tx:
        rows = await DigestDeliveryRepository(tx.session).for_day(D_JALALI)
    assert [(r.recipient, r.medium, r.status) for r in rows] == [
        ("mayor", "email", "sent"),
        ("mayor", "telegram", "sent"),
        ("waste_head", "email", "sent"),
    ]


async def test_a_failed_send_is_retried_and_then_sent_once(
    seeded: tuple[Store, Any], smtp: tuple[Inbox, int], tmp_path: Path, store_url: str
) -> None:
    store, _ = seeded
    inbox, port = smtp
    section = digest_section(port)
    section["recipients"] = {"waste_head": {"department": "waste", "email": "waste@city.example"}}
    broken = digest_section(1, recipients=section["recipients"])  # nothing listens on port 1
    clock = ManualClock(MORNING)
    sender, _ = make_sender(make_config(store_url, tmp_path, digest=broken), store, {}, clock)
    [failed] = await sender.deliver(D)
    assert failed.status == FAILED and failed.error
    sender, _ = make_sender(make_config(store_url, tmp_path, digest=section), store, {}, clock)
    assert [o.status for o in await sender.deliver(D)] == [SENT]
    assert [o.status for o in await sender.deliver(D)] == [SKIPPED]
    assert len(inbox.messages) == 1


async def test_two_workers_and_a_restart_send_each_digest_once(
    seeded: tuple[Store, Any], bot_api: FakeBotApi, smtp: tuple[Inbox, int], tmp_path: Path, store_url: str
) -> None:
    inbox, port = smtp
    config = make_config(store_url, tmp_path, digest=digest_section(port), channels=CHAT)
    clock = ManualClock(MORNING - timedelta(minutes=5))  # 07:26: not yet
    workers = []
    for _ in range(2):  # two processes: each its own engine, channel and job
        store = Store.from_url(store_url)
        tg = telegram(bot_api)
        sender, settings = make_sender(config, store, {"telegram": tg}, clock)
        workers.append((store, tg, DigestJob(sender, settings, clock)))
    tasks = [asyncio.create_task(job.run()) for _, _, job in workers]
    try:
        await asyncio.sleep(0.1)
        assert inbox.messages == [] and bot_api.sent() == []
        clock.advance(timedelta(minutes=5))  # 07:31
        for _ in range(200):
            await asyncio.sleep(0.02)
            if len(inbox.messages) == 2 and bot_api.sent():
                break
        await asyncio.sleep(0.2)  # both workers have woken several times since
    finally:
        for _, _, job in workers:
            job.stop()
        await asyncio.gather(*tasks)
    assert sorted(r for rcpt, _ in inbox.messages for r in rcpt) == [
        "mayor@city.example",
        "waste@city.example",
    ]
    assert len(bot_api.sent("555")) == 1
    assert len([c for c in bot_api.calls if c.method == "sendPhoto"]) == 1
    # A restarted worker finds the day's rows taken and sends nothing.
    store, tg, _ = workers[0]
    sender, settings = make_sender(config, store, {"telegram": tg}, clock)
    assert {o.status for o in await DigestJob(sender, settings, clock).tick()} == {SKIPPED}
    assert len(inbox.messages) == 2 and len(bot_api.sent("555")) == 1
    for store, tg, _ in workers:
        await tg.aclose()
        await store.aclose()


def test_the_digest_is_due_after_the_send_time_for_yesterday(tmp_path: Path) -> None:
    config = make_config("sqlite+aiosqlite:///x.db", tmp_path, digest={"send_at": "07:30"})
    settings = config.digest
    assert due_day(MORNING - timedelta(minutes=2), settings) is None
    assert due_day(MORNING, settings) == D
