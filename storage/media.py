"""The files citizens send: a row per file, written pending with the message that brought it, then
fetched by bot/jobs/media_fetch.py (claimed with a lease, so several processes share the work and a
crash only delays a file), its bytes, size and sniffed type kept here.

A claim moves `next_attempt_at` one lease ahead and counts the attempt; whoever settles the row
names the attempt it claimed, so a process whose lease ran out cannot overwrite a later claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inserts import insert_rows_ignoring_conflict
from storage.tables import MediaRow, TicketRow, table_of

PENDING = "pending"
STORED = "stored"
FAILED = "failed"
TOO_LARGE = "too_large"
REFUSED = "refused"  # removed by retention (bytes, transcript and reference gone), or never fetched
ANONYMOUS_PREFIX = "anon-"
KINDS = ("photo", "voice", "audio", "video", "document")


OCTET_STREAM = "application/octet-stream"
# Types a browser may show in the page (an <img> or an <audio>); anything else is only downloaded.
INLINE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "audio/ogg", "audio/mpeg", "audio/mp4"}
)


def sniff(data: bytes) -> str:
    """The content type the bytes themselves declare (their magic numbers), never what the sender
    said: JPEG, PNG, GIF, WebP, Ogg (Opus voice notes), MP3, M4A/MP4, PDF; else octet-stream."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3") or (
        len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 in (0xE2, 0xE4, 0xE6)
    ):
        return "audio/mpeg"  # an ID3 tag, or an MPEG audio frame sync (layer III, II or I)
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:11] == b"M4A" else "video/mp4"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return OCTET_STREAM


@dataclass(frozen=True, slots=True)
class NewMedia:
    """A file a stored message referred to."""

    ticket_id: int | None
    inbound_id: int | None
    channel: str
    reference: str
    kind: str


@dataclass(frozen=True, slots=True)
class MediaClaim:
    """One file to fetch, claimed for one attempt (`attempts` counts this one)."""

    id: int
    ticket_id: int | None
    channel: str
    reference: str
    kind: str
    attempts: int


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """A file as the ticket page lists it (no bytes)."""

    id: int
    ticket_id: int | None
    kind: str
    status: str
    content_type: str | None
    size: int | None
    transcript: str | None
    created_at: datetime
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class MediaFile:
    """A stored file with its bytes, and the department of its ticket (for scoping)."""

    info: MediaInfo
    data: bytes
    department: str | None


def _info(r: MediaRow | Row[Any]) -> MediaInfo:
    return MediaInfo(
        id=r.id,
        ticket_id=r.ticket_id,
        kind=r.kind,
        status=r.status,
        content_type=r.content_type,
        size=r.size,
        transcript=r.transcript,
        created_at=r.created_at,
        attempts=r.attempts,
        last_error=r.last_error,
    )


class MediaRepository:
    """Pending rows in, fetched bytes out."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add_pending(self, files: Sequence[NewMedia], at: datetime) -> None:
        """One INSERT for all of them; a (channel, reference) already known is left as it is."""
        if not files:
            return
        stmt = insert_rows_ignoring_conflict(self._s, MediaRow, ["channel", "reference"])
        await self._s.execute(
            stmt,
            [
                {
                    "ticket_id": f.ticket_id,
                    "inbound_id": f.inbound_id,
                    "channel": f.channel,
                    "reference": f.reference[:300],
                    "kind": f.kind if f.kind in KINDS else "document",
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
                for f in files
            ],
        )

    async def any_due(self, now: datetime) -> bool:
        """Whether a pending row is due (a read: on SQLite it takes no write lock)."""
        found = await self._s.execute(
            select(MediaRow.id).where(MediaRow.status == PENDING, MediaRow.next_attempt_at <= now).limit(1)
        )
        return found.first() is not None

    async def claim(self, *, limit: int, now: datetime, lease: timedelta) -> list[MediaClaim]:
        """Take up to `limit` due pending rows: each one's next attempt moves a lease ahead."""
        table = table_of(MediaRow)
        due = (
            select(MediaRow.id)
            .where(MediaRow.status == PENDING, MediaRow.next_attempt_at <= now)
            .order_by(MediaRow.next_attempt_at, MediaRow.id)
            .limit(limit)
        )
        if self._s.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = await self._s.execute(
            update(table)
            .where(
                table.c.id.in_(due.scalar_subquery()),
                table.c.status == PENDING,
                table.c.next_attempt_at <= now,
            )
            .values(attempts=table.c.attempts + 1, next_attempt_at=now + lease)
            .returning(
                table.c.id,
                table.c.ticket_id,
                table.c.channel,
                table.c.reference,
                table.c.kind,
                table.c.attempts,
            )
            .execution_options(synchronize_session=False)
        )
        return sorted((MediaClaim(*row) for row in rows), key=lambda c: c.id)

    async def _settle(self, claim: MediaClaim, **values: object) -> bool:
        table = table_of(MediaRow)
        result = await self._s.execute(
            update(table)
            .where(table.c.id == claim.id, table.c.status == PENDING, table.c.attempts == claim.attempts)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def stored(self, claim: MediaClaim, data: bytes, content_type: str, at: datetime) -> bool:
        """The file is here; False if the claim was lost (its lease ran out and another took it)."""
        return await self._settle(
            claim,
            status=STORED,
            data=data,
            size=len(data),
            content_type=content_type,
            stored_at=at,
            next_attempt_at=None,
            last_error=None,
        )

    async def retry(self, claim: MediaClaim, at: datetime, error: str) -> bool:
        """Try again at `at`."""
        return await self._settle(claim, next_attempt_at=at, last_error=error[:300])

    async def give_up(self, claim: MediaClaim, status: str, error: str) -> bool:
        """Final: `failed`, `too_large` or `refused`; no bytes kept."""
        return await self._settle(claim, status=status, next_attempt_at=None, last_error=error[:300])

    async def set_transcript(self, media_id: int, text: str) -> None:
        """What speech recognition heard in a stored voice note."""
        await self._s.execute(update(MediaRow).where(MediaRow.id == media_id).values(transcript=text))

    async def for_ticket(self, ticket_id: int) -> list[MediaInfo]:
        """The ticket's files in the order they came (no bytes)."""
        columns = [c for c in table_of(MediaRow).c if c.name != "data"]
        rows = await self._s.execute(
            select(*columns).where(MediaRow.ticket_id == ticket_id).order_by(MediaRow.id)
        )
        return [_info(r) for r in rows]  # rows without the bytes: the same names as a MediaRow

    async def info(self, media_id: int) -> MediaInfo | None:
        row = await self._s.get(MediaRow, media_id)
        return None if row is None else _info(row)

    async def file(self, media_id: int) -> MediaFile | None:
        """A stored file with its bytes and its ticket's department; None if absent or not stored."""
        row = (
            await self._s.execute(
                select(MediaRow, TicketRow.department)
                .outerjoin(TicketRow, TicketRow.id == MediaRow.ticket_id)
                .where(MediaRow.id == media_id)
            )
        ).first()
        if row is None or row[0].data is None or row[0].status != STORED:
            return None
        return MediaFile(_info(row[0]), bytes(row[0].data), row[1])

    async def erase_for_tickets(self, ticket_ids: Sequence[int]) -> int:
        """Retention: drop the bytes, transcripts and provider references of these tickets' files
        (status `refused`: a file not fetched yet never will be). Returns how many rows changed."""
        table = table_of(MediaRow)
        ids = list(ticket_ids)
        if not ids:
            return 0
        result = await self._s.execute(
            update(table)
            .where(
                table.c.ticket_id.in_(ids),
                (table.c.status != REFUSED) | ~table.c.reference.startswith(ANONYMOUS_PREFIX),
            )
            .values(
                status=REFUSED,
                data=None,
                transcript=None,
                next_attempt_at=None,
                reference=ANONYMOUS_PREFIX + table.c.id.cast(table.c.reference.type),
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
