"""The receipt (`<path>receipt/<token>`): the tracking code, the department and what happens next;
with a phone given, the one-time code's form, until the number is confirmed.

Only the browser that sent the form knows the token (it is drawn with the form and never stored:
the store keeps its hash), so the page needs no login and no guessing limit.
"""

from __future__ import annotations

from aiohttp import web

from bot.models import Priority, Ticket, TicketStatus
from bot.replies import URGENT_NOTICE
from bot.web.panel.forms import form_field, read_form
from bot.web.webform.confirmations import Outcome, receipt_key
from bot.web.webform.context import client_address, render, webform_of
from bot.web.webform.form_page import TOKEN
from bot.web.webform.guards import RETRY_AFTER, check_csrf
from channels.desk import WEB
from channels.phone import local_form
from nlp.letters import persian_digits
from storage.phone_confirmations import PhoneConfirmationRepository

# What the page says after a code was typed or asked for (keys worded in receipt.html).
_STATUS_OF = {
    Outcome.WRONG: 400,
    Outcome.EXPIRED: 400,
    Outcome.LOCKED: 429,
    Outcome.TOO_SOON: 429,
    Outcome.USED_UP: 429,
    Outcome.PHONE_LIMIT: 429,
}


def _token(request: web.Request) -> str:
    token = request.match_info["token"]
    if not TOKEN.fullmatch(token):
        raise web.HTTPNotFound()
    return token


def masked_local(e164: str) -> str:
    """۰۹۱۲***۴۵۶۷: enough for the citizen to recognise their number."""
    local = local_form(e164)
    return persian_digits(local[:4] + "***" + local[-4:])


async def receipt(request: web.Request, *, outcome: Outcome | None = None) -> web.Response:
    """GET <path>receipt/<token>"""
    token = _token(request)
    wf = webform_of(request)
    key = receipt_key(token)
    async with wf.sada.store.read() as tx:
        prior = await tx.inbound.prior(WEB, f"web:{key}")
        ticket = await tx.tickets.by_code(prior.ticket_code) if prior and prior.ticket_code else None
        confirmation = await PhoneConfirmationRepository(tx.session).by_token(key)
    if ticket is None:
        raise web.HTTPNotFound()
    if outcome is None:
        outcome = {"confirmed": Outcome.CONFIRMED, "sent": Outcome.SENT}.get(request.query.get("done", ""))
    state = wf.confirmations.state(confirmation) if wf.confirmations and confirmation else None
    return render(
        request,
        "receipt.html",
        status=_STATUS_OF.get(outcome, 200) if outcome else 200,
        code=ticket.tracking_code,
        department=wf.sada.config.taxonomy.departments.get(ticket.department, ticket.department),
        next_step=next_step(ticket),
        urgent=URGENT_NOTICE if ticket.priority is Priority.URGENT else None,
        phone=masked_local(confirmation.phone) if confirmation else None,
        state=state,
        outcome=outcome.value if outcome else None,
        token=token,
    )


def next_step(ticket: Ticket) -> str:
    """What happens to the request now (a key worded in receipt.html)."""
    if ticket.status is TicketStatus.REGISTERED or ticket.needs_review:
        return "review"
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED, TicketStatus.REJECTED):
        return "finished"
    return "referred"


async def confirm(request: web.Request) -> web.StreamResponse:
    """POST <path>receipt/<token>/confirm: the one-time code."""
    token = _token(request)
    form = await read_form(request)
    check_csrf(request, form)
    wf = webform_of(request)
    outcome = (
        await wf.confirmations.confirm(token, form_field(form, "code", 40)) if wf.confirmations else None
    )
    if outcome is None:
        raise web.HTTPNotFound()
    if outcome in (Outcome.CONFIRMED, Outcome.ALREADY):
        raise web.HTTPSeeOther(f"{wf.settings.path}receipt/{token}?done=confirmed")
    return await receipt(request, outcome=outcome)


async def resend(request: web.Request) -> web.StreamResponse:
    """POST <path>receipt/<token>/resend: another code (it costs the address a request's budget)."""
    token = _token(request)
    form = await read_form(request)
    check_csrf(request, form)
    wf = webform_of(request)
    if not wf.limits.take_resend(client_address(request)):
        raise web.HTTPTooManyRequests(headers=RETRY_AFTER)
    outcome = await wf.confirmations.resend(token) if wf.confirmations else None
    if outcome is None:
        raise web.HTTPNotFound()
    if outcome in (Outcome.SENT, Outcome.ALREADY):
        done = "sent" if outcome is Outcome.SENT else "confirmed"
        raise web.HTTPSeeOther(f"{wf.settings.path}receipt/{token}?done={done}")
    return await receipt(request, outcome=outcome)
