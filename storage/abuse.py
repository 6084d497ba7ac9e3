"""Abuse events: a sender that went over a flood limit, kept for operators (`abuse_events`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import AbuseEventRow


@dataclass(frozen=True, slots=True)
class AbuseEvent:
    """One recorded episode of abuse."""

    id: int
    channel: str
    address: str
    kind: str
    count: int
    window_seconds: int
    at: datetime


class AbuseRepository:
    """Record and list abuse events."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def record(
        self, channel: str, address: str, *, kind: str, count: int, window_seconds: int, at: datetime
    ) -> int:
        """Insert one event; returns its id."""
        row = AbuseEventRow(
            channel=channel[:64],
            address=address[:128],
            kind=kind[:32],
            count=count,
            window_seconds=window_seconds,
            at=at,
        )
        self._s.add(row)
        await self._s.flush()
        return row.id

    async def events(self, *, channel: str | None = None, address: str | None = None) -> list[AbuseEvent]:
        """Events, oldest first, optionally for one channel and address."""
        stmt = select(AbuseEventRow).order_by(AbuseEventRow.id)
        if channel is not None:
            stmt = stmt.where(AbuseEventRow.channel == channel)
        if address is not None:
            stmt = stmt.where(AbuseEventRow.address == address)
        return [
            AbuseEvent(r.id, r.channel, r.address, r.kind, r.count, r.window_seconds, r.at)
            for r in await self._s.scalars(stmt)
        ]
