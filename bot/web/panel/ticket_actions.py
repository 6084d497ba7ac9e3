"""What the panel can do to a ticket, each through bot.lifecycle in one transaction.

A handler loads the ticket (404 when the user may not see it, 403 when the role may not act),
applies one lifecycle change, commits, wakes the outbox, and redirects. A refused change raises
`Refused` inside the transaction, so nothing of it is written, and the page is shown again with
the reason and the user's input.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot.lifecycle import NOTE_REQUIRED, LifecycleError
from bot.models import Ticket, TicketStatus
from bot.tracking import is_valid
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.forms import read_form
from bot.web.panel.roles import Permission, Principal
from bot.web.panel.security import Forbidden
from bot.web.panel.ticket_page import show_ticket
from nlp.letters import ascii_digits
from storage.canned_replies import CannedReplyRepository
from storage.store import Transaction

log = logging.getLogger(__name__)

TRIAGE_REASON = "بررسی در صف تریاژ"
Action = Callable[[Transaction, Ticket, Principal], Awaitable[str]]


class Refused(Exception):
    """The change cannot be made; `key` names the Persian error in labels.ERRORS."""

    def __init__(self, key: str, status: int = 400) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


async def _act(request: web.Request, permission: Permission, action: Action) -> web.StreamResponse:
    principal = principal_of(request)
    panel = panel_of(request)
    form = await read_form(request)
    try:
        async with panel.sada.store.transaction() as tx:
            found = await tx.tickets.by_code(request.match_info["code"])
            if found is None or not principal.can_see(found):
                raise web.HTTPNotFound()
            if not principal.may(permission):
                raise Forbidden(reason=f"role {principal.user.role} lacks {permission}")
            ticket = await tx.tickets.get(found.id, for_update=True)
            assert ticket is not None  # noqa: S101 - found just above, tickets are never deleted
            done = await action(tx, ticket, principal)
    except Refused as exc:
        return await show_ticket(request, error=exc.key, status=exc.status, form=_typed(request, form))
    except LifecycleError as exc:
        log.info(
            "panel action refused ticket=%s user=%s: %s",
            request.match_info["code"],
            principal.user.username,
            exc,
        )
        return await show_ticket(request, error="lifecycle", status=409, form=_typed(request, form))
    panel.sada.dispatcher.wake()
    log.info("panel action=%s ticket=%s user=%s", done, ticket.id, principal.user.username)
    if form.get("back") == "triage":
        raise web.HTTPSeeOther(f"/panel/triage?done={done}")
    raise web.HTTPSeeOther(f"/panel/tickets/{ticket.tracking_code}?done={done}")


def _typed(request: web.Request, form: Mapping[str, object]) -> dict[str, object]:
    """What the user typed, and into which form (`action`: the route's name), to show it again."""
    return {**form, "action": request.match_info.route.name}


def _field(form: object, key: str, limit: int = 2000) -> str:
    value = form.get(key, "")  # type: ignore[attr-defined]
    return value.strip()[:limit] if isinstance(value, str) else ""


async def reclassify(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/reclassify: new category (and department) with a reason."""
    form = await read_form(request)
    panel = panel_of(request)
    taxonomy = panel.sada.config.taxonomy

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        category = _field(form, "category", 64)
        department = _field(form, "department", 64) or None
        reason = _field(form, "reason", 500)
        if category not in taxonomy.categories:
            raise Refused("unknown_category")
        if department is not None and department not in taxonomy.departments:
            raise Refused("unknown_department")
        confirming = category == ticket.category and department in (None, ticket.department)
        if not reason:
            if form.get("back") != "triage":
                raise Refused("reason_required")
            reason = TRIAGE_REASON
        await panel.sada.lifecycle.reclassify(
            tx, ticket, category, actor=principal.actor, reason=reason, department=department
        )
        return "confirmed" if confirming else "reclassified"

    return await _act(request, Permission.RECLASSIFY, action)


async def reassign(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/reassign: another department, same category, with a reason."""
    form = await read_form(request)
    panel = panel_of(request)

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        department = _field(form, "department", 64)
        reason = _field(form, "reason", 500)
        if department not in panel.sada.config.taxonomy.departments:
            raise Refused("unknown_department")
        if department == ticket.department:
            raise Refused("same_department")
        if not reason:
            raise Refused("reason_required")
        await panel.sada.lifecycle.reclassify(
            tx, ticket, ticket.category, actor=principal.actor, reason=reason, department=department
        )
        return "reassigned"

    return await _act(request, Permission.REASSIGN, action)


async def change_status(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/status: a new status with a typed or canned note for the citizen."""
    form = await read_form(request)
    panel = panel_of(request)
    lifecycle = panel.sada.lifecycle

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        try:
            target = TicketStatus(_field(form, "to", 32))
        except ValueError:
            raise Refused("bad_status") from None
        if target is TicketStatus.DUPLICATE or target not in lifecycle.allowed(ticket.status):
            raise Refused("bad_status", 409)
        note = _field(form, "note")
        canned_id = _field(form, "canned", 20)
        if canned_id and not note:
            repo = CannedReplyRepository(tx.session)
            canned = await repo.get(int(canned_id)) if canned_id.isdigit() else None
            fits = canned is not None and canned.status == target.value
            if canned is None or not fits or canned.category not in (None, ticket.category):
                raise Refused("bad_canned")
            note = canned.text
        if target in NOTE_REQUIRED and not note:
            raise Refused("note_required")
        await lifecycle.change_status(tx, ticket, target, actor=principal.actor, note=note or None)
        return "status"

    return await _act(request, Permission.CHANGE_STATUS, action)


async def merge(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/merge: close this ticket into another; its reporters follow."""
    form = await read_form(request)
    panel = panel_of(request)

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        code = "".join(ascii_digits(_field(form, "into", 40)).split())
        survivor = await tx.tickets.by_code(code) if is_valid(code) else None
        if survivor is None or not principal.can_see(survivor):
            raise Refused("merge_unknown")
        if survivor.id == ticket.id:
            raise Refused("merge_invalid")
        try:
            await panel.sada.lifecycle.merge(tx, ticket, survivor, actor=principal.actor)
        except LifecycleError:
            raise Refused("merge_invalid", 409) from None
        return "merged"

    return await _act(request, Permission.MERGE, action)


async def add_note(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/note: an internal note in the ticket's history."""
    form = await read_form(request)
    panel = panel_of(request)

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        text = _field(form, "note")
        if not text:
            raise Refused("note_empty")
        await panel.sada.lifecycle.add_note(tx, ticket, actor=principal.actor, text=text)
        return "noted"

    return await _act(request, Permission.NOTE, action)
