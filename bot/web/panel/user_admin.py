"""The admin's users page: list accounts, add one, enable or disable, set a new password."""

from __future__ import annotations

import logging
import re

from aiohttp import web

from bot.web.panel.context import panel_of
from bot.web.panel.forms import read_form
from bot.web.panel.labels import ERRORS
from bot.web.panel.passwords import hash_password_async
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission
from bot.web.panel.security import require
from storage.users import ROLES

log = logging.getLogger(__name__)
USERNAME = re.compile(r"^[a-z0-9_.\-]{2,64}$")


async def users_page(
    request: web.Request, *, error: str | None = None, status: int = 200, form: dict[str, str] | None = None
) -> web.Response:
    """GET /panel/users"""
    require(request, Permission.MANAGE_USERS)
    async with panel_of(request).sada.store.read() as tx:
        users = await tx.users.all()
    return render(
        request,
        "users.html",
        status=status,
        users=users,
        roles=ROLES,
        error=ERRORS.get(error or ""),
        form=form or {},
    )


async def user_add(request: web.Request) -> web.StreamResponse:
    """POST /panel/users: create an account."""
    principal = require(request, Permission.MANAGE_USERS)
    panel = panel_of(request)
    form = {k: str(v).strip() for k, v in (await read_form(request)).items() if k != "csrf"}
    username = form.get("username", "").lower()
    role = form.get("role", "")
    department = form.get("department") or None
    password = form.pop("password", "")
    valid = (
        USERNAME.match(username)
        and role in ROLES
        and (department is None or department in panel.sada.config.taxonomy.departments)
        and (role != "staff" or department)
    )
    if not valid:
        return await users_page(request, error="user_invalid", status=400, form=form)
    if len(password) < panel.settings.min_password_length:
        return await users_page(request, error="password_short", status=400, form=form)
    password_hash = await hash_password_async(password)
    async with panel.sada.store.transaction() as tx:
        if await tx.users.by_username(username) is not None:
            return await users_page(request, error="user_exists", status=409, form=form)
        await tx.users.add(
            username,
            form.get("display_name") or username,
            role,
            department,
            password_hash,
            panel.sada.clock.now(),
        )
    log.info("panel user added user=%s role=%s by=%s", username, role, principal.user.username)
    raise web.HTTPSeeOther("/panel/users?done=user_added")


async def user_update(request: web.Request) -> web.StreamResponse:
    """POST /panel/users/{username}: enable, disable or set a new password."""
    principal = require(request, Permission.MANAGE_USERS)
    panel = panel_of(request)
    username = request.match_info["username"]
    form = await read_form(request)
    active = form.get("active")
    password = str(form.get("password", ""))
    async with panel.sada.store.transaction() as tx:
        user = await tx.users.by_username(username)
        if user is None:
            raise web.HTTPNotFound()
    if active == "0" and user.id == principal.user.id:
        return await users_page(request, error="self_disable", status=400)
    if password and len(password) < panel.settings.min_password_length:
        return await users_page(request, error="password_short", status=400)
    password_hash = await hash_password_async(password) if password else None
    async with panel.sada.store.transaction() as tx:
        if active in ("0", "1"):
            await tx.users.set_active(username, active == "1")
        if password_hash:
            await tx.users.set_password_hash(username, password_hash)
    if active == "0" or password_hash:
        await panel.sessions.end_all(user.id)
    log.info("panel user changed user=%s by=%s", username, principal.user.username)
    raise web.HTTPSeeOther("/panel/users?done=user_saved")
