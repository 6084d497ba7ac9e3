"""The citizen web form (`/r/` by default) and its status page (`/r/status`).

A request sent here enters through `Sada.inbound` on the `web` channel; a phone number given on
the form receives updates by SMS only after the citizen confirms it with a one-time code.

Mounted as an aiohttp sub-application under `[webform] path`, so its middlewares guard these pages
and nothing else. It reuses the panel's guards from the panel's settings: its security headers
(`security_headers_with`: CSP with scripts from our own origin only, no inline script; nosniff,
frame denial, no caching) and its reading of the client's address (`forwarded_address`, trusting
X-Forwarded-For only when `[panel] trust_forwarded_for` does; `context.client_address`).
Pages: form_page.py (the form), receipt_page.py (code, next steps, phone confirmation),
status_page.py; guards.py (CSRF cookie, body cap, errors), limits.py, photos.py, confirmations.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.panel.intake_page import sms_channel
from bot.web.panel.security import security_headers_with
from bot.web.webform import form_page, receipt_page, status_page
from bot.web.webform.confirmations import Confirmations
from bot.web.webform.context import WEBFORM, Webform, make_webform_templates
from bot.web.webform.guards import form_guards
from bot.web.webform.limits import Limits

if TYPE_CHECKING:
    from bot.app import Sada

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def setup_webform(app: web.Application, sada: Sada) -> None:
    """Add the form's routes when `[webform] enabled`."""
    settings = sada.config.webform
    if not settings.enabled:
        return
    templates = make_webform_templates()
    channel = sms_channel(sada, settings.sms_channel)
    if channel is None and settings.sms_channel is not None:
        log.warning(
            "webform: sms_channel %s is not a running SMS channel; the form asks for no phone",
            settings.sms_channel,
        )
    form_app = web.Application(middlewares=[security_headers_with(sada.config.panel), form_guards])
    form_app[WEBFORM] = Webform(
        sada=sada,
        settings=settings,
        templates=templates,
        limits=Limits(settings, sada.clock),
        confirmations=Confirmations(sada, settings, templates, channel) if channel else None,
    )
    r = form_app.router
    r.add_static("/static/", STATIC, name="static")
    r.add_get("/", form_page.form_page, name="form")
    r.add_post("/", form_page.submit, name="submit")
    r.add_get("/receipt/{token}", receipt_page.receipt, name="receipt")
    r.add_post("/receipt/{token}/confirm", receipt_page.confirm, name="confirm")
    r.add_post("/receipt/{token}/resend", receipt_page.resend, name="resend")
    r.add_get("/status", status_page.status_page, name="status")

    async def to_form(_request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(settings.path)

    # Before the sub-application, whose prefix would take the bare path for a page of its own.
    app.router.add_get(settings.path.rstrip("/"), to_form)
    app.add_subapp(settings.path, form_app)
