"""The reports in a real browser: right to left, a chart and a table (docs/screens/reports.png).

SADA_SCREENSHOTS=docs/screens python -m pytest tests/reports/test_browser.py saves the screen.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from tests.panel.conftest import PASSWORD
from tests.reports.conftest import WEEK, Site

SCREENS = os.environ.get("SADA_SCREENSHOTS")


async def test_a_manager_reads_the_trend_and_the_needs(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    context = await browser.new_context(
        base_url=sqlite_site.url, locale="fa-IR", viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    await page.goto("/panel/login")
    await page.fill("input[name=username]", "mina")
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    await page.click("nav a[href='/panel/reports']")
    await page.fill("input[name=from]", WEEK[0])
    await page.fill("input[name=to]", WEEK[1])
    async with page.expect_navigation():
        await page.click("form.filters button[type=submit]")
    assert await page.locator("html").get_attribute("dir") == "rtl"
    assert await page.locator("svg polyline").count() == 3
    box = await page.locator("section.chart svg").first.bounding_box()
    assert box is not None and box["height"] > 150  # the chart is drawn, not collapsed
    assert "۱۲" in await page.locator("table.report tfoot").inner_text()
    folder = Path(SCREENS) if SCREENS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / "reports.png"), full_page=True)
    # The CSV link downloads the same table.
    async with page.expect_download() as download_info:
        await page.click("a[download]")
    download = await download_info.value
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert data.startswith(b"\xef\xbb\xbf") and "جمع".encode() in data
    await page.click("nav a[href='/panel/needs']")
    await page.wait_for_url("**/panel/needs")
    assert "۱۴۰۵/۰۸/۲۳ تا ۱۴۰۵/۰۸/۲۹" in await page.locator("h1").inner_text()
