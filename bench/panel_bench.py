"""How fast the panel's ticket list and search answer on a large store (issue 17: < 200 ms).

    python bench/panel_bench.py                          # 100,000 tickets, SQLite, temporary file
    python bench/panel_bench.py --store postgres         # the same on PostgreSQL ($SADA_TEST_PG)
    python bench/panel_bench.py --db panel.db --keep     # reuse a seeded SQLite file
    python bench/panel_bench.py --url map=/panel/map --url 'map data=/panel/map.json?overdue=1'

Creates the schema through the real migrations, then bulk-inserts tickets spread over two years
over every category (and so department), 22 districts (70 % of tickets), four channels, statuses
by age (old tickets mostly closed), 5 % urgent, a third of the open ones given to a staff member,
each with one reporter (Telegram or an SMS phone number) — SQLAlchemy Core `executemany` in
batches, one path for both stores. Then starts the real service in this process (its aiohttp app on
127.0.0.1, no background tasks), logs in as an operator and a department staff member through the
login form, and requests each page N times over HTTP with a keep-alive client.

What is timed: a page's round trip over loopback, from sending the request to having read the whole
body, so the figure is the server's time plus a loopback HTTP exchange (the `static file` line, a
CSS file served by the same app, shows that floor). The baseline of each list page is the bare SQL
it stands for, timed on the same engine in the same run: a count of the matching rows and one
page of them with the same ORDER BY, LIMIT and OFFSET.

`--url NAME=PATH` adds a page (as the operator), e.g. the map's once it exists; `--explain` prints
the query plan of each list query (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.crash_test import drop_pg_database, pg_database  # noqa: E402
from bot.app import Sada  # noqa: E402
from bot.config import config_from_mapping  # noqa: E402
from bot.models import Medium  # noqa: E402
from bot.tracking import new_code  # noqa: E402
from bot.web.panel.passwords import hash_password  # noqa: E402
from channels.fake import FakeChannel  # noqa: E402
from storage.panel_queries import PanelQueries, TicketFilter  # noqa: E402
from storage.store import Store  # noqa: E402
from storage.tables import CitizenRow, IdentityRow, ReporterRow, TicketRow, UserRow, table_of  # noqa: E402

CHANNELS = (("telegram", 0.45), ("bale", 0.15), ("sms", 0.3), ("hotline", 0.1))
OPEN = ("registered", "referred", "in_progress", "reopened")
DAYS = 730
PASSWORD = "bench-password-long-enough"  # noqa: S105 - accounts of a throwaway database
STREETS = (
    "فردوسی", "انقلاب", "آزادی", "ولیعصر", "شریعتی", "مطهری", "طالقانی", "جمهوری", "کارگر", "نواب",
    "ستارخان", "پیروزی", "دماوند", "پاسداران", "میرداماد", "بهار", "سعدی", "حافظ", "مولوی", "خیام",
)  # fmt: skip
SENTENCES = (
    "زباله‌های کوچه چند روز است جمع نشده و بوی بدی گرفته",
    "یک چالهٔ بزرگ وسط خیابان هست و ماشین‌ها آسیب می‌بینند",
    "چراغ‌های کوچه از هفتهٔ پیش خاموش است و شب‌ها تاریک است",
    "آب از لولهٔ شکسته کنار پیاده‌رو بیرون می‌زند",
    "درخت کهنسال کنار پارک کج شده و ممکن است بیفتد",
    "سگ‌های ولگرد در پارک محله برای بچه‌ها خطرناک شده‌اند",
    "جوی آب گرفته و با هر بارانی آب در خیابان جمع می‌شود",
    "پیمانکار ساختمانی نخاله را در پیاده‌رو ریخته است",
    "صدای کارگاه تا نیمه‌شب مزاحم همسایه‌هاست",
    "تابلوی ایستگاه اتوبوس شکسته و افتاده است",
)
RARE = "نارون"  # in one ticket of a thousand: a word search that finds few


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the searches look for: a tracking code and a phone number that exist."""

    code: str
    phone: str
    staff: str  # a staff member with tickets given to them
    department: str


async def seed(engine: AsyncEngine, tickets: int, end: datetime, rnd: random.Random) -> Seeded:
    """Bulk-insert `tickets` tickets created over the `DAYS` days before `end`, with reporters."""
    config = config_from_mapping({}, base_dir=Path("."), env={})
    taxonomy = config.taxonomy
    categories = [(code, c.department, c.sla_days) for code, c in taxonomy.categories.items()]
    weights = [
        8 if code in ("waste_collection", "road_damage", "street_lighting") else 1 for code, *_ in categories
    ]
    departments = sorted({department for _, department, _ in categories})
    start = end - timedelta(days=DAYS)
    span = (end - start).total_seconds()
    password = hash_password(PASSWORD)
    users = [{"username": "olga", "display_name": "Olga", "role": "operator", "department": None}]
    staff: dict[str, list[int]] = {}
    for department in departments:
        for i in range(3):
            users.append(
                {"username": f"{department}-{i}", "display_name": f"{department} {i}", "role": "staff",
                 "department": department}
            )  # fmt: skip
    async with engine.begin() as conn:
        for user_id, user in enumerate(users, start=1):
            await conn.execute(
                insert(table_of(UserRow)),
                [{**user, "id": user_id, "password_hash": password, "active": True, "created_at": start}],
            )
            if user["department"]:
                staff.setdefault(str(user["department"]), []).append(user_id)
    code = phone = ""
    taken: set[str] = set()
    batch = 5_000
    for first in range(1, tickets + 1, batch):
        rows: list[dict[str, Any]] = []
        citizens: list[dict[str, Any]] = []
        identities: list[dict[str, Any]] = []
        reporters: list[dict[str, Any]] = []
        for tid in range(first, min(first + batch, tickets + 1)):
            created = start + timedelta(seconds=span * (tid - 1) / tickets + rnd.random() * 30)
            category, department, sla = rnd.choices(categories, weights)[0]
            age = (end - created).days
            resolved = rnd.random() < (0.95 if age > 14 else 0.5)
            status = "closed" if resolved and age > 7 else "resolved" if resolved else rnd.choice(OPEN)
            resolved_at = created + timedelta(hours=rnd.expovariate(1 / 40)) if resolved else None
            channel = rnd.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
            sentence = rnd.choice(SENTENCES) + f"، خیابان {rnd.choice(STREETS)} پلاک {rnd.randint(1, 400)}"
            if rnd.random() < 0.001:
                sentence += f" کنار درخت {RARE}"
            open_ = status in OPEN
            closed_at = resolved_at + timedelta(days=7) if status == "closed" and resolved_at else None
            assignee = rnd.choice(staff[department]) if open_ and rnd.random() < 0.33 else None
            tracking = new_code()
            while tracking in taken:  # 100,000 random codes of a billion: a few would repeat
                tracking = new_code()
            taken.add(tracking)
            number = f"+989{120_000_000 + tid:09d}"  # unique, an Iranian mobile shape
            address = number if channel in ("sms", "hotline") else f"{channel}:{tid}"
            citizens.append({"id": tid, "display_name": None, "phone": number if address == number else None,
                             "created_at": created})  # fmt: skip
            identities.append(
                {"id": tid, "citizen_id": tid, "channel": channel, "address": address, "unreachable": False,
                 "created_at": created}
            )  # fmt: skip
            reporters.append({"ticket_id": tid, "identity_id": tid, "added_at": created})
            rows.append(
                {
                    "id": tid, "tracking_code": tracking, "citizen_id": tid, "channel": channel,
                    "text": sentence, "normalized_text": sentence, "category": category,
                    "department": department, "confidence": round(rnd.uniform(0.3, 0.99), 2),
                    "model_version": "bench", "top_k": [[category, 0.8]],
                    "needs_review": open_ and rnd.random() < 0.08,
                    "priority": "urgent" if rnd.random() < 0.05 else "normal", "status": status,
                    "district": str(rnd.randint(1, 22)) if rnd.random() < 0.7 else None,
                    "location_text": None, "latitude": None, "longitude": None, "duplicate_of": None,
                    "assignee_id": assignee, "created_at": created,
                    "updated_at": resolved_at or created + timedelta(hours=rnd.random() * 48),
                    "due_at": created + timedelta(days=max(sla, 0.1) * 1.4), "resolved_at": resolved_at,
                    "closed_at": closed_at,
                }
            )  # fmt: skip
            if tid == tickets // 2:
                code, phone = tracking, number if address == number else phone
            if not phone and address == number:
                phone = number
        async with engine.begin() as conn:
            await conn.execute(insert(table_of(CitizenRow)), citizens)
            await conn.execute(insert(table_of(IdentityRow)), identities)
            await conn.execute(insert(table_of(TicketRow)), rows)
            await conn.execute(insert(table_of(ReporterRow)), reporters)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("users", "citizens", "identities", "tickets", "ticket_reporters"):
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608, E501 - our own table names
                await conn.execute(text(sql))
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
        busiest = (
            await conn.execute(
                select(UserRow.username, UserRow.department)
                .join(TicketRow, TicketRow.assignee_id == UserRow.id)
                .group_by(UserRow.username, UserRow.department)
                .order_by(func.count().desc())
                .limit(1)
            )
        ).one()
    return Seeded(code=code, phone=phone, staff=str(busiest[0]), department=str(busiest[1]))


class Browser:
    """A logged-in panel user over HTTP (keep-alive)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login(self, username: str) -> None:
        page = await (await self.http.get(f"{self.base}/panel/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, "no login form"  # noqa: S101 - a bench's sanity check
        response = await self.http.post(
            f"{self.base}/panel/login",
            data={"csrf": token.group(1), "username": username, "password": PASSWORD, "next": "/panel/"},
            allow_redirects=False,
        )
        assert response.status == 303, f"login {username}: {response.status}"  # noqa: S101

    async def get(self, path: str) -> tuple[int, int]:
        async with self.http.get(self.base + path, allow_redirects=False) as response:
            body = await response.read()
            return response.status, len(body)


async def timed(call: Callable[[], Awaitable[Any]], runs: int, warmup: int = 3) -> list[float]:
    """Milliseconds of each of `runs` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        await call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    path: str
    who: str = "operator"
    flt: TicketFilter | None = None  # the bare SQL baseline's filter (None: no baseline)
    scope: str | None = None
    sort: str = "new"
    page: int = 1


async def baseline(store: Store, case: Case, page_size: int, now: datetime) -> Callable[[], Awaitable[Any]]:
    """The bare SQL a list page stands for: a count of its rows and one page with the same order."""
    assert case.flt is not None  # noqa: S101
    flt = case.flt
    order = {
        "new": (TicketRow.created_at.desc(), TicketRow.id.desc()),
        "due": (TicketRow.due_at, TicketRow.id),
        "priority": (TicketRow.priority.desc(), TicketRow.created_at.desc()),
        "updated": (TicketRow.updated_at.desc(), TicketRow.id.desc()),
    }[case.sort]

    async def run() -> None:
        async with store.read() as tx:
            queries = PanelQueries(tx.session)  # its filter code, without the tiers
            count = queries._filtered(select(func.count(TicketRow.id)), flt, case.scope, now)  # noqa: SLF001
            await tx.session.scalar(count)
            rows = queries._filtered(select(TicketRow), flt, case.scope, now)  # noqa: SLF001
            await tx.session.execute(
                rows.order_by(*order).limit(page_size).offset((case.page - 1) * page_size)
            )

    return run


async def explain(store: Store, case: Case, page_size: int, now: datetime) -> None:
    """Print the plan of the list's queries for `case` (the tiers' SELECTs, as the panel runs them)."""
    assert case.flt is not None  # noqa: S101
    plans: list[tuple[str, Any]] = []
    async with store.read() as tx:
        conn = await tx.session.connection()
        sync = conn.sync_connection
        assert sync is not None  # noqa: S101

        def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            plans.append((statement, params))

        event.listen(sync, "before_cursor_execute", capture)
        try:
            await PanelQueries(tx.session).tickets(
                case.flt, scope=case.scope, now=now, page=case.page, page_size=page_size, sort=case.sort,
                pin_urgent=case.sort == "new",
            )  # fmt: skip
        finally:
            event.remove(sync, "before_cursor_execute", capture)
        postgres = store.engine.dialect.name == "postgresql"
        for statement, params in plans:
            prefix = "EXPLAIN ANALYZE " if postgres else "EXPLAIN QUERY PLAN "
            result = await conn.exec_driver_sql(prefix + statement, params)
            print("   ", " ".join(statement.split())[:160])
            for row in result:
                print("      ", " | ".join(str(c) for c in row))


async def run(args: argparse.Namespace) -> None:
    rnd = random.Random(17)
    with tempfile.TemporaryDirectory() as tmp:
        pg_name = None
        if args.store == "postgres":
            url, pg_name = await pg_database("sada_panel_bench")
        else:
            path = args.db or Path(tmp) / "panel-bench.db"
            url = f"sqlite+aiosqlite:///{path}"
        end = datetime.now(UTC)
        reuse = args.store == "sqlite" and args.keep and args.db is not None and args.db.exists()
        try:
            store = Store.from_url(url)
            if not reuse:
                await store.ensure_ready()
                started = time.perf_counter()
                seeded = await seed(store.engine, args.tickets, end, rnd)
                print(
                    f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.1f} s ({args.store})"
                )
                if args.db is not None:
                    (args.db.with_suffix(".seed")).write_text(
                        f"{seeded.code} {seeded.phone} {seeded.staff} {seeded.department}"
                    )
            else:
                code, phone, staff, department = args.db.with_suffix(".seed").read_text().split()
                seeded = Seeded(code, phone, staff, department)
            await store.aclose()
            await measure(url, seeded, args, end)
        finally:
            if pg_name is not None:
                await drop_pg_database(pg_name)


async def measure(url: str, seeded: Seeded, args: argparse.Namespace, now: datetime) -> None:
    config = config_from_mapping(
        {"store": {"url": url}, "nlp": {"classifier": "keywords"}}, base_dir=Path("."), env={}
    )
    chat, sms = FakeChannel("tg"), FakeChannel("sms", medium=Medium.SMS)
    sada = Sada(config, channels={"tg": chat, "sms": sms})
    await sada.start(background_tasks=False)
    runner = web.AppRunner(sada.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    page_size = config.panel.page_size
    operator, staff = Browser(base), Browser(base)
    try:
        await operator.login("olga")
        await staff.login(seeded.staff)
        dep = seeded.department
        since = (now - timedelta(days=30)).date().isoformat()  # a Gregorian date: read as such
        cases = [
            Case("list, default (urgent pinned)", "/panel/tickets", flt=TicketFilter()),
            Case("list, page 200", "/panel/tickets?page=200", flt=TicketFilter(), page=200),
            Case(
                "list, status + category",
                "/panel/tickets?status=referred&category=waste_collection",
                flt=TicketFilter(status="referred", category="waste_collection"),
            ),
            Case(
                "list, department + district + 30 days",
                f"/panel/tickets?department={dep}&district=6&from={since}",
                flt=TicketFilter(
                    department=dep,
                    district="6",
                    created_from=datetime.fromisoformat(since).replace(tzinfo=UTC),
                ),
            ),
            Case("list, overdue", "/panel/tickets?overdue=1", flt=TicketFilter(overdue=True)),
            Case("list, sort by due date", "/panel/tickets?sort=due", flt=TicketFilter(), sort="due"),
            Case(
                "list, sort by priority", "/panel/tickets?sort=priority", flt=TicketFilter(), sort="priority"
            ),
            Case(
                "list, sort by last update", "/panel/tickets?sort=updated", flt=TicketFilter(), sort="updated"
            ),
            Case("list, staff «my tickets»", "/panel/tickets", who="staff"),
            Case(
                "list, staff whole department",
                "/panel/tickets?assignee=all",
                who="staff",
                flt=TicketFilter(),
                scope=dep,
            ),  # fmt: skip
            Case("search, a common word", "/panel/tickets?q=فردوسی", flt=TicketFilter(texts=("فردوسی",))),
            Case("search, a rare word", f"/panel/tickets?q={RARE}", flt=TicketFilter(texts=(RARE,))),
            Case("search, a missing word", "/panel/tickets?q=ناموجود", flt=TicketFilter(texts=("ناموجود",))),
            Case(
                "search, tracking code", f"/panel/tickets?q={seeded.code}", flt=TicketFilter(code=seeded.code)
            ),
            Case(
                "search, phone", f"/panel/tickets?q=0{seeded.phone[3:]}", flt=TicketFilter(phone=seeded.phone)
            ),
            Case("triage queue", "/panel/triage"),
        ]
        for extra in args.url:
            name, _, path = extra.partition("=")
            cases.append(Case(name, path))
        static = await timed(lambda: operator.get("/panel/static/panel.css"), args.runs)
        print(f"{'static file (HTTP floor)':40} {summary(static)}")
        for case in cases:
            who = operator if case.who == "operator" else staff
            status, size = await who.get(case.path)
            if status != 200:
                print(f"{case.name:40} HTTP {status} ({case.path})")
                continue
            times = await timed(partial(who.get, case.path), args.runs)
            line = f"{case.name:40} {summary(times)}   {size // 1024:4d} KB"
            if case.flt is not None:
                bare = await timed(await baseline(sada.store, case, page_size, now), args.runs)
                line += f"   | bare SQL: {summary(bare)}"
            print(line)
            if args.explain and case.flt is not None:
                await explain(sada.store, case, page_size, now)
    finally:
        await operator.http.close()
        await staff.http.close()
        await runner.cleanup()
        await sada.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page (after 3 untimed)")
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="reuse --db if it exists (SQLite)")
    parser.add_argument(
        "--url", action="append", default=[], metavar="NAME=PATH", help="another page to time"
    )
    parser.add_argument("--explain", action="store_true", help="print each list query's plan")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
