"""Canned replies: the shipped defaults and the page where operators and admins edit them."""

from __future__ import annotations

from aiohttp import web

from bot.dates.clock import Clock
from bot.models import TicketStatus
from bot.web.panel.context import panel_of
from bot.web.panel.forms import read_form
from bot.web.panel.labels import ERRORS
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission
from bot.web.panel.security import require
from storage.canned_replies import CannedReplyRepository
from storage.store import Store

S = TicketStatus
# Seeded into an empty table at start-up; from then on the table is the truth and people edit it.
DEFAULT_REPLIES: tuple[tuple[TicketStatus, str | None, str], ...] = (
    (S.IN_PROGRESS, None, "کارشناسان ما برای بررسی به محل اعزام شدند."),
    (S.IN_PROGRESS, None, "درخواست شما در برنامهٔ کاری این هفتهٔ واحد قرار گرفت."),
    (S.RESOLVED, None, "مشکل برطرف شد. از اینکه اطلاع دادید سپاسگزاریم."),
    (S.RESOLVED, "waste_collection", "زباله‌های محل جمع‌آوری و مخزن شست‌وشو شد."),
    (S.RESOLVED, "road_damage", "محل آسیب‌دیده ترمیم و آسفالت شد."),
    (S.RESOLVED, "street_lighting", "چراغ معیوب تعمیر شد و روشنایی معبر برقرار است."),
    (S.RESOLVED, "street_cleaning", "معبر رفت‌وروب و شست‌وشو شد."),
    (S.REJECTED, None, "این موضوع در حیطهٔ وظایف شهرداری نیست و به دستگاه مسئول اطلاع داده شد."),
    (S.REOPENED, None, "درخواست برای بررسی دوباره باز شد."),
)


async def seed_defaults(store: Store, clock: Clock) -> int:
    """Insert the default replies when the table is empty; returns how many were added."""
    async with store.transaction() as tx:
        repo = CannedReplyRepository(tx.session)
        if await repo.count():
            return 0
        for status, category, text in DEFAULT_REPLIES:
            await repo.add(status.value, category, text, clock.now(), "system")
    return len(DEFAULT_REPLIES)


async def canned_page(request: web.Request, *, error: str | None = None, status: int = 200) -> web.Response:
    """GET /panel/canned"""
    require(request, Permission.EDIT_CANNED)
    async with panel_of(request).sada.store.read() as tx:
        replies = await CannedReplyRepository(tx.session).all()
    return render(
        request,
        "canned.html",
        status=status,
        replies=replies,
        statuses=[s.value for s in TicketStatus if s is not S.DUPLICATE],
        error=ERRORS.get(error or ""),
    )


async def canned_save(request: web.Request) -> web.StreamResponse:
    """POST /panel/canned: add a reply (no id) or edit one's text (with id)."""
    principal = require(request, Permission.EDIT_CANNED)
    panel = panel_of(request)
    form = await read_form(request)
    text = str(form.get("text", "")).strip()[:1000]
    reply_id = str(form.get("id", ""))
    status = str(form.get("status", ""))
    category = str(form.get("category", "")) or None
    if not text:
        return await canned_page(request, error="canned_empty", status=400)
    now = panel.sada.clock.now()
    async with panel.sada.store.transaction() as tx:
        repo = CannedReplyRepository(tx.session)
        if reply_id:
            if not reply_id.isdigit() or not await repo.edit(int(reply_id), text, now, principal.actor):
                raise web.HTTPNotFound()
        else:
            valid_status = status in {s.value for s in TicketStatus if s is not S.DUPLICATE}
            if not valid_status or (category and category not in panel.sada.config.taxonomy.categories):
                return await canned_page(request, error="bad_status", status=400)
            await repo.add(status, category, text, now, principal.actor)
    raise web.HTTPSeeOther("/panel/canned?done=canned_saved")


async def canned_remove(request: web.Request) -> web.StreamResponse:
    """POST /panel/canned/{id}/delete"""
    require(request, Permission.EDIT_CANNED)
    reply_id = request.match_info["id"]
    async with panel_of(request).sada.store.transaction() as tx:
        if not reply_id.isdigit() or not await CannedReplyRepository(tx.session).remove(int(reply_id)):
            raise web.HTTPNotFound()
    raise web.HTTPSeeOther("/panel/canned?done=canned_removed")
