"""Trends by category or district over a Jalali date range: a table, an inline SVG chart, CSV export.

Managers and operators see the whole city (and may narrow it to one department); department
staff always see their own department only, whatever the query string says. The helpers here
(the date range, the scope, CSV output) serve the needs report and the digest page too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import jdatetime
from aiohttp import web

from bot.dates.jalali import to_tehran
from bot.digest.figures import parse_day
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.rendering import render
from bot.web.report_periods import MAX_DAYS, TREND_KEYS, UNKNOWN_DISTRICT, Step, Trend, bounds, trend
from nlp.letters import ascii_digits, persian_digits
from storage.reports import ReportQueries, Workload

DEFAULT_DAYS = 30
CHART_LINES = 6
COLORS = ("#0b6e6e", "#c2571a", "#6a4c93", "#1b7a3a", "#b3261e", "#8a6d00")
# A cell starting with one of these is a formula to Excel: prefix it so it stays text (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class BadReportQuery(ValueError):
    """A report parameter that cannot be used; `key` says which message the page shows."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def today(request: web.Request) -> date:
    """Today in Tehran, by the service's clock."""
    return to_tehran(panel_of(request).sada.clock.now()).date()


def jalali(day: date, sep: str = "/") -> str:
    """1405/09/01 (ASCII digits: for CSV cells, file names and form values)."""
    return jdatetime.date.fromgregorian(date=day).strftime(f"%Y{sep}%m{sep}%d")


def report_scope(request: web.Request) -> str | None:
    """The department this user's reports cover (None: the whole city); 403 for roles without tickets."""
    principal = principal_of(request)
    if not principal.sees_tickets:
        raise web.HTTPForbidden(reason="role sees no tickets")
    if principal.scope is not None:
        return principal.scope  # staff: their own department, never widened by the query
    wanted = request.query.get("department", "").strip()
    if wanted and wanted in panel_of(request).sada.config.taxonomy.departments:
        return wanted
    return None


def parse_range(query: Mapping[str, str], now: date) -> tuple[date, date]:
    """`from` … `to` (Jalali, any digits; default the last 30 days); BadReportQuery when unusable."""

    def day(key: str, default: date) -> date:
        text = query.get(key, "").strip()
        if not text:
            return default
        try:
            return parse_day(text)
        except ValueError:
            raise BadReportQuery("bad_date") from None

    last = day("to", now)
    first = day("from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise BadReportQuery("reversed")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadReportQuery("too_long")
    return first, last


def csv_cell(value: object) -> str:
    """A value as a CSV cell: ASCII digits, and text that a spreadsheet never runs as a formula.

    A CSV is for spreadsheets and scripts, which read only ASCII digits as numbers and dates: so
    every digit is ASCII, names too («منطقه 1»), and a column compares and sorts as one script."""
    text = ascii_digits(str(value))
    return "'" + text if text.startswith(_FORMULA) else text


def csv_response(rows: Iterable[Iterable[object]], filename: str) -> web.Response:
    """UTF-8 CSV with a byte-order mark, so Excel shows Persian; offered as a download."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def group_name(request: web.Request, by: str, key: str) -> str:
    """The Persian name of a category, or a district as written (with Persian digits)."""
    if by == "category":
        found = panel_of(request).sada.config.taxonomy.categories.get(key)
        return found.name if found else key
    return persian_digits(key) if key != UNKNOWN_DISTRICT else "نامشخص"


@dataclass(frozen=True, slots=True)
class ChartLine:
    """One series as an SVG polyline."""

    name: str
    color: str
    points: str


@dataclass(frozen=True, slots=True)
class Chart:
    """An inline SVG line chart; time runs right to left, like the table's columns."""

    width: int
    height: int
    lines: tuple[ChartLine, ...]
    x_labels: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    left: int
    right: int
    top: int
    bottom: int


def make_chart(request: web.Request, t: Trend, labels: list[str]) -> Chart:
    """The busiest series of a trend, scaled into a 900 × 300 drawing."""
    width, height, left, right, top, bottom = 900, 300, 50, 840, 15, 255
    n = len(t.periods)
    peak = max([max(s.counts) for s in t.series[:CHART_LINES]] + [1])
    step = (right - left) / max(n - 1, 1)

    def x(i: int) -> float:
        return round(right - i * step, 1) if n > 1 else (left + right) / 2

    def y(v: float) -> float:
        return round(bottom - (bottom - top) * v / peak, 1)

    lines = tuple(
        ChartLine(
            group_name(request, t.by, s.key),
            COLORS[i % len(COLORS)],
            " ".join(f"{x(j)},{y(v)}" for j, v in enumerate(s.counts)),
        )
        for i, s in enumerate(t.series[:CHART_LINES])
    )
    every = max(1, n // 8)
    x_labels = tuple((x(i), labels[i]) for i in range(0, n, every))
    ticks = sorted({0, peak // 2, peak})
    return Chart(
        width,
        height,
        lines,
        x_labels,
        tuple((y(v), persian_digits(str(v))) for v in ticks),
        left,
        right,
        top,
        bottom,
    )


def period_labels(t: Trend) -> list[str]:
    """Column headings in Persian: a day, or the first day of a week or a Jalali month."""
    if t.step is Step.MONTH:
        return [
            persian_digits(jdatetime.date.fromgregorian(date=p.first).strftime("%Y/%m")) for p in t.periods
        ]
    return [persian_digits(jalali(p.first)) for p in t.periods]


async def _trend(request: web.Request) -> tuple[Trend, str | None, tuple[date, date]]:
    scope = report_scope(request)
    by = request.query.get("by", "category")
    if by not in TREND_KEYS:
        raise BadReportQuery("bad_group")
    first, last = parse_range(request.query, today(request))
    async with panel_of(request).sada.store.read() as tx:
        return await trend(ReportQueries(tx.session), by, first, last, scope), scope, (first, last)


async def reports_page(request: web.Request) -> web.Response:
    """GET /panel/reports"""
    report_scope(request)
    query = {k: request.query[k] for k in ("from", "to", "by", "department") if request.query.get(k)}
    scoped = principal_of(request).scope is not None
    try:
        t, scope, (first, last) = await _trend(request)
    except BadReportQuery as exc:
        return render(
            request,
            "reports.html",
            status=400,
            error=exc.key,
            query=query,
            trend=None,
            scoped=scoped,
            workload=None,
        )
    labels = period_labels(t)
    workload = await _workload(request, scope, first, last)
    return render(
        request,
        "reports.html",
        error=None,
        query=query,
        trend=t,
        first=jalali(first),
        last=jalali(last),
        labels=labels,
        names=[group_name(request, t.by, s.key) for s in t.series],
        chart=make_chart(request, t, labels) if t.series else None,
        scope=scope,
        scoped=scoped,
        csv_url="/panel/reports.csv?" + urlencode({**query, "from": jalali(first), "to": jalali(last)}),
        workload=workload,
        workload_csv_url="/panel/reports/workload.csv?"
        + urlencode({**query, "from": jalali(first), "to": jalali(last)}),
    )


async def reports_csv(request: web.Request) -> web.Response:
    """GET /panel/reports.csv: the same table; one row per group, one column per period."""
    try:
        t, scope, (first, last) = await _trend(request)
    except BadReportQuery as exc:
        raise web.HTTPBadRequest(reason=exc.key) from None
    heading = "دسته" if t.by == "category" else "منطقه"
    columns = [
        jalali(p.first) if p.first == p.last else f"{jalali(p.first)}–{jalali(p.last)}" for p in t.periods
    ]
    rows: list[list[object]] = [[heading, *columns, "جمع"]]
    rows += [[group_name(request, t.by, s.key), *s.counts, s.total] for s in t.series]
    rows.append(["جمع", *t.totals, t.total])
    name = f"sada-trend-{t.by}-{scope or 'city'}-{jalali(first, '-')}_{jalali(last, '-')}.csv"
    return csv_response(rows, name)


async def _workload(request: web.Request, scope: str | None, first: date, last: date) -> list[Workload]:
    start, end = bounds(first, last)
    async with panel_of(request).sada.store.read() as tx:
        return await ReportQueries(tx.session).workload(start, end, panel_of(request).sada.clock.now(), scope)


def workload_name(row: Workload) -> str:
    """The person's name, or «واگذارنشده» for the tickets nobody has."""
    return (row.display_name or row.username) if row.user_id is not None else "واگذارنشده"


async def workload_csv(request: web.Request) -> web.Response:
    """GET /panel/reports/workload.csv: one row per person (open, past due, resolved in the period)."""
    scope = report_scope(request)
    try:
        first, last = parse_range(request.query, today(request))
    except BadReportQuery as exc:
        raise web.HTTPBadRequest(reason=exc.key) from None
    departments = panel_of(request).sada.config.taxonomy.departments
    rows: list[list[object]] = [["کارشناس", "نام کاربری", "واحد", "باز", "گذشته از مهلت", "رفع‌شده در بازه"]]
    for w in await _workload(request, scope, first, last):
        department = departments.get(w.department or "", w.department or "")
        rows.append([workload_name(w), w.username, department, w.open, w.overdue, w.resolved])
    return csv_response(rows, f"sada-workload-{scope or 'city'}-{jalali(first, '-')}_{jalali(last, '-')}.csv")
