"""One ticket: conversation, history, classification, location, attachments, and the action forms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.models import OPEN_STATUSES, EventKind, TicketEvent, TicketStatus
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.labels import ERRORS, channel_names, history_line
from bot.web.panel.rendering import render
from storage.canned_replies import CannedReplyRepository
from storage.panel_queries import ConversationEntry, PanelQueries

# A shared location is stored twice: the message (no text) and a history event with the point; the
# two are written in one transaction, so their times differ by far less than this.
_SAME_MESSAGE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Bubble:
    """One message of the conversation as the page shows it; `location` for a shared pin."""

    message: ConversationEntry
    location: tuple[float, float] | None = None


def bubbles(conversation: Sequence[ConversationEntry], events: Sequence[TicketEvent]) -> list[Bubble]:
    """The conversation with each text-less message from a citizen matched to the location it shared."""
    pins = [
        (e.at, (float(e.data["location"][0]), float(e.data["location"][1])))
        for e in events
        if e.kind is EventKind.MESSAGE_IN and isinstance(e.data.get("location"), list | tuple)
    ]
    shown = []
    for m in conversation:
        location = None
        if m.direction == "in" and not m.text.strip():
            near = [i for i, (at, _) in enumerate(pins) if abs(at - m.at) <= _SAME_MESSAGE]
            if near:
                location = pins.pop(min(near, key=lambda i: abs(pins[i][0] - m.at)))[1]
        shown.append(Bubble(m, location))
    return shown


async def ticket_page(request: web.Request) -> web.Response:
    """GET /panel/tickets/{code}"""
    return await show_ticket(request)


async def show_ticket(
    request: web.Request,
    *,
    code: str | None = None,
    error: str | None = None,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
    notice: str | None = None,
) -> web.Response:
    """Render the ticket page (also after a refused action, with its error and the user's input, and
    after a login that kept a draft: `code` then names the ticket, since the URL is the login's)."""
    principal = principal_of(request)
    panel = panel_of(request)
    taxonomy = panel.sada.config.taxonomy
    channel_name = channel_names(panel.sada.config.channels)
    async with panel.sada.store.read() as tx:
        ticket = await tx.tickets.by_code(code or request.match_info["code"])
        # Out of scope reads as absent: a staff member cannot even learn that the code exists.
        if ticket is None or not principal.can_see(ticket):
            raise web.HTTPNotFound()
        events = await tx.tickets.events(ticket.id)
        conversation = await PanelQueries(tx.session).conversation(ticket.id)
        reporters = await tx.tickets.reporters(ticket.id)
        phone = await tx.citizens.phone_of(ticket.citizen_id)
        canned = await CannedReplyRepository(tx.session).for_category(ticket.category)
        survivor = await tx.tickets.get(ticket.duplicate_of) if ticket.duplicate_of else None
        users = {u.username: u.display_name for u in await tx.users.all()}
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
        history=[(e, history_line(e, taxonomy, channel_name)) for e in events],
        users=users,
        conversation=bubbles(conversation, events),
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
        notice=notice,
    )
