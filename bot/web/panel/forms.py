"""Reading a submitted form: a body aiohttp cannot parse is the browser's (or attacker's) fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """`request.post()`, with a malformed body (bad multipart boundary, broken encoding, a charset
    Python does not know, e.g. `charset=rot13`) → 400."""
    try:
        return await request.post()
    except (ValueError, LookupError, HttpProcessingError, web.RequestPayloadError) as exc:
        raise web.HTTPBadRequest(text="malformed form") from exc


def form_field(form: Mapping[str, Any], key: str, limit: int = 2000) -> str:
    """One text field, stripped and cut to `limit`; "" when missing or a file."""
    value = form.get(key, "")
    return value.strip()[:limit] if isinstance(value, str) else ""
