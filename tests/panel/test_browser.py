"""The panel in a real browser (Debian's chromium, headless): the issue's scenarios, end to end.

Set SADA_SCREENSHOTS=<folder> to also save the screens there (docs/screens/ is made this way).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.models import GeoPoint
from nlp.letters import persian_digits
from tests.panel.browser_steps import keep_screenshot, log_in, open_page
from tests.panel.conftest import PASSWORD, POTHOLE, RUBBISH, UNSURE, Site


async def _page(browser: Any, site: Site, *, width: int = 1280) -> Any:
    return await open_page(browser, site.url, width=width, height=900)


async def _login(page: Any, username: str, password: str = PASSWORD) -> Any:
    return await log_in(page, username, password)


async def _shot(page: Any, name: str, tmp_path: Path) -> None:
    await keep_screenshot(page, f"{name}", tmp_path)


async def test_operator_triages_and_reclassifies_and_the_citizen_hears(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    code = await site.say("tg:7", UNSURE)
    await site.say("tg:8", RUBBISH)
    unsure = await site.ticket(code)
    assert unsure.needs_review and unsure.category == "street_lighting" and len(unsure.top_k) == 3
    page = await _page(browser, site)
    await page.goto("/panel/login")
    await _shot(page, "login", tmp_path)
    await _login(page, "olga")
    assert page.url.endswith("/panel/triage")
    assert await page.locator("html").get_attribute("dir") == "rtl"
    card = page.locator(f"#t{code}")
    await card.wait_for()
    assert "۵۰٪" in await card.inner_text()  # the model's top choice and its score, in Persian digits
    assert await card.locator(".topk li").count() == 3
    await _shot(page, "triage", tmp_path)
    await card.locator("select[name=category]").select_option("road_damage")
    async with page.expect_navigation():
        await card.locator("button[type=submit]").click()
    assert "دسته‌بندی اصلاح شد" in await page.locator(".notice").inner_text()
    assert await page.locator(f"#t{code}").count() == 0  # no longer waiting for review
    ticket = await site.ticket(code)
    assert (ticket.category, ticket.department, ticket.status) == ("road_damage", "civil_works", "referred")
    assert not ticket.needs_review
    await site.sada.dispatcher.drain()
    told = [t for t in site.chat.texts("tg:7") if "ارجاع شد" in t]
    assert len(told) == 1
    assert persian_digits(code) in told[0] and "معاونت فنی و عمرانی" in told[0]
    # The correction is in the history, with who did it.
    await page.goto(f"/panel/tickets/{code}")
    history = await page.locator(".history").inner_text()
    assert "اصلاح دسته" in history and "Olga" in history  # the person's name, the username on hover
    assert await page.locator(".history b[title=olga]").count() == 2


async def test_staff_resolves_with_a_note_and_the_survey_is_sent(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    site = sqlite_site
    code = await site.say("tg:9", RUBBISH)
    await site.say("tg:10", POTHOLE)
    page = await _page(browser, site)
    await _login(page, "wasim")
    assert page.url.endswith("/panel/tickets")
    rows = page.locator("table.list tbody tr")
    assert await rows.count() == 1  # only the waste department's ticket
    await _shot(page, "tickets", tmp_path)
    await page.click(f"a[href='/panel/tickets/{code}']")
    await page.wait_for_url(f"**/panel/tickets/{code}")
    await page.click("details:has(input[value=resolved]) summary")
    form = page.locator("form:has(input[name=to][value=resolved])")
    await form.locator("textarea[name=note]").fill("زباله‌های کوچه جمع‌آوری شد")
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    assert "وضعیت تغییر کرد" in await page.locator(".notice").inner_text()
    await _shot(page, "ticket", tmp_path)
    assert (await site.ticket(code)).status == "resolved"
    await site.sada.dispatcher.drain()
    texts = site.chat.texts("tg:9")
    assert "زباله‌های کوچه جمع‌آوری شد" in texts[-2]
    assert "برطرف شده" in texts[-1] and site.chat.sent[-1].buttons  # the survey question
    conversation = await page.locator(".conversation").inner_text()
    assert "سه روزه زباله" in conversation


async def test_staff_resolves_with_a_canned_reply(sqlite_site: Site, browser: Any) -> None:
    site = sqlite_site
    code = await site.say("tg:11", RUBBISH)
    page = await _page(browser, site)
    await _login(page, "wasim")
    await page.goto(f"/panel/tickets/{code}")
    await page.click("details:has(input[value=resolved]) summary")
    form = page.locator("form:has(input[name=to][value=resolved])")
    await form.get_by_label("زباله‌های محل جمع‌آوری و مخزن شست‌وشو شد.").check()
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()
    await site.sada.dispatcher.drain()
    assert "زباله‌های محل جمع‌آوری و مخزن شست‌وشو شد." in site.chat.texts("tg:11")[-2]


async def test_staff_of_one_department_cannot_open_or_change_anothers_ticket(
    sqlite_site: Site, browser: Any
) -> None:
    site = sqlite_site
    waste = await site.say("tg:1", RUBBISH)
    page = await _page(browser, site)
    await _login(page, "cyrus")  # civil works
    response = await page.goto(f"/panel/tickets/{waste}")
    assert response.status == 404
    assert "پیدا نشد" in await page.locator("main").inner_text()
    # A hand-made form post with Cyrus's own, valid CSRF token is refused just the same.
    await page.goto("/panel/tickets")
    token = await page.locator("input[name=csrf]").first.input_value()
    posted = await page.request.post(
        f"/panel/tickets/{waste}/status",
        form={"csrf": token, "to": "resolved", "note": "بسته شد"},
        max_redirects=0,
    )
    assert posted.status == 404
    assert (await site.ticket(waste)).status == "referred"


async def test_a_form_posted_without_its_csrf_token_is_refused(sqlite_site: Site, browser: Any) -> None:
    site = sqlite_site
    code = await site.say("tg:1", RUBBISH)
    page = await _page(browser, site)
    await _login(page, "olga")
    await page.goto(f"/panel/tickets/{code}")
    form = page.locator("#note form")
    await form.locator("input[name=csrf]").evaluate("input => input.remove()")
    await form.locator("textarea[name=note]").fill("یادداشتی که نباید ثبت شود")
    async with page.expect_navigation() as navigation:
        await form.locator("button[type=submit]").click()
    assert (await navigation.value).status == 403
    assert "اجازهٔ این کار را ندارید" in await page.locator("main").inner_text()
    await page.goto(f"/panel/tickets/{code}")
    assert "یادداشتی که نباید ثبت شود" not in await page.locator(".history").inner_text()


async def test_five_wrong_passwords_are_throttled(sqlite_site: Site, browser: Any) -> None:
    page = await _page(browser, sqlite_site)
    for _ in range(5):
        await _login(page, "olga", "wrong-password")
        assert "نام کاربری یا گذرواژه درست نیست" in await page.locator(".error").inner_text()
    await _login(page, "olga")  # the right password, too late
    assert "تلاش‌های ناموفق زیاد بود" in await page.locator(".error").inner_text()
    assert page.url.endswith("/panel/login")
    cookies = await page.context.cookies()
    assert "sada_session" not in {c["name"] for c in cookies}


async def test_the_panel_fits_a_phone(sqlite_site: Site, browser: Any, tmp_path: Path) -> None:
    code = await sqlite_site.say("tg:1", RUBBISH)
    page = await _page(browser, sqlite_site, width=390)
    await _login(page, "olga")
    await page.goto(f"/panel/tickets/{code}")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await _shot(page, "ticket-phone", tmp_path)


LONG_WORD = "x" * 300
PHONE = {"width": 390, "height": 844}


async def _phone_overflow(page: Any, path: str) -> int:
    await page.set_viewport_size(PHONE)
    await page.goto(path)
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


async def test_a_long_unbroken_word_wraps_instead_of_widening_the_page(
    sqlite_site: Site, browser: Any, tmp_path: Path
) -> None:
    """Issue 17: 300 × «x» from a citizen and a 400-letter note made the page 3,400 px wide."""
    site = sqlite_site
    code = await site.say("tg:1", f"{RUBBISH} {LONG_WORD}")
    await site.sada.inbound(site.chat.inbound("tg:1", "", location=GeoPoint(35.7219, 51.3347)))
    await site.sada.dispatcher.drain()
    page = await _page(browser, site)
    await _login(page, "olga")
    await page.goto(f"/panel/tickets/{code}")
    await page.locator("#note textarea[name=note]").fill("ی" * 400)
    async with page.expect_navigation():
        await page.locator("#note button[type=submit]").click()
    assert "یادداشت ثبت شد" in await page.locator(".notice").inner_text()
    assert await _phone_overflow(page, "/panel/tickets") <= 0
    await _shot(page, "long-word-list-phone", tmp_path)
    assert await _phone_overflow(page, f"/panel/tickets/{code}") <= 0
    await _shot(page, "long-word-ticket-phone", tmp_path)
    # Citizens' and operators' own words take their direction from their first strong letter.
    assert await page.locator(".msg.in .body[dir=auto]").count() == 1
    assert await page.locator(".msg.in .body.location").count() == 1
    assert await page.locator(".history [dir=auto]", has_text="ییی").count() == 1
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto("/panel/tickets")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    await _shot(page, "long-word-list-desktop", tmp_path)
    await page.goto(f"/panel/tickets/{code}")
    await _shot(page, "long-word-ticket-desktop", tmp_path)


async def test_a_location_only_message_shows_the_place_not_an_empty_bubble(
    sqlite_site: Site, browser: Any
) -> None:
    site = sqlite_site
    code = await site.say("tg:1", RUBBISH)
    await site.sada.inbound(site.chat.inbound("tg:1", "", location=GeoPoint(35.7219, 51.3347)))
    await site.sada.dispatcher.drain()
    page = await _page(browser, site)
    await _login(page, "olga")
    await page.goto(f"/panel/tickets/{code}")
    bubbles = page.locator(".msg.in .body")
    assert await bubbles.count() == 2
    pin = bubbles.nth(1)
    text = await pin.inner_text()
    assert "موقعیت مکانی" in text and "۳۵٫۷۲۱۹" in text and "۵۱٫۳۳۴۷" in text
    link = await pin.locator("a").get_attribute("href")
    assert link is not None and link.startswith("https://www.openstreetmap.org/?mlat=35.7219&mlon=51.3347")
    # The browser finds the panel's icon (it asked for /favicon.ico and got a 404 before).
    icon = await page.request.get("/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/")
    assert await page.locator("link[rel=icon]").count() == 1


async def test_an_expired_session_keeps_the_typed_note_and_returns_to_the_ticket(
    sqlite_site: Site, browser: Any
) -> None:
    """Issue 17: the note typed while the session expired was lost, and login led to triage."""
    site = sqlite_site
    code = await site.say("tg:1", RUBBISH)
    page = await _page(browser, site)
    await _login(page, "olga")
    await page.goto(f"/panel/tickets/{code}")
    note = "تماس گرفتم؛\nفردا صبح پیمانکار می‌رود."
    await page.locator("#note textarea[name=note]").fill(note)
    site.clock.advance(timedelta(hours=1))  # idle limit: 30 minutes
    async with page.expect_navigation():
        await page.locator("#note button[type=submit]").click()
    assert "/panel/login" in page.url or "/panel/tickets/" in page.url
    assert "نشست شما به پایان رسیده بود" in await page.locator("main").inner_text()
    await page.fill("input[name=password]", PASSWORD)
    if not await page.locator("input[name=username]").input_value():
        await page.fill("input[name=username]", "olga")
    async with page.expect_navigation():
        await page.click("button[type=submit]")
    # Back on the same ticket, the note in its box, nothing saved until the operator sends it.
    assert persian_digits(code) in await page.locator("h1").inner_text()
    box = page.locator("#note textarea[name=note]")
    assert (await box.input_value()).replace("\r\n", "\n") == note
    assert note.split("\n")[0] not in await page.locator(".history").inner_text()
    async with page.expect_navigation():
        await page.locator("#note button[type=submit]").click()
    assert page.url.endswith(f"/panel/tickets/{code}?done=noted")
    assert "پیمانکار" in await page.locator(".history").inner_text()
