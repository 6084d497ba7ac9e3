"""Canned replies: editable Persian texts staff pick when they change a ticket's status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import CannedReplyRow


@dataclass(frozen=True, slots=True)
class CannedReply:
    """One reusable reply for a status, for every category (`category` None) or for one."""

    id: int
    status: str
    category: str | None
    text: str
    updated_at: datetime
    updated_by: str


def _reply(row: CannedReplyRow) -> CannedReply:
    return CannedReply(
        id=row.id,
        status=row.status,
        category=row.category,
        text=row.text,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class CannedReplyRepository:
    """List, add, edit and delete canned replies."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def count(self) -> int:
        """How many canned replies exist."""
        return int(await self._s.scalar(select(func.count(CannedReplyRow.id))) or 0)

    async def all(self) -> list[CannedReply]:
        """Every canned reply, grouped by status then category (general ones first)."""
        rows = await self._s.scalars(
            select(CannedReplyRow).order_by(
                CannedReplyRow.status,
                CannedReplyRow.category.is_not(None),
                CannedReplyRow.category,
                CannedReplyRow.id,
            )
        )
        return [_reply(r) for r in rows]

    async def for_category(self, category: str) -> list[CannedReply]:
        """Replies usable on a ticket of `category`: its own and the general ones."""
        rows = await self._s.scalars(
            select(CannedReplyRow)
            .where(or_(CannedReplyRow.category.is_(None), CannedReplyRow.category == category))
            .order_by(CannedReplyRow.status, CannedReplyRow.category.is_(None), CannedReplyRow.id)
        )
        return [_reply(r) for r in rows]

    async def get(self, reply_id: int) -> CannedReply | None:
        """One reply by id."""
        row = await self._s.get(CannedReplyRow, reply_id)
        return None if row is None else _reply(row)

    async def add(self, status: str, category: str | None, text: str, at: datetime, by: str) -> CannedReply:
        """Create a reply."""
        row = CannedReplyRow(status=status, category=category, text=text, updated_at=at, updated_by=by)
        self._s.add(row)
        await self._s.flush()
        return _reply(row)

    async def edit(self, reply_id: int, text: str, at: datetime, by: str) -> bool:
        """Change a reply's text; False when it does not exist."""
        result = await self._s.execute(
            update(CannedReplyRow)
            .where(CannedReplyRow.id == reply_id)
            .values(text=text, updated_at=at, updated_by=by)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def remove(self, reply_id: int) -> bool:
        """Delete a reply; False when it does not exist."""
        result = await self._s.execute(delete(CannedReplyRow).where(CannedReplyRow.id == reply_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]
