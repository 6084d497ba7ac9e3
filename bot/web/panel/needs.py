"""The weekly neighbourhood needs report: districts × categories, normalised, and recurring problems.

For a chosen Jalali week (Saturday to Friday; by default the last complete one) each district gets
its requests per category, each category's share of the district's requests, and an index: that
share against the category's share city-wide (۱٫۵ = one and a half times as often as the city).
A volume index compares the district's total with the average district's. Scope as in reports.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from aiohttp import web

from bot.digest.figures import parse_day
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.rendering import render
from bot.web.panel.reports import BadReportQuery, csv_response, group_name, jalali, report_scope, today
from bot.web.report_periods import Needs, needs, week_of
from storage.reports import ReportQueries

RECURRING = 10


def chosen_week(text: str, now: date) -> tuple[date, date]:
    """The week holding the Jalali day `text`, or the last complete week when empty."""
    text = text.strip()
    if not text:
        return week_of(week_of(now)[0] - timedelta(days=1))
    try:
        return week_of(parse_day(text))
    except ValueError:
        raise BadReportQuery("bad_date") from None


async def _needs(request: web.Request) -> tuple[Needs, str | None]:
    scope = report_scope(request)
    first, last = chosen_week(request.query.get("week", ""), today(request))
    async with panel_of(request).sada.store.read() as tx:
        return await needs(ReportQueries(tx.session), first, last, scope, RECURRING), scope


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


async def needs_page(request: web.Request) -> web.Response:
    """GET /panel/needs"""
    report_scope(request)
    query = {k: request.query[k] for k in ("week", "department") if request.query.get(k)}
    scoped = principal_of(request).scope is not None
    try:
        report, scope = await _needs(request)
    except BadReportQuery as exc:
        return render(
            request, "needs.html", status=400, error=exc.key, query=query, report=None, scoped=scoped
        )
    previous, following = report.first - timedelta(days=7), report.first + timedelta(days=7)
    keep = "&" + urlencode({"department": scope}) if scope and not scoped else ""
    return render(
        request,
        "needs.html",
        error=None,
        query=query,
        report=report,
        first=jalali(report.first),
        last=jalali(report.last),
        district_name=lambda key: group_name(request, "district", key),
        category_name=lambda key: group_name(request, "category", key),
        scope=scope,
        scoped=scoped,
        previous_url=f"/panel/needs?week={jalali(previous, '-')}{keep}",
        next_url=f"/panel/needs?week={jalali(following, '-')}{keep}" if following <= today(request) else None,
        csv_url=f"/panel/needs.csv?week={jalali(report.first, '-')}{keep}",
    )


async def needs_csv(request: web.Request) -> web.Response:
    """GET /panel/needs.csv: one row per district × category, then the recurring problems."""
    try:
        report, scope = await _needs(request)
    except BadReportQuery as exc:
        raise web.HTTPBadRequest(reason=exc.key) from None
    week = f"{jalali(report.first)}–{jalali(report.last)}"
    rows: list[list[object]] = [
        ["هفته", "منطقه", "دسته", "تعداد", "سهم از درخواست‌های منطقه", "شاخص نسبت به شهر", "شاخص حجم منطقه"]
    ]
    for row in report.rows:
        district = group_name(request, "district", row.district)
        for category in report.categories:
            cell = row.cells.get(category)
            if cell is not None:
                rows.append(
                    [
                        week,
                        district,
                        group_name(request, "category", category),
                        cell.count,
                        _ratio(cell.share),
                        _ratio(cell.index),
                        _ratio(row.volume_index),
                    ]
                )
    rows += [[], ["هفته", "مشکل پرتکرار: دسته", "محل", "تعداد"]]
    rows += [[week, group_name(request, "category", r.category), r.place, r.count] for r in report.recurring]
    name = f"sada-needs-{scope or 'city'}-{jalali(report.first, '-')}.csv"
    return csv_response(rows, name)
