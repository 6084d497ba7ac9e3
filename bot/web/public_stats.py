"""Public statistics: a Persian page and a JSON endpoint, no login, no personal data.

`/public/stats` and `/public/stats.json` publish fixed periods only, once they are over: a Tehran
day, a Saturday–Friday week or a Jalali month of the last HISTORY_YEARS years
(`?period=day|week|month&date=<any day of it>`; by default the latest complete month). A free
`from`/`to` range and a period still running are refused (400). The privacy rule
(docs/OPERATIONS.md, "Public statistics privacy rule"):

* Days and weeks publish totals only: tickets created (and per day) and tickets resolved. Totals
  are never hidden: they attach nothing to anyone.
* Breakdowns (by category, district and status, tickets resolved per category) and median times
  to resolve are published per month only. Months do not overlap and no breakdown is crossed with
  another, so no published cell is a sum or difference of other published cells.
* In a breakdown, a cell under `min_tickets` is hidden. Total minus the shown cells gives the
  hidden ones together, so that sum must itself be at least `min_tickets` and cover two cells or
  more: if not, the smallest shown cells are hidden too (secondary suppression). The sum is then
  published as «سایر»; if even hiding every cell does not reach it, the breakdown is left empty,
  and so is a breakdown with a single cell (`suppress`).
* A median is shown only for a shown cell (so over at least `min_tickets` resolved tickets).

Cost: each period is computed once per `cache_seconds` (the latest complete day, week and month,
whose statuses still move) or `past_cache_seconds` (older ones) in this process; requests for a
period being computed wait for that one computation (`Flights`); at most COMPUTATIONS run at once
and at most QUEUE periods may be in progress, beyond which a request is answered 429.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import jdatetime
from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.dates.jalali import to_tehran
from bot.digest.wording import duration
from bot.replies import STATUS_NAMES
from bot.toml_reader import Table
from bot.web.report_periods import Step, bounds, month_of, week_of
from nlp.letters import ascii_digits, persian_digits
from storage.reports import ReportQueries

if TYPE_CHECKING:
    from bot.app import Sada

log = logging.getLogger(__name__)

OTHER, UNKNOWN = "_other", "_unknown"
OTHER_DISTRICTS, OTHER_CATEGORIES, OTHER_STATUSES = "سایر مناطق", "سایر موضوع‌ها", "سایر وضعیت‌ها"
UNKNOWN_DISTRICT = "نامشخص"
COMPUTATIONS = 2  # periods computed at once by one process
QUEUE = 16  # periods in progress (computing or waiting to) before a new one is refused
HISTORY_YEARS = 10  # Jalali years before this one that may be asked for (about 4,700 periods in all)
CACHE_ENTRIES = 8192  # more than every period there is to ask for, so none is pushed out and recomputed
RETRY_AFTER_SECONDS = 5
STEP_NAMES = {Step.DAY: "روز", Step.WEEK: "هفته", Step.MONTH: "ماه"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ERRORS = {
    "fixed_periods": "آمار فقط برای یک روز، یک هفته (شنبه تا جمعه) یا یک ماه است، نه بازهٔ دلخواه.",
    "bad_period": "دوره باید روز، هفته یا ماه باشد.",
    "bad_date": "تاریخ را به شکل ۱۴۰۵/۰۹/۰۱ بنویسید.",
    "incomplete": "آمار هر دوره پس از پایان آن منتشر می‌شود.",
    "too_old": "آمار ده سال گذشته منتشر می‌شود.",
    "busy": "اکنون آمار دوره‌های زیادی در حال محاسبه است؛ چند ثانیه دیگر دوباره تلاش کنید.",
}


@dataclass(frozen=True, slots=True)
class PublicSettings:
    """The `[public]` section."""

    min_tickets: int
    cache_seconds: int
    past_cache_seconds: int


def read_public_settings(t: Table) -> PublicSettings:
    """Validate `[public]` (ConfigError names a bad key); keys of older versions are still read."""
    if t.has("stats_days"):
        t.int("stats_days", 30)
        log.warning("config: public.stats_days is no longer used: only days, weeks and months are published")
    default = 5
    if t.has("min_district_tickets"):
        default = t.int("min_district_tickets", 5, minimum=3, maximum=1000)
        log.warning(
            "config: public.min_district_tickets is now public.min_tickets (it applies to every cell)"
        )
    s = PublicSettings(
        min_tickets=t.int("min_tickets", default, minimum=3, maximum=1000),
        cache_seconds=t.int("cache_seconds", 300, minimum=10, maximum=86400),
        past_cache_seconds=t.int("past_cache_seconds", 86400, minimum=60, maximum=30 * 86400),
    )
    t.check_unknown()
    return s


class BadPeriod(ValueError):
    """A period that is not published; the key of a message in ERRORS."""


def jalali(day: date) -> str:
    """1405-09-01"""
    return jdatetime.date.fromgregorian(date=day).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class FixedPeriod:
    """A Tehran day, a Saturday–Friday week or a Jalali month: the only periods published."""

    step: Step
    first: date
    last: date

    @classmethod
    def holding(cls, step: Step, day: date) -> FixedPeriod:
        """The period of kind `step` that holds `day`."""
        if step is Step.DAY:
            return cls(step, day, day)
        return cls(step, *(week_of(day) if step is Step.WEEK else month_of(day)))

    def before(self) -> FixedPeriod:
        return FixedPeriod.holding(self.step, self.first - timedelta(days=1))

    def after(self) -> FixedPeriod:
        return FixedPeriod.holding(self.step, self.last + timedelta(days=1))

    @property
    def key(self) -> str:
        """1405-08 for a month; the first day (a Saturday for a week) otherwise."""
        return jalali(self.first)[:7] if self.step is Step.MONTH else jalali(self.first)

    @property
    def title(self) -> str:
        """آبان 1405 · هفتهٔ 1405/08/23 تا 1405/08/29 · جمعه 1405/08/29 (digits made Persian on the page)."""
        j = jdatetime.date.fromgregorian(date=self.first)
        if self.step is Step.MONTH:
            return f"{jdatetime.date.j_months_fa[j.month - 1]} {j.year}"
        if self.step is Step.WEEK:
            return f"هفتهٔ {_slashed(self.first)} تا {_slashed(self.last)}"
        return f"{jdatetime.date.j_weekdays_fa[j.weekday()]} {_slashed(self.first)}"

    @property
    def url(self) -> str:
        return f"/public/stats?period={self.step.value}&date={jalali(self.first)}"


def _slashed(day: date) -> str:
    return jalali(day).replace("-", "/")


def latest(step: Step, today: date) -> FixedPeriod:
    """The latest period of kind `step` that is over by `today`."""
    period = FixedPeriod.holding(step, today - timedelta(days=1))
    return period if period.last < today else period.before()


def parse_period(query: Mapping[str, str], today: date) -> FixedPeriod:
    """`period` (day, week, month; default month) holding `date` (default: the latest complete one)."""
    if "from" in query or "to" in query:
        raise BadPeriod("fixed_periods")
    try:
        step = Step(query.get("period", "").strip() or Step.MONTH.value)
    except ValueError:
        raise BadPeriod("bad_period") from None
    text = query.get("date", "").strip()
    if not text:
        return latest(step, today)
    period = FixedPeriod.holding(step, _day(text, today))
    if period.last >= today:
        raise BadPeriod("incomplete")
    return period


def _day(text: str, today: date) -> date:
    """A Jalali YYYY-MM-DD, or YYYY-MM for the month's first day (any digits, - or /), of the
    last HISTORY_YEARS years."""
    parts = ascii_digits(text).replace("/", "-").split("-")
    if len(parts) == 2:
        parts.append("1")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
        raise BadPeriod("bad_date")
    year, month, day = (int(p) for p in parts)
    if year < _year(today) - HISTORY_YEARS:
        raise BadPeriod("too_old")
    if year > _year(today):
        raise BadPeriod("incomplete")
    try:
        return jdatetime.date(year, month, day).togregorian()
    except ValueError:
        raise BadPeriod("bad_date") from None


def _year(day: date) -> int:
    return int(jdatetime.date.fromgregorian(date=day).year)


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A breakdown as published: the shown cells (busiest first) and the hidden ones together."""

    shown: list[tuple[str, int]]
    other: int | None


def suppress(counts: Mapping[str, int], k: int) -> Suppressed:
    """Hide cells under `k`; while the hidden cells are fewer than two or add up to less than `k`,
    hide the smallest shown one too; if even all of them add up to less than `k`, show nothing.

    A breakdown with one cell is not shown either: it would say every ticket of the month has that
    value, and so, with the published day totals, how many of them each day had."""
    ascending = sorted((n, key) for key, n in counts.items() if n > 0)
    if len(ascending) < 2:
        return Suppressed([], None)
    hidden = [(n, key) for n, key in ascending if n < k]
    shown = [(n, key) for n, key in ascending if n >= k]
    while hidden and (len(hidden) < 2 or sum(n for n, _ in hidden) < k) and shown:
        hidden.append(shown.pop(0))
    together = sum(n for n, _ in hidden)
    if hidden and (len(hidden) < 2 or together < k):
        return Suppressed([], None)  # everything hidden: their sum is the published total anyway
    shown.sort(key=lambda c: (c[1] == UNKNOWN, -c[0], c[1]))
    return Suppressed([(key, n) for n, key in shown], together if hidden else None)


def _rows(s: Suppressed, name: Callable[[str], str], other: str) -> list[dict[str, Any]]:
    rows = [{"key": key, "name": name(key), "count": n} for key, n in s.shown]
    if s.other is not None:
        rows.append({"key": OTHER, "name": other, "count": s.other})
    return rows


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def compute(sada: Sada, period: FixedPeriod, k: int) -> dict[str, Any]:
    """The published figures of `period`, as the JSON document."""
    start, end = bounds(period.first, period.last)
    monthly = period.step is Step.MONTH
    categories = sada.config.taxonomy.categories
    by_status: dict[str, int] = {}
    solved = Suppressed([], None)
    medians: dict[str, float | None] = {}
    overall: float | None = None
    async with sada.store.read() as tx:
        q = ReportQueries(tx.session)
        buckets = await q.buckets(start, end, None)
        resolved = await q.resolved_by_category(start, end)
        if monthly:
            by_status = await q.counts("status", None, start, end)
            solved = suppress(resolved, k)
            for key, _ in solved.shown:
                medians[key] = await q.median_hours_to_resolve(start, end, None, category=key)
            if sum(resolved.values()) >= k:
                overall = await q.median_hours_to_resolve(start, end, None)
    per_day, per_category, per_district = Counter[str](), Counter[str](), Counter[str]()
    for b in buckets:
        per_day[b.day] += b.count
        per_category[b.category] += b.count
        per_district[b.district or UNKNOWN] += b.count
    days = [period.first + timedelta(days=n) for n in range((period.last - period.first).days + 1)]
    doc: dict[str, Any] = {
        "period": {
            "kind": period.step.value,
            "key": period.key,
            "from": jalali(period.first),
            "to": jalali(period.last),
            "from_gregorian": period.first.isoformat(),
            "to_gregorian": period.last.isoformat(),
            "timezone": "Asia/Tehran",
        },
        "total": sum(per_day.values()),
        "resolved": sum(resolved.values()),
        "by_day": [{"date": jalali(d), "count": per_day.get(d.isoformat(), 0)} for d in days],
        "by_category": None,
        "by_district": None,
        "by_status": None,
        "median_hours_to_resolve": None,
        "privacy": {"min_tickets": k, "breakdowns": Step.MONTH.value},
    }
    if not monthly:
        return doc

    def category(code: str) -> str:
        return categories[code].name if code in categories else code

    statuses = {s.value: label for s, label in STATUS_NAMES.items()}
    doc["by_category"] = _rows(suppress(per_category, k), category, OTHER_CATEGORIES)
    doc["by_district"] = _rows(
        suppress(per_district, k), lambda d: UNKNOWN_DISTRICT if d == UNKNOWN else d, OTHER_DISTRICTS
    )
    doc["by_status"] = _rows(suppress(by_status, k), lambda s: statuses.get(s, s), OTHER_STATUSES)
    rows = [
        {"key": key, "name": category(key), "resolved": n, "hours": _hours(medians[key])}
        for key, n in solved.shown
    ]
    if solved.other is not None:
        rows.append({"key": OTHER, "name": OTHER_CATEGORIES, "resolved": solved.other, "hours": None})
    doc["median_hours_to_resolve"] = {"all": _hours(overall), "by_category": rows}
    return doc


class Busy(Exception):
    """Too many periods are in progress; the caller should try again shortly."""


class Flights[K: Hashable, V]:
    """Callers asking for a key while it is computed share that one computation; at most `limit`
    computations run at once, and at most `queue` keys are in progress (running or waiting)."""

    def __init__(self, limit: int, queue: int) -> None:
        self.limit = limit
        self.queue = queue
        self.slots = asyncio.Semaphore(limit)
        self._tasks: dict[K, asyncio.Task[V]] = {}
        self._waiting = 0

    def pending(self) -> int:
        """Keys in progress."""
        return len(self._tasks)

    def waiting(self) -> int:
        """Callers waiting for a computation."""
        return self._waiting

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """The result of `work()` for `key`, and whether this call started it; Busy when full."""
        task = self._tasks.get(key)
        started = task is None
        if task is None:
            if len(self._tasks) >= self.queue:
                raise Busy
            task = asyncio.create_task(self._limited(work))
            self._tasks[key] = task
            task.add_done_callback(partial(self._done, key))
        self._waiting += 1
        try:
            # A caller that goes away does not cancel what the others wait for.
            return await asyncio.shield(task), started
        finally:
            self._waiting -= 1

    async def _limited(self, work: Callable[[], Awaitable[V]]) -> V:
        async with self.slots:
            return await work()

    def _done(self, key: K, task: asyncio.Task[V]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            task.exception()  # every waiter got it; nobody else needs to hear of it

    async def aclose(self) -> None:
        """Cancel computations still running (the service is stopping)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class Entry:
    """One period's figures, when they were computed and for how long they stand."""

    figures: dict[str, Any]
    computed_at: datetime
    ttl: timedelta

    def left(self, now: datetime) -> timedelta:
        """How much longer the figures stand (zero: compute again; also if the clock went back)."""
        if now < self.computed_at:
            return timedelta(0)
        return max(self.computed_at + self.ttl - now, timedelta(0))


@dataclass(frozen=True, slots=True)
class Answer:
    """What a request gets: figures (with where they came from) or the key of an error."""

    period: FixedPeriod | None
    entry: Entry | None = None
    source: str = ""  # hit (cached), miss (computed for this request), shared (computed for another)
    error: str | None = None


class PublicStats:
    """The two routes, the cache of computed periods and the computations in progress."""

    def __init__(self, sada: Sada, settings: PublicSettings) -> None:
        self._sada = sada
        self._settings = settings
        self._cache: dict[FixedPeriod, Entry] = {}
        self.flights: Flights[FixedPeriod, Entry] = Flights(COMPUTATIONS, QUEUE)

    def mount(self, app: web.Application) -> None:
        """Add the routes, and stop computations when the application stops."""
        app.add_routes([web.get("/public/stats", self.page), web.get("/public/stats.json", self.json)])
        app.on_cleanup.append(self._cleanup)

    async def _cleanup(self, _app: web.Application) -> None:
        await self.flights.aclose()

    def _today(self) -> date:
        return to_tehran(self._sada.clock.now()).date()

    async def _answer(self, request: web.Request) -> Answer:
        today = self._today()
        try:
            period = parse_period(request.query, today)
        except BadPeriod as exc:
            return Answer(None, error=str(exc))
        hit = self._cache.get(period)
        if hit is not None and hit.left(self._sada.clock.now()):
            return Answer(period, hit, "hit")
        try:
            entry, started = await self.flights.run(period, partial(self._compute, period, today))
        except Busy:
            log.debug("public statistics: %d periods in progress, refused one more", self.flights.pending())
            return Answer(period, error="busy")
        return Answer(period, entry, "miss" if started else "shared")

    async def _compute(self, period: FixedPeriod, today: date) -> Entry:
        figures = await compute(self._sada, period, self._settings.min_tickets)
        recent = period == latest(period.step, today)  # its tickets' statuses still move
        seconds = self._settings.cache_seconds if recent else self._settings.past_cache_seconds
        entry = Entry(figures, self._sada.clock.now(), timedelta(seconds=seconds))
        self._cache.pop(period, None)  # re-inserted last: the dict stays in order of computation
        while len(self._cache) >= CACHE_ENTRIES:
            del self._cache[next(iter(self._cache))]
        self._cache[period] = entry
        return entry

    def _respond(self, request: web.Request, answer: Answer, body: bytes, content_type: str) -> web.Response:
        headers = dict(HEADERS)
        if answer.entry is None:
            status = 429 if answer.error == "busy" else 400
            headers["Cache-Control"] = "no-store"
            if status == 429:
                headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return web.Response(
                body=body, status=status, content_type=content_type, charset="utf-8", headers=headers
            )
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        left = int(answer.entry.left(self._sada.clock.now()).total_seconds())
        headers.update({"Cache-Control": f"public, max-age={left}", "ETag": etag, "X-Cache": answer.source})
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)

    async def json(self, request: web.Request) -> web.Response:
        """GET /public/stats.json"""
        answer = await self._answer(request)
        document = (
            answer.entry.figures
            if answer.entry is not None
            else {"error": answer.error, "message": ERRORS.get(answer.error or "", "")}
        )
        body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        response = self._respond(request, answer, body, "application/json")
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    async def page(self, request: web.Request) -> web.Response:
        """GET /public/stats"""
        answer = await self._answer(request)
        today = self._today()
        period = answer.period
        context: dict[str, Any] = {
            "stats": answer.entry.figures if answer.entry is not None else None,
            "error": ERRORS.get(answer.error or "") if answer.error else None,
            "title": period.title if period is not None else None,
            "kinds": [
                {
                    "label": STEP_NAMES[step],
                    "url": latest(step, today).url,
                    "current": period is not None and period.step is step,
                }
                for step in (Step.DAY, Step.WEEK, Step.MONTH)
            ],
            "steps": [(step.value, label) for step, label in STEP_NAMES.items()],
            "query": {
                "period": period.step.value if period is not None else request.query.get("period", "month"),
                "date": request.query.get("date", ""),
            },
            "previous": None,
            "next": None,
            "month": None,
            "json_url": "/public/stats.json",
        }
        if period is not None:
            before, after = period.before(), period.after()
            month = FixedPeriod.holding(Step.MONTH, period.first)
            context.update(
                previous=before.url if _year(before.first) >= _year(today) - HISTORY_YEARS else None,
                next=after.url if after.last < today else None,
                month=month if month.last < today and period.step is not Step.MONTH else None,
                json_url=period.url.replace("/public/stats?", "/public/stats.json?"),
            )
        html = _templates().get_template("public_stats.html").render(**context)
        return self._respond(request, answer, html.encode("utf-8"), "text/html")


@cache
def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.web", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fa=lambda v: persian_digits(str(v)),
        hours=duration,
        jdate=lambda v: persian_digits(str(v).replace("-", "/")),
        weekday=lambda v: jdatetime.date.j_weekdays_fa[
            jdatetime.date(*(int(p) for p in str(v).split("-"))).weekday()
        ],
    )
    return env


def setup_public_stats(app: web.Application, sada: Sada) -> None:
    """Mount /public/stats and /public/stats.json."""
    PublicStats(sada, sada.config.public).mount(app)
