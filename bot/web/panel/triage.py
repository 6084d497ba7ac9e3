"""The triage queue: open tickets the classifier was unsure of, least confident first."""

from __future__ import annotations

from aiohttp import web

from bot.web.panel.context import panel_of
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission
from bot.web.panel.security import require
from storage.panel_queries import PanelQueries

QUEUE_LENGTH = 50


async def triage(request: web.Request) -> web.Response:
    """GET /panel/triage"""
    require(request, Permission.VIEW_TRIAGE)
    panel = panel_of(request)
    async with panel.sada.store.read() as tx:
        queries = PanelQueries(tx.session)
        tickets = await queries.triage(limit=QUEUE_LENGTH)
        waiting = await queries.triage_count()
    return render(request, "triage.html", tickets=tickets, waiting=waiting)
