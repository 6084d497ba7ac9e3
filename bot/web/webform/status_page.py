"""The status page (`<path>status`): a tracking code in, what the city has said about it out.

Shown: the status, the department, the dates (Jalali, Tehran) and what the citizen was told — the
status changes, with the note when the reply carried it (the chat wording of `now_<status>` in
bot/replies.py names `{note}`), and the operators' free replies. Never shown: the description (a
citizen often writes their number or name into it), the place, the photo, who reported it, an
operator's internal notes, assignments, or anyone's name or number. Runs of seven or more digits
in what is shown (a phone number an operator wrote into a reply) are masked as retention masks
them (`storage.retention.scrub`).

Guessing is limited (bot/web/webform/limits.py): a code that matches no ticket (or fails its
check digit) counts against the asker's address (an IPv6 one by its /64) and against a city-wide
budget of misses, kept apart from the form's, so guessing can shut this page at worst, never the
form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from bot.models import EventKind, TicketEvent, TicketStatus
from bot.replies import STATUS_NAMES, TEMPLATES
from bot.tracking import is_valid
from bot.web.webform.confirmations import typed_code
from bot.web.webform.context import client_address, render, webform_of
from bot.web.webform.guards import RETRY_AFTER
from nlp.letters import persian_digits
from storage.retention import scrub


@dataclass(frozen=True, slots=True)
class PublicLine:
    """One thing the citizen was told, and when."""

    at: datetime
    text: str
    note: str | None = None


def _told_note(status: str) -> bool:
    """Whether the reply for a move to `status` carries the operator's note."""
    template = TEMPLATES.get(f"now_{status}")
    return template is not None and "{note" in template.chat


def public_history(events: Sequence[TicketEvent], departments: Mapping[str, str]) -> list[PublicLine]:
    """What the citizen was told about the ticket, oldest first."""
    names = {s.value: n for s, n in STATUS_NAMES.items()}
    lines: list[PublicLine] = []
    for e in events:
        d = e.data
        if e.kind is EventKind.CREATED:
            lines.append(PublicLine(e.at, "درخواست ثبت شد"))
        elif e.kind is EventKind.STATUS_CHANGED:
            to = str(d.get("to", ""))
            text = names.get(to, to)
            if d.get("into"):
                text += f" (پیگیری با کد {persian_digits(str(d['into']))})"
            note = str(d.get("note") or "").strip()
            lines.append(PublicLine(e.at, text, scrub(note) if note and _told_note(to) else None))
        elif e.kind is EventKind.RECLASSIFIED and d.get("from_department") != d.get("to_department"):
            to_dept = str(d.get("to_department", ""))
            lines.append(PublicLine(e.at, f"ارجاع به «{departments.get(to_dept, to_dept)}»"))
        elif e.kind is EventKind.REPLIED and str(d.get("text", "")).strip():
            lines.append(PublicLine(e.at, "پاسخ شهرداری", scrub(str(d["text"]).strip())))
    return lines


async def status_page(request: web.Request) -> web.Response:
    """GET <path>status[?code=…]"""
    wf = webform_of(request)
    raw = request.query.get("code", "")
    if not raw.strip():
        return render(request, "status.html", asked="", ticket=None, error=None)
    address = client_address(request)
    if not wf.limits.may_look_up(address):
        raise web.HTTPTooManyRequests(headers=RETRY_AFTER)
    code = typed_code(raw)
    ticket = None
    if len(code) == 10 and is_valid(code):
        async with wf.sada.store.read() as tx:
            ticket = await tx.tickets.by_code(code)
            events = await tx.tickets.events(ticket.id) if ticket else []
    if ticket is None:
        wf.limits.missed(address)
        return render(request, "status.html", status=404, asked=raw[:40], ticket=None, error="not_found")
    departments = wf.sada.config.taxonomy.departments
    return render(
        request,
        "status.html",
        asked=raw[:40],
        ticket=ticket,
        error=None,
        department=departments.get(ticket.department, ticket.department),
        open=ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.REJECTED)
        and ticket.status is not TicketStatus.DUPLICATE,
        history=public_history(events, departments),
    )
