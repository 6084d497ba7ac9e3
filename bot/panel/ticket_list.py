"""The ticket list: filters, a Jalali date range, search and pagination, scoped to the user's view."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from bot.models import OPEN_STATUSES, TicketStatus
from bot.panel.context import panel_of, principal_of
from bot.panel.labels import ERRORS
from bot.panel.rendering import render
from bot.panel.search import FILTER_KEYS, BadFilter, parse_filter
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
    error = None
    status = 200
    try:
        flt = parse_filter(request.query, allowed)
    except BadFilter as exc:
        flt, status = TicketFilter(), 400
        error = ERRORS["bad_date"] if exc.key in ("from", "to") else ERRORS["unknown_category"]
    try:
        page_number = int(request.query.get("page", "1"))
    except ValueError:
        page_number = 1
    async with panel.sada.store.read() as tx:
        queries = PanelQueries(tx.session)
        page = await queries.tickets(
            flt,
            scope=principal.scope,
            now=panel.sada.clock.now(),
            page=page_number,
            page_size=panel.settings.page_size,
        )
        districts = await queries.districts()
        channels = await queries.channels()
    kept = {k: request.query[k] for k in FILTER_KEYS if request.query.get(k)}

    def page_url(number: int) -> str:
        return "/panel/tickets?" + urlencode({**kept, "page": str(number)})

    return render(
        request,
        "tickets.html",
        status=status,
        page=page,
        query=kept,
        error=error,
        districts=districts,
        channels=channels,
        page_url=page_url,
        now=panel.sada.clock.now(),
        open_statuses=OPEN_STATUSES,
        scoped=principal.scope is not None,
    )
