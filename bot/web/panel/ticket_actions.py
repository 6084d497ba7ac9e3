"""What the panel can do to a ticket, each through bot.lifecycle in one transaction.

A handler loads the ticket (404 when the user may not see it, 403 when the role may not act),
applies one lifecycle change, commits, wakes the outbox, and redirects. A refused change raises
`Refused` inside the transaction, so nothing of it is written, and the page is shown again with
the reason and the user's input.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.lifecycle import NOTE_REQUIRED, LifecycleError, free_reply_text
from bot.models import Medium, Ticket, TicketStatus
from bot.taxonomy import Taxonomy
from bot.tracking import is_valid
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.forms import form_field, read_form
from bot.web.panel.roles import Permission, Principal
from bot.web.panel.security import Forbidden
from bot.web.panel.ticket_page import reply_choices, show_ticket, sms_limits
from channels.segments import sms_parts
from nlp.letters import ascii_digits, persian_digits
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


@dataclass(frozen=True, slots=True)
class Reclassification:
    """A reclassify form read: the category, the department (None: the category's own) and the
    reason (may be empty: whether it is required is the caller's rule)."""

    category: str
    department: str | None
    reason: str


def read_reclassification(form: Mapping[str, Any], taxonomy: Taxonomy) -> Reclassification:
    """The reclassify fields of `form` (a ticket's form or the list's bulk form), checked against
    the taxonomy."""
    found = Reclassification(
        form_field(form, "category", 64),
        form_field(form, "department", 64) or None,
        form_field(form, "reason", 500),
    )
    if found.category not in taxonomy.categories:
        raise Refused("unknown_category")
    if found.department is not None and found.department not in taxonomy.departments:
        raise Refused("unknown_department")
    return found


async def reclassify(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/reclassify: new category (and department) with a reason."""
    form = await read_form(request)
    panel = panel_of(request)
    taxonomy = panel.sada.config.taxonomy

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        chosen = read_reclassification(form, taxonomy)
        category, department, reason = chosen.category, chosen.department, chosen.reason
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
        department = form_field(form, "department", 64)
        reason = form_field(form, "reason", 500)
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
            target = TicketStatus(form_field(form, "to", 32))
        except ValueError:
            raise Refused("bad_status") from None
        if target is TicketStatus.DUPLICATE or target not in lifecycle.allowed(ticket.status):
            raise Refused("bad_status", 409)
        note = form_field(form, "note")
        canned_id = form_field(form, "canned", 20)
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
        code = "".join(ascii_digits(form_field(form, "into", 40)).split())
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
        text = form_field(form, "note")
        if not text:
            raise Refused("note_empty")
        await panel.sada.lifecycle.add_note(tx, ticket, actor=principal.actor, text=text)
        return "noted"

    return await _act(request, Permission.NOTE, action)


# --- assignment --------------------------------------------------------------------------------


async def assign(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/assign: give the ticket to an active person of its department
    (`assignee`: a user id), or to nobody (`assignee` empty)."""
    form = await read_form(request)
    panel = panel_of(request)

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        chosen = form_field(form, "assignee", 20)
        assignee = None
        if chosen:
            assignee = await tx.users.get(int(chosen)) if chosen.isdigit() else None
            if assignee is None:
                raise Refused(ASSIGN_ERRORS["unknown"])
        try:
            await panel.sada.lifecycle.assign(tx, ticket, assignee, actor=principal.actor)
        except ValueError:
            raise Refused(ASSIGN_ERRORS["department"]) from None
        return "assigned" if assignee else "unassigned"

    return await _act(request, Permission.ASSIGN, action)


async def claim(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/claim: the user takes the ticket (their own department's only)."""
    panel = panel_of(request)

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        if not principal.can_claim(ticket):
            raise Refused(ASSIGN_ERRORS["claim_department"], 403)
        try:
            await panel.sada.lifecycle.assign(tx, ticket, principal.user, actor=principal.actor)
        except ValueError:
            raise Refused(ASSIGN_ERRORS["claim_department"], 403) from None
        return "claimed"

    return await _act(request, Permission.CLAIM, action)


async def release(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/release: the user gives back a ticket assigned to them."""
    panel = panel_of(request)

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        if ticket.assignee_id != principal.user.id:
            raise Refused(ASSIGN_ERRORS["not_yours"], 409)
        await panel.sada.lifecycle.assign(tx, ticket, None, actor=principal.actor)
        return "released"

    return await _act(request, Permission.CLAIM, action)


ASSIGN_ERRORS = {
    "unknown": "کارشناس انتخاب‌شده پیدا نشد.",
    "department": "این درخواست را فقط می‌توان به کارشناس فعالِ واحد مسئول آن واگذار کرد.",
    "claim_department": "فقط درخواست‌های واحد خودتان را می‌توانید بردارید.",
    "not_yours": "این درخواست به شما واگذار نشده است.",
}


# --- free replies ------------------------------------------------------------------------------


async def reply(request: web.Request) -> web.StreamResponse:
    """POST /panel/tickets/{code}/reply: the operator's own words to every reporter, on the channel
    each one used; the status does not change. With `use_canned`, nothing is sent: the page comes
    back with the chosen canned text in the box (the form without JavaScript)."""
    form = await read_form(request)
    panel = panel_of(request)
    if form.get("use_canned"):
        return await _with_canned(request, form)

    async def action(tx: Transaction, ticket: Ticket, principal: Principal) -> str:
        text = form_field(form, "text", REPLY_LIMIT)
        if not text:
            raise Refused(REPLY_ERRORS["empty"])
        reporters = await tx.tickets.reporters(ticket.id)
        if not reporters:
            raise Refused(REPLY_ERRORS["nobody"], 409)
        limits = sms_limits(panel.sada.config.channels, panel.sada.directory, reporters)
        for channel, max_parts in limits.items():
            parts = sms_parts(free_reply_text(ticket.tracking_code, text, Medium.SMS))
            if parts > max_parts:
                log.info("free reply refused: %d SMS parts on %s, at most %d", parts, channel, max_parts)
                raise Refused(REPLY_ERRORS["too_long"].format(max=persian_digits(str(max_parts))))
        await panel.sada.lifecycle.reply_freely(tx, ticket, text, actor=principal.actor)
        return "replied"

    return await _act(request, Permission.REPLY, action)


async def _with_canned(request: web.Request, form: Mapping[str, object]) -> web.StreamResponse:
    principal = principal_of(request)
    panel = panel_of(request)
    async with panel.sada.store.read() as tx:
        ticket = await tx.tickets.by_code(request.match_info["code"])
        if ticket is None or not principal.can_see(ticket):
            raise web.HTTPNotFound()
        if not principal.may(Permission.REPLY):
            raise Forbidden(reason=f"role {principal.user.role} lacks {Permission.REPLY}")
        choices = await reply_choices(tx, ticket)
    typed = form_field(form, "text", REPLY_LIMIT)
    chosen = dict(choices.flat).get(form_field(form, "canned", 20))
    if chosen is None:
        return await show_ticket(
            request, error=REPLY_ERRORS["no_canned"], status=400, form=_typed(request, form)
        )
    text = f"{typed}\n{chosen}" if typed else chosen
    return await show_ticket(request, form={**_typed(request, form), "text": text})


REPLY_LIMIT = 1000
REPLY_ERRORS = {
    "empty": "متن پاسخ خالی است.",
    "nobody": "این درخواست گزارش‌دهنده‌ای ندارد که پاسخ را بگیرد.",
    "too_long": "این پاسخ در پیامک از {max} بخش بیشتر می‌شود؛ کوتاه‌ترش کنید.",
    "no_canned": "یک پاسخ آماده از فهرست انتخاب کنید.",
}
