"""The CSV exports are for spreadsheets and scripts: every digit in them is ASCII, district names too.

The pages show Persian digits; a CSV mixing both (ASCII counts and dates, «منطقه ۱» as the district)
would sort and filter one column as two scripts, so the export makes them all ASCII.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from tests.reports.conftest import WEEK, Site

NOT_ASCII_DIGIT = re.compile(r"[۰-۹٠-٩]")


async def rows_of(client: Any, path: str) -> list[list[str]]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))


@pytest.mark.parametrize(
    "path",
    ["/panel/needs.csv", f"/panel/reports.csv?from={WEEK[0]}&to={WEEK[1]}&by=district"],
    ids=["needs", "trend by district"],
)
async def test_every_digit_of_a_csv_is_ascii(site: Site, clients: Any, path: str) -> None:
    rows = await rows_of(await clients("mina"), path)
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if NOT_ASCII_DIGIT.search(c)]
    assert {"منطقه 1", "منطقه 2", "منطقه 3"} <= set(cells)  # seeded as «منطقه ۱» …
    assert any(re.fullmatch(r"\d+", c) for c in cells)  # the counts are there, as numbers


async def test_the_pages_keep_persian_digits(site: Site, clients: Any) -> None:
    html = await (await (await clients("mina")).get("/panel/needs?week=1405-08-27")).text()
    assert "منطقه ۱" in html and "منطقه 1" not in html
