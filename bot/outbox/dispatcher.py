"""The outbox dispatcher: claims due rows, sends them through their channel, settles each row.

Retryable failures (429, 5xx, timeouts, connection errors) back off exponentially with full
jitter, honouring a provider's retry-after; after `max_attempts`, or on a permanent error, the
row fails and the failure is written on the ticket's history. Replies go before bulk sends
(priority). Each channel is its own queue: channels proceed in parallel, and inside a channel
each recipient's rows go in order while different recipients proceed concurrently (the channel's
own rate limiter paces them: Telegram ≤ 30/s per bot and ≤ 1/s per chat, SMS per account).

A chat channel configured with `fallback_sms` reroutes to SMS when the citizen blocked the bot
(Telegram 403) and shared a phone number; later replies to that chat go straight to SMS. A rerouted
reply is sent in its SMS wording (stored with the row), without buttons.
Delivery reports from providers update the rows they name.

A send the provider accepted is written to the sent journal (`storage.outbox.SentJournal`, beside
an SQLite database) as soon as it returns (sends returning together share one journal write), and
its row is marked sent by the next claim's transaction, together with everything else the pass
sent: one write transaction per pass, not a claim plus settles, so the outbox keeps up with intake
on SQLite, where every transaction queues behind intake's group commits. `run_once` (tools and
tests) settles its own pass before it returns. The journal needs no database lock, so a process
killed before that transaction does not send the reply again after a restart: the next claim
marks journaled rows sent first. Without a journal (PostgreSQL) nothing else would keep a row
from going out again, so sends returning together are marked sent at once, in one transaction
(PostgreSQL runs it beside intake's). What remains at-least-once is a send in flight at the
provider when the process dies, or (without a journal) one not yet marked sent (see
docs/OPERATIONS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from bot.config import OutboxSettings
from bot.dates.clock import Clock
from bot.models import EventKind, OutboxItem, SendError, SendResult
from bot.runtime.batching import Batcher
from channels.base import Channel, DeliveryReport, DeliveryStatus, RecipientBlocked, ReportingChannel
from storage.outbox import Sent, SentJournal, one_line
from storage.store import Store

log = logging.getLogger(__name__)

FAILED_DELIVERY = frozenset({DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED})


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter over base·2^(attempt-1)."""
    ceiling = min(cap, base * (2 ** (attempt - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _fallback_of(channel: Channel) -> str | None:
    value = getattr(channel, "fallback_sms", None)
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class _Claim:
    """One pass's claim: its token, the chats already known to reroute to SMS (→ phone), and the
    SMS wording of the rows of channels that fall back to SMS."""

    token: str
    reroutes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    sms_texts: Mapping[int, str] = field(default_factory=dict)


class Dispatcher:
    """Delivers outbox rows for the channels this process owns."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[str, Channel],
        settings: OutboxSettings,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        send_timeout: float = 30.0,
        concurrency: int = 16,
        sent_journal: Path | None = None,
    ) -> None:
        """`sent_journal`: where accepted sends are recorded; by default beside an SQLite database
        file (`<database>.sent`), none for PostgreSQL unless a path is given."""
        self._store = store
        self._channels = dict(channels)
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._send_timeout = send_timeout
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._journal = (
            SentJournal(sent_journal)
            if sent_journal is not None
            else SentJournal.beside(str(store.engine.url))
        )
        # Sends returning together are journaled in one write, the moment they return.
        self._journaling: Batcher[Sent, None] = Batcher(
            self._journal_many, max_batch=500, name="sent-journal"
        )
        # Accepted sends whose rows are not marked sent yet (outbox id → send): the next claim's
        # transaction marks them, or `run_once`'s own settle.
        self._unsettled: dict[int, Sent] = {}
        # Without a journal, sends returning together are marked sent at once, in one transaction.
        self._marking: Batcher[Sent, None] = Batcher(self._mark_sent, max_batch=500, name="outbox-settle")
        for channel in self._channels.values():
            if isinstance(channel, ReportingChannel):
                channel.bind_delivery(self.delivery_report)

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`; survives store outages by retrying after the poll interval.

        Each pass's claim marks the previous pass's sends sent (and a pass that claims nothing
        still settles them), so a busy outbox costs one write transaction per pass."""
        try:
            while not self._stopping.is_set():
                try:
                    sent = await self._pass()
                except Exception:
                    log.exception("outbox pass failed; retrying after %.1fs", self._settings.poll_interval)
                    sent = 0
                if sent:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_interval)
        finally:
            await self._settle_unsettled()

    def stop(self) -> None:
        """Finish the current pass and return from `run()`."""
        self._stopping.set()
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch and deliver it; returns how many rows were claimed. The rows it sent
        are marked sent before it returns."""
        claimed = await self._pass()
        await self._settle_unsettled()
        return claimed

    async def _pass(self) -> int:
        """Settle the sends before it, claim one batch and deliver it; returns how many rows were
        claimed. Its own sends wait in `_unsettled` for the next pass (or `_settle_unsettled`)."""
        token = secrets.token_hex(8)
        reroutes: dict[tuple[str, str], str] = {}
        sms_texts: dict[int, str] = {}
        journaled = await self._journaled()
        settling = list(self._unsettled.values())
        mine = {(s.outbox_id, s.claim_token) for s in settling}
        earlier = [s for s in journaled if (s.outbox_id, s.claim_token) not in mine]
        async with self._store.transaction() as tx:
            # Rows sent before a process died (or whose settle failed) are sent, not due: mark them
            # first, in the claim's transaction, so the claim cannot take them; then this
            # process's own sends since the last claim.
            recovered = await tx.outbox.mark_journaled_sent(earlier, self._clock.now())
            await tx.outbox.mark_sent_under_claim(settling, self._clock.now())
            items = await tx.outbox.claim(
                self._channels.keys(),
                limit=self._settings.batch_size,
                now=self._clock.now(),
                lease=timedelta(seconds=self._settings.lease_seconds),
                token=token,
            )
            by_channel: dict[str, list[OutboxItem]] = defaultdict(list)
            for item in items:
                by_channel[item.message.channel].append(item)
            for name, batch in by_channel.items():
                if _fallback_of(self._channels[name]):
                    phones = await tx.citizens.sms_fallbacks(name, {i.message.address for i in batch})
                    reroutes.update({(name, address): phone for address, phone in phones.items()})
                    sms_texts.update(await tx.outbox.sms_texts([i.id for i in batch]))
        self._settled(settling)
        if recovered:
            log.info("outbox: %d rows sent earlier marked sent from the sent journal", recovered)
        await self._forget(earlier + settling)
        if not items:
            return 0
        claim = _Claim(token, reroutes, sms_texts)
        await asyncio.gather(
            *(self._deliver_channel(name, batch, claim) for name, batch in by_channel.items())
        )
        return len(items)

    async def drain(self, *, max_passes: int = 1000) -> None:
        """Deliver everything due now (tests, `sada chat`, `sada simulate`)."""
        for _ in range(max_passes):
            if not await self.run_once():
                return

    async def _deliver_channel(self, name: str, items: list[OutboxItem], claim: _Claim) -> None:
        by_address: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_address[item.message.address].append(item)
        gate = asyncio.Semaphore(self._concurrency)

        async def in_order(queue: list[OutboxItem]) -> None:
            async with gate:
                for item in queue:
                    await self._deliver(name, item, claim)

        await asyncio.gather(*(in_order(queue) for queue in by_address.values()))

    async def _deliver(self, channel_name: str, item: OutboxItem, claim: _Claim) -> None:
        phone = claim.reroutes.get((channel_name, item.message.address))
        # Rows of a channel without an SMS fallback are never rerouted; `one_line` is a safe guess.
        sms_text = claim.sms_texts.get(item.id) or one_line(item.message.text)
        try:
            if phone is not None:
                result = await self._send_by_sms(channel_name, item, phone, sms_text)
            else:
                try:
                    result = await self._send(self._channels[channel_name], item)
                except RecipientBlocked:
                    phone = await self._blocked(channel_name, item)
                    if phone is None:
                        raise
                    result = await self._send_by_sms(channel_name, item, phone, sms_text)
        except SendError as exc:
            await self._failed(item, str(exc), retryable=exc.retryable, retry_after=exc.retry_after)
        except (TimeoutError, OSError) as exc:
            await self._failed(item, f"{type(exc).__name__}", retryable=True, retry_after=None)
        except Exception as exc:  # a bug in an adapter must not lose the row: retry, loudly
            log.exception("outbox=%s channel=%s send raised", item.id, channel_name)
            await self._failed(item, f"{type(exc).__name__}: {exc}", retryable=True, retry_after=None)
        else:
            await self._settle(channel_name, item, Sent(item.id, claim.token, result.provider_message_id))

    async def _settle(self, channel_name: str, item: OutboxItem, sent: Sent) -> None:
        """The provider accepted the row: journal it at once; the next claim (or `run_once`'s
        settle) marks it sent in the outbox.

        Nothing here may make the row go out again: a failure is logged, never retried as a send."""
        if self._journal is None:
            try:
                await self._marking.submit(sent)
            except Exception as exc:  # noqa: BLE001 - e.g. StoreBusy: the send itself succeeded
                log.warning(
                    "outbox=%s ticket=%s channel=%s sent, not yet marked sent (%s): the next pass marks it",
                    item.id,
                    item.ticket_id,
                    channel_name,
                    type(exc).__name__,
                )
                self._unsettled[sent.outbox_id] = sent
                return
        else:
            try:
                await self._journaling.submit(sent)
            except Exception as exc:  # noqa: BLE001 - without it the row is merely at-least-once again
                log.warning("outbox=%s sent journal not written: %s", item.id, type(exc).__name__)
            self._unsettled[sent.outbox_id] = sent
        log.info("outbox=%s ticket=%s channel=%s sent", item.id, item.ticket_id, channel_name)

    async def _mark_sent(self, sent: list[Sent]) -> list[None]:
        async with self._store.transaction() as tx:
            await tx.outbox.mark_sent_under_claim(sent, self._clock.now())
        return [None] * len(sent)

    async def _journal_many(self, sent: list[Sent]) -> list[None]:
        assert self._journal is not None  # noqa: S101 - only submitted with a journal
        await self._journal.record_many(sent)
        return [None] * len(sent)

    async def _settle_unsettled(self) -> None:
        """Mark every accepted send not yet marked sent (one transaction). A failure (e.g.
        StoreBusy) is logged: the next pass marks them, from memory or from the sent journal."""
        settling = list(self._unsettled.values())
        if not settling:
            return
        try:
            async with self._store.transaction() as tx:
                await tx.outbox.mark_sent_under_claim(settling, self._clock.now())
        except Exception as exc:  # noqa: BLE001 - the sends themselves succeeded
            log.warning(
                "outbox: %d rows sent, not yet marked sent (%s): %s",
                len(settling),
                type(exc).__name__,
                "the next pass marks them"
                if self._journal is not None or not self._stopping.is_set()
                else "they go out again after their lease",
            )
            return
        self._settled(settling)
        await self._forget(settling)

    def _settled(self, sent: list[Sent]) -> None:
        """These sends are marked sent (a newer send of the same row stays unsettled)."""
        for s in sent:
            if self._unsettled.get(s.outbox_id) is s:
                del self._unsettled[s.outbox_id]

    async def _journaled(self) -> list[Sent]:
        """The sent journal's entries (none if there is no journal or it cannot be read now)."""
        if self._journal is None:
            return []
        try:
            return await self._journal.entries()
        except Exception as exc:  # noqa: BLE001 - e.g. locked: read it again on the next pass
            log.warning("sent journal not read: %s", type(exc).__name__)
            return []

    async def _forget(self, sent: list[Sent]) -> None:
        """Drop journal entries the outbox now says are sent (a stale one only costs a lookup)."""
        if self._journal is None or not sent:
            return
        try:
            await self._journal.forget(sent)
        except Exception as exc:  # noqa: BLE001 - it is dropped by the next pass that reads it
            log.warning("sent journal entries not dropped: %s", type(exc).__name__)

    async def _send(self, channel: Channel, item: OutboxItem) -> SendResult:
        return await asyncio.wait_for(channel.send(item.message), timeout=self._send_timeout)

    async def _send_by_sms(self, channel_name: str, item: OutboxItem, phone: str, text: str) -> SendResult:
        """Send a chat row to the citizen's phone instead, in its SMS wording, without buttons."""
        sms_name = _fallback_of(self._channels[channel_name])
        sms = self._channels.get(sms_name or "")
        if sms is None:
            raise SendError(
                f"{channel_name}: fallback SMS channel {sms_name!r} is not running", retryable=False
            )
        message = replace(item.message, channel=sms.name, address=phone, text=text, buttons=())
        log.info(
            "outbox=%s ticket=%s channel=%s rerouted to %s", item.id, item.ticket_id, channel_name, sms.name
        )
        return await self._send(sms, replace(item, message=message))

    async def _blocked(self, channel_name: str, item: OutboxItem) -> str | None:
        """The citizen blocked the bot: remember it; the phone to fall back to, if any."""
        async with self._store.transaction() as tx:
            await tx.citizens.mark_unreachable(channel_name, item.message.address)
            phone = await tx.citizens.phone_at(channel_name, item.message.address)
        log.warning(
            "outbox=%s ticket=%s channel=%s recipient blocked the bot", item.id, item.ticket_id, channel_name
        )
        return phone if _fallback_of(self._channels[channel_name]) else None

    async def _failed(
        self, item: OutboxItem, error: str, *, retryable: bool, retry_after: float | None
    ) -> None:
        attempt = item.attempts + 1
        now = self._clock.now()
        async with self._store.transaction() as tx:
            if retryable and attempt < self._settings.max_attempts:
                delay = backoff_delay(
                    attempt, self._settings.backoff_base, self._settings.backoff_max, self._rng
                )
                if retry_after is not None:
                    delay = max(delay, retry_after)
                await tx.outbox.mark_retry(item.id, error, now + timedelta(seconds=delay))
                log.warning(
                    "outbox=%s ticket=%s attempt=%d retry in %.1fs: %s",
                    item.id,
                    item.ticket_id,
                    attempt,
                    delay,
                    error,
                )
                return
            await tx.outbox.mark_failed(item.id, error)
            if item.ticket_id is not None:
                await tx.tickets.add_event(
                    item.ticket_id,
                    EventKind.DELIVERY_FAILED,
                    now,
                    "outbox",
                    {
                        "outbox_id": item.id,
                        "channel": item.message.channel,
                        "attempts": attempt,
                        "error": error,
                    },
                )
        log.error("outbox=%s ticket=%s failed after %d attempts: %s", item.id, item.ticket_id, attempt, error)

    async def delivery_report(self, report: DeliveryReport) -> int:
        """A provider's delivery report: update the rows it names; returns how many matched."""
        now = self._clock.now()
        async with self._store.transaction() as tx:
            rows = await tx.outbox.record_delivery(report.provider_message_id, report.status.value)
            if report.status in FAILED_DELIVERY:
                for outbox_id, ticket_id in rows:
                    if ticket_id is not None:
                        await tx.tickets.add_event(
                            ticket_id,
                            EventKind.DELIVERY_FAILED,
                            now,
                            f"provider:{report.channel}",
                            {"outbox_id": outbox_id, "delivery": report.provider_status},
                        )
        return len(rows)
