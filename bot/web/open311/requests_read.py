"""GET requests and GET requests/{service_request_id}: tickets' public face, never who reported them.

No citizen's words are published: the description is the service's name (and the district), the
address the district, and the point is rounded to 3 decimals (~100 m) — a web-form request's point
is the citizen's own phone's location. Free text cannot be masked reliably (names, numbers written
in words), which is also why `/r/status` never shows it. `status_notes` is the last thing the city
told the citizen (a status change's note or a free reply) with every run of 7+ digits (however it
is split) and every e-mail address hidden; operators write those notes to be read by the citizen
(docs/OPEN311.md says they are public). No phone, name or e-mail of a reporter is read at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from aiohttp import web

from bot.digest.wording import SEPARATOR, hide_long_numbers
from bot.models import OPEN_STATUSES, TicketStatus
from bot.taxonomy import Taxonomy
from bot.tracking import is_valid
from bot.web.open311.context import open311_of
from bot.web.open311.formats import Many, Value, error, fmt_of, respond
from bot.web.open311.settings import MAX_RESULTS
from bot.web.open311.w3c import DateError, format_w3c, parse_w3c
from nlp.letters import persian_digits
from storage.open311_queries import Open311Queries, PublicTicket, RequestFilter

# Every status the store knows, as the spec's two: still waiting for the city, or finished.
STATUS_MAP: Mapping[TicketStatus, str] = {s: "open" if s in OPEN_STATUSES else "closed" for s in TicketStatus}
WINDOW = timedelta(days=90)
MAX_TEXT = 4000  # the spec's bound on a description
POINT_DECIMALS = 3  # ~100 m: where the problem is, not which house reported it
_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+\.[^\s@<>\"']+")


class QueryError(ValueError):
    """A filter the client got wrong (400)."""


def masked(text: str) -> str:
    """Text safe to publish: e-mail addresses and runs of 7+ digits hidden, at most MAX_TEXT long."""
    return hide_long_numbers(_EMAIL.sub("…", text))[:MAX_TEXT]


def public_request(ticket: PublicTicket, taxonomy: Taxonomy) -> dict[str, Value]:
    """One `request` element: the service, the district and a rounded point, no citizen's words."""
    category = taxonomy.categories.get(ticket.category)
    department = taxonomy.departments.get(ticket.department, ticket.department)
    status = STATUS_MAP.get(TicketStatus(ticket.status), "open") if ticket.status in TicketStatus else "open"
    service_name = category.name if category else ticket.category
    district = f"منطقه {persian_digits(ticket.district)}" if ticket.district else None
    return {
        "service_request_id": ticket.tracking_code,
        "status": status,
        "status_notes": masked(ticket.status_note) if ticket.status_note else None,
        "service_name": service_name,
        "service_code": ticket.category,
        "description": f"{service_name}{SEPARATOR}{district}" if district else service_name,
        "agency_responsible": department,
        "requested_datetime": format_w3c(ticket.created_at),
        "updated_datetime": format_w3c(ticket.updated_at),
        "expected_datetime": format_w3c(ticket.due_at) if ticket.due_at else None,
        "address": district,
        "lat": round(ticket.latitude, POINT_DECIMALS) if ticket.latitude is not None else None,
        "long": round(ticket.longitude, POINT_DECIMALS) if ticket.longitude is not None else None,
    }


def _listed(query: Mapping[str, str], key: str) -> list[str] | None:
    """A comma list parameter; None when absent or empty (the spec's "optional")."""
    raw = query.get(key, "")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    return values or None


def request_filter(query: Mapping[str, str], now: datetime) -> RequestFilter:
    """The filters of GET requests (QueryError for a bad date, status or range)."""
    try:
        start = parse_w3c(query["start_date"]) if query.get("start_date", "").strip() else None
        end = parse_w3c(query["end_date"]) if query.get("end_date", "").strip() else None
    except DateError as exc:
        raise QueryError(f"start_date/end_date: {exc}") from None
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None  # noqa: S101 - set just above
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise QueryError("end_date is before start_date")
    if end - start > WINDOW:
        raise QueryError("start_date and end_date may span at most 90 days")
    statuses: set[str] | None = None
    wanted = _listed(query, "status")
    if wanted is not None:
        if not set(wanted) <= {"open", "closed"}:
            raise QueryError("status must be open, closed or both (comma separated)")
        statuses = {s.value for s, shown in STATUS_MAP.items() if shown in wanted}
    return RequestFilter(start=start, end=end, categories=_listed(query, "service_code"), statuses=statuses)


async def get_requests(request: web.Request) -> web.Response:
    """GET /open311/v2/requests.{fmt}"""
    api = open311_of(request)
    fmt = fmt_of(request)
    limit = api.settings.max_results
    ids = _listed(request.query, "service_request_id")
    async with api.sada.store.read() as tx:
        queries = Open311Queries(tx.session)
        if ids is not None:  # the spec: overrides every other filter
            found = (await queries.by_codes([i for i in ids[:MAX_RESULTS] if is_valid(i)]))[:limit]
        else:
            try:
                flt = request_filter(request.query, api.sada.clock.now())
            except QueryError as exc:
                return error(fmt, 400, str(exc))
            found = await queries.matching(flt, limit=limit)
    taxonomy = api.sada.config.taxonomy
    return respond(fmt, "service_requests", Many("request", [public_request(t, taxonomy) for t in found]))


async def get_request(request: web.Request) -> web.Response:
    """GET /open311/v2/requests/{service_request_id}.{fmt}"""
    api = open311_of(request)
    fmt = fmt_of(request)
    code = request.match_info["service_request_id"]
    found: list[PublicTicket] = []
    if is_valid(code):
        async with api.sada.store.read() as tx:
            found = await Open311Queries(tx.session).by_codes([code])
    if not found:
        return error(fmt, 404, "service_request_id not found")
    taxonomy = api.sada.config.taxonomy
    return respond(fmt, "service_requests", Many("request", [public_request(found[0], taxonomy)]))
