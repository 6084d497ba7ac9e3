"""The files citizens sent, in the panel: the ticket page's attachments and GET /panel/media/{id}.

A file is served only to someone who may open its ticket (department staff: their department's
tickets; anything else reads as absent, like the ticket page), with the type sniffed from its bytes
(storage.media), `nosniff`, a sandboxing CSP of its own, `Content-Disposition: inline` only for the
images and audio the page shows, and never cached beyond the browser's memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from bot.models import EventKind, TicketEvent
from bot.web.panel.context import panel_of, principal_of
from storage.media import INLINE_TYPES, OCTET_STREAM, MediaInfo, MediaRepository
from storage.store import Store

KIND_NAMES = {
    "photo": "عکس",
    "voice": "پیام صوتی",
    "audio": "فایل صوتی",
    "video": "ویدیو",
    "document": "سند",
}
STATUS_LINES = {
    "pending": "در حال دریافت از پیام‌رسان…",
    "failed": "دریافت نشد",
    "too_large": "بزرگ‌تر از حد مجاز بود و نگه داشته نشد",
    "refused": "طبق سیاست نگه‌داری داده حذف شد",
}
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
    "application/pdf": "pdf",
}


@dataclass(frozen=True, slots=True)
class Attachment:
    """One file as the ticket page shows it: a thumbnail, a player, a download link or a status line."""

    id: int
    kind: str  # its Persian name
    url: str
    show: str  # image | audio | download | status
    status_line: str
    size: str  # e.g. "۲۴ ک.ب." ("" unless stored)
    transcript: str | None


def _size(n: int | None) -> str:
    if n is None:
        return ""
    if n < 1024 * 1024:
        return f"{max(1, round(n / 1024))} کیلوبایت"
    return f"{n / (1024 * 1024):.1f} مگابایت"


def shown(info: MediaInfo) -> Attachment:
    """How the ticket page shows `info`."""
    kind = KIND_NAMES.get(info.kind, KIND_NAMES["document"])
    url = f"/panel/media/{info.id}"
    if info.status != "stored":
        line = STATUS_LINES.get(info.status, info.status)
        return Attachment(info.id, kind, url, "status", line, "", None)
    content_type = info.content_type or OCTET_STREAM
    if content_type in INLINE_TYPES and content_type.startswith("image/"):
        show = "image"
    elif content_type in INLINE_TYPES and content_type.startswith("audio/"):
        show = "audio"
    else:
        show = "download"
    return Attachment(info.id, kind, url, show, "", _size(info.size), info.transcript)


@dataclass(frozen=True, slots=True)
class Attachments:
    """A ticket's files; `references`: files it has no row for (sent while `[media]` was off, or
    before it existed), shown as the provider's bare references."""

    files: list[Attachment]
    references: list[str]

    def __bool__(self) -> bool:
        return bool(self.files or self.references)


async def attachments_of(store: Store, ticket_id: int, events: Sequence[TicketEvent]) -> Attachments:
    """What the ticket page shows of the ticket's files."""
    async with store.read() as tx:
        files = await MediaRepository(tx.session).for_ticket(ticket_id)
    references = [
        str(ref) for e in events if e.kind is EventKind.CREATED for ref in e.data.get("attachments", [])
    ]
    return Attachments([shown(f) for f in files], [] if files else references)


async def media_file(request: web.Request) -> web.StreamResponse:
    """GET /panel/media/{id}: the file's bytes, for those who may open its ticket."""
    principal = principal_of(request)
    panel = panel_of(request)
    raw = request.match_info["id"]
    # ASCII digits within a database id's range: anything else is no file (never a 500).
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise web.HTTPNotFound()
    media_id = int(raw)
    async with panel.sada.store.read() as tx:
        found = await MediaRepository(tx.session).file(media_id)
        ticket = await tx.tickets.get(found.info.ticket_id) if found and found.info.ticket_id else None
    # Out of scope reads as absent, as on the ticket page.
    if found is None or ticket is None or not principal.can_see(ticket):
        raise web.HTTPNotFound()
    content_type = found.info.content_type or OCTET_STREAM
    inline = content_type in INLINE_TYPES
    name = f"sada-{found.info.id}.{_EXTENSIONS.get(content_type, 'bin')}"
    return web.Response(
        body=found.data,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
