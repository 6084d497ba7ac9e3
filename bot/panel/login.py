"""The login and logout pages, and the panel's front door that sends each role to its first screen."""

from __future__ import annotations

from aiohttp import web

from bot.panel.context import panel_of, principal_of
from bot.panel.forms import read_form
from bot.panel.rendering import render
from bot.panel.roles import Permission
from bot.panel.security import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    login_csrf_ok,
    login_csrf_token,
    set_device_cookie,
    set_login_csrf_cookie,
    set_session_cookie,
)
from bot.panel.sessions import LoginOutcome

LOGIN_ERRORS = {
    LoginOutcome.BAD_CREDENTIALS: "نام کاربری یا گذرواژه درست نیست.",
    LoginOutcome.THROTTLED: "تلاش‌های ناموفق زیاد بود. چند دقیقهٔ دیگر دوباره امتحان کنید.",
}
EXPIRED_FORM = "فرم ورود منقضی شده بود. لطفاً دوباره وارد شوید."


def _safe_next(value: str) -> str:
    """Only panel paths: never an absolute or protocol-relative URL (no open redirect)."""
    if value.startswith("/panel/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/panel/"


def _login_page(request: web.Request, *, error: str | None, username: str, status: int) -> web.Response:
    token = login_csrf_token(request)
    page = render(
        request,
        "login.html",
        status=status,
        error=error,
        username=username,
        login_csrf=token,
        next=_safe_next(request.query.get("next", "")),
    )
    set_login_csrf_cookie(page, request, token)
    return page


async def login_form(request: web.Request) -> web.Response:
    """GET /panel/login"""
    return _login_page(request, error=None, username="", status=200)


async def login_submit(request: web.Request) -> web.StreamResponse:
    """POST /panel/login: check the form token, throttle, check the password, open a session."""
    form = await read_form(request)
    username = str(form.get("username", ""))[:64]
    if not login_csrf_ok(request, form.get("csrf")):
        return _login_page(request, error=EXPIRED_FORM, username=username, status=403)
    result = await panel_of(request).sessions.login(
        username,
        str(form.get("password", "")),
        client_address(request),
        request.cookies.get(DEVICE_COOKIE, "")[:400],
    )
    if result.outcome is not LoginOutcome.OK or result.token is None:
        status = 429 if result.outcome is LoginOutcome.THROTTLED else 401
        return _login_page(request, error=LOGIN_ERRORS[result.outcome], username=username, status=status)
    response = web.HTTPSeeOther(_safe_next(str(form.get("next", ""))))
    set_session_cookie(response, request, result.token)
    if result.device_cookie:
        set_device_cookie(response, request, result.device_cookie)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /panel/logout"""
    await panel_of(request).sessions.logout(request.cookies.get(SESSION_COOKIE, ""))
    response = web.HTTPSeeOther("/panel/login")
    clear_session_cookie(response)
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    """GET /panel/: the first screen for this role."""
    principal = principal_of(request)
    if principal.may(Permission.VIEW_TRIAGE):
        raise web.HTTPSeeOther("/panel/triage")
    if principal.sees_tickets:
        raise web.HTTPSeeOther("/panel/tickets")
    raise web.HTTPSeeOther("/panel/users")
