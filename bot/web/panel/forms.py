"""Reading a submitted form: a body aiohttp cannot parse is the browser's (or attacker's) fault."""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """`request.post()`, with a malformed body (bad multipart boundary, broken encoding) → 400."""
    try:
        return await request.post()
    except (ValueError, HttpProcessingError, web.RequestPayloadError) as exc:
        raise web.HTTPBadRequest(text="malformed form") from exc
