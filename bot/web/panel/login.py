"""The login and logout pages, and the panel's front door that sends each role to its first screen.

A session can end while someone is typing on a ticket page. Their POST then finds no session: instead
of a redirect that would drop it, `keep_drafts` answers with the login page holding what they typed
(hidden fields) and the ticket to return to. After the login that page is the ticket page, with the
text back in its form, for them to check and send again: nothing is applied on their behalf (the
ticket may have changed meanwhile, and the old form's CSRF token died with the old session). Only a
same-origin POST is kept, so another site cannot plant text in an operator's form this way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from aiohttp import web

from bot.web.panel.context import PRINCIPAL, panel_of, principal_of
from bot.web.panel.forms import read_form
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission
from bot.web.panel.security import (
    DEVICE_COOKIE,
    SESSION_COOKIE,
    Handler,
    clear_session_cookie,
    client_address,
    login_csrf_ok,
    login_csrf_token,
    set_device_cookie,
    set_login_csrf_cookie,
    set_session_cookie,
)
from bot.web.panel.sessions import LoginOutcome
from bot.web.panel.ticket_page import show_ticket

LOGIN_ERRORS = {
    LoginOutcome.BAD_CREDENTIALS: "نام کاربری یا گذرواژه درست نیست.",
    LoginOutcome.THROTTLED: "تلاش‌های ناموفق زیاد بود. چند دقیقهٔ دیگر دوباره امتحان کنید.",
}
EXPIRED_FORM = "فرم ورود منقضی شده بود. لطفاً دوباره وارد شوید."
SESSION_ENDED = "نشست شما به پایان رسیده بود. لطفاً دوباره وارد شوید."
DRAFT_BACK = (
    "نشست شما به پایان رسیده بود. متنی که نوشته بودید دوباره در فرم آمده و هنوز ثبت نشده است؛"
    " آن را بررسی کنید و بفرستید."
)
# The ticket forms whose typed text outlives an ended session: route name → its fields.
DRAFT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "note": ("note",),
    "status": ("to", "note", "canned"),
    "reclassify": ("category", "department", "reason"),
    "reassign": ("department", "reason"),
    "merge": ("into",),
}
DRAFT_LIMIT = 2000  # the longest field of those forms (a note)
_CODE = re.compile(r"[0-9]{1,20}")
_TICKET_PATH = re.compile(r"/panel/tickets/([0-9]{1,20})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _safe_next(value: str) -> str:
    """Only panel paths: never an absolute or protocol-relative URL (no open redirect)."""
    if value.startswith("/panel/") and "\\" not in value and not _CONTROL.search(value):
        return value
    return "/panel/"


def _draft(form: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """The typed fields of one ticket form (`action`: its route name); {} when there is none."""
    action = form.get(prefix + "action")
    fields = DRAFT_FIELDS.get(action, ()) if isinstance(action, str) else ()
    kept = {key: value[:DRAFT_LIMIT] for key in fields if isinstance(value := form.get(prefix + key), str)}
    return {"action": str(action), **kept} if any(kept.values()) else {}


def _login_page(
    request: web.Request,
    *,
    error: str | None,
    username: str,
    status: int,
    next_path: str,
    draft: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> web.Response:
    token = login_csrf_token(request)
    page = render(
        request,
        "login.html",
        status=status,
        error=error,
        username=username,
        login_csrf=token,
        next=_safe_next(next_path),
        draft=draft or {},
        notice=notice,
    )
    set_login_csrf_cookie(page, request, token)
    return page


async def login_form(request: web.Request) -> web.Response:
    """GET /panel/login (after a session ended, it says so)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    ended = bool(token) and await panel_of(request).sessions.principal(token) is None
    return _login_page(
        request,
        error=None,
        username="",
        status=200,
        next_path=request.query.get("next", ""),
        notice=SESSION_ENDED if ended else None,
    )


async def login_submit(request: web.Request) -> web.StreamResponse:
    """POST /panel/login: check the form token, throttle, check the password, open a session."""
    form = await read_form(request)
    username = str(form.get("username", ""))[:64]
    next_path = _safe_next(str(form.get("next", "")))
    draft = _draft(form, "draft_")
    if not login_csrf_ok(request, form.get("csrf")):
        return _login_page(
            request, error=EXPIRED_FORM, username=username, status=403, next_path=next_path, draft=draft
        )
    result = await panel_of(request).sessions.login(
        username,
        str(form.get("password", "")),
        client_address(request),
        request.cookies.get(DEVICE_COOKIE, "")[:400],
    )
    if result.outcome is not LoginOutcome.OK or result.token is None:
        status = 429 if result.outcome is LoginOutcome.THROTTLED else 401
        return _login_page(
            request,
            error=LOGIN_ERRORS[result.outcome],
            username=username,
            status=status,
            next_path=next_path,
            draft=draft,
        )
    async with panel_of(request).sada.store.transaction() as tx:  # shown on the admin's users page
        await tx.users.record_login(username.strip().lower(), panel_of(request).sada.clock.now())
    ticket = _TICKET_PATH.fullmatch(next_path)
    page = (
        await _ticket_with_draft(request, result.token, ticket.group(1), draft) if ticket and draft else None
    )
    if page is not None:
        _open(page, request, result.token, result.device_cookie)
        return page
    redirect = web.HTTPSeeOther(next_path)
    _open(redirect, request, result.token, result.device_cookie)
    raise redirect


def _open(response: web.StreamResponse, request: web.Request, token: str, device_cookie: str | None) -> None:
    set_session_cookie(response, request, token)
    if device_cookie:
        set_device_cookie(response, request, device_cookie)


async def _ticket_with_draft(
    request: web.Request, token: str, code: str, draft: Mapping[str, str]
) -> web.Response | None:
    """The ticket page for the session just opened, its form holding the draft (None: not shown)."""
    principal = await panel_of(request).sessions.principal(token)
    if principal is None:
        return None
    request[PRINCIPAL] = principal
    try:
        return await show_ticket(request, code=code, form=draft, notice=DRAFT_BACK)
    except web.HTTPNotFound:
        return None


@web.middleware
async def keep_drafts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A ticket form posted after its session ended: the login page, holding what was typed."""
    try:
        return await handler(request)
    except web.HTTPSeeOther as exc:
        action = request.match_info.route.name or ""
        ticket = request.match_info.get("code", "")
        if (
            request.method != "POST"
            or action not in DRAFT_FIELDS
            or not _CODE.fullmatch(ticket)
            or not str(exc.location or "").startswith("/panel/login?")
            or not _same_origin(request)
        ):
            raise
        form = await read_form(request)
        return _login_page(
            request,
            error=None,
            username="",
            status=401,
            next_path=f"/panel/tickets/{ticket}",
            draft=_draft({**form, "action": action}),
            notice=SESSION_ENDED,
        )


def _same_origin(request: web.Request) -> bool:
    """Whether the browser says this request comes from a panel page (Fetch Metadata, else Origin)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin", "")
    return bool(origin) and urlsplit(origin).netloc == request.host


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
