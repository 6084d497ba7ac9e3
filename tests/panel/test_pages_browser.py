"""The map, phone intake and user admin in Debian's chromium (headless), under the panel's CSP.

Set SADA_SCREENSHOTS=<folder> to also save the screens there (docs/screens/ is made this way).
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.models import GeoPoint
from nlp.letters import ascii_digits, persian_digits
from tests.panel.browser_steps import keep_screenshot, log_in
from tests.panel.conftest import PASSWORD, POTHOLE, RUBBISH, Site, running_site

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _closed_port() -> int:
    """A port nothing listens on: the tiles are unreachable, as in CI without internet."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def map_site(tmp_path: Path) -> AsyncIterator[Site]:
    tiles = f"http://127.0.0.1:{_closed_port()}/{{z}}/{{x}}/{{y}}.png"
    async with running_site(
        f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}", tmp_path, map_tiles_url=tiles
    ) as s:
        yield s


async def _page(browser: Any, site: Site, viewport: dict[str, int] = DESKTOP) -> tuple[Any, list[str]]:
    context = await browser.new_context(base_url=site.url, locale="fa-IR", viewport=viewport)
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return page, problems


async def _login(page: Any, username: str, password: str = PASSWORD) -> Any:
    return await log_in(page, username, password)


async def _shot(page: Any, name: str, tmp_path: Path) -> None:
    await keep_screenshot(page, f"{name}", tmp_path)


async def _markers_shown(page: Any) -> int:
    """Tickets the map stands for: single markers plus the counts on cluster icons."""
    await page.wait_for_selector("#map[data-ready]")
    single = await page.locator(".leaflet-marker-icon:not(.marker-cluster)").count()
    counts = await page.locator(".marker-cluster span").all_inner_texts()
    return single + sum(int(ascii_digits(c.strip())) for c in counts)


async def seed_map(site: Site) -> list[str]:
    """Seven tickets with places: five pinned near one another (a cluster), one across town, one
    with only a district; and one with no place at all (not on the map)."""
    codes = []
    for i in range(5):
        address = f"tg:{i + 1}"
        codes.append(await site.say(address, f"{RUBBISH} پلاک {i + 1}"))
        point = GeoPoint(35.7219 + i * 0.0004, 51.3347 + i * 0.0004)
        await site.sada.inbound(site.chat.inbound(address, "", location=point))
    codes.append(await site.say("tg:6", POTHOLE))
    await site.sada.inbound(site.chat.inbound("tg:6", "", location=GeoPoint(35.60, 51.45)))
    codes.append(await site.say("tg:7", "زباله‌های کوچهٔ ما در منطقه ۱۲ سه روز است جمع نشده"))
    await site.say("tg:8", "سلام لامپ کوچه ما خاموشه")
    await site.sada.dispatcher.drain()
    return codes


async def test_the_map_shows_the_seeded_tickets_markers_with_no_tiles_reachable(
    map_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = map_site
    codes = await seed_map(site)
    page, problems = await _page(browser, site)
    await _login(page, "olga")
    await page.goto("/panel/map")
    assert await _markers_shown(page) == len(codes) == 7
    assert await page.locator(".marker-cluster").count() >= 1  # the five close ones are clustered
    assert await page.locator(".leaflet-marker-icon.approx").count() == 1  # placed by district only
    status = await page.locator("#map-status").inner_text()
    assert persian_digits("7") in status and "مکان تقریبی" in status
    await _shot(page, "map-desktop", tmp_path)
    # A filter narrows the markers like the list: only the pothole is road damage.
    await page.goto("/panel/map?category=road_damage")
    assert await _markers_shown(page) == 1
    # From a ticket page to its marker, with its popup open.
    await page.goto(f"/panel/tickets/{codes[5]}")
    async with page.expect_navigation():
        await page.click("a.map-link")
    await page.wait_for_selector(".leaflet-popup-content .code")
    assert await page.locator(".leaflet-popup-content .code").inner_text() == persian_digits(codes[5])
    assert problems == []
    # A staff member's map holds only their department's tickets (the waste ones).
    staff, _ = await _page(browser, site, PHONE)
    await _login(staff, "wasim")
    await staff.goto("/panel/map")
    assert await _markers_shown(staff) == 6
    overflow = await staff.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await _shot(staff, "map-phone", tmp_path)


async def test_a_phone_intake_creates_a_ticket_and_sends_the_sms(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    page, problems = await _page(browser, site)
    await _login(page, "olga")
    await page.click("nav a[href='/panel/intake']")
    await page.fill("input[name=phone]", "۰۹۱۲ ۳۴۵ ۶۷۸۹")
    await page.fill("textarea[name=text]", POTHOLE)
    await page.fill("input[name=place]", "روبه‌روی پارک")
    await page.select_option("select[name=district]", "12")
    await _shot(page, "intake-form", tmp_path)
    async with page.expect_navigation():
        await page.click("form.intake button[type=submit]")
    suggestion = await page.locator(".suggestion").inner_text()
    assert "معاونت فنی و عمرانی" in suggestion
    assert await page.locator("select[name=category]").input_value() == "road_damage"
    await _shot(page, "intake-preview", tmp_path)
    async with page.expect_navigation():
        await page.click("button[formaction='/panel/intake']")
    assert "/panel/intake/done?" in page.url
    shown = await page.locator(".big-code").inner_text()
    code = ascii_digits(shown).replace(" ", "")
    assert re.fullmatch(r"\d{10}", code)
    ticket = await site.ticket(code)
    assert ticket.category == "road_damage" and "روبه‌روی پارک" in ticket.text
    await site.sada.dispatcher.drain()
    sms = site.sms.texts("+989123456789")
    assert len(sms) == 1 and persian_digits(code) in sms[0]
    await _shot(page, "intake-done", tmp_path)
    await page.set_viewport_size(PHONE)
    await page.goto("/panel/intake")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await _shot(page, "intake-phone", tmp_path)
    assert problems == []


async def test_an_admin_changes_a_role_and_reads_the_audit(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    page, problems = await _page(browser, site)
    await _login(page, "adam")
    await page.goto("/panel/users")
    row = page.locator("#u-olga")
    assert "هرگز" in await row.inner_text()  # never logged in
    await row.locator("select[name=role]").select_option("staff")
    await row.locator("select[name=department]").select_option("waste")
    async with page.expect_navigation():
        await row.locator(".role-form button[type=submit]").click()
    assert "تغییرات کاربر ذخیره شد" in await page.locator(".notice").inner_text()
    assert await page.locator("#u-olga select[name=role]").input_value() == "staff"
    assert "هرگز" not in await page.locator("#u-adam").inner_text()  # this login is remembered
    await _shot(page, "users-desktop", tmp_path)
    await page.click("a[href='/panel/users/audit']")
    await page.wait_for_url("**/panel/users/audit")
    first = page.locator("table.audit tbody tr").first
    text = await first.inner_text()
    assert "تغییر نقش یا واحد" in text and "olga" in text and "Adam" in text
    assert "کارشناس پذیرش" in text and "سازمان مدیریت پسماند" in text
    await _shot(page, "users-audit-desktop", tmp_path)
    await page.set_viewport_size(PHONE)
    for path, name in (("/panel/users", "users-phone"), ("/panel/users/audit", "users-audit-phone")):
        await page.goto(path)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, path
        await _shot(page, name, tmp_path)
    assert problems == []
