"""The outbox: retries with backoff, permanent failures on the ticket, priorities, leases, no double sends."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from bot.dispatcher import Dispatcher, backoff_delay
from bot.models import OutboundMessage, SendError
from channels.fake import FakeChannel
from tests.conftest import Rig, existing

RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"


def test_backoff_grows_exponentially_with_jitter_and_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(600.0, 2.0 * 2 ** (attempt - 1))
        delays = [backoff_delay(attempt, 2.0, 600.0, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jitter
    assert backoff_delay(30, 2.0, 600.0, rng) <= 600.0


async def test_retryable_failures_then_success_delivers_once(rig: Rig) -> None:
    rig.chat.fail_next(SendError("429", retryable=True, retry_after=5), SendError("502", retryable=True))
    await rig.chat.push(rig.gateway.receive, "tg:1", RUBBISH)
    dispatcher = rig.sada.dispatcher
    assert await dispatcher.run_once() == 1 and rig.chat.sent == []
    assert await dispatcher.run_once() == 0  # not due yet: backoff
    rig.clock.advance(timedelta(seconds=5))  # retry_after honoured
    assert await dispatcher.run_once() == 1 and rig.chat.sent == []
    rig.clock.advance(timedelta(seconds=10))
    assert await dispatcher.run_once() == 1
    assert len(rig.chat.sent) == 1 and rig.chat.attempts == 3
    async with rig.store.transaction() as tx:
        [row] = await tx.outbox.records()
    assert row.status == "sent" and row.attempts == 2 and row.provider_message_id


async def test_permanent_failure_is_recorded_on_the_ticket(rig: Rig) -> None:
    rig.chat.fail_next(SendError("403 bot blocked", retryable=False))
    result = await rig.chat.push(rig.gateway.receive, "tg:1", RUBBISH)
    await rig.sada.dispatcher.drain()
    async with rig.store.transaction() as tx:
        [row] = await tx.outbox.records()
        ticket = await existing(tx, result.ticket_code)
        events = await tx.tickets.events(ticket.id)
    assert row.status == "failed" and "403" in (row.last_error or "")
    assert events[-1].kind.value == "delivery_failed" and events[-1].data["attempts"] == 1


async def test_gives_up_after_max_attempts(rig: Rig) -> None:
    rig.chat.fail_next(*[SendError("500", retryable=True) for _ in range(10)])
    await rig.chat.push(rig.gateway.receive, "tg:1", RUBBISH)
    for _ in range(10):
        await rig.sada.dispatcher.run_once()
        rig.clock.advance(timedelta(hours=1))
    async with rig.store.transaction() as tx:
        [row] = await tx.outbox.records()
    assert row.status == "failed" and row.attempts == 4 and rig.chat.attempts == 4  # max_attempts = 4


async def test_replies_go_before_bulk(rig: Rig) -> None:
    async with rig.store.transaction() as tx:
        now = rig.clock.now()
        await tx.outbox.enqueue(OutboundMessage("tg", "tg:1", "bulk"), ticket_id=None, priority=10, at=now)
        await tx.outbox.enqueue(OutboundMessage("tg", "tg:1", "reply"), ticket_id=None, priority=0, at=now)
    await rig.sada.dispatcher.drain()
    assert rig.chat.texts() == ["reply", "bulk"]


async def test_lease_expiry_recovers_rows_of_a_dead_process(rig: Rig) -> None:
    async with rig.store.transaction() as tx:
        await tx.outbox.enqueue(
            OutboundMessage("tg", "tg:1", "hello"), ticket_id=None, priority=0, at=rig.clock.now()
        )
        claimed = await tx.outbox.claim(["tg"], limit=10, now=rig.clock.now(), lease=timedelta(seconds=60))
    assert len(claimed) == 1  # ...and the process that claimed it dies here
    assert await rig.sada.dispatcher.run_once() == 0
    rig.clock.advance(timedelta(seconds=61))
    assert await rig.sada.dispatcher.run_once() == 1
    assert rig.chat.texts() == ["hello"]


async def test_only_own_channels_are_claimed(rig: Rig) -> None:
    async with rig.store.transaction() as tx:
        await tx.outbox.enqueue(
            OutboundMessage("elsewhere", "x", "not mine"), ticket_id=None, priority=0, at=rig.clock.now()
        )
    assert await rig.sada.dispatcher.run_once() == 0


async def test_two_dispatchers_never_send_the_same_row_twice(rig: Rig) -> None:
    slow = FakeChannel("tg")
    async with rig.store.transaction() as tx:
        for i in range(60):
            await tx.outbox.enqueue(
                OutboundMessage("tg", f"tg:{i}", f"m{i}"), ticket_id=None, priority=0, at=rig.clock.now()
            )
    settings = rig.sada.config.outbox
    a = Dispatcher(rig.store, {"tg": slow}, settings, rig.clock)
    b = Dispatcher(rig.store, {"tg": slow}, settings, rig.clock)
    await asyncio.gather(a.drain(), b.drain(), a.drain(), b.drain())
    assert sorted(slow.texts()) == sorted(f"m{i}" for i in range(60))
