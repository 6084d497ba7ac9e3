"""GET discovery: where this GeoReport v2 endpoint is, its formats, how to get a key."""

from __future__ import annotations

from aiohttp import web

from bot.web.open311.context import endpoint_url, open311_of
from bot.web.open311.formats import CONTENT_TYPES, Many, Value, fmt_of, respond

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


async def discovery(request: web.Request) -> web.Response:
    """GET /open311/v2/discovery.{fmt}"""
    api = open311_of(request)
    fmt = fmt_of(request)
    endpoint: dict[str, Value] = {
        "specification": SPECIFICATION,
        "url": endpoint_url(request),
        "changeset": api.changeset,
        "type": "production",
        "formats": Many("format", [CONTENT_TYPES["xml"], CONTENT_TYPES["json"]]),
    }
    body: dict[str, Value] = {
        "changeset": api.changeset,
        "contact": api.settings.contact,
        "key_service": api.settings.key_service,
        "endpoints": Many("endpoint", [endpoint]),
    }
    return respond(fmt, "discovery", body)
