"""The ticket list: filters, a date range, search, sorting and page numbers, scoped to the user's view.

A filter it cannot use (a date it cannot read, a choice that does not exist) is named beside its
field and no list is shown: the same page without that filter would pass for the filtered one.

Department staff open on «کارهای من» (tickets given to them) unless they chose another view; while
nothing has ever been given to them the department's whole list is shown instead, with a line
saying so, since an empty first screen helps nobody. In the default order (newest first) urgent
open tickets are pinned above the rest.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode
from weakref import WeakKeyDictionary

from aiohttp import web

from bot.dates.jalali import jalali_date
from bot.models import OPEN_STATUSES, TicketStatus
from bot.web.panel import bulk
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.labels import ERRORS
from bot.web.panel.rendering import render
from bot.web.panel.search import FILTER_KEYS, BadFilter, parse_filter, read_date
from storage.panel_queries import SORTS, PanelQueries, TicketFilter
from storage.store import Store

LIST_KEYS = (*FILTER_KEYS, "sort")
SORT_NAMES = {
    "new": "تازه‌ترین",
    "due": "نزدیک‌ترین مهلت",
    "priority": "فوری‌ها نخست",
    "updated": "آخرین تغییر",
}
CHOICES_KEPT_SECONDS = 300
_CHOICES: WeakKeyDictionary[Store, tuple[float, list[str], list[str]]] = WeakKeyDictionary()
NOTHING_ASSIGNED = "هنوز درخواستی به شما سپرده نشده است؛ همهٔ درخواست‌های واحد نشان داده می‌شود."


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
    scoped = principal.scope is not None
    kept = {k: request.query[k] for k in LIST_KEYS if request.query.get(k)}
    # What the user asked for, before the staff default is added (the filter form opens on it).
    defaults = {"sort": ("new",), "assignee": ("all", "me") if scoped else ("all",)}
    chosen = {k for k in kept if kept[k] not in defaults.get(k, ())}
    sort = kept.get("sort", "new")
    notice = None
    async with panel.sada.store.read() as tx:
        queries = PanelQueries(tx.session)
        if scoped and "assignee" not in request.query:
            if await queries.assigned_count(principal.user.id):
                kept["assignee"] = "me"
            else:
                notice = NOTHING_ASSIGNED
        flt: TicketFilter | None
        errors: dict[str, str] = {}
        try:
            flt = parse_filter(kept, allowed, me=principal.user.id)
        except BadFilter as exc:
            flt, errors = None, {key: ERRORS[error] for key, error in exc.errors.items()}
        if sort not in SORTS:
            flt, errors["sort"] = None, ERRORS["unknown_choice"]
        try:
            page_number = int(request.query.get("page", "1"))
        except ValueError:
            page_number = 1
        page = None
        names: dict[int, str] = {}
        if flt is not None:
            page = await queries.tickets(
                flt,
                scope=principal.scope,
                now=panel.sada.clock.now(),
                page=page_number,
                page_size=panel.settings.page_size,
                sort=sort,
                # A search's results are not a queue (and pinning would read the table twice more).
                pin_urgent=sort == "new" and not flt.texts,
            )
            names = await queries.names({t.assignee_id for t in page.items if t.assignee_id is not None})
        districts, channels = await _choices(panel.sada.store, queries)
        actions = bulk.actions_for(principal)
        people = await queries.people(principal.scope) if "assign" in actions else []

    def page_url(number: int) -> str:
        return "/panel/tickets?" + urlencode({**kept, "page": str(number)})

    def sort_url(value: str) -> str:
        return "/panel/tickets?" + urlencode({**kept, "sort": value})

    return render(
        request,
        "tickets.html",
        status=400 if errors else 200,
        page=page,
        query=kept,
        errors=errors,
        filtering=bool(chosen) or bool(errors),
        read_as=_gregorian_dates(kept) if not errors else {},
        districts=districts,
        channels=channels,
        page_url=page_url,
        sort_url=sort_url,
        page_numbers=page_numbers(page.page, page.pages) if page else [],
        kept_for_jump={k: v for k, v in kept.items() if k != "page"},
        back=urlencode(kept),
        sort_names=SORT_NAMES,
        assignee_names=names,
        bulk_actions=actions,
        people=people,
        bulk_statuses=bulk.STATUS_TARGETS,
        now=panel.sada.clock.now(),
        open_statuses=OPEN_STATUSES,
        scoped=scoped,
        notice=notice,
    )


async def _choices(store: Store, queries: PanelQueries) -> tuple[list[str], list[str]]:
    """The districts and channels tickets have, for the filter's choices. Finding them reads the
    whole tickets table (no index holds the channel; PostgreSQL reads a whole index for DISTINCT),
    20–50 ms at 100,000 tickets on every page view, so they are kept for a few minutes per store: a
    new district or channel shows among the choices that much later (a filter typed into the
    address works at once)."""
    now = time.monotonic()
    kept = _CHOICES.get(store)
    if kept is None or kept[0] < now:
        kept = (now + CHOICES_KEPT_SECONDS, await queries.districts(), await queries.channels())
        _CHOICES[store] = kept
    return kept[1], kept[2]


def page_numbers(page: int, pages: int, around: int = 2) -> list[int | None]:
    """The page links to show: the first, the last and `around` either side of `page`; None marks
    a gap (…)."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    numbers: list[int | None] = []
    for number in shown:
        if numbers and number - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(number)
    return numbers


def _gregorian_dates(query: dict[str, str]) -> dict[str, str]:
    """Field → the Jalali day a Gregorian date typed into it was read as (e.g. ۱۴۰۵/۰۹/۱۰)."""
    read = {key: read_date(query[key]) for key in ("from", "to") if query.get(key, "").strip()}
    return {key: jalali_date(date.start) for key, date in read.items() if date.gregorian}
