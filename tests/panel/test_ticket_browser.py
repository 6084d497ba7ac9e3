"""Assignment and free replies in a real browser (Debian's chromium, headless): claim, assign and
unassign; the SMS part counter changing while Persian text is typed; a canned text inserted by
sms-count.js; the reply reaching the Telegram citizen and the SMS citizen.

Set SADA_SCREENSHOTS=<folder> to also save the screens there (docs/screens/ticket-*.png are made so).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.lifecycle import free_reply_text
from bot.models import Medium
from bot.web.panel.ticket_page import QUICK_REPLIES
from channels.segments import sms_parts
from nlp.letters import persian_digits
from tests.panel.browser_steps import SCREENS, keep_screenshot, log_in, open_page
from tests.panel.conftest import PASSWORD, RUBBISH, Site

PHONE = "+989351110002"


async def _page(browser: Any, site: Site, *, width: int = 1280, height: int = 800) -> Any:
    return await open_page(browser, site.url, width=width, height=height)


async def _login(page: Any, username: str, password: str = PASSWORD) -> Any:
    return await log_in(page, username, password)


async def _shot(page: Any, name: str, tmp_path: Path, *, full: bool = True) -> None:
    await keep_screenshot(page, f"ticket-{name}", tmp_path, full_page=full)


async def _submit(page: Any, selector: str) -> None:
    async with page.expect_navigation():
        await page.click(selector)


async def test_claim_assign_and_unassign_in_the_browser(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    code = await site.say("tg:1", RUBBISH)
    staff = await _page(browser, site)
    await _login(staff, "wasim")
    await staff.goto(f"/panel/tickets/{code}")
    assert "واگذار نشده" in await staff.locator("#assignee").inner_text()
    await _submit(staff, "#claim")
    assert "درخواست را برداشتید" in await staff.locator(".notice").inner_text()
    assert "Wasim" in await staff.locator("#assignee").inner_text()
    assert await staff.locator("h1 .badge.assignee").inner_text() == "کار من"
    assert "درخواست را برای خود برداشت" in await staff.locator(".history").inner_text()
    operator = await _page(browser, site)
    await _login(operator, "olga")
    await operator.goto(f"/panel/tickets/{code}")
    select = operator.locator("#assignee-select")
    assert await select.input_value() == str((await site.ticket(code)).assignee_id)
    await select.select_option("")
    await _submit(operator, "#assign button[type=submit]")
    assert (await site.ticket(code)).assignee_id is None
    await operator.locator("#assignee-select").select_option(label="Wasim (کارشناس واحد)")
    await _submit(operator, "#assign button[type=submit]")
    assert "Wasim" in await operator.locator("#assignee").inner_text()
    history = await operator.locator(".history").inner_text()
    assert "برداشتن واگذاری (پیش‌تر: «Wasim»)" in history and "واگذاری به «Wasim»" in history
    await _shot(operator, "assign-desktop", tmp_path)
    # The staff member gives it back.
    await staff.goto(f"/panel/tickets/{code}")
    await _submit(staff, "#release")
    assert (await site.ticket(code)).assignee_id is None


async def test_free_reply_with_a_live_sms_count_reaches_both_citizens(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    code = await site.say("tg:1", RUBBISH)
    assert await site.say(PHONE, RUBBISH, site.sms) == code  # an SMS citizen joins the same ticket
    before = await site.ticket(code)
    page = await _page(browser, site)
    await _login(page, "olga")
    await page.goto(f"/panel/tickets/{code}")
    counter = page.locator("#reply-count")
    assert await page.locator("#reply-use").is_hidden()  # with JS, picking a text inserts it
    box = page.locator("#reply-text")
    short = "لطفاً پلاک را بفرستید."
    await box.click()
    await page.keyboard.type(short)
    sms = free_reply_text(code, short, Medium.SMS)
    assert sms_parts(sms) == 1
    one = await counter.inner_text()
    assert one == f"پیامک: ۱ بخش از حداکثر ۴ — {persian_digits(str(len(sms)))} نویسه"
    more = " و اگر می‌شود یک عکس هم از محل بفرستید تا اکیپ زودتر برسد."
    await page.keyboard.type(more)  # typed, not posted: the count follows the keys
    sms = free_reply_text(code, short + more, Medium.SMS)
    assert sms_parts(sms) == 2
    assert await counter.inner_text() == f"پیامک: ۲ بخش از حداکثر ۴ — {persian_digits(str(len(sms)))} نویسه"
    await page.locator("#reply-canned").select_option("q2")  # a canned text goes into the box
    text = await box.input_value()
    assert text == f"{short}{more}\n{QUICK_REPLIES[2]}"
    sms = free_reply_text(code, text, Medium.SMS)
    parts = persian_digits(str(sms_parts(sms)))
    assert (await counter.inner_text()).startswith(f"پیامک: {parts} بخش")
    await _shot(page, "reply-desktop", tmp_path)
    await _submit(page, "#reply-send")
    assert "پاسخ برای شهروند در صف ارسال است" in await page.locator(".notice").inner_text()
    await site.sada.dispatcher.drain()
    assert site.chat.texts("tg:1")[-1] == free_reply_text(code, text, Medium.CHAT)
    assert site.sms.texts(PHONE)[-1] == sms and "\n" not in sms
    after = await site.ticket(code)
    assert after.status == before.status
    assert f"{more.strip()} {QUICK_REPLIES[2]}" in await page.locator(".history").inner_text()
    # On a phone: the forms fit the width (no sideways scrolling).
    phone = await _page(browser, site, width=390, height=844)
    await _login(phone, "wasim")
    await phone.goto(f"/panel/tickets/{code}")
    await phone.locator("#reply-text").fill("سلام")
    await phone.locator("#reply-text").dispatch_event("input")
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await phone.locator("#assign").scroll_into_view_if_needed()
    await _shot(phone, "phone", tmp_path, full=False)
    await _shot(phone, "phone-full", tmp_path)


async def test_workload_in_the_managers_report(sqlite_site: Site, browser: Any, tmp_path: Path) -> None:
    site = sqlite_site
    code = await site.say("tg:1", RUBBISH)
    async with site.sada.store.transaction() as tx:
        wasim = await tx.users.by_username("wasim")
        ticket = await tx.tickets.by_code(code)
        assert wasim is not None and ticket is not None
        await site.sada.lifecycle.assign(tx, ticket, wasim, actor="user:mina")
    for name, width, height in (("workload-desktop", 1280, 800), ("workload-phone", 390, 844)):
        page = await _page(browser, site, width=width, height=height)
        await _login(page, "mina")
        await page.goto("/panel/reports")
        workload = page.locator("#workload")
        row = workload.locator("tr", has_text="Wasim")
        assert (await row.locator("td").all_inner_texts())[1:] == ["۱", "۰", "۰"]
        # Nothing scrolls the page sideways: the wide trend table scrolls within its own box.
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        fits = "e => e.getBoundingClientRect().left >= 0 && e.getBoundingClientRect().right <= innerWidth"
        assert await workload.evaluate(fits)
        assert await workload.locator("table").evaluate(fits)
        folder = Path(SCREENS) if SCREENS else tmp_path
        await workload.screenshot(path=str(folder / f"ticket-{name}.png"))
