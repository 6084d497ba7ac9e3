"""The transactional outbox: replies are rows written with the change that caused them.

Claiming is one UPDATE over a sub-select, so on SQLite it is atomic under the write lock and on
PostgreSQL the sub-select skips rows another process holds (FOR UPDATE SKIP LOCKED). A claim is a
lease: a process that dies mid-send leaves rows that become due again when the lease runs out.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Button, OutboundMessage, OutboxItem
from storage.inserts import insert_returning_ids
from storage.tables import OutboxRow, table_of

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """An outbox row as tests and the panel see it."""

    id: int
    channel: str
    address: str
    text: str
    ticket_id: int | None
    status: str
    attempts: int
    last_error: str | None
    provider_message_id: str | None
    delivery_status: str | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """One message to queue: what, about which ticket, how urgent (lower goes first)."""

    message: OutboundMessage
    ticket_id: int | None
    priority: int


class OutboxRepository:
    """Queue, claim and settle outbound messages."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def enqueue(
        self, msg: OutboundMessage, *, ticket_id: int | None, priority: int, at: datetime
    ) -> int:
        """Queue one message, due now."""
        return (await self.enqueue_many([Queued(msg, ticket_id, priority)], at=at))[0]

    async def enqueue_many(self, queued: Sequence[Queued], *, at: datetime) -> list[int]:
        """Queue many messages, due now, in one multi-row INSERT; ids in the order given."""
        if not queued:
            return []
        return await insert_returning_ids(
            self._s,
            OutboxRow,
            [
                {
                    "channel": q.message.channel,
                    "address": q.message.address,
                    "text": q.message.text,
                    "buttons": [[b.label, b.data] for b in q.message.buttons],
                    "ticket_id": q.ticket_id,
                    "priority": q.priority,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
                for q in queued
            ],
        )

    async def claim(
        self, channels: Collection[str], *, limit: int, now: datetime, lease: timedelta
    ) -> list[OutboxItem]:
        """Take up to `limit` due rows for these channels, most urgent first."""
        if not channels:
            return []
        due = (
            select(OutboxRow.id)
            .where(
                OutboxRow.channel.in_(list(channels)),
                or_(
                    (OutboxRow.status == PENDING) & (OutboxRow.next_attempt_at <= now),
                    (OutboxRow.status == SENDING) & (OutboxRow.lease_until < now),
                ),
            )
            .order_by(OutboxRow.priority, OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        if self._s.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        token = secrets.token_hex(8)
        await self._s.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(due.scalar_subquery()))
            .values(status=SENDING, claim_token=token, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        rows = await self._s.scalars(
            select(OutboxRow).where(OutboxRow.claim_token == token).order_by(OutboxRow.priority, OutboxRow.id)
        )
        return [
            OutboxItem(
                id=r.id,
                message=OutboundMessage(
                    channel=r.channel,
                    address=r.address,
                    text=r.text,
                    buttons=tuple(Button(label=b[0], data=b[1]) for b in r.buttons),
                    idempotency_key=f"sada-{r.id}",
                ),
                ticket_id=r.ticket_id,
                attempts=r.attempts,
                priority=r.priority,
            )
            for r in rows
        ]

    async def mark_sent(self, item_id: int, provider_message_id: str | None, at: datetime) -> None:
        """The provider accepted the message."""
        await self.mark_sent_many([(item_id, provider_message_id)], at)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], at: datetime) -> None:
        """`mark_sent` for many rows in one executemany: (outbox id, provider message id) each."""
        if not sent:
            return
        table = table_of(OutboxRow)
        await self._s.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                status=SENT,
                provider_message_id=bindparam("sent_as"),
                sent_at=at,
                last_error=None,
                claim_token=None,
                lease_until=None,
            ),
            [{"row_id": item_id, "sent_as": provider_id} for item_id, provider_id in sent],
        )

    async def mark_retry(self, item_id: int, error: str, next_attempt_at: datetime) -> None:
        """A retryable failure: try again later."""
        await self._settle(
            item_id,
            status=PENDING,
            last_error=error[:1000],
            next_attempt_at=next_attempt_at,
            attempts=OutboxRow.attempts + 1,
        )

    async def mark_failed(self, item_id: int, error: str) -> None:
        """A permanent failure."""
        await self._settle(item_id, status=FAILED, last_error=error[:1000], attempts=OutboxRow.attempts + 1)

    async def set_delivery_status(self, provider_message_id: str, delivery_status: str) -> int:
        """A provider's delivery report; returns how many rows it matched."""
        result = await self._s.execute(
            update(OutboxRow)
            .where(OutboxRow.provider_message_id == provider_message_id)
            .values(delivery_status=delivery_status)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def record_delivery(
        self, provider_message_id: str, delivery_status: str
    ) -> list[tuple[int, int | None]]:
        """A provider's delivery report: set it on the rows sent with this id; returns (id, ticket_id)."""
        result = await self._s.execute(
            select(OutboxRow.id, OutboxRow.ticket_id).where(
                OutboxRow.provider_message_id == provider_message_id
            )
        )
        rows = [(row[0], row[1]) for row in result]
        if rows:
            await self._s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([r[0] for r in rows]))
                .values(delivery_status=delivery_status[:32])
                .execution_options(synchronize_session=False)
            )
        return rows

    async def _settle(self, item_id: int, **values: object) -> None:
        await self._s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(claim_token=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )

    async def records(self, *, ticket_id: int | None = None) -> list[OutboxRecord]:
        """Rows in queue order (for tests, the panel and `sada simulate`)."""
        stmt = select(OutboxRow).order_by(OutboxRow.id)
        if ticket_id is not None:
            stmt = stmt.where(OutboxRow.ticket_id == ticket_id)
        return [
            OutboxRecord(
                id=r.id,
                channel=r.channel,
                address=r.address,
                text=r.text,
                ticket_id=r.ticket_id,
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
                provider_message_id=r.provider_message_id,
                delivery_status=r.delivery_status,
            )
            for r in await self._s.scalars(stmt)
        ]

    async def pending_count(self, channels: Collection[str] | None = None) -> int:
        """Rows not yet sent or failed."""
        stmt = select(func.count(OutboxRow.id)).where(OutboxRow.status.in_([PENDING, SENDING]))
        if channels is not None:
            stmt = stmt.where(OutboxRow.channel.in_(list(channels)))
        return int(await self._s.scalar(stmt) or 0)
