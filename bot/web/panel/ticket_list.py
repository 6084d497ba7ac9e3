"""The ticket list: filters, a date range, search and pagination, scoped to the user's view.

A filter it cannot use (a date it cannot read, a choice that does not exist) is named beside its
field and no list is shown: the same page without that filter would pass for the filtered one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.dates.jalali import jalali_date
from bot.models import OPEN_STATUSES, TicketStatus
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.labels import ERRORS
from bot.web.panel.rendering import render
from bot.web.panel.search import FILTER_KEYS, BadFilter, parse_filter, read_date
from storage.panel_queries import PanelQueries, TicketFilter


async def ticket_list(request: web.Request) -> web.Response:
    """GET /panel/tickets"""
    principal = principal_of(request)
    if not principal.sees_tickets:
        raise web.HTTPForbidden(reason="role sees no tickets")
    panel = panel_of(request)
    taxonomy = panel.sada.config.taxonomy
    allowed = {
        "status": [s.value for s in TicketStatus],
        "category": list(taxonomy.categories),
        "department": list(taxonomy.departments),
    }
    kept = {k: request.query[k] for k in FILTER_KEYS if request.query.get(k)}
    flt: TicketFilter | None
    try:
        flt, errors = parse_filter(request.query, allowed), {}
    except BadFilter as exc:
        flt, errors = None, {key: ERRORS[error] for key, error in exc.errors.items()}
    try:
        page_number = int(request.query.get("page", "1"))
    except ValueError:
        page_number = 1
    async with panel.sada.store.read() as tx:
        queries = PanelQueries(tx.session)
        page = None
        if flt is not None:
            page = await queries.tickets(
                flt,
                scope=principal.scope,
                now=panel.sada.clock.now(),
                page=page_number,
                page_size=panel.settings.page_size,
            )
        districts = await queries.districts()
        channels = await queries.channels()

    def page_url(number: int) -> str:
        return "/panel/tickets?" + urlencode({**kept, "page": str(number)})

    return render(
        request,
        "tickets.html",
        status=400 if errors else 200,
        page=page,
        query=kept,
        errors=errors,
        read_as=_gregorian_dates(kept) if not errors else {},
        districts=districts,
        channels=channels,
        page_url=page_url,
        now=panel.sada.clock.now(),
        open_statuses=OPEN_STATUSES,
        scoped=principal.scope is not None,
    )


def _gregorian_dates(query: dict[str, str]) -> dict[str, str]:
    """Field → the Jalali day a Gregorian date typed into it was read as (e.g. ۱۴۰۵/۰۹/۱۰)."""
    read = {key: read_date(query[key]) for key in ("from", "to") if query.get(key, "").strip()}
    return {key: jalali_date(date.start) for key, date in read.items() if date.gregorian}
