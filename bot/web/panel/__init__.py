"""The operator and department web panel (server-rendered, Persian, right-to-left).

Mounted under /panel/ as an aiohttp sub-application, so its middlewares (security headers,
Persian error pages, login and CSRF checks) guard the panel and nothing else on the service.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.panel import (
    bulk,
    canned,
    digest_page,
    intake_page,
    login,
    map_page,
    media,
    model_page,
    needs,
    reports,
    ticket_actions,
    ticket_list,
    ticket_page,
    triage,
    user_admin,
)
from bot.web.panel.context import PANEL, Panel
from bot.web.panel.rendering import error_pages, make_templates
from bot.web.panel.security import authenticate, security_headers
from bot.web.panel.sessions import Sessions

if TYPE_CHECKING:
    from bot.app import Sada

STATIC = Path(__file__).parent / "static"


def setup_panel(app: web.Application, sada: Sada) -> None:
    """Mount the panel on the service's aiohttp application."""
    settings = sada.config.panel
    panel_app = web.Application(middlewares=[security_headers, error_pages, login.keep_drafts, authenticate])
    panel_app[PANEL] = Panel(
        sada=sada,
        settings=settings,
        templates=make_templates(),
        sessions=Sessions(sada.store, sada.clock, settings),
    )
    r = panel_app.router
    r.add_static("/static/", STATIC, name="static")
    r.add_get("/login", login.login_form, name="login")
    r.add_post("/login", login.login_submit, name="login_submit")
    r.add_post("/logout", login.logout, name="logout")
    r.add_get("/", login.home, name="home")
    r.add_get("/triage", triage.triage, name="triage")
    r.add_get("/tickets", ticket_list.ticket_list, name="tickets")
    r.add_post("/tickets/bulk", bulk.bulk_action, name="bulk")
    r.add_get("/tickets/{code}", ticket_page.ticket_page, name="ticket")
    r.add_get("/media/{id}", media.media_file, name="media")
    r.add_post("/tickets/{code}/reclassify", ticket_actions.reclassify, name="reclassify")
    r.add_post("/tickets/{code}/reassign", ticket_actions.reassign, name="reassign")
    r.add_post("/tickets/{code}/status", ticket_actions.change_status, name="status")
    r.add_post("/tickets/{code}/merge", ticket_actions.merge, name="merge")
    r.add_post("/tickets/{code}/note", ticket_actions.add_note, name="note")
    r.add_post("/tickets/{code}/assign", ticket_actions.assign, name="assign")
    r.add_post("/tickets/{code}/claim", ticket_actions.claim, name="claim")
    r.add_post("/tickets/{code}/release", ticket_actions.release, name="release")
    r.add_post("/tickets/{code}/reply", ticket_actions.reply, name="reply")
    r.add_get("/intake", intake_page.intake_form, name="intake")
    r.add_post("/intake/preview", intake_page.intake_preview, name="intake_preview")
    r.add_post("/intake", intake_page.intake_save, name="intake_save")
    r.add_get("/intake/done", intake_page.intake_done, name="intake_done")
    r.add_get("/map", map_page.map_page, name="map")
    r.add_get("/map.json", map_page.map_json, name="map_json")
    r.add_get("/canned", canned.canned_page, name="canned")
    r.add_post("/canned", canned.canned_save, name="canned_save")
    r.add_post("/canned/{id}/delete", canned.canned_remove, name="canned_remove")
    r.add_get("/users", user_admin.users_page, name="users")
    r.add_post("/users", user_admin.user_add, name="user_add")
    r.add_post("/users/{username}", user_admin.user_update, name="user_update")
    r.add_get("/users/audit", user_admin.audit_page, name="user_audit")
    r.add_get("/reports", reports.reports_page, name="reports")
    r.add_get("/reports.csv", reports.reports_csv, name="reports_csv")
    r.add_get("/reports/workload.csv", reports.workload_csv, name="workload_csv")
    r.add_get("/needs", needs.needs_page, name="needs")
    r.add_get("/needs.csv", needs.needs_csv, name="needs_csv")
    r.add_get("/digest", digest_page.digest_page, name="digest")
    r.add_get("/digest/email", digest_page.digest_email, name="digest_email")
    r.add_get("/model", model_page.model_page, name="model")
    r.add_post("/model/retrain", model_page.retrain, name="retrain")
    app.add_subapp("/panel/", panel_app)
    app.router.add_get("/panel", _to_panel)
    app.router.add_get("/favicon.ico", _favicon)

    async def seed(_app: web.Application) -> None:
        await canned.seed_defaults(sada.store, sada.clock)

    app.on_startup.append(seed)


async def _to_panel(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/panel/")


async def _favicon(_request: web.Request) -> web.StreamResponse:
    # Browsers ask the site root for it whatever the page says (pages name favicon.svg).
    return web.FileResponse(STATIC / "favicon.ico", headers={"Cache-Control": "max-age=86400"})
