"""The Open311 GeoReport v2 API under `/open311/v2/` (docs/OPEN311.md).

Requests POSTed here enter through `Sada.inbound` like every channel's; GETs read the store
(`storage.open311_queries`) and never show personal data. Modules: `formats` (JSON/XML documents),
`discovery`, `services`, `requests_read` (GET requests), `requests_post` (POST), `api_keys`,
`limits` (sliding windows), `context` (shared state, client address, the limit wrapper), `w3c`
(dates), `wording` (every Persian sentence), `settings` (`[open311]`). It may import the domain,
`bot.dates`, `bot.digest.wording` (masking), the panel's intake (`sms_channel`), `channels.desk`
and `channels.phone`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.toml_reader import environment
from bot.web.open311 import discovery, requests_post, requests_read, services
from bot.web.open311.api_keys import ApiKeys
from bot.web.open311.context import BASE, OPEN311, Open311, limited
from bot.web.open311.w3c import format_w3c

if TYPE_CHECKING:
    from bot.app import Sada

log = logging.getLogger(__name__)

_FMT = "{fmt:[A-Za-z0-9]+}"


def setup_open311(app: web.Application, sada: Sada) -> None:
    """Add the GeoReport v2 routes when `[open311] enabled`."""
    settings = sada.config.open311
    if not settings.enabled:
        return
    keys = ApiKeys.from_environment(environment(), settings.api_keys_env)
    # Service definitions come from the config: they can change only when the service restarts.
    app[OPEN311] = Open311(sada=sada, settings=settings, keys=keys, changeset=format_w3c(sada.clock.now()))
    r = app.router
    r.add_get(f"{BASE}/discovery.{_FMT}", limited(discovery.discovery))
    r.add_get(f"{BASE}/services.{_FMT}", limited(services.services))
    r.add_get(f"{BASE}/services/{{service_code:[^/]+?}}.{_FMT}", limited(services.service_definition))
    r.add_get(f"{BASE}/requests.{_FMT}", limited(requests_read.get_requests))
    r.add_post(f"{BASE}/requests.{_FMT}", limited(requests_post.post_request))
    r.add_get(f"{BASE}/requests/{{service_request_id:[^/]+?}}.{_FMT}", limited(requests_read.get_request))
    log.info("open311 API at %s/ (%d API clients)", BASE, len(keys))
