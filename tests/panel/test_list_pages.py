"""The ticket list at scale: sorting, urgent tickets pinned on top, page numbers and the jump field,
the collapsible filter form (issue 17, "Lists that scale")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from bot.models import Priority, TicketStatus
from bot.web.panel.ticket_list import page_numbers
from tests.panel.conftest import Site
from tests.panel.test_bulk import seed

CODE = re.compile(r'href="/panel/tickets/(\d{10})" class="code"')


async def listed(client: Any, query: str = "") -> list[str]:
    response = await client.get(f"/panel/tickets?{query}")
    assert response.status == 200, query
    return CODE.findall(await response.text())


@pytest.mark.parametrize(
    ("page", "pages", "shown"),
    [
        (1, 1, [1]),
        (1, 4, [1, 2, 3, 4]),
        (1, 200, [1, 2, 3, None, 200]),
        (100, 200, [1, None, 98, 99, 100, 101, 102, None, 200]),
        (4, 200, [1, 2, 3, 4, 5, 6, None, 200]),
        (200, 200, [1, None, 198, 199, 200]),
    ],
)
def test_page_numbers_show_the_ends_and_the_neighbourhood(page: int, pages: int, shown: list[Any]) -> None:
    assert page_numbers(page, pages) == shown


async def test_sorting_by_due_date_priority_and_last_update(site: Site, clients: Any) -> None:
    late = await seed(site, due=timedelta(days=1))
    early = await seed(site, created=timedelta(hours=1), due=timedelta(hours=2))
    never = await seed(site, created=timedelta(hours=2), due=None)
    urgent = await seed(
        site, created=timedelta(hours=3), priority=Priority.URGENT, status=TicketStatus.CLOSED
    )
    site.clock.advance(timedelta(days=1))  # (before logging in: a day idle would end the session)
    olga = await clients("olga")
    # An urgent but closed ticket is not pinned: newest first, as before.
    assert await listed(olga) == [urgent, never, early, late]
    assert await listed(olga, "sort=due") == [early, late, urgent, never]  # no deadline: last
    assert await listed(olga, "sort=priority") == [urgent, never, early, late]
    status = await olga.post(f"/panel/tickets/{late}/status", {"to": "in_progress"})
    assert status.status == 303
    assert (await listed(olga, "sort=updated"))[0] == late
    bad = await olga.get("/panel/tickets?sort=random")
    text = await bad.text()
    assert bad.status == 400 and 'id="e-sort"' in text and "<table" not in text


async def test_urgent_open_tickets_are_pinned_across_pages(site: Site, clients: Any) -> None:
    """Page 1 holds the urgent open tickets, then the newest others; page 2 carries on where page 1
    stopped, with nothing lost or shown twice (page size 25)."""
    normal = [await seed(site, created=timedelta(minutes=10 * i)) for i in range(30)]
    urgent = [
        await seed(site, created=timedelta(minutes=5 + 100 * i), priority=Priority.URGENT) for i in range(3)
    ]
    olga = await clients("olga")
    first = await (await olga.get("/panel/tickets")).text()
    codes = CODE.findall(first)
    assert codes[:3] == urgent[::-1] and codes[3:] == normal[::-1][:22]
    assert first.count('class=" pinned"') + first.count('class="review pinned"') == 3
    assert "درخواست‌های فوریِ باز بالای فهرست آمده‌اند" in first
    second = await listed(olga, "page=2")
    assert second == normal[::-1][22:]
    assert await listed(olga, "page=۲") == second  # the jump field takes Persian digits
    # Sorted by anything else, nothing is pinned.
    assert (await listed(olga, "sort=updated"))[:3] != urgent[::-1]


async def test_page_numbers_and_the_jump_form_keep_the_filters(site: Site, clients: Any) -> None:
    for i in range(60):
        await seed(site, created=timedelta(minutes=i))
    await seed(site, department="civil_works", category="road_damage")
    olga = await clients("olga")
    response = await olga.get("/panel/tickets?department=waste&sort=due&page=2")
    text = await response.text()
    assert "صفحهٔ ۲ از ۳" in text and '<b aria-current="page">۲</b>' in text
    assert 'href="/panel/tickets?department=waste&amp;sort=due&amp;page=3">۳</a>' in text
    jump = text[text.index('class="jump"') :]
    assert '<input type="hidden" name="department" value="waste">' in jump
    assert '<input type="hidden" name="sort" value="due">' in jump
    assert 'name="page"' in jump
    # Past the last page: the last page.
    assert len(await listed(olga, "department=waste&page=999")) == 10


async def test_the_filter_form_is_folded_until_a_filter_is_used(site: Site, clients: Any) -> None:
    await seed(site)
    olga = await clients("olga")
    plain = await (await olga.get("/panel/tickets")).text()
    assert "<details>" in plain and "فیلتر فعال است" not in plain
    for query in ("status=referred", "overdue=1", "sort=due", "assignee=none", "from=1405-09-01"):
        text = await (await olga.get(f"/panel/tickets?{query}")).text()
        assert "<details open>" in text and "فیلتر فعال است" in text, query
    # The search box stays in sight, outside the folded part.
    assert plain.index('name="q"') < plain.index("<details>")
