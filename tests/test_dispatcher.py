"""The outbox: retries with backoff, permanent failures on the ticket, priorities, leases, no double sends."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from sqlalchemy import Connection, event

from bot.models import OutboundMessage, SendError, SendResult
from bot.outbox.dispatcher import Dispatcher, backoff_delay
from channels.fake import FakeChannel
from storage.engine import READ_ONLY
from storage.outbox import Sent, SentJournal
from storage.store import Store
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
    await rig.chat.push(rig.sada.inbound, "tg:1", RUBBISH)
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
    result = await rig.chat.push(rig.sada.inbound, "tg:1", RUBBISH)
    await rig.sada.dispatcher.drain()
    async with rig.store.transaction() as tx:
        [row] = await tx.outbox.records()
        ticket = await existing(tx, result.ticket_code)
        events = await tx.tickets.events(ticket.id)
    assert row.status == "failed" and "403" in (row.last_error or "")
    assert events[-1].kind.value == "delivery_failed" and events[-1].data["attempts"] == 1


async def test_gives_up_after_max_attempts(rig: Rig) -> None:
    rig.chat.fail_next(*[SendError("500", retryable=True) for _ in range(10)])
    await rig.chat.push(rig.sada.inbound, "tg:1", RUBBISH)
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


class HeldAtProvider(FakeChannel):
    """A FakeChannel whose sends wait at the "provider" until the test lets them be accepted."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reached = asyncio.Event()
        self.accept = asyncio.Event()

    async def send(self, message: OutboundMessage) -> SendResult:
        self.reached.set()
        await self.accept.wait()
        return await super().send(message)


async def test_a_reply_the_provider_accepted_is_not_sent_again_when_its_settle_never_commits(
    rig: Rig, store_url: str
) -> None:
    """Issue 15 (3): the provider accepts a reply, then this process cannot write "sent" before it
    dies: SQLite's write lock is held elsewhere (here: another process) until the writer gives up,
    as a SIGKILL while waiting behind an ingest group would. After the restart the row's lease
    runs out, and a provider without an idempotency key (Melipayamak, SMS.ir, Telegram) would
    deliver it a second time."""
    if not store_url.startswith("sqlite"):
        pytest.skip("the single write lock the settle waits for is SQLite's")
    async with rig.store.transaction() as tx:
        await tx.outbox.enqueue(
            OutboundMessage("tg", "tg:1", "hello"), ticket_id=None, priority=0, at=rig.clock.now()
        )
    provider = HeldAtProvider("tg")
    doomed = Store.from_url(store_url, busy_timeout_ms=300)  # the process that will die
    dispatcher = Dispatcher(doomed, {"tg": provider}, rig.sada.config.outbox, rig.clock)
    try:
        delivering = asyncio.create_task(dispatcher.run_once())
        await provider.reached.wait()  # claimed and at the provider
        async with rig.store.transaction():  # another process holds the write lock ...
            provider.accept.set()  # ... when the provider accepts the reply
            await asyncio.gather(delivering, return_exceptions=True)  # the settle gave up
    finally:
        await doomed.aclose()  # that process is gone
    assert provider.texts() == ["hello"]
    rig.clock.advance(timedelta(seconds=rig.sada.config.outbox.lease_seconds + 1))
    await rig.sada.dispatcher.drain()  # the restarted process
    assert rig.chat.texts() == [], "the reply was sent a second time"
    async with rig.store.transaction() as tx:
        [row] = await tx.outbox.records()
    assert row.status == "sent" and row.provider_message_id == "tg-1"


async def test_a_journal_entry_from_another_claim_never_keeps_a_row_from_being_sent(
    rig: Rig, store_url: str
) -> None:
    """The sent journal names the claim a row was sent under: an entry from another claim (the row
    was claimed again since, or the database was restored from a backup) must not pass the row off
    as sent. The journal file is the owner's alone, and read entries are dropped."""
    journal = SentJournal.beside(store_url)
    if journal is None:
        pytest.skip("the sent journal lives beside an SQLite database file")
    async with rig.store.transaction() as tx:
        row_id = await tx.outbox.enqueue(
            OutboundMessage("tg", "tg:1", "hello"), ticket_id=None, priority=0, at=rig.clock.now()
        )
        await tx.outbox.claim(
            ["tg"], limit=10, now=rig.clock.now(), lease=timedelta(seconds=60), token="dead"
        )
    await journal.record(Sent(row_id, "another-claim", "tg-99"))  # ...and that process dies
    rig.clock.advance(timedelta(seconds=61))
    await rig.sada.dispatcher.drain()
    assert rig.chat.texts() == ["hello"]
    async with rig.store.transaction() as tx:
        [row] = await tx.outbox.records()
    assert row.status == "sent" and row.provider_message_id == "tg-1"
    assert await journal.entries() == []
    assert journal.path.stat().st_mode & 0o777 == 0o600


async def test_a_busy_outbox_costs_one_write_transaction_per_pass(rig: Rig, store_url: str) -> None:
    """Issue 19: the outbox must keep up with intake. On SQLite every write transaction waits its
    turn behind intake's group commits, so a pass that claims in one transaction and then marks
    its sends sent in more of their own falls behind. With the sent journal beside the database,
    the sends of a pass are marked sent by the next pass's claim: 40 replies cost the claim that
    takes them and the one that settles them."""
    if SentJournal.beside(store_url) is None:
        pytest.skip("without a sent journal (PostgreSQL) sends are marked sent at once")
    async with rig.store.transaction() as tx:
        for i in range(40):
            await tx.outbox.enqueue(
                OutboundMessage("tg", f"tg:{i}", f"m{i}"), ticket_id=None, priority=0, at=rig.clock.now()
            )
    writes = 0

    def count(conn: Connection) -> None:
        nonlocal writes
        writes += not conn.get_execution_options().get(READ_ONLY, False)

    event.listen(rig.store.engine.sync_engine, "commit", count)
    dispatcher = rig.sada.dispatcher
    running = asyncio.create_task(dispatcher.run())
    try:
        for _ in range(500):
            async with rig.store.read() as tx:
                if await tx.outbox.pending_count() == 0:
                    break
            await asyncio.sleep(0.01)
    finally:
        dispatcher.stop()
        await running
        event.remove(rig.store.engine.sync_engine, "commit", count)
    assert sorted(rig.chat.texts()) == sorted(f"m{i}" for i in range(40))
    assert writes == 2
