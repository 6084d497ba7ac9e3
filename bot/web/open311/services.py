"""GET services and GET services/{service_code}: the taxonomy's categories as GeoReport services.

Every category is a `realtime` service without extra fields (`metadata` false): the pipeline needs
only the text and the place. Its definition still answers (200, no attributes) rather than 404, so
a client that asks for every service's definition gets a valid one; an unknown code is 404.
"""

from __future__ import annotations

from aiohttp import web

from bot.taxonomy import Taxonomy
from bot.web.open311.context import open311_of
from bot.web.open311.formats import Many, Value, error, fmt_of, respond
from bot.web.open311.wording import keywords, service_description


def service_list(taxonomy: Taxonomy) -> Many:
    """One `service` per category, in the taxonomy's order."""
    services: list[Value] = []
    for category in taxonomy.categories.values():
        services.append(
            {
                "service_code": category.code,
                "service_name": category.name,
                "description": service_description(category, taxonomy),
                "metadata": False,
                "type": "realtime",
                "keywords": keywords(category, taxonomy),
                "group": taxonomy.departments.get(category.department, category.department),
            }
        )
    return Many("service", services)


async def services(request: web.Request) -> web.Response:
    """GET /open311/v2/services.{fmt}"""
    taxonomy = open311_of(request).sada.config.taxonomy
    return respond(fmt_of(request), "services", service_list(taxonomy))


async def service_definition(request: web.Request) -> web.Response:
    """GET /open311/v2/services/{service_code}.{fmt}"""
    fmt = fmt_of(request)
    code = request.match_info["service_code"]
    if code not in open311_of(request).sada.config.taxonomy.categories:
        return error(fmt, 404, f"service_code {code[:64]!r} not found")
    return respond(fmt, "service_definition", {"service_code": code, "attributes": Many("attribute", [])})
