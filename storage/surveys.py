"""Satisfaction surveys: "is it fixed?" asked of each reporter after resolution."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import SurveyAnswer
from storage.tables import IdentityRow, SurveyRow

OPEN, ANSWERED, EXPIRED, CANCELLED = "open", "answered", "expired", "cancelled"


@dataclass(frozen=True, slots=True)
class Survey:
    """One open or settled survey."""

    id: int
    ticket_id: int
    identity_id: int
    status: str
    answer: SurveyAnswer | None
    expires_at: datetime


# Built once (intake asks it for every group): reused, it is not built and cache-keyed again.
_SURVEYED = (
    select(IdentityRow.citizen_id)
    .join(SurveyRow, SurveyRow.identity_id == IdentityRow.id)
    .where(IdentityRow.citizen_id.in_(bindparam("citizens", expanding=True)), SurveyRow.status == OPEN)
    .distinct()
)


def _survey(row: SurveyRow) -> Survey:
    return Survey(
        id=row.id,
        ticket_id=row.ticket_id,
        identity_id=row.identity_id,
        status=row.status,
        answer=SurveyAnswer(row.answer) if row.answer else None,
        expires_at=row.expires_at,
    )


class SurveyRepository:
    """Open, answer, expire and cancel surveys; each settle is a compare-and-set on status."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def open(self, ticket_id: int, identity_id: int, at: datetime, expires_at: datetime) -> int:
        """Ask one reporter."""
        row = SurveyRow(
            ticket_id=ticket_id, identity_id=identity_id, status=OPEN, asked_at=at, expires_at=expires_at
        )
        self._s.add(row)
        await self._s.flush()
        return row.id

    async def open_for_identity(self, identity_id: int) -> Survey | None:
        """The newest open survey addressed to this identity."""
        row = await self._s.scalar(
            select(SurveyRow)
            .where(SurveyRow.identity_id == identity_id, SurveyRow.status == OPEN)
            .order_by(SurveyRow.id.desc())
            .limit(1)
        )
        return None if row is None else _survey(row)

    async def citizens_with_open_survey(self, citizen_ids: Collection[int]) -> set[int]:
        """Which of these citizens have an open survey on any of their identities (one query)."""
        if not citizen_ids:
            return set()
        rows = await self._s.scalars(_SURVEYED, {"citizens": sorted(citizen_ids)})
        return set(rows)

    async def answer(self, survey_id: int, answer: SurveyAnswer, at: datetime) -> bool:
        """Record the answer; False if the survey was no longer open."""
        result = await self._s.execute(
            update(SurveyRow)
            .where(SurveyRow.id == survey_id, SurveyRow.status == OPEN)
            .values(status=ANSWERED, answer=answer.value, answered_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due_to_expire(self, now: datetime, limit: int = 100) -> list[Survey]:
        """Open surveys whose time ran out."""
        rows = await self._s.scalars(
            select(SurveyRow).where(SurveyRow.status == OPEN, SurveyRow.expires_at <= now).limit(limit)
        )
        return [_survey(r) for r in rows]

    async def expire(self, survey_id: int) -> bool:
        """Mark one survey expired; False if another worker got there first."""
        result = await self._s.execute(
            update(SurveyRow)
            .where(SurveyRow.id == survey_id, SurveyRow.status == OPEN)
            .values(status=EXPIRED)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def cancel_for_ticket(self, ticket_id: int) -> int:
        """The ticket left `resolved`: open questions about it no longer apply."""
        result = await self._s.execute(
            update(SurveyRow)
            .where(SurveyRow.ticket_id == ticket_id, SurveyRow.status == OPEN)
            .values(status=CANCELLED)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def for_ticket(self, ticket_id: int) -> list[Survey]:
        """Every survey of a ticket."""
        rows = await self._s.scalars(
            select(SurveyRow).where(SurveyRow.ticket_id == ticket_id).order_by(SurveyRow.id)
        )
        return [_survey(r) for r in rows]
