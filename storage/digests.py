"""Which digests went out: one row per (recipient, Jalali day, medium), claimed before sending.

The unique key is the whole of "exactly once": two processes racing for the same digest both try
to insert the claim and only one insert succeeds. A send that failed may be claimed again; a claim
whose process died mid-send is left alone (at most once beats twice for a manager's inbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inserts import insert_ignoring_conflict
from storage.tables import DigestDeliveryRow

CLAIMED, SENT, FAILED = "claimed", "sent", "failed"


@dataclass(frozen=True, slots=True)
class DigestDelivery:
    """One recipient's digest of one day on one medium."""

    id: int
    recipient: str
    day: str
    medium: str
    status: str
    claimed_at: datetime
    sent_at: datetime | None
    error: str | None


def _delivery(row: DigestDeliveryRow) -> DigestDelivery:
    return DigestDelivery(
        id=row.id,
        recipient=row.recipient,
        day=row.day,
        medium=row.medium,
        status=row.status,
        claimed_at=row.claimed_at,
        sent_at=row.sent_at,
        error=row.error,
    )


class DigestDeliveryRepository:
    """Claims and settles digest deliveries."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def claim(self, recipient: str, day: str, medium: str, at: datetime) -> int | None:
        """The claim's id if this caller may send now; None when another already has (or did)."""
        stmt = insert_ignoring_conflict(
            self._s,
            DigestDeliveryRow,
            {"recipient": recipient, "day": day, "medium": medium, "status": CLAIMED, "claimed_at": at},
            ["recipient", "day", "medium"],
        )
        new_id = await self._s.scalar(stmt)
        if new_id is not None:
            return int(new_id)
        # Only a failed send may be tried again, and only by whoever flips it back first.
        retried = await self._s.execute(
            update(DigestDeliveryRow)
            .where(
                DigestDeliveryRow.recipient == recipient,
                DigestDeliveryRow.day == day,
                DigestDeliveryRow.medium == medium,
                DigestDeliveryRow.status == FAILED,
            )
            .values(status=CLAIMED, claimed_at=at, error=None)
            .returning(DigestDeliveryRow.id)
        )
        row = retried.first()
        return None if row is None else int(row[0])

    async def mark_sent(self, delivery_id: int, at: datetime) -> None:
        """The digest reached the provider."""
        await self._s.execute(
            update(DigestDeliveryRow)
            .where(DigestDeliveryRow.id == delivery_id)
            .values(status=SENT, sent_at=at, error=None)
        )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        """Sending failed; the next run may claim it again."""
        await self._s.execute(
            update(DigestDeliveryRow)
            .where(DigestDeliveryRow.id == delivery_id)
            .values(status=FAILED, error=error[:500])
        )

    async def note(self, delivery_id: int, text: str) -> None:
        """Keep a remark on a sent delivery (e.g. the chart did not go out with the text)."""
        await self._s.execute(
            update(DigestDeliveryRow).where(DigestDeliveryRow.id == delivery_id).values(error=text[:500])
        )

    async def for_day(self, day: str) -> list[DigestDelivery]:
        """Every delivery row of one Jalali day."""
        rows = await self._s.scalars(
            select(DigestDeliveryRow)
            .where(DigestDeliveryRow.day == day)
            .order_by(DigestDeliveryRow.recipient, DigestDeliveryRow.medium)
        )
        return [_delivery(r) for r in rows]
