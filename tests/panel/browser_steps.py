"""Steps every panel browser test takes: open a page at a size, log in, keep a screenshot.

Screenshots go to `$SADA_SCREENSHOTS` when set (that is how docs/screens/ is made), else to the
test's own temporary folder, so a run never writes into the tree by accident.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.panel.conftest import PASSWORD

SCREENS = os.environ.get("SADA_SCREENSHOTS")


async def open_page(browser: Any, base_url: str, *, width: int = 1280, height: int = 800) -> Any:
    """A new page in a fresh context (no cookies), Persian locale, the given viewport."""
    context = await browser.new_context(
        base_url=base_url, locale="fa-IR", viewport={"width": width, "height": height}
    )
    return await context.new_page()


async def log_in(page: Any, username: str, password: str = PASSWORD) -> Any:
    """Through the login form, as a person would; returns the page once the next one loaded."""
    await page.goto("/panel/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    return page


async def keep_screenshot(page: Any, name: str, tmp_path: Path, *, full_page: bool = True) -> None:
    """`<name>.png` in the screenshots folder."""
    folder = Path(SCREENS) if SCREENS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
