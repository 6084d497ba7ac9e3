"""Photos sent with the web form: unlike a messenger's files (storage/media.py, fetched later), they
arrive with the request, so their `media` row is written already stored, bytes and sniffed type in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.inserts import insert_rows_ignoring_conflict
from storage.media import STORED
from storage.tables import MediaRow


class WebPhotoRepository:
    """Attach an uploaded photo to its ticket."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def attach(
        self, *, ticket_id: int, channel: str, reference: str, data: bytes, content_type: str, at: datetime
    ) -> None:
        """Store the photo on the ticket; the same (channel, reference) sent again is left as it is."""
        await self._s.execute(
            insert_rows_ignoring_conflict(self._s, MediaRow, ["channel", "reference"]),
            [
                {
                    "ticket_id": ticket_id,
                    "inbound_id": None,
                    "channel": channel,
                    "reference": reference[:300],
                    "kind": "photo",
                    "status": STORED,
                    "attempts": 0,
                    "next_attempt_at": None,
                    "content_type": content_type,
                    "size": len(data),
                    "data": data,
                    "created_at": at,
                    "stored_at": at,
                }
            ],
        )
