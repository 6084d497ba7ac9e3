"""The weekly neighbourhood needs: districts × categories, normalised, and recurring problems."""

from __future__ import annotations

import csv
import io
from typing import Any

from nlp.letters import ascii_digits
from tests.reports.conftest import D1, D2, D3, PLACE, Site

# Every digit of a CSV is ASCII (test_csv_digits.py): the district «منطقه ۱» is «منطقه 1» there.
C1, C2, C3 = (ascii_digits(d) for d in (D1, D2, D3))

WEEK = "1405/08/23–1405/08/29"


async def csv_rows(client: Any, path: str) -> list[list[str]]:
    response = await client.get(path)
    assert response.status == 200
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


async def test_the_weeks_needs_per_district_and_category(site: Site, clients: Any) -> None:
    n = {code: c.name for code, c in site.sada.config.taxonomy.categories.items()}
    mina = await clients("mina")
    rows = await csv_rows(mina, "/panel/needs.csv")  # the last complete week by default
    grid, recurring = rows[: rows.index([])], rows[rows.index([]) + 2 :]
    assert grid[0][1:4] == ["منطقه", "دسته", "تعداد"]
    cells = {(r[1], r[2]): r[3:] for r in grid[1:]}
    assert all(r[0] == WEEK for r in grid[1:])
    # District 1: 6 of the city's 12 tickets, 4 of them waste (city share 5/12): 4/6 ÷ 5/12 = 1.6.
    # The average district (1, 2, 3) has 11/3 tickets: district 1 has 6 ÷ 11/3 = 1.64 times that.
    assert cells[(C1, n["waste_collection"])] == ["4", "0.67", "1.60", "1.64"]
    assert cells[(C1, n["road_damage"])] == ["2", "0.33", "0.80", "1.64"]
    assert cells[(C2, n["road_damage"])] == ["3", "0.75", "1.80", "1.09"]
    assert cells[(C3, n["street_lighting"])] == ["1", "1.00", "6.00", "0.27"]
    assert cells[("نامشخص", n["street_lighting"])] == ["1", "1.00", "6.00", ""]
    assert len(cells) == 6
    assert recurring[0] == [WEEK, n["waste_collection"], C1, "4"]
    assert recurring[1] == [WEEK, n["road_damage"], C2, "3"]
    # A place taken from a citizen's text cannot run as a spreadsheet formula.
    assert [WEEK, n["street_lighting"], "'" + PLACE, "1"] in recurring


async def test_the_needs_page_and_its_scope(site: Site, clients: Any) -> None:
    n = {code: c.name for code, c in site.sada.config.taxonomy.categories.items()}
    mina = await clients("mina")
    page = await mina.get("/panel/needs?week=1405-08-27")
    html = await page.text()
    assert page.status == 200
    assert "۱۴۰۵/۰۸/۲۳ تا ۱۴۰۵/۰۸/۲۹" in html and "۱۲ درخواست" in html
    assert "×۱٫۶" in html and "۶۷٪" in html
    assert 'href="/panel/needs.csv?week=1405-08-23"' in html
    wasim = await clients("wasim")
    rows = await csv_rows(wasim, "/panel/needs.csv?week=1405-08-29&department=civil_works")
    grid = rows[: rows.index([])]
    assert {(r[1], r[2], r[3]) for r in grid[1:]} == {
        (C1, n["waste_collection"], "4"),
        (C2, n["waste_collection"], "1"),
    }
    empty = await (await wasim.get("/panel/needs?week=1405-07-01")).text()
    assert "در این هفته درخواستی ثبت نشده است" in empty
    bad = await wasim.get("/panel/needs?week=yesterday")
    assert bad.status == 400 and "تاریخ را به شکل" in await bad.text()
