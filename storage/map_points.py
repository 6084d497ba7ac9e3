"""The panel map's read model: where the tickets of a filtered list are, and nothing personal.

The filters and the department scope are the ticket list's own (`PanelQueries`), so the map can
never show a ticket the list would hide. Only what a marker needs is read: no text, no reporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from bot.models import OPEN_STATUSES
from storage.panel_queries import PanelQueries, TicketFilter
from storage.tables import TicketRow

_OPEN = sorted(s.value for s in OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class MapPoint:
    """One ticket on the map: its own coordinates, or only its district (the caller places it)."""

    tracking_code: str
    category: str
    status: str
    latitude: float | None
    longitude: float | None
    district: str | None
    overdue: bool


@dataclass(frozen=True, slots=True)
class MapPoints:
    """The newest `limit` matching tickets that have a place; `truncated` when there were more."""

    points: list[MapPoint]
    truncated: bool


class MapQueries(PanelQueries):
    """The ticket list's filters and scope, read as map points."""

    async def points(
        self, flt: TicketFilter, *, scope: str | None, now: datetime, limit: int = 5000
    ) -> MapPoints:
        """Matching tickets with coordinates or a district, newest first, at most `limit`."""
        stmt = self._filtered(
            select(
                TicketRow.tracking_code,
                TicketRow.category,
                TicketRow.status,
                TicketRow.latitude,
                TicketRow.longitude,
                TicketRow.district,
                TicketRow.due_at,
            ),
            flt,
            scope,
            now,
        ).where(or_(TicketRow.latitude.is_not(None), TicketRow.district.is_not(None)))
        rows = (
            await self._s.execute(
                stmt.order_by(TicketRow.created_at.desc(), TicketRow.id.desc()).limit(limit + 1)
            )
        ).all()
        points = [
            MapPoint(
                tracking_code=r.tracking_code,
                category=r.category,
                status=r.status,
                latitude=r.latitude,
                longitude=r.longitude,
                district=r.district,
                overdue=r.due_at is not None and r.due_at < now and r.status in _OPEN,
            )
            for r in rows[:limit]
        ]
        return MapPoints(points=points, truncated=len(rows) > limit)

    async def point(self, code: str, *, scope: str | None, now: datetime) -> MapPoint | None:
        """One ticket by code, if `scope` may see it and it has a place (the map's `focus`)."""
        found = await self.points(TicketFilter(code=code), scope=scope, now=now, limit=1)
        return found.points[0] if found.points else None
