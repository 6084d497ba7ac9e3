"""Group commit: concurrent inbound messages share one transaction, each inside its own savepoint.

Webhooks arrive concurrently; on SQLite only one transaction can write at a time, and every
statement costs a round trip to the driver's thread. `GroupCommit.receive` is what `Sada.inbound`
hands each message to (after the flood limit): it queues the message and a writer takes
everything queued (up to `max_group`) as ONE group to `Gateway.handle_group`, which works
set-based (one INSERT for all the group's tickets, one for their replies, …). This module owns
only the transaction: the gateway's `write` step runs the group inside a SAVEPOINT; if it raises,
the savepoint is rolled back and the messages are stored one by one, each in its own savepoint,
so only a message whose own processing fails is answered with the error (the channel says 503,
the provider retries). Nobody is answered before the commit: if the commit fails, every message
of the group gets the error and none was acknowledged. A group of one needs no savepoint.

One writer per process on both stores (`writers` overrides it). SQLite has one write lock anyway.
On PostgreSQL more writers split the same load into smaller groups, and a group's statements are
paid per group: at 32 concurrent senders 4 writers cost about 17% more CPU per message (30% more
database CPU) than one, for no better p99 (issue 19, docs/BENCHMARKS.md).
`sada serve --workers N` still gives N writers, one per process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.intake.gateway import Gateway, Step
from bot.models import InboundMessage, ReceiveResult
from bot.runtime.batching import Batcher
from storage.store import Store, Transaction

log = logging.getLogger(__name__)


class GroupCommit:
    """Intake behind the flood limit: concurrent `receive(msg)` calls commit together."""

    def __init__(
        self, store: Store, gateway: Gateway, *, max_group: int = 64, writers: int | None = None
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._batcher: Batcher[InboundMessage, ReceiveResult] = Batcher(
            self._commit,
            max_batch=max_group,
            lanes=writers or 1,
            name="ingest-writer",
            # A sender's next message waits for the group holding their last one to commit: with
            # several writers a status query must not overtake the request it asks about.
            key=lambda m: (m.channel, m.address),
        )

    async def receive(self, message: InboundMessage) -> ReceiveResult:
        """Handle `message` exactly once; returns after the commit that holds it."""
        return await self._batcher.submit(message.storable())

    async def _commit(self, messages: list[InboundMessage]) -> list[ReceiveResult | Exception]:
        results = await self._gateway.handle_group(messages, self._write)
        if len(messages) > 1:
            log.debug("group commit of %d messages", len(messages))
        return results

    async def _write(self, step: Step, messages: Sequence[InboundMessage]) -> list[ReceiveResult | Exception]:
        """Run `step` over the group in one transaction and commit it."""
        results: list[ReceiveResult | Exception]
        async with self._store.transaction() as tx:
            # Take the write lock now (SQLite: BEGIN IMMEDIATE), outside any savepoint: a lock held
            # elsewhere then fails the group once, after one busy timeout, instead of failing it
            # inside the savepoint and again for each message stored alone.
            await tx.session.connection()
            if len(messages) == 1:
                return list(await step(tx, messages))
            try:
                async with tx.session.begin_nested():
                    results = list(await step(tx, messages))
            except Exception as exc:  # noqa: BLE001 - find the culprit: store one by one
                log.warning(
                    "group of %d messages failed together (%s); storing them one by one",
                    len(messages),
                    type(exc).__name__,
                )
                results = [await self._alone(tx, step, message) for message in messages]
        return results

    async def _alone(self, tx: Transaction, step: Step, message: InboundMessage) -> ReceiveResult | Exception:
        """One message in its own savepoint: if it fails, only it is rolled back."""
        try:
            async with tx.session.begin_nested():
                return (await step(tx, [message]))[0]
        except Exception as exc:  # noqa: BLE001 - answered to this message's sender (503, retried)
            log.error(
                "channel=%s message not stored (rolled back alone): %s", message.channel, type(exc).__name__
            )
            return exc
