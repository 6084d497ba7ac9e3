"""Jinja2 templates with Persian filters (digits, Jalali dates), and the HTML error pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.dates.jalali import jalali_date, jalali_datetime
from bot.digest.wording import district_name
from bot.replies import STATUS_NAMES
from bot.web.panel import labels
from bot.web.panel.context import PRINCIPAL, panel_of
from bot.web.panel.roles import Permission
from bot.web.panel.security import Handler
from nlp.letters import persian_digits


def _fa(value: object) -> str:
    return persian_digits(str(value))


def _percent(value: float) -> str:
    return persian_digits(str(round(float(value) * 100))) + "٪"


def _jdate(value: datetime | None) -> str:
    return jalali_date(value) if value else "—"


def _jdatetime(value: datetime | None) -> str:
    return jalali_datetime(value) if value else "—"


def make_templates() -> Environment:
    """The panel's template environment (autoescaped HTML; a missing variable is an error)."""
    env = Environment(
        loader=PackageLoader("bot.web.panel", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fa=_fa, percent=_percent, jdate=_jdate, jdatetime=_jdatetime)
    env.globals.update(
        STATUS_NAMES={s.value: n for s, n in STATUS_NAMES.items()},
        ROLE_NAMES=labels.ROLE_NAMES,
        PRIORITY_NAMES=labels.PRIORITY_NAMES,
        OUTBOX_STATUS_NAMES=labels.OUTBOX_STATUS_NAMES,
        P=Permission,
        actor_name=labels.actor_name,
        district_name=district_name,
    )
    return env


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """Render a page for this request's user (None on the login page)."""
    panel = panel_of(request)
    principal = request.get(PRINCIPAL)
    taxonomy = panel.sada.config.taxonomy
    notice = context.pop("notice", None) or labels.NOTICES.get(request.query.get("done", ""))
    body = panel.templates.get_template(template).render(
        principal=principal,
        csrf=principal.csrf_token if principal else "",
        categories={code: c.name for code, c in taxonomy.categories.items()},
        departments=taxonomy.departments,
        channel_name=labels.channel_names(panel.sada.config.channels),
        notice=notice,
        path=request.path,
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn 400/403/404/405 into Persian pages with the same status."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status not in labels.HTTP_ERRORS:
            raise
        response = render(request, "error.html", status=exc.status, message=labels.HTTP_ERRORS[exc.status])
        for name in ("Allow",):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
