"""Outbound sending against fake provider servers, one runner over the send table (sms_senders.py):
typed errors, and exactly-once delivery through a provider that fails half its calls."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import config_from_mapping
from bot.models import OutboundMessage, SendError
from bot.runtime.channel_factory import build_channels
from channels.base import Channel
from channels.registry import sender_kinds
from tests.channels.conftest import ENV, ServiceFactory
from tests.channels.fakes import FakeSmsProviders
from tests.channels.sms_senders import SENDERS, SmsSender

TO = "+989121234567"
WRONG_SECRET = "WRONG-KEY-123456"
IDS = [sender.kind for sender in SENDERS]


@pytest.fixture
async def providers() -> AsyncIterator[FakeSmsProviders]:
    fake = FakeSmsProviders(SENDERS)
    fake.base = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.close()


def _channel(sender: SmsSender, base: str, tmp_path: Path, **changes: Any) -> Channel:
    """The sender's channel, built from its row's table as the service builds it."""
    table: Mapping[str, Any] = {**sender.table, "base_url": base, **changes}
    env = {**ENV, "WRONG_SECRET": WRONG_SECRET}
    config = config_from_mapping({"channels": {sender.channel: table}}, base_dir=tmp_path, env=env)
    return build_channels(config.channels)[sender.channel]


def test_every_sender_kind_has_a_row() -> None:
    assert sorted(IDS) == sorted(sender_kinds())


@pytest.mark.parametrize("sender", SENDERS, ids=IDS)
async def test_send_and_its_errors(providers: Any, sender: SmsSender, tmp_path: Path) -> None:
    ch = _channel(sender, providers.base, tmp_path, timeout_seconds=1.0)
    script = providers.fakes[sender.kind].script
    try:
        message = OutboundMessage(sender.channel, TO, "درخواست شما ثبت شد", idempotency_key="sada-17")
        result = await ch.send(message)
        assert result.provider_message_id and result.segments == 1
        [call] = providers.fakes[sender.kind].calls
        assert {key: call.params.get(key) for key in sender.request} == sender.request
        assert sender.sent(call) == ("09121234567", "درخواست شما ثبت شد")
        for failure in sender.failures:
            script.fail_next(failure.answer)
            with pytest.raises(SendError) as info:
                await ch.send(OutboundMessage(sender.channel, TO, "x"))
            assert info.value.retryable is failure.retryable, failure
        script.fail_next(1.5)  # past the channel's timeout
        with pytest.raises(SendError, match="timed out") as info:
            await ch.send(OutboundMessage(sender.channel, TO, "x"))
        assert info.value.retryable
        with pytest.raises(SendError) as info:
            await ch.send(OutboundMessage(sender.channel, "tg:42", "x"))
        assert not info.value.retryable
    finally:
        await ch.aclose()
    changes, error = sender.refused
    wrong = _channel(sender, providers.base, tmp_path, **changes)
    try:
        with pytest.raises(SendError) as info:
            await wrong.send(OutboundMessage(sender.channel, TO, "x"))
        assert not info.value.retryable and error in str(info.value)
        assert WRONG_SECRET not in str(info.value) and "WRONG-KEY" not in str(info.value)
    finally:
        await wrong.aclose()


@pytest.mark.parametrize("sender", SENDERS, ids=IDS)
async def test_a_provider_failing_half_its_calls_still_gets_every_reply_exactly_once(
    make_service: ServiceFactory, sender: SmsSender
) -> None:
    svc = await make_service(outbox={"max_attempts": 30})
    svc.sms.fakes[sender.kind].script.flaky_every = 2
    async with svc.store.transaction() as tx:
        for i in range(12):
            await tx.outbox.enqueue(
                OutboundMessage(sender.channel, f"+98912000{i:04d}", f"پاسخ {i}"),
                ticket_id=None,
                priority=0,
                at=svc.clock.now(),
            )
    for _ in range(30):
        await svc.drain()
        svc.clock.advance(timedelta(minutes=5))
    counts = Counter(text for who, _, text in svc.sms.texts() if who == sender.kind)
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
