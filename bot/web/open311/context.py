"""What every Open311 handler shares: the service, settings, API keys and the limits' windows."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.open311.api_keys import ApiKeys
from bot.web.open311.formats import FORMATS, error, fmt_of
from bot.web.open311.settings import Open311Settings
from bot.web.panel.security import forwarded_address
from bot.web.rate_limits import SlidingWindow, client_key, retry_after

if TYPE_CHECKING:
    from bot.app import Sada

BASE = "/open311/v2"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Open311:
    """The API's state, one per web application."""

    sada: Sada
    settings: Open311Settings
    keys: ApiKeys
    changeset: str
    per_address: SlidingWindow = field(init=False)
    per_key: SlidingWindow = field(init=False)
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.per_address = SlidingWindow(self.settings.requests_per_minute)
        self.per_key = SlidingWindow(self.settings.posts_per_minute)


OPEN311 = web.AppKey("open311", Open311)


def open311_of(request: web.Request) -> Open311:
    """The API serving this request."""
    return request.app[OPEN311]


def client_address(request: web.Request) -> str:
    """The client's address, as `[panel] trust_forwarded_for` says (the panel's rule)."""
    return forwarded_address(request, trust=open311_of(request).sada.config.panel.trust_forwarded_for)


def limited(handler: Handler) -> Handler:
    """`handler` for .json and .xml only (else 404), behind the per-address limit (over it: 429 in
    the requested format)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        api = open311_of(request)
        if request.match_info.get("fmt") not in FORMATS:
            return error("xml", 404, "unknown format: use .json or .xml")
        # Counted per client as the web form counts it: an IPv6 host by its /64.
        wait = api.per_address.hit(client_key(client_address(request)), api.monotonic())
        if wait:
            return error(
                fmt_of(request),
                429,
                "too many requests from this address; try again later",
                headers={"Retry-After": retry_after(wait)},
            )
        return await handler(request)

    return guarded


def endpoint_url(request: web.Request) -> str:
    """This endpoint's URL: `[service] public_url` + /open311/v2, else the request's own host."""
    public = open311_of(request).sada.config.service.public_url
    root = public or f"{request.scheme}://{request.host}"
    return root.rstrip("/") + BASE
