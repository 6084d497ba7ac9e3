"""The panel and the public statistics on a real server over a store of known content.

The seeded week is Saturday 23 Aban … Friday 29 Aban 1405, the last complete week before the
clock's "now" (Sunday 1 Azar 1405 = 2026-11-22, tests/conftest.py START). Every figure the
tests expect follows from SEED.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.dates.jalali import TEHRAN
from bot.models import TicketStatus
from storage.store import Store
from tests.digest.seed import Seeder
from tests.panel.conftest import Client, Site, browser, running_site  # noqa: F401 - `browser` is a fixture

TODAY = date(2026, 11, 22)  # 1405-09-01, a Sunday
WEEK = ("1405-08-23", "1405-08-29")
D1, D2, D3 = "منطقه ۱", "منطقه ۲", "منطقه ۳"
PHONE = "09121234567"
PLACE = '=HYPERLINK("http://evil.example")'
DEPARTMENTS = {"waste_collection": "waste", "road_damage": "civil_works", "street_lighting": "lighting"}
# (days before TODAY, hour, category, district, hours to resolve or None)
SEED = (
    (8, 10, "waste_collection", D1, 24),
    (7, 10, "waste_collection", D1, 48),
    (6, 10, "waste_collection", D1, 30),
    (5, 10, "waste_collection", D1, 2),
    (8, 12, "waste_collection", D2, 10),
    (4, 11, "road_damage", D1, None),
    (3, 11, "road_damage", D1, None),
    (7, 11, "road_damage", D2, 5),
    (6, 11, "road_damage", D2, None),
    (2, 11, "road_damage", D2, None),
    (3, 9, "street_lighting", D3, None),
    (2, 9, "street_lighting", None, None),  # no district; the place comes from the text
)


def at(days_before: int, hour: int) -> datetime:
    day = TODAY - timedelta(days=days_before)
    return datetime(day.year, day.month, day.day, hour, tzinfo=TEHRAN)


async def seed_reports(store: Store) -> list[str]:
    """Write SEED through the real repositories; returns the tracking codes."""
    seeder = Seeder(store)
    codes = []
    for before, hour, category, district, hours in SEED:
        created = at(before, hour)
        ticket_id, _identity, code = await seeder.ticket(
            created,
            channel="telegram",
            category=category,
            department=DEPARTMENTS[category],
            due=created + timedelta(days=3),
            district=district,
            place=None if district else PLACE,
            text=f"مشکل {category} لطفا با {PHONE} تماس بگیرید",
        )
        codes.append(code)
        if hours is not None:
            await seeder.move(ticket_id, TicketStatus.RESOLVED, created + timedelta(hours=hours))
    return codes


@pytest.fixture
async def seeded(store_url: str, tmp_path: Path) -> AsyncIterator[tuple[Site, list[str]]]:
    """The service over each kind of store, one account per role, the seeded week and its codes."""
    async with running_site(store_url, tmp_path) as s:
        yield s, await seed_reports(s.sada.store)


@pytest.fixture
def site(seeded: tuple[Site, list[str]]) -> Site:
    return seeded[0]


@pytest.fixture
def codes(seeded: tuple[Site, list[str]]) -> list[str]:
    """The seeded tickets' tracking codes."""
    return seeded[1]


@pytest.fixture
async def sqlite_site(tmp_path: Path) -> AsyncIterator[Site]:
    """The same over SQLite only (for the browser)."""
    async with running_site(f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}", tmp_path) as s:
        await seed_reports(s.sada.store)
        yield s


@pytest.fixture
async def clients(site: Site) -> AsyncIterator[Any]:
    """Make clients for `site`, logged in as `username` (or anonymous); closed at the end."""
    made: list[Client] = []

    async def make(username: str | None = None) -> Client:
        client = Client(site)
        made.append(client)
        if username is not None:
            assert (await client.login(username)).status == 303, username
        return client

    yield make
    for client in made:
        await client.close()
