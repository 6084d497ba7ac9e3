"""The ticket list and triage in a real browser (Debian's chromium, headless): bulk work, the phone
layout, the triage shortcuts (issue 17, items 5 and 7).

Set SADA_SCREENSHOTS=<folder> to also save the screens there (docs/screens/list-*.png are made so).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.models import Priority
from tests.panel.browser_steps import keep_screenshot, log_in, open_page
from tests.panel.conftest import PASSWORD, Site
from tests.panel.test_bulk import seed

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


async def _page(browser: Any, site: Site, viewport: dict[str, int]) -> Any:
    return await open_page(browser, site.url, width=viewport["width"], height=viewport["height"])


async def _login(page: Any, username: str, password: str = PASSWORD) -> Any:
    return await log_in(page, username, password)


async def _shot(page: Any, name: str, tmp_path: Path) -> None:
    await keep_screenshot(page, f"list-{name}", tmp_path)


async def _mixed_list(site: Site) -> list[str]:
    texts = (
        "زباله‌های کوچهٔ شهید رضایی سه روز است جمع نشده",
        "چالهٔ بزرگ وسط خیابان فردوسی",
        "لامپ‌های پارک محله خاموش است",
        "درخواست شمارهٔ " + "x" * 300,  # one long unbroken word must wrap, not widen the page
    )
    codes = []
    for i in range(12):
        codes.append(
            await seed(
                site,
                created=timedelta(minutes=i),
                text=texts[i % len(texts)],
                priority=Priority.URGENT if i in (3, 7) else Priority.NORMAL,
                address=f"tg:{i}",
            )
        )
    return codes


async def test_bulk_reclassify_of_three_tickets(sqlite_site: Site, browser: Any, tmp_path: Path) -> None:
    site = sqlite_site
    codes = await _mixed_list(site)
    chosen = codes[:3]
    page = await _page(browser, site, DESKTOP)
    await _login(page, "olga")
    await page.goto("/panel/tickets")
    for code in chosen:
        await page.check(f"input[name=t][value='{code}']")
    summary = page.locator("details.bulk summary")
    assert "۳ انتخاب‌شده" in await summary.inner_text()  # static/list.js counts them
    await summary.click()
    fieldset = page.locator("fieldset:has(button[value=reclassify])")
    await fieldset.locator("select[name=category]").select_option("road_damage")
    await fieldset.locator("input[name=reason]").fill("همه دربارهٔ خرابی معبرند")
    await _shot(page, "bulk-desktop", tmp_path)
    async with page.expect_navigation():
        await fieldset.locator("button[value=reclassify]").click()
    assert "۳ درخواست تغییر کرد" in await page.locator(".notice").inner_text()
    assert await page.locator(".bulk-results tr.ok").count() == 3
    await _shot(page, "bulk-result-desktop", tmp_path)
    for code in chosen:
        ticket = await site.ticket(code)
        assert (ticket.category, ticket.department) == ("road_damage", "civil_works")
    untouched = await site.ticket(codes[3])
    assert untouched.category == "waste_collection"
    # Back to the same list.
    async with page.expect_navigation():
        await page.click("text=بازگشت به فهرست")
    assert page.url.endswith("/panel/tickets")


async def test_the_list_becomes_cards_on_a_phone(sqlite_site: Site, browser: Any, tmp_path: Path) -> None:
    site = sqlite_site
    await _mixed_list(site)
    page = await _page(browser, site, PHONE)
    await _login(page, "olga")
    await page.goto("/panel/tickets")
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width
    assert await page.locator("table.tickets thead").is_hidden()
    row = page.locator("table.tickets tbody tr").first
    box = await row.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"]
    assert "پیدا نشد" not in await row.inner_text()
    await _shot(page, "phone", tmp_path)
    # Folded filters, opened: still no sideways scrolling; then the bulk panel.
    await page.click("form.filter-box summary")
    await page.click("details.bulk summary")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await _shot(page, "phone-open", tmp_path)
    # The desktop list for the documentation.
    await page.set_viewport_size(DESKTOP)
    await page.goto("/panel/tickets")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await _shot(page, "desktop", tmp_path)


async def test_triage_shortcuts_move_accept_and_reclassify(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    first = await seed(site, review=True, text="کنار پارک هم زباله ریخته و هم چاله هست", address="tg:1")
    second = await seed(
        site, review=True, created=timedelta(minutes=1), text="لامپ کوچه خاموشه", address="tg:2"
    )
    page = await _page(browser, site, DESKTOP)
    await _login(page, "olga")
    assert page.url.endswith("/panel/triage")
    assert await page.locator(".shortcuts").is_visible()  # the help line, shown once the script runs
    cards = page.locator("article.triage")
    assert await cards.count() == 2
    assert await cards.nth(0).get_attribute("class") == "card triage current"
    await page.keyboard.press("j")
    assert "current" in (await cards.nth(1).get_attribute("class") or "")
    assert await page.evaluate("document.activeElement.id") == f"t{second}"
    await page.keyboard.press("k")
    assert "current" in (await cards.nth(0).get_attribute("class") or "")
    # Typing in a field is typing, not a shortcut.
    reason = cards.nth(0).locator("input[name=reason]")
    await reason.fill("")
    await reason.press_sequentially("jak")
    assert await reason.input_value() == "jak"
    assert "current" in (await cards.nth(0).get_attribute("class") or "")
    await reason.fill("")
    await page.locator("h1").click()
    await page.keyboard.press("n")
    await page.keyboard.press("r")
    focused = await page.evaluate(
        "[document.activeElement.name, document.activeElement.closest('article').id]"
    )
    assert focused == ["category", f"t{second}"]
    await _shot(page, "triage-shortcuts", tmp_path)
    await page.locator("h1").click()  # leave the select; the second card stays current
    async with page.expect_navigation():
        await page.keyboard.press("a")
    assert "تأیید شد" in await page.locator(".notice").inner_text()
    assert not (await site.ticket(second)).needs_review
    assert (await site.ticket(first)).needs_review


async def test_my_tickets_is_the_staff_members_first_view(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    mine, theirs = await seed(site, address="tg:1"), await seed(site, address="tg:2")
    page = await _page(browser, site, PHONE)
    await _login(page, "wasim")
    assert page.url.endswith("/panel/tickets")
    # Nothing given to him yet: the department's list, and a line saying why.
    assert "هنوز درخواستی به شما سپرده نشده است" in await page.locator(".notice").inner_text()
    assert await page.locator("table.tickets a.code").count() == 2
    token = await page.locator("input[name=csrf]").first.input_value()
    claimed = await page.request.post(f"/panel/tickets/{mine}/claim", form={"csrf": token}, max_redirects=0)
    assert claimed.status == 303
    await page.goto("/panel/tickets")
    assert await page.locator(".views a[aria-current]").inner_text() == "کارهای من"
    codes = await page.locator("table.tickets a.code").evaluate_all("links => links.map(a => a.href)")
    assert [c.rsplit("/", 1)[1] for c in codes] == [mine]
    assert "Wasim" in await page.locator("table.tickets tbody").inner_text()  # the assignee, on the card
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await _shot(page, "mine-phone", tmp_path)
    async with page.expect_navigation():
        await page.click("text=همهٔ درخواست‌های واحد")
    assert await page.locator("table.tickets a.code").count() == 2
    assert await page.locator(f"a[href='/panel/tickets/{theirs}']").count() == 1
