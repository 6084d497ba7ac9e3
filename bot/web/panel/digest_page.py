"""The managers' daily digest in the panel: any day's digest, as the recipients get it.

The page shows the chat message (bot/digest/text.py) and the chart; a second route serves the
e-mail's HTML (bot/digest/mail.py) with the chart inlined. Figures come from `build_digest`, with
the limits of `[digest]`. Managers and operators get the whole city's digest (or one
department's), staff their own department's, as a department head would receive it.
"""

from __future__ import annotations

import asyncio
import base64
from datetime import date, timedelta

from aiohttp import web

from bot.digest.chart import render_chart
from bot.digest.delivery import make_sender
from bot.digest.figures import Digest, build_digest, parse_day
from bot.digest.mail import render_html
from bot.digest.text import fit_text
from bot.digest.wording import Names, day_title
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.rendering import render
from bot.web.panel.reports import BadReportQuery, jalali, report_scope, today

# Matplotlib's pyplot is not thread-safe: one chart at a time, off the event loop.
_CHART_LOCK = asyncio.Lock()
_CID = "sada-digest-chart"
# The e-mail's HTML carries inline styles (mail clients drop style sheets): allow those, and the
# inlined chart, for this one response; still no scripts, frames or forms.
EMAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def chosen_day(text: str, now: date) -> date:
    """The Jalali day `text`, or yesterday when empty; no day after today."""
    text = text.strip()
    if not text:
        return now - timedelta(days=1)
    try:
        day = parse_day(text)
    except ValueError:
        raise BadReportQuery("bad_date") from None
    if day > now:
        raise BadReportQuery("future")
    return day


async def _digest(request: web.Request) -> tuple[Digest, Names]:
    scope = report_scope(request)
    day = chosen_day(request.query.get("date", ""), today(request))
    sada = panel_of(request).sada
    sender, _settings = make_sender(sada.config, sada.store, sada.channels, sada.clock)
    digest = await build_digest(sada.store, day, scope, sada.config.calendar, sender.limits)
    return digest, Names(sada.config.taxonomy)


async def _chart(digest: Digest, names: Names) -> str:
    async with _CHART_LOCK:
        png = await asyncio.to_thread(render_chart, digest, names)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


async def digest_page(request: web.Request) -> web.Response:
    """GET /panel/digest"""
    report_scope(request)
    query = {k: request.query[k] for k in ("date", "department") if request.query.get(k)}
    scoped = principal_of(request).scope is not None
    try:
        digest, names = await _digest(request)
    except BadReportQuery as exc:
        return render(
            request, "digest.html", status=400, error=exc.key, query=query, digest=None, scoped=scoped
        )
    keep = f"&department={digest.department}" if digest.department and not scoped else ""
    now = today(request)
    return render(
        request,
        "digest.html",
        error=None,
        query=query,
        digest=digest,
        title=day_title(digest.day),
        day=jalali(digest.day),
        scope_name=names.department(digest.department),
        scoped=scoped,
        text=fit_text(digest, names),
        chart=await _chart(digest, names),
        email_url=f"/panel/digest/email?date={jalali(digest.day, '-')}{keep}",
        previous_url=f"/panel/digest?date={jalali(digest.day - timedelta(days=1), '-')}{keep}",
        next_url=(
            f"/panel/digest?date={jalali(digest.day + timedelta(days=1), '-')}{keep}"
            if digest.day < now
            else None
        ),
    )


async def digest_email(request: web.Request) -> web.Response:
    """GET /panel/digest/email: the e-mail's HTML, chart included, as the recipient reads it."""
    try:
        digest, names = await _digest(request)
    except BadReportQuery as exc:
        raise web.HTTPBadRequest(reason=exc.key) from None
    html = render_html(digest, names, chart_cid=_CID)
    html = html.replace(f"cid:{_CID}", await _chart(digest, names))
    response = web.Response(text=html, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = EMAIL_CSP
    return response
