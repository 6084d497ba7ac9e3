"""Public statistics: a Persian page and a JSON endpoint, no login, no personal data.

`/public/stats` and `/public/stats.json` publish, for a period of complete Tehran days (by default
the last `[public] stats_days`, ending yesterday): tickets per category, per district and per
status, and median hours to resolve, overall and per category. Nothing finer than a district is
published: no texts, phone numbers, places named in messages or tracking codes. Districts with fewer
than `min_district_tickets` tickets are merged into «سایر مناطق», and a category's median is only
shown when that many tickets were resolved, so no figure describes one or two people. Responses
are cacheable (`Cache-Control: public`, an ETag) and computed at most once per `cache_seconds`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

import jdatetime
from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.digest.figures import parse_day
from bot.digest.wording import duration
from bot.jalali import to_tehran
from bot.replies import STATUS_NAMES
from bot.settings import Table
from nlp.letters import persian_digits
from storage.report_queries import MAX_DAYS, bounds, resolved_by_category
from storage.reports import ReportQueries

if TYPE_CHECKING:
    from bot.app import Sada

OTHER, UNKNOWN = "_other", "_unknown"
NAMES = {OTHER: "سایر مناطق", UNKNOWN: "نامشخص"}
CACHED_PERIODS = 32
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ERRORS = {
    "bad_date": "تاریخ را به شکل ۱۴۰۵/۰۹/۰۱ بنویسید.",
    "reversed": "تاریخ شروع بعد از تاریخ پایان است.",
    "too_long": "بازه حداکثر یک سال (۳۶۶ روز) است.",
    "future": "آمار روزهای آینده هنوز وجود ندارد.",
}


@dataclass(frozen=True, slots=True)
class PublicSettings:
    """The `[public]` section."""

    days: int
    min_tickets: int
    cache_seconds: int


def read_public_settings(t: Table) -> PublicSettings:
    """Validate `[public]` (ConfigError names a bad key)."""
    s = PublicSettings(
        days=t.int("stats_days", 30, minimum=1, maximum=MAX_DAYS),
        min_tickets=t.int("min_district_tickets", 5, minimum=1, maximum=1000),
        cache_seconds=t.int("cache_seconds", 300, minimum=0, maximum=86400),
    )
    t.check_unknown()
    return s


class BadPeriod(ValueError):
    """A period the statistics cannot cover; the key of a message in ERRORS."""


def jalali(day: date) -> str:
    """1405-09-01"""
    return jdatetime.date.fromgregorian(date=day).strftime("%Y-%m-%d")


def parse_period(query: Mapping[str, str], today: date, days: int) -> tuple[date, date]:
    """`from` … `to` (Jalali days, both included); by default the `days` complete days before today."""

    def day(key: str, default: date) -> date:
        text = query.get(key, "").strip()
        if not text:
            return default
        try:
            return parse_day(text)
        except ValueError:
            raise BadPeriod("bad_date") from None

    last = day("to", today - timedelta(days=1))
    first = day("from", last - timedelta(days=days - 1))
    if last > today:
        raise BadPeriod("future")
    if first > last:
        raise BadPeriod("reversed")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadPeriod("too_long")
    return first, last


async def compute(sada: Sada, first: date, last: date, min_tickets: int) -> dict[str, Any]:
    """The published figures for the Tehran days `first` … `last`, as the JSON document."""
    start, end = bounds(first, last)
    categories = sada.config.taxonomy.categories
    async with sada.store.read() as tx:
        q = ReportQueries(tx.session)
        by_category = await q.counts("category", None, start, end)
        by_district = await q.counts("district", None, start, end)
        by_status = await q.counts("status", None, start, end)
        resolved = await resolved_by_category(tx.session, start, end)
        overall = await q.median_hours_to_resolve(start, end, None)
        medians = {
            code: await q.median_hours_to_resolve(start, end, None, category=code)
            for code, n in resolved.items()
            if n >= min_tickets
        }
    districts: dict[str, int] = {}
    for district, n in by_district.items():
        key = UNKNOWN if not district else (district if n >= min_tickets else OTHER)
        districts[key] = districts.get(key, 0) + n
    statuses = {s.value: label for s, label in STATUS_NAMES.items()}

    def name(code: str) -> str:
        return categories[code].name if code in categories else code

    def ordered(counts: Mapping[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (kv[0] in NAMES, -kv[1], kv[0]))

    return {
        "period": {
            "from": jalali(first),
            "to": jalali(last),
            "from_gregorian": first.isoformat(),
            "to_gregorian": last.isoformat(),
            "timezone": "Asia/Tehran",
        },
        "total": sum(by_category.values()),
        "by_category": [{"key": k, "name": name(k), "count": n} for k, n in ordered(by_category)],
        "by_district": [{"key": k, "name": NAMES.get(k, k), "count": n} for k, n in ordered(districts)],
        "by_status": [{"key": k, "name": statuses.get(k, k), "count": n} for k, n in ordered(by_status)],
        "median_hours_to_resolve": {
            "all": _hours(overall) if sum(resolved.values()) >= min_tickets else None,
            "by_category": [
                {"key": k, "name": name(k), "resolved": resolved[k], "hours": _hours(medians.get(k))}
                for k, _ in ordered(resolved)
            ],
        },
        "privacy": {"min_tickets": min_tickets},
    }


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class PublicStats:
    """The two routes and a small cache of computed periods."""

    def __init__(self, sada: Sada, settings: PublicSettings) -> None:
        self._sada = sada
        self._settings = settings
        self._cache: dict[tuple[date, date], tuple[float, dict[str, Any]]] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/public/stats", self.page), web.get("/public/stats.json", self.json)]

    async def _figures(self, request: web.Request) -> tuple[dict[str, Any] | None, str | None]:
        today = to_tehran(self._sada.clock.now()).date()
        try:
            first, last = parse_period(request.query, today, self._settings.days)
        except BadPeriod as exc:
            return None, str(exc)
        now = time.monotonic()
        hit = self._cache.get((first, last))
        if hit is not None and now - hit[0] < self._settings.cache_seconds:
            return hit[1], None
        figures = await compute(self._sada, first, last, self._settings.min_tickets)
        if len(self._cache) >= CACHED_PERIODS:
            self._cache.pop(min(self._cache, key=lambda k: self._cache[k][0]))
        self._cache[(first, last)] = (now, figures)
        return figures, None

    def _respond(self, request: web.Request, body: bytes, content_type: str, status: int) -> web.Response:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = dict(HEADERS)
        if status == 200:
            headers["Cache-Control"] = f"public, max-age={self._settings.cache_seconds}"
            headers["ETag"] = etag
            if etag in request.headers.get("If-None-Match", ""):
                return web.Response(status=304, headers=headers)
        else:
            headers["Cache-Control"] = "no-store"
        return web.Response(
            body=body, status=status, content_type=content_type, charset="utf-8", headers=headers
        )

    async def json(self, request: web.Request) -> web.Response:
        """GET /public/stats.json"""
        figures, error = await self._figures(request)
        document = (
            figures if figures is not None else {"error": error, "message": ERRORS.get(error or "", "")}
        )
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        response = self._respond(request, body, "application/json", 200 if figures is not None else 400)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def page(self, request: web.Request) -> web.Response:
        """GET /public/stats"""
        figures, error = await self._figures(request)
        html = (
            _templates()
            .get_template("public_stats.html")
            .render(
                stats=figures,
                error=ERRORS.get(error or "") if error else None,
                query={k: request.query.get(k, "") for k in ("from", "to")},
                json_url="/public/stats.json?" + request.query_string
                if request.query_string
                else "/public/stats.json",
            )
        )
        return self._respond(request, html.encode("utf-8"), "text/html", 200 if figures is not None else 400)


@cache
def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fa=lambda v: persian_digits(str(v)), hours=duration)
    return env


def setup_public_stats(app: web.Application, sada: Sada) -> None:
    """Mount /public/stats and /public/stats.json (config errors raise ConfigError)."""
    app.add_routes(PublicStats(sada, read_public_settings(sada.config.public)).routes())
