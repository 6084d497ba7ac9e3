"""FloodGuard's bookkeeping: counting survives a crowd of other senders, idle senders are forgotten
after one window (memory stays bounded on a flood day), and an episode starts over after a
quiet window. The end-to-end flood test (real HTTP, both stores) is tests/robustness/test_flood.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.dates.clock import ManualClock
from bot.intake.flood import FLOODED, FloodGuard, FloodSettings
from bot.models import InboundMessage, ReceiveResult
from storage.abuse import AbuseRepository
from storage.store import Store

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=60)


class Inner:
    """Stands in for the ingest path: counts what reaches it."""

    def __init__(self) -> None:
        self.passed: list[str] = []

    async def __call__(self, message: InboundMessage) -> ReceiveResult:
        self.passed.append(message.address)
        return ReceiveResult(intent="new_request", duplicate=False)


def sms(address: str) -> InboundMessage:
    return InboundMessage(
        channel="sms", address=address, provider_message_id=f"id-{address}", text="سلام", received_at=START
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path}/sada.db")
    await store.ensure_ready()
    yield store
    await store.aclose()


async def test_a_crowd_of_senders_is_tracked_then_forgotten_after_a_quiet_window(store: Store) -> None:
    clock, inner = ManualClock(START), Inner()
    guard = FloodGuard(store, FloodSettings(max_messages=10, window_seconds=60), clock, inner)
    regular = "+989121111111"  # the first to write, and again every 5 s
    await guard.receive(sms(regular))
    for i in range(25_000):
        await guard.receive(sms(f"+98912{i:07d}"))
        if i % 1000 == 999:
            clock.advance(timedelta(seconds=1))
        if i % 5000 == 4999:
            await guard.receive(sms(regular))
    assert len(inner.passed) == 25_000 + 6
    assert guard.tracked == 25_001  # all sent within the last 60 s: none forgotten yet

    # 60 s after the first thousand: they are forgotten, although the regular wrote before them.
    clock.advance(timedelta(seconds=35))
    await guard.receive(sms("+989350000000"))
    assert guard.tracked == 25_001 - 1000 + 1

    clock.advance(WINDOW)
    await guard.receive(sms("+989350000001"))
    assert guard.tracked == 1


async def test_a_flooder_is_still_counted_while_thousands_of_others_come_and_go(store: Store) -> None:
    clock, inner = ManualClock(START), Inner()
    guard = FloodGuard(store, FloodSettings(max_messages=5, window_seconds=60), clock, inner)
    flooder = "+989120000001"
    for _ in range(4):
        await guard.receive(sms(flooder))
    for i in range(12_000):  # others, spread over 50 s, each once
        await guard.receive(sms(f"+98935{i:07d}"))
        if i % 1200 == 1199:
            clock.advance(timedelta(seconds=5))
    assert (await guard.receive(sms(flooder))).intent != FLOODED  # the 5th: the limit
    assert (await guard.receive(sms(flooder))).intent == FLOODED  # the 6th, 50 s after the 1st
    assert (await guard.receive(sms(flooder))).intent == FLOODED
    assert inner.passed.count(flooder) == 5
    async with store.transaction() as tx:
        events = await AbuseRepository(tx.session).events(address=flooder)
    assert [(e.kind, e.count) for e in events] == [(FLOODED, 6)]  # one row per episode

    # The flooder's first four leave the window 60 s after they were sent: room for four more.
    clock.advance(timedelta(seconds=11))
    for _ in range(4):
        assert (await guard.receive(sms(flooder))).intent != FLOODED
    assert (await guard.receive(sms(flooder))).intent == FLOODED


async def test_after_a_quiet_window_a_flooder_starts_a_new_episode(store: Store) -> None:
    clock, inner = ManualClock(START), Inner()
    guard = FloodGuard(store, FloodSettings(max_messages=2, window_seconds=60), clock, inner)
    flooder = "+989120000002"
    results = [(await guard.receive(sms(flooder))).intent for _ in range(4)]
    assert results.count(FLOODED) == 2
    clock.advance(WINDOW)
    await guard.receive(sms("+989350000009"))  # someone else: the flooder is forgotten
    assert guard.tracked == 1
    results = [(await guard.receive(sms(flooder))).intent for _ in range(3)]
    assert results.count(FLOODED) == 1
    async with store.transaction() as tx:
        events = await AbuseRepository(tx.session).events(address=flooder)
    assert len(events) == 2  # the second episode is recorded again


class Failing:
    """The ingest path while the store refuses writes: every message raises, nothing is stored."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, message: InboundMessage) -> ReceiveResult:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("store unavailable")
        return ReceiveResult(intent="new_request", duplicate=False)


async def test_deliveries_that_failed_do_not_count_toward_the_limit(store: Store) -> None:
    """The provider retries a message the store could not take (503); once the store is back the
    message is stored, however many failed tries came before, and nobody is called a flooder."""
    clock, inner = ManualClock(START), Failing(failures=30)
    guard = FloodGuard(store, FloodSettings(max_messages=20, window_seconds=60), clock, inner)
    for _ in range(30):
        with pytest.raises(ConnectionError):
            await guard.receive(sms("+989121111111"))
        clock.advance(timedelta(seconds=1))
    result = await guard.receive(sms("+989121111111"))
    assert result.intent == "new_request"
    async with store.read() as tx:
        assert await AbuseRepository(tx.session).events() == []


async def test_repeats_of_a_stored_message_do_not_count(store: Store) -> None:
    """A batch retried whole (the hotline) repeats messages already stored: they are answered as
    duplicates and do not use up the sender's allowance."""

    async def duplicate(message: InboundMessage) -> ReceiveResult:
        return ReceiveResult(intent="new_request", duplicate=True)

    clock = ManualClock(START)
    guard = FloodGuard(store, FloodSettings(max_messages=3, window_seconds=60), clock, duplicate)
    results = [await guard.receive(sms("+989121111111")) for _ in range(10)]
    assert [r.intent for r in results] == ["new_request"] * 10


async def test_concurrent_deliveries_cannot_overshoot_the_limit(store: Store) -> None:
    """Messages still being stored hold their place: 50 at once from one sender, limit 20."""
    release = asyncio.Event()
    passed = 0

    async def slow(message: InboundMessage) -> ReceiveResult:
        nonlocal passed
        passed += 1
        await release.wait()
        return ReceiveResult(intent="new_request", duplicate=False)

    guard = FloodGuard(store, FloodSettings(max_messages=20, window_seconds=60), ManualClock(START), slow)
    tasks = [asyncio.create_task(guard.receive(sms("+989121111111"))) for _ in range(50)]
    pending: set[asyncio.Task[ReceiveResult]] = set(tasks)
    while len(tasks) - len(pending) < 30:  # the 30 over the limit are answered while 20 are in flight
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    release.set()
    results = await asyncio.gather(*tasks)
    assert passed == 20
    assert sum(r.dropped for r in results) == 30
