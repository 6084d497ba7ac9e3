"""Small durable state channels keep between restarts (e.g. a feed follower's file positions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import ChannelStateRow


class ChannelStateRepository:
    """name → JSON object, one row per name; build it from `tx.session`."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, name: str) -> dict[str, Any] | None:
        """The stored value, or None the first time."""
        value = await self._s.scalar(select(ChannelStateRow.value).where(ChannelStateRow.name == name))
        return dict(value) if value is not None else None

    async def put(self, name: str, value: dict[str, Any], at: datetime) -> None:
        """Store `value` under `name`, replacing what was there (one statement, no read first)."""
        module: Any = postgresql if self._s.get_bind().dialect.name == "postgresql" else sqlite
        stmt = module.insert(ChannelStateRow).values(name=name, value=value, updated_at=at)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        await self._s.execute(stmt)
