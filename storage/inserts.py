"""INSERTs for both dialects: ON CONFLICT DO NOTHING (the base of idempotent intake) and ordered
multi-row INSERT … RETURNING id (the base of set-based intake)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from storage.tables import table_of


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_ignoring_conflict(
    session: AsyncSession, row: type[DeclarativeBase], values: dict[str, Any], conflict: list[str]
) -> Insert:
    """An INSERT that does nothing when `conflict` columns already hold these values; returns the id."""
    module: Any = postgresql if _dialect(session) == "postgresql" else sqlite
    stmt = module.insert(row).values(**values).on_conflict_do_nothing(index_elements=conflict)
    return stmt.returning(row.id)  # type: ignore[attr-defined]


def insert_rows_ignoring_conflict(
    session: AsyncSession,
    row: type[DeclarativeBase],
    conflict: list[str],
    returning: tuple[str, ...] = (),
) -> Insert:
    """The same INSERT without values, for `session.execute(stmt, [rows…])` (one multi-row INSERT),
    returning the `returning` columns of the rows inserted."""
    return _ignoring_conflict(_dialect(session), row, tuple(conflict), returning)


# Intake builds these INSERTs for every group: the same statement object each time skips building
# and cache-keying it again (SQLAlchemy's compiled cache is keyed by the statement's structure).
@functools.cache
def _ignoring_conflict(
    dialect: str, row: type[DeclarativeBase], conflict: tuple[str, ...], returning: tuple[str, ...]
) -> Insert:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    table = table_of(row)
    stmt: Insert = module.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    return stmt.returning(*(table.c[name] for name in returning)) if returning else stmt


@functools.cache
def _returning_ids(dialect: str, row: type[DeclarativeBase]) -> Insert:
    table = table_of(row)
    if dialect == "postgresql":
        return insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return insert(table).returning(table.c.id)


async def insert_returning_ids(
    session: AsyncSession, row: type[DeclarativeBase], values: Sequence[dict[str, Any]]
) -> list[int]:
    """INSERT many rows with as few statements as the driver allows; their ids in the order given.

    PostgreSQL: SQLAlchemy's "insertmanyvalues" with `sort_by_parameter_order` (batched, ordered by
    a sentinel). SQLite has no such sentinel, and SQLAlchemy would fall back to one INSERT per row;
    instead this relies on SQLite's rowid rule: each row of a multi-row VALUES gets the next rowid
    (one more than the largest) in order, so the ascending ids are the rows in the order given.
    RETURNING's own row order is unspecified on SQLite, hence the sort."""
    if not values:
        return []
    table = table_of(row)
    dialect = _dialect(session)
    stmt = _returning_ids(dialect, row)
    if dialect == "postgresql":
        return list(await session.scalars(stmt, list(values)))
    ids = sorted(await session.scalars(stmt, list(values)))
    if len(ids) != len(values) or ids[-1] - ids[0] != len(ids) - 1:
        # Only contiguous ids prove the order (a table at the rowid ceiling would get random ones).
        raise RuntimeError(f"{table.name}: multi-row INSERT returned non-contiguous ids")
    return ids
