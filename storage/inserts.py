"""INSERT … ON CONFLICT DO NOTHING for both dialects: the base of idempotent intake."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


def insert_ignoring_conflict(
    session: AsyncSession, row: type[DeclarativeBase], values: dict[str, Any], conflict: list[str]
) -> Insert:
    """An INSERT that does nothing when `conflict` columns already hold these values; returns the id."""
    dialect = session.bind.dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(row).values(**values).on_conflict_do_nothing(index_elements=conflict)
    return stmt.returning(row.id)  # type: ignore[attr-defined]
