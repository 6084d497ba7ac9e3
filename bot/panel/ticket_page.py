"""One ticket: conversation, history, classification, location, attachments, and the action forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.models import OPEN_STATUSES, EventKind, TicketStatus
from bot.panel.context import panel_of, principal_of
from bot.panel.labels import ERRORS, history_line
from bot.panel.rendering import render
from storage.canned_replies import CannedReplyRepository
from storage.panel_queries import PanelQueries


async def ticket_page(request: web.Request) -> web.Response:
    """GET /panel/tickets/{code}"""
    return await show_ticket(request)


async def show_ticket(
    request: web.Request,
    *,
    error: str | None = None,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
) -> web.Response:
    """Render the ticket page (also after a refused action, with its error and the user's input)."""
    principal = principal_of(request)
    panel = panel_of(request)
    taxonomy = panel.sada.config.taxonomy
    async with panel.sada.store.read() as tx:
        ticket = await tx.tickets.by_code(request.match_info["code"])
        # Out of scope reads as absent: a staff member cannot even learn that the code exists.
        if ticket is None or not principal.can_see(ticket):
            raise web.HTTPNotFound()
        events = await tx.tickets.events(ticket.id)
        conversation = await PanelQueries(tx.session).conversation(ticket.id)
        reporters = await tx.tickets.reporters(ticket.id)
        phone = await tx.citizens.phone_of(ticket.citizen_id)
        canned = await CannedReplyRepository(tx.session).for_category(ticket.category)
        survivor = await tx.tickets.get(ticket.duplicate_of) if ticket.duplicate_of else None
    attachments = [
        str(ref) for e in events if e.kind is EventKind.CREATED for ref in e.data.get("attachments", [])
    ]
    classified = next((e for e in events if e.kind is EventKind.CLASSIFIED), None)
    targets = [s for s in panel.sada.lifecycle.allowed(ticket.status) if s is not TicketStatus.DUPLICATE]
    now = panel.sada.clock.now()
    return render(
        request,
        "ticket.html",
        status=status,
        ticket=ticket,
        history=[(e, history_line(e, taxonomy)) for e in events],
        conversation=conversation,
        reporters=reporters,
        phone=phone,
        attachments=attachments,
        classified=classified,
        targets=[s.value for s in targets],
        canned={s.value: [c for c in canned if c.status == s.value] for s in targets},
        survivor=survivor,
        overdue=bool(ticket.due_at and ticket.due_at < now and ticket.status in OPEN_STATUSES),
        error=ERRORS.get(error or "", error),
        form=form or {},
    )
