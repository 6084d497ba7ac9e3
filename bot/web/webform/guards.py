"""The public pages' guards: the CSRF cookie, the body cap, the headers the panel's do not give, and
Persian error pages.

There is no login here, so the CSRF token is a double-submitted cookie: a random value the browser
gets with the first page (HttpOnly, SameSite=Strict, only for the form's path) and sends back as the
`csrf` field of every POST; another site can make a browser post, but cannot read or set the cookie.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bot.web.panel.security import Handler
from bot.web.webform.context import CSRF_COOKIE, NEW_CSRF, render, webform_of

log = logging.getLogger(__name__)

# The panel's headers forbid geolocation; the form asks for it (only when the citizen presses the
# button), from its own origin only.
PERMISSIONS = "camera=(), microphone=(), geolocation=(self)"
RETRY_AFTER = {"Retry-After": "60"}  # the budgets are counted per minute (and per hour)
HTTP_ERRORS = {
    400: "درخواست نامعتبر بود. لطفاً صفحه را دوباره باز کنید و از نو بفرستید.",
    403: "فرم منقضی شده یا از جای دیگری فرستاده شده است. لطفاً صفحهٔ فرم را دوباره باز کنید و بفرستید.",
    404: "این صفحه پیدا نشد.",
    405: "این صفحه این نوع درخواست را نمی‌پذیرد.",
    413: "فایل یا متن فرستاده‌شده بزرگ‌تر از حد مجاز است. لطفاً عکس کوچک‌تری انتخاب کنید.",
    429: "در چند دقیقهٔ اخیر درخواست‌های زیادی از این نشانی رسیده است. لطفاً کمی بعد دوباره امتحان کنید "
    "یا با ۱۳۷ تماس بگیرید.",
    500: "خطایی در سامانه رخ داد. لطفاً کمی بعد دوباره امتحان کنید یا با ۱۳۷ تماس بگیرید.",
    503: "سامانه لحظه‌ای در دسترس نیست. لطفاً کمی بعد دوباره امتحان کنید یا با ۱۳۷ تماس بگیرید.",
}


@web.middleware
async def form_guards(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the browser a CSRF cookie, refuse an oversized body, and answer errors in Persian."""
    form = webform_of(request)
    if not request.cookies.get(CSRF_COOKIE):
        request[NEW_CSRF] = secrets.token_urlsafe(24)
    try:
        if (request.content_length or 0) > form.settings.max_body_bytes:
            raise web.HTTPRequestEntityTooLarge(form.settings.max_body_bytes, request.content_length or 0)
        try:
            response = await handler(request)
        except web.HTTPException:
            raise
        except Exception as exc:  # noqa: BLE001 - answered in Persian; the class only is logged
            # Not the path (a receipt's holds its token), not the message (it may quote what was sent).
            route = request.match_info.route.name
            log.error("webform %s %s failed: %s", request.method, route, type(exc).__name__)
            raise web.HTTPInternalServerError() from exc
    except web.HTTPException as exc:
        if exc.status not in HTTP_ERRORS:
            raise
        response = render(request, "error.html", status=exc.status, message=HTTP_ERRORS[exc.status])
        for name in ("Allow", "Retry-After"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
    response.headers.setdefault("Permissions-Policy", PERMISSIONS)
    if request.path.startswith(form.settings.path + "static/"):
        response.headers.setdefault("Cache-Control", "max-age=3600")
    if NEW_CSRF in request:
        response.set_cookie(
            CSRF_COOKIE,
            request[NEW_CSRF],
            path=form.settings.path,
            httponly=True,
            samesite="Strict",
            secure=form.sada.config.panel.cookie_secure,
        )
    return response


def check_csrf(request: web.Request, form: Mapping[str, Any]) -> None:
    """403 unless the form's `csrf` field matches the browser's cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get("csrf")
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, cookie):
        raise web.HTTPForbidden(reason="CSRF token missing or wrong")


def with_body_cap(request: web.Request) -> web.Request:
    """This request, allowed a body up to `[webform] max_body_bytes` (the service allows 1 MiB)."""
    return request.clone(client_max_size=webform_of(request).settings.max_body_bytes)
