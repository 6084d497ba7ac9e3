"""Every accepted inbound message, unique on (channel, provider message id)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import InboundMessage
from storage.inserts import insert_rows_ignoring_conflict
from storage.tables import InboundRow, TicketRow, table_of

# Built once (intake settles every group): reused, it is not built and cache-keyed again.
_SETTLE = (
    update(table_of(InboundRow))
    .where(table_of(InboundRow).c.id == bindparam("row_id"))
    .values(intent=bindparam("new_intent"), ticket_id=bindparam("new_ticket_id"))
)


@dataclass(frozen=True, slots=True)
class PriorDelivery:
    """What happened the first time a message was delivered."""

    intent: str
    ticket_code: str | None


class InboundRepository:
    """Records inbound messages exactly once."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def record(self, msg: InboundMessage, text: str, identity_id: int, at: datetime) -> int | None:
        """Store the message; None when (channel, provider_message_id) was seen before."""
        ids = await self.record_many([(msg, text, identity_id)], at)
        return ids.get((msg.channel, msg.provider_message_id))

    async def record_many(
        self, messages: Sequence[tuple[InboundMessage, str, int]], at: datetime
    ) -> dict[tuple[str, str], int]:
        """Store many messages in one statement: (channel, provider id) → row id, for those not
        seen before. A message already stored (or repeated within `messages`) gets no entry."""
        if not messages:
            return {}
        stmt = insert_rows_ignoring_conflict(
            self._s, InboundRow, ["channel", "provider_message_id"], ("id", "channel", "provider_message_id")
        )
        rows = await self._s.execute(
            stmt,
            [
                {
                    "channel": msg.channel,
                    "provider_message_id": msg.provider_message_id,
                    "identity_id": identity_id,
                    "ticket_id": None,
                    "intent": "pending",
                    "text": text,
                    "received_at": msg.received_at,
                    "stored_at": at,
                }
                for msg, text, identity_id in messages
            ],
        )
        return {(channel, provider_id): row_id for row_id, channel, provider_id in rows}

    async def settle(self, inbound_id: int, intent: str, ticket_id: int | None) -> None:
        """Record what the gateway decided the message was."""
        await self.settle_many([(inbound_id, intent, ticket_id)])

    async def settle_many(self, decisions: Sequence[tuple[int, str, int | None]]) -> None:
        """`settle` for many messages in one executemany."""
        if not decisions:
            return
        await self._s.execute(
            _SETTLE,
            [{"row_id": i, "new_intent": intent, "new_ticket_id": t} for i, intent, t in decisions],
        )

    async def stored(self, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (channel, provider message id) pairs are stored."""
        by_channel: dict[str, list[str]] = {}
        for channel, message_id in keys:
            by_channel.setdefault(channel, []).append(message_id)
        found: set[tuple[str, str]] = set()
        for channel, ids in sorted(by_channel.items()):
            rows = await self._s.execute(
                select(InboundRow.provider_message_id).where(
                    InboundRow.channel == channel, InboundRow.provider_message_id.in_(sorted(ids))
                )
            )
            found.update((channel, message_id) for (message_id,) in rows)
        return found

    async def prior(self, channel: str, provider_message_id: str) -> PriorDelivery | None:
        """How an earlier delivery of the same message was handled."""
        row = (
            await self._s.execute(
                select(InboundRow.intent, TicketRow.tracking_code)
                .outerjoin(TicketRow, TicketRow.id == InboundRow.ticket_id)
                .where(InboundRow.channel == channel, InboundRow.provider_message_id == provider_message_id)
            )
        ).first()
        return None if row is None else PriorDelivery(intent=row[0], ticket_code=row[1])
