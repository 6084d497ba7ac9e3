"""The classifier's page: the model in service, its scores, and retraining it on corrections.

Managers and admins see which model routes messages (its version, when it was trained, its
macro-F1 on the held-out and dev sets), the latest retrain attempts with both models' scores
and the verdict, and a button that starts a retrain (bot/jobs/retraining.py). The retrain runs in the
background; the page shows its row as "running" until it is settled.
"""

from __future__ import annotations

from aiohttp import web

from bot.jobs.retraining import PANEL
from bot.web.panel import labels
from bot.web.panel.context import panel_of
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission
from bot.web.panel.security import require


async def model_page(request: web.Request) -> web.Response:
    """GET /panel/model"""
    require(request, Permission.RETRAIN_MODEL)
    status = await panel_of(request).sada.retrainer.status()
    return render(
        request,
        "model.html",
        model=status,
        triggers=labels.RETRAIN_TRIGGERS,
        outcomes=labels.RETRAIN_OUTCOMES,
        reasons=labels.RETRAIN_REASONS,
    )


async def retrain(request: web.Request) -> web.StreamResponse:
    """POST /panel/model/retrain: train a candidate on every correction; it serves only if no worse."""
    principal = require(request, Permission.RETRAIN_MODEL)
    started = await panel_of(request).sada.retrainer.start(PANEL, principal.actor)
    raise web.HTTPSeeOther(f"/panel/model?done=retrain_{started.value}")
