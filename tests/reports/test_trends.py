"""The trends report: the table, the chart, the CSV, and who sees which tickets."""

from __future__ import annotations

import csv
import io
from typing import Any

from nlp.letters import ascii_digits
from tests.reports.conftest import D1, D2, D3, WEEK, Site

# Every digit of a CSV is ASCII (test_csv_digits.py): the district «منطقه ۱» is «منطقه 1» there.
C1, C2, C3 = (ascii_digits(d) for d in (D1, D2, D3))

RANGE = f"from={WEEK[0]}&to={WEEK[1]}"
DAYS = ["1405/08/23", "1405/08/24", "1405/08/25", "1405/08/26", "1405/08/27", "1405/08/28", "1405/08/29"]


def names(site: Site) -> dict[str, str]:
    return {code: c.name for code, c in site.sada.config.taxonomy.categories.items()}


async def rows_of(client: Any, path: str) -> list[list[str]]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM, so Excel reads UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


async def test_trend_by_category_for_the_whole_city(site: Site, clients: Any) -> None:
    mina = await clients("mina")
    rows = await rows_of(mina, f"/panel/reports.csv?{RANGE}&by=category")
    n = names(site)
    assert rows[0] == ["دسته", *DAYS, "جمع"]
    assert rows[1:] == [
        [n["road_damage"], "0", "1", "1", "0", "1", "1", "1", "5"],
        [n["waste_collection"], "2", "1", "1", "1", "0", "0", "0", "5"],
        [n["street_lighting"], "0", "0", "0", "0", "0", "1", "1", "2"],
        ["جمع", "2", "2", "2", "1", "1", "2", "2", "12"],
    ]
    page = await mina.get(f"/panel/reports?{RANGE}")
    html = await page.text()
    assert page.status == 200
    assert "۱۴۰۵/۰۸/۲۳" in html and "۱۴۰۵/۰۸/۲۹" in html and "۱۲ درخواست" in html
    assert html.count("<polyline") == 3  # one line per category in the chart
    assert n["road_damage"] in html


async def test_trend_by_district_names_the_unknown_district(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    rows = await rows_of(olga, f"/panel/reports.csv?{RANGE}&by=district")
    assert rows[0][0] == "منطقه"
    totals = {row[0]: row[-1] for row in rows[1:]}
    assert totals == {C1: "6", C2: "4", C3: "1", "نامشخص": "1", "جمع": "12"}


async def test_long_ranges_are_grouped_by_week_then_by_jalali_month(site: Site, clients: Any) -> None:
    mina = await clients("mina")
    weeks = await rows_of(mina, "/panel/reports.csv?from=1405-07-01&to=1405-08-29")
    assert weeks[0][-2] == "1405/08/23–1405/08/29"  # the seeded week is the last column
    assert weeks[-1][-2:] == ["12", "12"]
    months = await rows_of(mina, "/panel/reports.csv?from=1405-01-01&to=1405-08-29")
    assert months[0][1] == "1405/01/01–1405/01/31" and months[0][-2] == "1405/08/01–1405/08/29"
    assert len(months[0]) == 8 + 2
    assert months[-1][-2:] == ["12", "12"]


async def test_staff_see_their_department_only_whatever_they_ask(site: Site, clients: Any) -> None:
    n = names(site)
    wasim = await clients("wasim")  # waste
    for path in (f"/panel/reports.csv?{RANGE}", f"/panel/reports.csv?{RANGE}&department=civil_works"):
        rows = await rows_of(wasim, path)
        assert [r[0] for r in rows[1:]] == [n["waste_collection"], "جمع"]
        assert rows[-1][-1] == "5"
    html = await (await wasim.get(f"/panel/reports?{RANGE}&department=civil_works")).text()
    assert n["road_damage"] not in html.split("<table")[1]
    cyrus = await clients("cyrus")  # civil works
    rows = await rows_of(cyrus, f"/panel/reports.csv?{RANGE}&by=district")
    assert {r[0]: r[-1] for r in rows[1:]} == {C1: "2", C2: "3", "جمع": "5"}


async def test_managers_may_narrow_to_one_department(site: Site, clients: Any) -> None:
    mina = await clients("mina")
    rows = await rows_of(mina, f"/panel/reports.csv?{RANGE}&department=waste")
    assert [r[-1] for r in rows[1:]] == ["5", "5"]


async def test_who_may_open_the_reports(site: Site, clients: Any) -> None:
    paths = ("/panel/reports", "/panel/reports.csv", "/panel/needs", "/panel/needs.csv", "/panel/digest")
    adam = await clients("adam")  # admin: accounts only, no tickets
    anonymous = await clients()
    for path in paths:
        assert (await adam.get(path)).status == 403, path
        response = await anonymous.get(path)
        assert response.status == 303 and response.headers["Location"].startswith("/panel/login"), path
    mina = await clients("mina")
    nav = await (await mina.get("/panel/tickets")).text()
    assert 'href="/panel/reports"' in nav and 'href="/panel/needs"' in nav and 'href="/panel/digest"' in nav
    users = await (await adam.get("/panel/users")).text()
    assert 'href="/panel/reports"' not in users


async def test_bad_ranges_are_explained_and_persian_digits_are_fine(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    cases = {
        "from=1405-13-40": "تاریخ را به شکل",
        "from=1405-08-30&to=1405-08-01": "تاریخ شروع بعد از تاریخ پایان",
        "from=1403-01-01&to=1405-08-30": "حداکثر یک سال",
        "by=phone": "فقط به تفکیک دسته یا منطقه",
    }
    for query, message in cases.items():
        response = await olga.get(f"/panel/reports?{query}")
        assert response.status == 400, query
        assert message in await response.text(), query
        assert (await olga.get(f"/panel/reports.csv?{query}")).status == 400, query
    rows = await rows_of(olga, "/panel/reports.csv?from=۱۴۰۵/۰۸/۲۳&to=۱۴۰۵/۰۸/۲۹")
    assert rows[-1][-1] == "12"
