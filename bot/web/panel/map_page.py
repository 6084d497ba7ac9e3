"""The map: the filtered tickets as clustered markers over configurable tiles (Leaflet, vendored).

The page is a filter form and an empty map element; static/map.js fetches /panel/map.json with the
same query and draws the markers. The JSON has the ticket list's filters and department scope and
nothing personal: a marker is a tracking code, a category, a status and a link. A ticket with only
a district is put at the district's approximate centre (bot/web/panel/district_centres.py) and
marked as such. Without JavaScript the page still offers the same filters as a list.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.models import TicketStatus
from bot.replies import STATUS_NAMES
from bot.tracking import is_valid
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.district_centres import CITY_CENTRE, DISTRICT_CENTRES
from bot.web.panel.labels import ERRORS
from bot.web.panel.rendering import render
from bot.web.panel.roles import Principal
from bot.web.panel.search import BadFilter, parse_filter
from nlp.letters import ascii_digits
from storage.map_points import MapPoint, MapQueries
from storage.panel_queries import TicketFilter

# The map's filters (the ticket list's, without search, channel and district: the map shows those).
MAP_KEYS = ("status", "category", "department", "overdue", "from", "to")
# Markers drawn at most (newest first); the page says when more matched.
MAX_POINTS = 5000


def _principal_on_map(request: web.Request) -> Principal:
    principal = principal_of(request)
    if not principal.sees_tickets:
        raise web.HTTPForbidden(reason="role sees no tickets")
    return principal


def _filter(request: web.Request) -> tuple[dict[str, str], TicketFilter | None, dict[str, str]]:
    """(the kept query, the filter or None, field → Persian error)."""
    taxonomy = panel_of(request).sada.config.taxonomy
    allowed = {
        "status": [s.value for s in TicketStatus],
        "category": list(taxonomy.categories),
        "department": list(taxonomy.departments),
    }
    kept = {k: request.query[k] for k in MAP_KEYS if request.query.get(k)}
    try:
        return kept, parse_filter(kept, allowed), {}
    except BadFilter as exc:
        return kept, None, {key: ERRORS[error] for key, error in exc.errors.items()}


def _focus(request: web.Request) -> str | None:
    code = ascii_digits(request.query.get("focus", "").strip())
    return code if code.isdigit() and is_valid(code) else None


async def map_page(request: web.Request) -> web.Response:
    """GET /panel/map"""
    principal = _principal_on_map(request)
    settings = panel_of(request).settings
    kept, _flt, errors = _filter(request)
    focus = _focus(request)
    data_query = urlencode({**kept, **({"focus": focus} if focus else {})})
    return render(
        request,
        "map.html",
        status=400 if errors else 200,
        query=kept,
        errors=errors,
        focus=focus,
        points_url="/panel/map.json" + (f"?{data_query}" if data_query else ""),
        list_url="/panel/tickets" + (f"?{urlencode(kept)}" if kept else ""),
        tiles_url=settings.map_tiles_url,
        attribution=settings.map_attribution,
        centre=CITY_CENTRE,
        scoped=principal.scope is not None,
    )


async def map_json(request: web.Request) -> web.Response:
    """GET /panel/map.json — the markers for the same query as /panel/map."""
    principal = _principal_on_map(request)
    panel = panel_of(request)
    _kept, flt, errors = _filter(request)
    if flt is None:
        return web.json_response({"errors": errors}, status=400)
    focus_code = _focus(request)
    now = panel.sada.clock.now()
    async with panel.sada.store.read() as tx:
        queries = MapQueries(tx.session)
        found = await queries.points(flt, scope=principal.scope, now=now, limit=MAX_POINTS)
        focus = await queries.point(focus_code, scope=principal.scope, now=now) if focus_code else None
    shown = [m for m in map(_marker, found.points) if m is not None]
    body = {
        "points": shown,
        "truncated": found.truncated,
        "focus": _marker(focus) if focus else None,
        # Names once, not per marker: 5,000 markers stay about 0.5 MB.
        "categories": {code: c.name for code, c in panel.sada.config.taxonomy.categories.items()},
        "statuses": {status.value: name for status, name in STATUS_NAMES.items()},
    }
    return web.json_response(body)


def _marker(point: MapPoint) -> dict[str, Any] | None:
    """A point as map.js draws it (names come from the body's tables; the link and the Persian
    digits are made in the browser); None for a district the centres table does not know."""
    approx = point.latitude is None or point.longitude is None
    if approx:
        centre = DISTRICT_CENTRES.get(point.district or "")
        if centre is None:
            return None
        lat, lon = centre
    else:
        lat, lon = float(point.latitude or 0), float(point.longitude or 0)
    marker: dict[str, Any] = {
        "code": point.tracking_code,
        "lat": round(lat, 5),
        "lon": round(lon, 5),
        "category": point.category,
        "status": point.status,
    }
    if approx:
        marker["district"] = point.district
    if point.overdue:
        marker["overdue"] = True
    return marker
