"""Group commit: concurrent inbound messages share one transaction, each inside its own savepoint.

Webhooks arrive concurrently; on SQLite only one transaction can write at a time, and every
commit costs a round trip. `GroupCommit.receive` has the gateway's signature: it queues the
message and a writer takes everything queued (up to `max_group`) into ONE transaction, running
`Gateway.receive_in` for each message inside a SAVEPOINT. A message whose own processing raises
is rolled back to its savepoint and answered with that error (the channel says 503, the provider
retries); the others in the group go on. Nobody is answered before the commit: if the commit
fails, every message of the group gets the error and none was acknowledged. A group of one needs
no savepoint.

SQLite gets one writer per process (the database has one write lock anyway); PostgreSQL gets a
few, each with its own connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from bot.gateway import Gateway
from bot.models import InboundMessage, ReceiveResult
from storage.store import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    message: InboundMessage
    done: asyncio.Future[ReceiveResult] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """The gateway's front: same `receive(msg)`, but concurrent calls commit together."""

    def __init__(
        self, store: Store, gateway: Gateway, *, max_group: int = 64, writers: int | None = None
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._max_group = max_group
        self._writers = writers or (1 if store.dialect == "sqlite" else 4)
        self._queue: deque[_Pending] = deque()
        self._running: set[asyncio.Task[None]] = set()

    async def receive(self, message: InboundMessage) -> ReceiveResult:
        """Handle `message` exactly once; returns after the commit that holds it."""
        pending = _Pending(message)
        self._queue.append(pending)
        if len(self._running) < self._writers:
            task = asyncio.create_task(self._write(), name="ingest-writer")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        # A cancelled request must not cancel the writer: the group is shared.
        return await asyncio.shield(pending.done)

    async def _write(self) -> None:
        while self._queue:
            group = [self._queue.popleft() for _ in range(min(self._max_group, len(self._queue)))]
            try:
                await self._commit(group)
            except BaseException as exc:
                for pending in group:
                    if not pending.done.done():
                        pending.done.set_exception(
                            exc if isinstance(exc, Exception) else RuntimeError("stopped")
                        )
                if not isinstance(exc, Exception):
                    raise

    async def _commit(self, group: list[_Pending]) -> None:
        results: list[ReceiveResult | Exception] = []
        async with self._store.transaction() as tx:
            if len(group) == 1:
                results.append(await self._gateway.receive_in(tx, group[0].message))
            else:
                for pending in group:
                    try:
                        async with tx.session.begin_nested():
                            results.append(await self._gateway.receive_in(tx, pending.message))
                    except Exception as exc:  # only this message is rolled back; the group goes on
                        log.error(
                            "channel=%s message not stored (rolled back alone): %s",
                            pending.message.channel,
                            type(exc).__name__,
                        )
                        results.append(exc)
        for pending, result in zip(group, results, strict=True):
            if isinstance(result, Exception):
                pending.done.set_exception(result)
                continue
            if not result.duplicate:
                self._gateway.committed(pending.message, result)
            pending.done.set_result(result)
        if len(group) > 1:
            log.debug("group commit of %d messages", len(group))
