"""Group commit: concurrent inbound messages share one transaction, each inside its own savepoint.

Webhooks arrive concurrently; on SQLite only one transaction can write at a time, and every
statement costs a round trip to the driver's thread. `GroupCommit.receive` has the gateway's
signature: it queues the message and a writer takes everything queued (up to `max_group`) into
ONE transaction and hands the whole group to `Gateway.receive_many`, which works set-based (one
INSERT for all the group's tickets, one for their replies, …). The group runs inside a SAVEPOINT:
if it raises, the savepoint is rolled back and the messages are stored one by one, each in its
own savepoint, so only a message whose own processing fails is answered with the error (the
channel says 503, the provider retries). Nobody is answered before the commit: if the commit
fails, every message of the group gets the error and none was acknowledged. A group of one needs
no savepoint.

SQLite gets one writer per process (the database has one write lock anyway); PostgreSQL gets a
few, each with its own connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from bot.batching import Batcher
from bot.gateway import Gateway
from bot.models import InboundMessage, ReceiveResult
from bot.understanding import Understanding
from storage.store import Store, Transaction

log = logging.getLogger(__name__)


class GroupCommit:
    """The gateway's front: same `receive(msg)`, but concurrent calls commit together."""

    def __init__(
        self, store: Store, gateway: Gateway, *, max_group: int = 64, writers: int | None = None
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._batcher: Batcher[InboundMessage, ReceiveResult] = Batcher(
            self._commit,
            max_batch=max_group,
            workers=writers or (1 if store.dialect == "sqlite" else 4),
            name="ingest-writer",
            # A sender's next message waits for the group holding their last one to commit: with
            # several writers (PostgreSQL) a status query must not overtake the request it asks about.
            key=lambda m: (m.channel, m.address),
        )

    async def receive(self, message: InboundMessage) -> ReceiveResult:
        """Handle `message` exactly once; returns after the commit that holds it."""
        return await self._batcher.submit(message.storable())

    async def _commit(self, messages: list[InboundMessage]) -> list[ReceiveResult | Exception]:
        results: list[ReceiveResult | Exception]
        # Classification is pure: done before the write lock, which then covers the store's work only,
        # and in a worker thread, so the event loop keeps answering while the sentence encoder
        # (tens of ms for an unsure message, in C without the GIL) re-examines a group.
        understood = await asyncio.to_thread(self._understand, messages)
        async with self._store.transaction() as tx:
            # Take the write lock now (SQLite: BEGIN IMMEDIATE), outside any savepoint: a lock held
            # elsewhere then fails the group once, after one busy timeout, instead of failing it
            # inside the savepoint and again for each message stored alone.
            await tx.session.connection()
            if len(messages) == 1:
                results = list(await self._gateway.receive_many(tx, messages, understood))
            else:
                try:
                    async with tx.session.begin_nested():
                        results = list(await self._gateway.receive_many(tx, messages, understood))
                except Exception as exc:  # noqa: BLE001 - find the culprit: store one by one
                    log.warning(
                        "group of %d messages failed together (%s); storing them one by one",
                        len(messages),
                        type(exc).__name__,
                    )
                    results = [await self._alone(tx, message, understood) for message in messages]
        for message, result in zip(messages, results, strict=True):
            if isinstance(result, ReceiveResult) and not result.duplicate:
                self._gateway.committed(message, result)
        if len(messages) > 1:
            log.debug("group commit of %d messages", len(messages))
        return results

    def _understand(self, messages: list[InboundMessage]) -> dict[str, Understanding]:
        """Classify ahead; if that fails, the transaction classifies (message by message if need be,
        so only the message that breaks the classifier is refused)."""
        try:
            return self._gateway.understand_ahead(messages)
        except Exception as exc:  # noqa: BLE001 - redone inside, where failures are isolated
            log.warning("classifying %d messages ahead failed (%s)", len(messages), type(exc).__name__)
            return {}

    async def _alone(
        self, tx: Transaction, message: InboundMessage, understood: Mapping[str, Understanding]
    ) -> ReceiveResult | Exception:
        """One message in its own savepoint: if it fails, only it is rolled back."""
        try:
            async with tx.session.begin_nested():
                return (await self._gateway.receive_many(tx, [message], understood))[0]
        except Exception as exc:  # noqa: BLE001 - answered to this message's sender (503, retried)
            log.error(
                "channel=%s message not stored (rolled back alone): %s", message.channel, type(exc).__name__
            )
            return exc
