"""The panel's guards: security headers, login required, CSRF tokens, and the session cookie.

Every panel request passes `authenticate` (except the login form and static files): it resolves
the session cookie to a user or sends the browser to the login page, and refuses any POST whose
`csrf` field does not match the session's token. Role checks happen in each handler through
`require`, which is why no handler can forget that the user is logged in.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.web.panel.context import PRINCIPAL, panel_of, principal_of
from bot.web.panel.forms import read_form
from bot.web.panel.roles import Permission, Principal
from bot.web.panel.settings import PanelSettings

SESSION_COOKIE = "sada_session"
LOGIN_CSRF_COOKIE = "sada_login_csrf"
DEVICE_COOKIE = "sada_device"
PUBLIC_ROUTES = frozenset({"login", "login_submit", "static"})

# Scripts only from the panel's own origin (no inline script, no eval): the live SMS part counter,
# triage shortcuts and the map are files under /panel/static/. `{tiles}` is the map tiles' origin
# (`[panel] map_tiles_url`), the one thing the panel loads from elsewhere: images only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Forbidden(web.HTTPForbidden):
    """A request the user's role does not allow (rendered as a Persian page by `errors`)."""


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the security headers to every panel response, errors included."""
    return await _hardened(request, handler, panel_of(request).settings)


def security_headers_with(settings: PanelSettings) -> Middleware:
    """`security_headers` for an application with no `Panel` of its own (the citizen web form):
    the same headers, from these settings."""

    @web.middleware
    async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await _hardened(request, handler, settings)

    return headers


async def _hardened(request: web.Request, handler: Handler, settings: PanelSettings) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _harden(exc, request, settings)
        raise
    _harden(response, request, settings)
    return response


def _harden(response: web.StreamResponse, request: web.Request, settings: PanelSettings) -> None:
    response.headers.setdefault("Content-Security-Policy", content_security_policy(settings))
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if settings.cookie_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith("/panel/static/"):
        response.headers.setdefault("Cache-Control", "no-store")


def content_security_policy(settings: PanelSettings) -> str:
    """The panel's CSP, allowing images from the map tiles' origin when tiles are configured."""
    origin = settings.map_tiles_origin
    return CSP.format(tiles=f" {origin}" if origin else "")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the session to a user, or send the browser to log in; check CSRF on every POST."""
    route = request.match_info.route
    if route.name in PUBLIC_ROUTES or _static(request):
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    principal = await panel_of(request).sessions.principal(token) if token else None
    if principal is None:
        target = request.path_qs if request.method == "GET" else "/panel/"
        raise web.HTTPSeeOther(f"/panel/login?next={quote(target, safe='')}")
    if request.method not in ("GET", "HEAD"):
        form = await read_form(request)
        sent = form.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, principal.csrf_token):
            raise web.HTTPForbidden(reason="CSRF token missing or wrong")
    request[PRINCIPAL] = principal
    return await handler(request)


def _static(request: web.Request) -> bool:
    return request.path.startswith("/panel/static/")


def require(request: web.Request, permission: Permission) -> Principal:
    """The logged-in user, when their role grants `permission`; else 403."""
    principal = principal_of(request)
    if not principal.may(permission):
        raise Forbidden(reason=f"role {principal.user.role} lacks {permission}")
    return principal


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Hand the session token to the browser: HttpOnly, SameSite=Strict, Secure when configured.

    No Max-Age or Expires unless `panel.persistent_cookie`: the browser forgets the session when it
    closes (shared front-desk computers). Idle and absolute limits are the server's either way."""
    settings = panel_of(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_lifetime.total_seconds()) if settings.persistent_cookie else None,
        path="/panel",
        httponly=True,
        samesite="Strict",
        secure=settings.cookie_secure,
    )


def set_device_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    """Mark this browser as one that has logged in (it opens nothing; it only exempts the browser
    from other people's login throttling, see `bot/web/panel/sessions.py`); sent only to the login form."""
    settings = panel_of(request).settings
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(settings.device_trust.total_seconds()),
        path="/panel/login",
        httponly=True,
        samesite="Strict",
        secure=settings.cookie_secure,
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Make the browser forget the session."""
    response.del_cookie(SESSION_COOKIE, path="/panel")


def login_csrf_token(request: web.Request) -> str:
    """The login form's token: the browser's cookie if it has one, else a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Double-submit the login form's token as a cookie (there is no session to hold it yet)."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/panel/login",
        httponly=True,
        samesite="Strict",
        secure=panel_of(request).settings.cookie_secure,
    )


def login_csrf_ok(request: web.Request, sent: object) -> bool:
    """Whether the login form's token matches its cookie."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and isinstance(sent, str) and hmac.compare_digest(sent, cookie)


def client_address(request: web.Request) -> str:
    """The panel's client address: `forwarded_address` as `[panel] trust_forwarded_for` says."""
    return forwarded_address(request, trust=panel_of(request).settings.trust_forwarded_for)


def forwarded_address(request: web.Request, *, trust: bool) -> str:
    """The client's address, from X-Forwarded-For only when the config trusts a proxy (`trust`).

    The last entry: the one the (single, trusted) proxy added. Entries before it are whatever the
    client sent, and trusting them would let an attacker pick a new address for every guess."""
    if trust:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()[:64]
    return (request.remote or "unknown")[:64]
