"""The public statistics against a differencing attack: no small count can be recovered.

A citizen's one ticket of the month in district «منطقه ۴» (street lighting, later rejected) sits on
Friday 13 Azar 1405; district «منطقه ۵» has four tickets on 9–12 Azar and one on the 13th (the
issue's example). The attacker asks for every period the service answers that holds that day —
the day, its week, its month, and the free ranges the old page allowed — and combines what it gets.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any

import jdatetime

from bot.dates.jalali import TEHRAN
from bot.models import TicketStatus
from nlp.letters import persian_digits
from storage.store import Store
from tests.digest.seed import Seeder
from tests.reports.conftest import D1, D2, DEPARTMENTS, SEED, TODAY, Site

D4, D5 = "منطقه ۴", "منطقه ۵"
K = 5  # [public] min_tickets, the default
DAY = "1405-09-13"  # the lone ticket's day, a Friday; its week is 1405-09-07 … 1405-09-13
# (Jalali day of Azar 1405, hour, category, district, (status, hours later) or None)
AZAR: tuple[tuple[int, int, str, str, tuple[TicketStatus, int] | None], ...] = (
    *(
        (d, 9, "waste_collection", D1, (TicketStatus.RESOLVED, h))
        for d, h in zip((2, 3, 4, 5, 6, 9), (3, 5, 8, 12, 20, 30), strict=True)
    ),
    *((d, 9, "waste_collection", D1, None) for d in (10, 11, 12, 14)),
    *((d, 11, "road_damage", D2, (TicketStatus.RESOLVED, h)) for d, h in ((7, 40), (8, 50))),
    *((d, 11, "road_damage", D2, None) for d in (9, 13, 15, 16)),
    *((d, 15, "waste_collection", D5, None) for d in (9, 10, 11, 12)),
    (13, 15, "road_damage", D5, None),
    (13, 20, "street_lighting", D4, (TicketStatus.REJECTED, 2)),
)


@dataclass(frozen=True)
class Fact:
    """One ticket as the attacker would like to know it."""

    created: datetime
    category: str
    district: str
    status: str
    resolved: datetime | None


def jday(text: str) -> date:
    y, m, d = (int(p) for p in text.split("-"))
    return jdatetime.date(y, m, d).togregorian()


def facts() -> list[Fact]:
    """Every ticket in the store: the shared seed (Aban) and AZAR."""
    out = []
    for before, hour, category, district, hours in SEED:
        day = TODAY - timedelta(days=before)
        created = datetime(day.year, day.month, day.day, hour, tzinfo=TEHRAN)
        resolved = created + timedelta(hours=hours) if hours is not None else None
        status = "resolved" if resolved else "registered"
        out.append(Fact(created, category, district or "_unknown", status, resolved))
    for d, hour, category, district, outcome in AZAR:
        day = jday(f"1405-09-{d:02}")
        created = datetime(day.year, day.month, day.day, hour, tzinfo=TEHRAN)
        status, resolved = "registered", None
        if outcome is not None:
            status = outcome[0].value
            if outcome[0] is TicketStatus.RESOLVED:
                resolved = created + timedelta(hours=outcome[1])
        out.append(Fact(created, category, district, status, resolved))
    return out


async def seed_azar(store: Store, first_code: int = 2000001) -> None:
    """Write AZAR through the real repositories."""
    seeder = Seeder(store)
    seeder._codes = itertools.count(first_code)  # the shared seed used the default codes
    for d, hour, category, district, outcome in AZAR:
        day = jday(f"1405-09-{d:02}")
        created = datetime(day.year, day.month, day.day, hour, tzinfo=TEHRAN)
        ticket_id, _identity, _code = await seeder.ticket(
            created,
            channel="telegram",
            category=category,
            department=DEPARTMENTS[category],
            due=created + timedelta(days=3),
            district=district,
        )
        if outcome is not None:
            await seeder.move(ticket_id, outcome[0], created + timedelta(hours=outcome[1]))


BREAKDOWNS = {"by_category": "category", "by_district": "district", "by_status": "status"}


def truth(period: tuple[date, date], attribute: str) -> Counter[str]:
    first, last = period
    return Counter(
        getattr(f, attribute) for f in facts() if first <= f.created.astimezone(TEHRAN).date() <= last
    )


def span(doc: dict[str, Any]) -> tuple[date, date]:
    return jday(doc["period"]["from"]), jday(doc["period"]["to"])


def check_one_answer(query: str, doc: dict[str, Any]) -> None:
    """Inside one answer: every published cell is at least K, and the hidden ones (whose sum is
    total minus the shown ones) are none, or at least two that add up to K or more."""
    period = span(doc)
    for breakdown, attribute in BREAKDOWNS.items():
        rows = doc.get(breakdown)
        if rows is None:  # not published for this kind of period
            continue
        real = truth(period, attribute)
        shown = {r["key"]: r["count"] for r in rows if r["key"] != "_other"}
        other = next((r["count"] for r in rows if r["key"] == "_other"), None)
        for key, n in [*shown.items(), ("_other", other)]:
            assert n is None or n >= K, (query, breakdown, key, n)
        for key, n in shown.items():
            assert real[key] == n, (query, breakdown, key)
        hidden = {key: n for key, n in real.items() if key not in shown}
        if hidden and (shown or other is not None):
            assert len(hidden) >= 2 and sum(hidden.values()) >= K, (query, breakdown, hidden)
        if other is not None:
            assert other == sum(hidden.values()), (query, breakdown)
        assert doc["total"] == sum(real.values()), query
    medians = doc.get("median_hours_to_resolve")
    if medians is not None:
        first, last = period
        resolved = Counter(
            f.category
            for f in facts()
            if f.resolved and first <= f.resolved.astimezone(TEHRAN).date() <= last
        )
        if medians["all"] is not None:
            assert sum(resolved.values()) >= K, query
        for row in medians["by_category"]:
            assert row["resolved"] >= K, (query, row)  # a median over fewer tickets is theirs
            if row["key"] != "_other":
                assert resolved[row["key"]] == row["resolved"], (query, row)


def cells(doc: dict[str, Any], breakdown: str) -> tuple[dict[str, int], int]:
    """The published cells, and what the attacker derives for the hidden ones together."""
    rows = doc.get(breakdown) or []
    shown = {r["key"]: r["count"] for r in rows if r["key"] != "_other"}
    return shown, doc["total"] - sum(shown.values())


def check_differences(answers: dict[str, dict[str, Any]], day: date) -> None:
    """For every two answered periods, one inside the other, and for the lone ticket's category,
    district and status: what the attacker knows of the cell in each (exact when published, else
    between 0 and the hidden total) must not pin the difference to 1 … K-1."""
    lone = next(f for f in facts() if f.district == "منطقه ۴")
    for (qa, a), (qb, b) in itertools.permutations(answers.items(), 2):
        (a1, a2), (b1, b2) = span(a), span(b)
        if not (a1 <= b1 and b2 <= a2 and (a1, a2) != (b1, b2) and a1 <= day <= a2):
            continue
        for breakdown, attribute in BREAKDOWNS.items():
            if a.get(breakdown) is None or b.get(breakdown) is None:
                continue
            key = getattr(lone, attribute)
            (shown_a, hidden_a), (shown_b, hidden_b) = cells(a, breakdown), cells(b, breakdown)
            lo_a, hi_a = (shown_a[key], shown_a[key]) if key in shown_a else (0, hidden_a)
            lo_b, hi_b = (shown_b[key], shown_b[key]) if key in shown_b else (0, hidden_b)
            low, high = lo_a - hi_b, hi_a - lo_b
            assert not (low >= 1 and high <= K - 1), (qa, qb, breakdown, key, low, high)


ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td>", re.S)


def section_rows(html: str, name: str) -> list[tuple[str, str]] | None:
    """The (name, count) rows of the page's section `name`, or None when the page has none."""
    found = re.search(rf'<section[^>]*id="{name}"[^>]*>(.*?)</section>', html, re.S)
    if found is None:
        return None
    body = found.group(1).split("<tbody>", 1)[-1]
    return [(unescape(n).strip(), unescape(c).strip()) for n, c in ROW.findall(body)]


def check_page_matches(doc: dict[str, Any], html: str) -> None:
    """The page shows the JSON's rows and nothing else."""
    for breakdown in BREAKDOWNS:
        rows = section_rows(html, breakdown.replace("_", "-"))
        if doc.get(breakdown) is None:
            assert rows is None, breakdown
            continue
        expected = [(persian_digits(r["name"]), persian_digits(str(r["count"]))) for r in doc[breakdown]]
        assert rows == expected, breakdown


async def test_a_lone_ticket_cannot_be_recovered_by_differencing(site: Site, clients: Any) -> None:
    await seed_azar(site.sada.store)
    site.clock.advance(timedelta(days=31))  # 2 Dey 1405: Azar is complete
    anonymous = await clients()
    day = jday(DAY)
    queries = [f"period={kind}&date={DAY}" for kind in ("day", "week", "month")]
    ranges = [
        ("1405-09-13", "1405-09-13"),
        ("1405-09-09", "1405-09-12"),
        ("1405-09-09", "1405-09-13"),
        ("1405-09-07", "1405-09-13"),
        ("1405-09-07", "1405-09-12"),
        ("1405-09-01", "1405-09-30"),
        ("1405-09-01", "1405-09-12"),
        ("1405-09-14", "1405-09-30"),
    ]
    answers: dict[str, dict[str, Any]] = {}
    for query in [*queries, *(f"from={a}&to={b}" for a, b in ranges)]:
        response = await anonymous.get(f"/public/stats.json?{query}")
        if response.status == 200:
            answers[query] = await response.json()
    for query in queries:  # the fixed periods holding the day are published
        assert query in answers, query
        assert span(answers[query])[0] <= day <= span(answers[query])[1]
    for query, doc in answers.items():
        check_one_answer(query, doc)
    check_differences(answers, day)
    for query in queries:
        page = await anonymous.get(f"/public/stats?{query}")
        html = await page.text()
        assert page.status == 200, query
        check_page_matches(answers[query], html)
        assert D4 not in html, query  # its one ticket is in no published cell
