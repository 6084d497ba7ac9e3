"""What an anonymous request can make the store do: fixed periods only, each computed once per
cache time, one computation shared by concurrent requests, and a bounded queue."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import event

from bot.dates.jalali import TEHRAN
from bot.web.public_stats import PublicStats
from storage.store import Store
from tests.digest.seed import Seeder
from tests.reports.conftest import Site
from tests.reports.test_public_privacy import jday

ABAN = "/public/stats.json?period=month&date=1405-08-01"  # the latest complete month on 1 Azar 1405
MEHR = "/public/stats.json?period=month&date=1405-07-01"  # an earlier one


@contextmanager
def statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement the store sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def add_ticket(store: Store, jalali_day: str, code: int) -> None:
    """One more ticket, created at noon of `jalali_day`."""
    seeder = Seeder(store)
    seeder._codes = itertools.count(code)  # the shared seed used the default codes
    day = jday(jalali_day)
    created = datetime(day.year, day.month, day.day, 12, tzinfo=TEHRAN)
    await seeder.ticket(
        created, channel="telegram", category="waste_collection", department="waste", due=created
    )


async def test_a_period_is_computed_once_until_its_cache_time_is_up(site: Site, clients: Any) -> None:
    anonymous = await clients()
    store = site.sada.store
    with statements(store) as seen:
        first = await anonymous.get(ABAN)
        assert first.status == 200 and first.headers["X-Cache"] == "miss"
        figures = await first.json()
        assert figures["total"] == 12 and seen
        computed = len(seen)
        again = await anonymous.get(ABAN)
        assert again.headers["X-Cache"] == "hit" and await again.json() == figures
        # Any day of the month is the same period; the page shares the JSON's figures.
        page = await anonymous.get("/public/stats?period=month&date=1405-08-17")
        assert page.status == 200 and page.headers["X-Cache"] == "hit"
        assert len(seen) == computed  # no statement for the second, third request
        assert again.headers["Cache-Control"] == "public, max-age=300"

        await add_ticket(store, "1405-08-10", 3000001)
        del seen[:]
        cached = await anonymous.get(ABAN)
        assert (await cached.json())["total"] == 12 and not seen  # still the cached answer
        site.clock.advance(timedelta(seconds=299))
        assert (await (await anonymous.get(ABAN)).json())["total"] == 12 and not seen
        site.clock.advance(timedelta(seconds=1))  # the latest month is kept 5 minutes
        fresh = await anonymous.get(ABAN)
        assert fresh.headers["X-Cache"] == "miss" and (await fresh.json())["total"] == 13 and seen

        # An earlier month changes rarely: it is kept a day.
        assert (await (await anonymous.get(MEHR)).json())["total"] == 0
        await add_ticket(store, "1405-07-10", 3000002)
        site.clock.advance(timedelta(hours=23, minutes=59))
        older = await anonymous.get(MEHR)
        assert older.headers["X-Cache"] == "hit" and (await older.json())["total"] == 0
        site.clock.advance(timedelta(minutes=1))
        assert (await (await anonymous.get(MEHR)).json())["total"] == 1


async def test_only_fixed_complete_periods_are_published(site: Site, clients: Any) -> None:
    anonymous = await clients()
    for query, error in (
        ("from=1405-08-01&to=1405-08-30", "fixed_periods"),  # a free range: refused, whatever it is
        ("from=1405-08-09&to=1405-08-12", "fixed_periods"),
        ("to=1405-08-29", "fixed_periods"),
        ("period=year&date=1404-01-01", "bad_period"),
        ("period=month&date=1405-13-01", "bad_date"),
        ("period=day&date=۱۴۰۵/۰۸/۳۲", "bad_date"),
        ("period=month&date=1405-09-01", "incomplete"),  # this month: published when it ends
        ("period=week&date=1405-08-30", "incomplete"),  # this week began yesterday (Saturday)
        ("period=day&date=1405-09-01", "incomplete"),  # today
        ("period=day&date=1405-10-01", "incomplete"),
        ("period=month&date=1406-01-01", "incomplete"),
        ("period=day&date=1394-12-29", "too_old"),  # ten Jalali years back: from 1395 on
        ("period=day&date=0001-01-01", "too_old"),
    ):
        response = await anonymous.get(f"/public/stats.json?{query}")
        assert response.status == 400, query
        assert (await response.json())["error"] == error, query
        assert response.headers["Cache-Control"] == "no-store"
        page = await anonymous.get(f"/public/stats?{query}")
        assert page.status == 400 and 'class="error"' in await page.text(), query
    # A day of a period stands for the whole period; the default is the latest complete month.
    for query, kind, first, last in (
        ("period=week&date=۱۴۰۵/۰۸/۲۶", "week", "1405-08-23", "1405-08-29"),
        ("period=day&date=1405-08-30", "day", "1405-08-30", "1405-08-30"),
        ("period=month&date=1405-08", "month", "1405-08-01", "1405-08-30"),
        ("", "month", "1405-08-01", "1405-08-30"),
        ("period=week", "week", "1405-08-23", "1405-08-29"),
        ("period=day", "day", "1405-08-30", "1405-08-30"),
        ("period=day&date=1395-01-01", "day", "1395-01-01", "1395-01-01"),
    ):
        figures = await (await anonymous.get(f"/public/stats.json?{query}")).json()
        period = figures["period"]
        assert (period["kind"], period["from"], period["to"]) == (kind, first, last), query


@asynccontextmanager
async def own_server(site: Site) -> AsyncIterator[tuple[PublicStats, str]]:
    """The public statistics of `site`'s service mounted alone on another port, so the test holds
    the PublicStats (its computations) it talks to over HTTP."""
    stats = PublicStats(site.sada, site.sada.config.public)
    app = web.Application()
    stats.mount(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    try:
        yield stats, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def until(condition: Any) -> None:
    """Wait (about five seconds at most) until `condition()` holds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the requests never got there")


async def test_concurrent_requests_for_a_period_compute_it_once(site: Site, clients: Any) -> None:
    store = site.sada.store
    with statements(store) as seen:
        assert (await (await clients()).get(ABAN)).status == 200
    once = len(seen)
    async with own_server(site) as (stats, url), aiohttp.ClientSession() as http:
        for _ in range(stats.flights.limit):  # every computing slot busy: computations wait
            await stats.flights.slots.acquire()
        with statements(store) as seen:
            requests = [asyncio.create_task(http.get(url + ABAN)) for _ in range(10)]
            await until(lambda: stats.flights.waiting() == 10)
            assert stats.flights.pending() == 1 and not seen
            for _ in range(stats.flights.limit):
                stats.flights.slots.release()
            responses = await asyncio.gather(*requests)
            assert len(seen) == once  # one computation for ten requests
        assert sorted(r.headers["X-Cache"] for r in responses) == ["miss"] + ["shared"] * 9
        bodies = {await r.read() for r in responses}
        assert len(bodies) == 1 and all(r.status == 200 for r in responses)


async def test_more_waiting_periods_than_the_queue_holds_are_refused(site: Site) -> None:
    async with own_server(site) as (stats, url), aiohttp.ClientSession() as http:
        for _ in range(stats.flights.limit):
            await stats.flights.slots.acquire()
        days = [f"/public/stats.json?period=day&date=1405-07-{d:02}" for d in range(1, 31)]
        queue = stats.flights.queue
        requests = [asyncio.create_task(http.get(url + path)) for path in days[:queue]]
        await until(lambda: stats.flights.pending() == queue)
        refused = await http.get(url + days[queue])
        assert refused.status == 429 and refused.headers["Retry-After"] == "5"
        assert (await refused.json())["error"] == "busy"
        assert refused.headers["Cache-Control"] == "no-store"
        page = await http.get(url + days[queue].replace(".json", ""))
        assert page.status == 429 and 'class="error"' in await page.text()
        joined = asyncio.create_task(http.get(url + days[0]))  # a period already waiting is not refused
        await until(lambda: stats.flights.waiting() == queue + 1)
        for _ in range(stats.flights.limit):
            stats.flights.slots.release()
        responses = await asyncio.gather(*requests, joined)
        assert [r.status for r in responses] == [200] * (queue + 1)
        assert (await http.get(url + days[queue])).status == 200
