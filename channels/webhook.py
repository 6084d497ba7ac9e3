"""Webhook plumbing shared by every channel that receives over HTTP (courier's base handler).

One place decides: the secret path segment and header (compared in constant time), the source-IP
allow-list, the body-size cap, form/JSON/query decoding, and the answers — a wrong secret is 404
(nothing to see here), a bad payload 400, something we do not handle 200 "ignored" (so the provider
stops retrying), and an accepted message 200 only after the gateway has committed it.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.models import InboundMessage, ReceiveResult, storable_value
from channels.redaction import hide_secret

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_DEPTH = 32  # a Telegram update nests 5 levels deep; generous, far below Python's recursion limit
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class BadPayload(Exception):
    """The request is not something the provider would send; answered with 400 and this reason."""


class PayloadTooLarge(BadPayload):
    """The body exceeds the cap; answered with 413."""


class TooDeep(BadPayload):
    """JSON nested deeper than anything a provider sends; answered with 400."""


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the configured one."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class Guard:
    """Who may call a webhook: the secret path segment, an optional header, optional source IPs."""

    secret: str
    header: str | None = None
    require_header: bool = False
    allowed_ips: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        hide_secret(self.secret)  # the secret is in the path, so in any access log line

    def check(self, request: web.Request) -> None:
        """Raise 404 for a wrong path secret, 403 for a wrong header or source address."""
        if not secret_matches(request.match_info.get("secret"), self.secret):
            raise web.HTTPNotFound()
        if self.allowed_ips and request.remote not in self.allowed_ips:
            raise web.HTTPForbidden(text="source address not allowed")
        if self.header is not None:
            presented = request.headers.get(self.header)
            if (presented is not None or self.require_header) and not secret_matches(presented, self.secret):
                raise web.HTTPForbidden(text="bad secret header")


async def read_body(request: web.Request, max_bytes: int = MAX_BODY) -> bytes:
    """The request body, refusing more than `max_bytes` without reading it all into memory."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"body larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"body larger than {max_bytes} bytes")
    return bytes(body)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def decode_json(body: bytes) -> Any:
    """Parse a UTF-8 JSON body or raise BadPayload.

    Nesting deeper than `MAX_DEPTH` is refused (no provider nests so deep, and Python's parser
    and every recursive walk after it would raise RecursionError). A lone surrogate escape
    ("\\ud800" without its pair) becomes U+FFFD: the rest of the message is still the citizen's."""
    try:
        value = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload("malformed JSON") from exc
    if too_deep(value):
        raise TooDeep(f"JSON nested deeper than {MAX_DEPTH} levels")
    # Strict UTF-8 decoding leaves only escapes as a way in for a surrogate: look for those first.
    return storable_value(value) if _SURROGATE_ESCAPE.search(body) else value


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects in `value` nest more than `limit` levels (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def decode_form(body: bytes) -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded body or raise BadPayload."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body.strip()))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload("malformed form body") from exc
    return dict(pairs)


async def read_fields(request: web.Request, max_bytes: int = MAX_BODY) -> dict[str, str]:
    """Query parameters merged with a form or JSON-object body (body wins), all values as strings."""
    fields = {k: v for k, v in request.query.items()}
    body = await read_body(request, max_bytes)
    if not body.strip():
        return fields
    content_type = request.content_type
    if content_type == "application/json" or (
        content_type not in ("application/x-www-form-urlencoded", "multipart/form-data")
        and body.lstrip()[:1] in (b"{", b"[")
    ):
        data = decode_json(body)
        if not isinstance(data, dict):
            raise BadPayload("JSON body must be an object")
        fields.update({str(k): _scalar(v) for k, v in data.items()})
    else:
        fields.update(decode_form(body))
    return fields


def pick(fields: Mapping[str, str], names: Collection[str]) -> str | None:
    """The first non-empty value among tolerant field names (case-insensitive)."""
    lowered = {k.lower(): v for k, v in fields.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value is not None and value.strip():
            return value
    return None


def ignored(reason: str) -> web.Response:
    """200: valid but nothing for us (a provider must not retry it)."""
    return web.json_response({"status": "ignored", "reason": reason})


def bad(reason: str, status: int = 400) -> web.Response:
    """400 (or 413): the provider sent something we cannot read."""
    return web.json_response({"status": "error", "error": reason}, status=status)


def refused(exc: BadPayload) -> web.Response:
    """The answer for a BadPayload."""
    return bad(str(exc), 413 if isinstance(exc, PayloadTooLarge) else 400)


Parse = Callable[[dict[str, str]], InboundMessage | None]
Respond = Callable[[ReceiveResult | None], web.StreamResponse]


def json_ok(result: ReceiveResult | None) -> web.StreamResponse:
    """A JSON acknowledgement (what most providers accept)."""
    if result is None:
        return ignored("not a message")
    if result.dropped:
        return ignored("flood limit: not stored")
    return web.json_response({"status": "ok", "duplicate": result.duplicate})


def inbound_handler(
    channel: str,
    guard: Guard,
    parse: Parse,
    on_inbound: Callable[[InboundMessage], Awaitable[ReceiveResult]],
    *,
    respond: Respond = json_ok,
    max_bytes: int = MAX_BODY,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The usual inbound webhook: guard, decode, parse (pure), hand to the gateway, answer."""

    async def handle(request: web.Request) -> web.StreamResponse:
        guard.check(request)
        try:
            fields = await read_fields(request, max_bytes)
            message = parse(fields)
        except BadPayload as exc:
            log.warning("channel=%s refused a webhook: %s", channel, exc)
            return refused(exc)
        if message is None:
            return respond(None)
        try:
            result = await on_inbound(message)
        except Exception as exc:  # not committed: the provider must retry, so answer 503
            # Only the type: a database error's text can carry the citizen's message.
            log.error("channel=%s inbound not stored: %s", channel, type(exc).__name__)
            return bad("temporarily unavailable", 503)
        return respond(result)

    return handle
