"""The admin's users page: list accounts (with their last login), add one, change role and
department, enable or disable, set a new password; and the audit view of all of it.

Every change writes a `user_audit` row in the transaction that makes it (storage/user_audit.py),
with the admin as actor and the values before and after; never a password or its hash.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from bot.web.panel.context import panel_of
from bot.web.panel.forms import read_form
from bot.web.panel.labels import ERRORS
from bot.web.panel.passwords import hash_password_async
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission
from bot.web.panel.security import require
from storage.user_audit import UserAuditRepository
from storage.users import ROLES

log = logging.getLogger(__name__)
USERNAME = re.compile(r"^[a-z0-9_.\-]{2,64}$")
AUDIT_PAGE = 50


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
        error_key=error or "",
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
    now = panel.sada.clock.now()
    async with panel.sada.store.transaction() as tx:
        if await tx.users.by_username(username) is not None:
            return await users_page(request, error="user_exists", status=409, form=form)
        name = form.get("display_name") or username
        await tx.users.add(username, name, role, department, password_hash, now)
        await UserAuditRepository(tx.session).record(
            now, principal.user.username, username, "added", {"role": role, "department": department}
        )
    log.info("panel user added user=%s role=%s by=%s", username, role, principal.user.username)
    raise web.HTTPSeeOther("/panel/users?done=user_added")


async def user_update(request: web.Request) -> web.StreamResponse:
    """POST /panel/users/{username}: enable, disable, set a new password, or change role and department."""
    principal = require(request, Permission.MANAGE_USERS)
    panel = panel_of(request)
    username = request.match_info["username"]
    form = await read_form(request)
    active = form.get("active")
    password = str(form.get("password", ""))
    role = str(form.get("role", "")).strip()
    department = str(form.get("department", "")).strip() or None
    async with panel.sada.store.read() as tx:
        user = await tx.users.by_username(username)
    if user is None:
        raise web.HTTPNotFound()
    if active == "0" and user.id == principal.user.id:
        return await users_page(request, error="self_disable", status=400)
    if role:
        if role not in ROLES or (role == "staff" and not department):
            return await users_page(request, error="user_invalid", status=400)
        if department is not None and department not in panel.sada.config.taxonomy.departments:
            return await users_page(request, error="user_invalid", status=400)
        if user.id == principal.user.id and role != user.role:
            # An admin who demotes themselves may leave nobody able to manage accounts.
            return await users_page(request, error="self_demote", status=400)
    if password and len(password) < panel.settings.min_password_length:
        return await users_page(request, error="password_short", status=400)
    password_hash = await hash_password_async(password) if password else None
    now = panel.sada.clock.now()
    actor = principal.user.username
    async with panel.sada.store.transaction() as tx:
        audit = UserAuditRepository(tx.session)
        current = await tx.users.by_username(username)
        if current is None:
            raise web.HTTPNotFound()
        if active in ("0", "1") and current.active != (active == "1"):
            await tx.users.set_active(username, active == "1")
            await audit.record(now, actor, username, "enabled" if active == "1" else "disabled")
        if password_hash:
            await tx.users.set_password_hash(username, password_hash)
            await audit.record(now, actor, username, "password_reset")
        if role and (role, department) != (current.role, current.department):
            await tx.users.set_role(username, role, department)
            change: dict[str, Any] = {
                "from_role": current.role,
                "to_role": role,
                "from_department": current.department,
                "to_department": department,
            }
            await audit.record(now, actor, username, "role_changed", change)
    if active == "0" or password_hash:
        await panel.sessions.end_all(user.id)
    log.info("panel user changed user=%s by=%s", username, actor)
    raise web.HTTPSeeOther("/panel/users?done=user_saved")


async def audit_page(request: web.Request) -> web.Response:
    """GET /panel/users/audit: who changed which account, when and how (newest first)."""
    require(request, Permission.MANAGE_USERS)
    who = request.query.get("user", "").strip().lower()[:64] or None
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    async with panel_of(request).sada.store.read() as tx:
        audit = UserAuditRepository(tx.session)
        total = await audit.count(username=who)
        entries = await audit.recent(limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE, username=who)
        people = {u.username: u.display_name for u in await tx.users.all()}
    pages = max(1, -(-total // AUDIT_PAGE))
    return render(
        request,
        "user_audit.html",
        entries=entries,
        total=total,
        page=min(page, pages),
        pages=pages,
        who=who,
        people=people,
    )
