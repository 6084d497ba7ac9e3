"""Work on many tickets at once: the list's checkboxes → reclassify, assign, change status, merge.

POST /panel/tickets/bulk carries the ticked tracking codes (`t`), the pressed button (`action`) and
that action's fields. The form is checked first, as a whole: a missing reason or note, an unknown
category or person refuses the request before any ticket is touched. Then each ticket goes through
the same lifecycle method and the same checks as the single-ticket forms (bot/web/panel/ticket_actions.py)
in its own transaction, and the answer is a page listing what happened to each one.

Per ticket, not all-or-nothing: the tickets ticked on a list page are in different states, and one
that cannot make the move (a closed ticket cannot be resolved, a ticket of another department
cannot be given to this person) should not block the other twenty-four, nor be skipped silently.
Each change that is made is whole (its event and its messages to the citizen commit with it), and
the result page names every ticket that was not changed and why, so the user can act on those.

A ticket the user may not see is reported as "not found", as the single-ticket routes answer 404.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from bot.lifecycle import NOTE_REQUIRED, LifecycleError
from bot.models import Ticket, TicketStatus
from bot.tracking import is_valid
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.forms import form_field, read_form
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission, Principal
from bot.web.panel.search import FILTER_KEYS
from bot.web.panel.security import Forbidden

# A form that cannot be applied as a whole: `key` names the message (templates/bulk.html).
from bot.web.panel.ticket_actions import Refused, read_reclassification
from nlp.letters import ascii_digits
from storage.store import Transaction
from storage.users import User

log = logging.getLogger(__name__)

MAX_TICKETS = 200  # the largest list page (panel.page_size)
# A duplicate is made by merging (it needs the ticket it duplicates), never by a status change.
STATUS_TARGETS = tuple(s.value for s in TicketStatus if s is not TicketStatus.DUPLICATE)
PERMISSIONS = {
    "reclassify": Permission.RECLASSIFY,
    "assign": Permission.ASSIGN,
    "status": Permission.CHANGE_STATUS,
    "merge": Permission.MERGE,
}
_BACK_KEYS = frozenset({*FILTER_KEYS, "sort", "page"})

Apply = Callable[[Transaction, Ticket], Awaitable[str]]


class _Skip(Exception):
    """This one ticket is not changed; `key` says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one ticket: `done` and a result key (templates/bulk.html words it)."""

    code: str
    done: bool
    key: str


def actions_for(principal: Principal) -> tuple[str, ...]:
    """The bulk actions this user's role allows, in the order the list shows them."""
    return tuple(action for action, permission in PERMISSIONS.items() if principal.may(permission))


async def bulk_action(request: web.Request) -> web.Response:
    """POST /panel/tickets/bulk"""
    principal = principal_of(request)
    panel = panel_of(request)
    form = await read_form(request)
    action = form_field(form, "action", 20)
    if action not in PERMISSIONS:
        raise web.HTTPBadRequest(reason="unknown bulk action")
    if not principal.may(PERMISSIONS[action]):
        raise Forbidden(reason=f"role {principal.user.role} lacks {PERMISSIONS[action]}")
    codes = list(dict.fromkeys(_code(v) for v in form.getall("t", []) if isinstance(v, str)))
    codes = [c for c in codes if c]
    back = _back(form_field(form, "back", 2000))
    outcomes: list[Outcome] = []
    survivor: str | None = None
    try:
        if not codes:
            raise Refused("none_selected")
        if len(codes) > MAX_TICKETS:
            raise Refused("too_many")
        apply, survivor = await _prepare(request, action, form, codes, principal)
        for code in codes:
            if code == survivor:
                outcomes.append(Outcome(code, True, "survivor"))
                continue
            outcomes.append(await _one(request, code, apply, principal))
    except Refused as exc:
        return render(
            request,
            "bulk.html",
            status=400,
            error=exc.key,
            outcomes=[],
            action=action,
            back=back,
            done=0,
            survivor=None,
        )
    done = sum(1 for o in outcomes if o.done and o.key != "survivor")
    if done:
        panel.sada.dispatcher.wake()
    log.info(
        "panel bulk action=%s user=%s tickets=%d changed=%d",
        action,
        principal.user.username,
        len(codes),
        done,
    )
    return render(
        request,
        "bulk.html",
        error=None,
        outcomes=outcomes,
        action=action,
        back=back,
        done=done,
        survivor=survivor,
    )


async def _one(request: web.Request, code: str, apply: Apply, principal: Principal) -> Outcome:
    """Apply the action to one ticket in its own transaction."""
    panel = panel_of(request)
    try:
        async with panel.sada.store.transaction() as tx:
            found = await tx.tickets.by_code(code)
            if found is None or not principal.can_see(found):
                raise _Skip("not_found")
            ticket = await tx.tickets.get(found.id, for_update=True)
            assert ticket is not None  # noqa: S101 - found just above, tickets are never deleted
            key = await apply(tx, ticket)
    except _Skip as exc:
        key, done = exc.key, False
    except LifecycleError as exc:
        log.info("panel bulk refused ticket=%s user=%s: %s", code, principal.user.username, exc)
        key, done = "lifecycle", False
    else:
        done = True
        log.info("panel bulk ticket=%s user=%s result=%s", code, principal.user.username, key)
    return Outcome(code, done, key)


async def _prepare(
    request: web.Request, action: str, form: Mapping[str, Any], codes: list[str], principal: Principal
) -> tuple[Apply, str | None]:
    """Check the form's fields for `action`; the change to apply to each ticket, and the code of
    the ticket the others are merged into (merge only)."""
    panel = panel_of(request)
    lifecycle = panel.sada.lifecycle
    taxonomy = panel.sada.config.taxonomy
    actor = principal.actor

    if action == "reclassify":
        picked = read_reclassification(form, taxonomy)
        category, department, reason = picked.category, picked.department, picked.reason
        if not reason:
            raise Refused("reason_required")

        async def reclassify(tx: Transaction, ticket: Ticket) -> str:
            confirming = category == ticket.category and department in (None, ticket.department)
            await lifecycle.reclassify(
                tx, ticket, category, actor=actor, reason=reason, department=department
            )
            return "confirmed" if confirming else "reclassified"

        return reclassify, None

    if action == "assign":
        chosen = form_field(form, "assignee", 20)
        assignee: User | None = None
        if chosen:
            async with panel.sada.store.read() as tx:
                assignee = await tx.users.get(int(chosen)) if chosen.isdigit() else None
            if assignee is None or not assignee.active or assignee.department is None:
                raise Refused("unknown_person")
            if principal.scope is not None and assignee.department != principal.scope:
                raise Refused("unknown_person")

        async def assign(tx: Transaction, ticket: Ticket) -> str:
            if assignee is not None and assignee.department != ticket.department:
                raise _Skip("other_department")
            if ticket.assignee_id == (assignee.id if assignee else None):
                return "unchanged"
            try:
                await lifecycle.assign(tx, ticket, assignee, actor=actor)
            except ValueError:  # the lifecycle's own check: not of the ticket's department, disabled
                raise _Skip("other_department") from None
            return "assigned" if assignee else "unassigned"

        return assign, None

    if action == "status":
        target_value = form_field(form, "to", 32)
        if target_value not in STATUS_TARGETS:
            raise Refused("bad_status")
        target = TicketStatus(target_value)
        note = form_field(form, "note")
        if target in NOTE_REQUIRED and not note:
            raise Refused("note_required")

        async def change(tx: Transaction, ticket: Ticket) -> str:
            if target not in lifecycle.allowed(ticket.status):
                raise _Skip("bad_status")
            await lifecycle.change_status(tx, ticket, target, actor=actor, note=note or None)
            return "status"

        return change, None

    # merge: into the code typed, else into the earliest reported of the ticked tickets
    written = form_field(form, "into", 40)
    typed = _code(written)
    if written and not typed:
        raise Refused("merge_unknown")
    async with panel.sada.store.read() as tx:
        if typed:
            survivor = await tx.tickets.by_code(typed)
        else:
            found = [t for t in [await tx.tickets.by_code(c) for c in codes] if t is not None]
            visible = sorted((t for t in found if principal.can_see(t)), key=lambda t: (t.created_at, t.id))
            survivor = visible[0] if visible else None
    if survivor is None or not principal.can_see(survivor):
        raise Refused("merge_unknown")
    if len([c for c in codes if c != survivor.tracking_code]) == 0:
        raise Refused("merge_alone")
    survivor_id = survivor.id

    async def merge(tx: Transaction, ticket: Ticket) -> str:
        into = await tx.tickets.get(survivor_id, for_update=True)
        assert into is not None  # noqa: S101 - read above, tickets are never deleted
        await lifecycle.merge(tx, ticket, into, actor=actor)
        return "merged"

    return merge, survivor.tracking_code


def _code(text: str) -> str:
    """A tracking code as typed (any digits, spaces), or "" when it is not one."""
    code = "".join(ascii_digits(text).split())
    return code if is_valid(code) else ""


def _back(query: str) -> str:
    """The list's query string to return to, keeping only the list's own keys."""
    pairs = [(k, v) for k, v in parse_qsl(query)[:20] if k in _BACK_KEYS]
    return urlencode(pairs)
