"""Outbound sending against fake provider servers: typed errors, and exactly-once delivery
through a provider that fails half its calls."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from bot.models import OutboundMessage, SendError
from channels.kavenegar import KavenegarChannel
from channels.melipayamak import MelipayamakChannel
from channels.smsir import SmsIrChannel
from tests.channels.conftest import KAVENEGAR_KEY, MELI_PASSWORD, SMSIR_KEY, ServiceFactory
from tests.channels.fakes import FakeSmsProviders

TO = "+989121234567"


@pytest.fixture
async def providers() -> Any:
    fake = FakeSmsProviders(
        kavenegar_key=KAVENEGAR_KEY, smsir_key=SMSIR_KEY, melipayamak_password=MELI_PASSWORD
    )
    base = await fake.start()
    fake.base = base  # type: ignore[attr-defined]
    yield fake
    await fake.close()


async def test_kavenegar_send_and_its_errors(providers: Any) -> None:
    ch = KavenegarChannel(
        "sms", api_key=KAVENEGAR_KEY, sender="1000", guard=None, base_url=providers.base, timeout=0.5
    )
    try:
        result = await ch.send(OutboundMessage("sms", TO, "درخواست شما ثبت شد", idempotency_key="sada-17"))
        assert result.provider_message_id and result.segments == 1
        [call] = providers.kavenegar
        assert call.params["receptor"] == "09121234567" and call.params["localid"] == "17"
        providers.kavenegar_script.fail_next(
            (200, {"return": {"status": 418, "message": "اعتبار کافی نیست"}})
        )
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("sms", TO, "x"))
        assert info.value.retryable  # someone tops up the account
        providers.kavenegar_script.fail_next((400, {"return": {"status": 412, "message": "sender invalid"}}))
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("sms", TO, "x"))
        assert not info.value.retryable
        providers.kavenegar_script.fail_next((429, {"return": {"status": 429, "message": "slow down"}}))
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("sms", TO, "x"))
        assert info.value.retryable
        providers.kavenegar_script.fail_next(2.0)
        with pytest.raises(SendError, match="timed out") as info:
            await ch.send(OutboundMessage("sms", TO, "x"))
        assert info.value.retryable
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("sms", "tg:42", "x"))
        assert not info.value.retryable
    finally:
        await ch.aclose()
    wrong = KavenegarChannel(
        "sms", api_key="WRONG-KEY-123456", sender="1", guard=None, base_url=providers.base
    )
    try:
        with pytest.raises(SendError) as info:
            await wrong.send(OutboundMessage("sms", TO, "x"))
        assert not info.value.retryable and "WRONG-KEY" not in str(info.value)
    finally:
        await wrong.aclose()


async def test_melipayamak_send_and_its_errors(providers: Any) -> None:
    ch = MelipayamakChannel(
        "meli", username="u", password=MELI_PASSWORD, sender="5000", guard=None, base_url=providers.base
    )
    bad = MelipayamakChannel(
        "meli", username="u", password="wrong-password", sender="5000", guard=None, base_url=providers.base
    )
    try:
        result = await ch.send(OutboundMessage("meli", TO, "سلام"))
        assert result.provider_message_id
        assert providers.melipayamak[0].params["to"] == "09121234567"
        with pytest.raises(SendError) as info:
            await bad.send(OutboundMessage("meli", TO, "سلام"))
        assert not info.value.retryable and "RetStatus 0" in str(info.value)
        providers.melipayamak_script.fail_next((500, {"Message": "An error has occurred."}))
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("meli", TO, "سلام"))
        assert info.value.retryable
    finally:
        await ch.aclose()
        await bad.aclose()


async def test_smsir_send_and_its_errors(providers: Any) -> None:
    ch = SmsIrChannel("smsir", api_key=SMSIR_KEY, line_number="3000", base_url=providers.base)
    bad = SmsIrChannel("smsir", api_key="not-the-key-000000", line_number="3000", base_url=providers.base)
    try:
        assert (await ch.send(OutboundMessage("smsir", TO, "سلام"))).provider_message_id
        body = providers.smsir[0].params
        assert body["mobiles"] == ["09121234567"] and body["lineNumber"] == 3000
        providers.smsir_script.fail_next((429, {"status": 0, "message": "throttled", "data": None}))
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage("smsir", TO, "سلام"))
        assert info.value.retryable
        with pytest.raises(SendError) as info:
            await bad.send(OutboundMessage("smsir", TO, "سلام"))
        assert not info.value.retryable
    finally:
        await ch.aclose()
        await bad.aclose()


FLAKY = [
    ("sms", "kavenegar", (500, {"return": {"status": 500, "message": "error"}})),
    ("meli", "melipayamak", (500, {"Message": "error"})),
    ("smsir", "smsir", (429, {"status": 0, "message": "throttled", "data": None})),
]


@pytest.mark.parametrize(("channel", "provider", "failure"), FLAKY, ids=[f[1] for f in FLAKY])
async def test_a_provider_failing_half_its_calls_still_gets_every_reply_exactly_once(
    make_service: ServiceFactory, channel: str, provider: str, failure: tuple[int, Any]
) -> None:
    svc = await make_service(outbox={"max_attempts": 30})
    script = getattr(svc.sms, f"{provider}_script")
    script.flaky_every = 2
    async with svc.store.transaction() as tx:
        for i in range(12):
            await tx.outbox.enqueue(
                OutboundMessage(channel, f"+98912000{i:04d}", f"پاسخ {i}"),
                ticket_id=None,
                priority=0,
                at=svc.clock.now(),
            )
    for _ in range(30):
        await svc.drain()
        svc.clock.advance(timedelta(minutes=5))
    counts = Counter(text for who, _, text in svc.sms.texts() if who == provider)
    assert counts == Counter(f"پاسخ {i}" for i in range(12))
    assert all(row.status == "sent" for row in await svc.outbox())
    assert any(row.attempts > 0 for row in await svc.outbox())  # failures really happened


async def test_telegram_failing_half_its_calls_still_gets_every_reply_exactly_once(
    make_service: ServiceFactory,
) -> None:
    svc = await make_service(outbox={"max_attempts": 30})
    svc.bot_api.script.flaky_every = 2
    async with svc.store.transaction() as tx:
        for i in range(8):
            await tx.outbox.enqueue(
                OutboundMessage("telegram", str(100 + i), f"m{i}"),
                ticket_id=None,
                priority=0,
                at=svc.clock.now(),
            )
    for _ in range(30):
        await svc.drain()
        svc.clock.advance(timedelta(minutes=5))
    assert Counter(p["text"] for p in svc.bot_api.sent()) == Counter(f"m{i}" for i in range(8))
