"""Every accepted inbound message, unique on (channel, provider message id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import InboundMessage
from storage.inserts import insert_ignoring_conflict
from storage.tables import InboundRow, TicketRow


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
        stmt = insert_ignoring_conflict(
            self._s,
            InboundRow,
            {
                "channel": msg.channel,
                "provider_message_id": msg.provider_message_id,
                "identity_id": identity_id,
                "ticket_id": None,
                "intent": "pending",
                "text": text,
                "received_at": msg.received_at,
                "stored_at": at,
            },
            ["channel", "provider_message_id"],
        )
        return await self._s.scalar(stmt)

    async def settle(self, inbound_id: int, intent: str, ticket_id: int | None) -> None:
        """Record what the gateway decided the message was."""
        await self._s.execute(
            update(InboundRow).where(InboundRow.id == inbound_id).values(intent=intent, ticket_id=ticket_id)
        )

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
