"""The web form in a real browser (Debian's chromium, headless), on a desktop and a 390×844 phone:
a request with a photo, the browser's location and a phone; the code read from the fake SMS
provider and typed in; the ticket and its photo in the panel; the status page without personal
data; and a phone never confirmed that hears nothing but its code.

Set SADA_SCREENSHOTS=<folder> to also save the screens there (docs/screens/webform-*.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.models import TicketStatus
from tests.panel.browser_steps import keep_screenshot, log_in, open_page
from tests.webform.conftest import PHONE, POTHOLE, RUBBISH, SMS_CODE, FormSite, operator, running_form
from tests.webform.photo_samples import jpeg_with_metadata

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


async def _fits(page: Any) -> None:
    """Right to left, and nothing wider than the window."""
    assert await page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def _change_status(site: FormSite, code: str, to: TicketStatus, note: str = "") -> None:
    olga = await operator(site)
    try:
        response = await olga.post(f"/panel/tickets/{code}/status", {"to": to.value, "note": note})
        assert response.status == 303
    finally:
        await olga.close()


@pytest.mark.parametrize("size", SIZES)
async def test_a_citizen_reports_with_a_photo_and_confirms_their_phone(
    browser: Any, tmp_path: Path, size: str
) -> None:
    width, height = SIZES[size]
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_with_metadata())
    async with running_form(f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}", tmp_path) as site:
        page = await open_page(browser, site.url, width=width, height=height)
        await page.context.grant_permissions(["geolocation"], origin=site.url)
        await page.context.set_geolocation({"latitude": 35.7, "longitude": 51.41})
        await page.goto("/r/")
        await _fits(page)
        await keep_screenshot(page, f"webform-form-{size}", tmp_path)
        await page.fill("textarea[name=text]", POTHOLE)
        await page.fill("input[name=place]", "خیابان فردوسی، نبش کوچهٔ بهار")
        await page.click("#locate")  # the only script: the browser's location into hidden fields
        await page.wait_for_function("document.getElementById('latitude').value !== ''")
        await page.set_input_files("input[name=photo]", str(photo))
        await page.fill("input[name=phone]", "۰۹۱۲۱۲۳۴۵۶۷")
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        assert "/r/receipt/" in page.url
        [ticket] = await site.tickets()
        code = ticket.tracking_code
        assert (ticket.latitude, ticket.longitude) == (35.7, 51.41)
        big = await page.inner_text(".big-code")
        assert big.split() == [part.translate(_TO_PERSIAN) for part in (code[:3], code[3:6], code[6:])]
        await _fits(page)
        await keep_screenshot(page, f"webform-receipt-{size}", tmp_path)

        await site.deliver()
        [code_sms] = site.texts_to(PHONE)
        typed = SMS_CODE.fullmatch(code_sms)
        assert typed is not None
        await page.fill("input[name=code]", typed.group(1))  # as it came, in Persian digits
        async with page.expect_navigation():
            await page.click("#phone button[type=submit]")
        assert "شمارهٔ شما تأیید شد" in await page.inner_text("#phone")
        await _fits(page)
        await keep_screenshot(page, f"webform-confirmed-{size}", tmp_path)
        await site.deliver()
        assert code.translate(_TO_PERSIAN) in site.texts_to(PHONE)[-1]

        panel = await open_page(browser, site.url, width=width, height=height)
        await log_in(panel, "olga")
        await panel.goto(f"/panel/tickets/{code}")
        await panel.wait_for_function(
            "() => { const i = document.querySelector('.media-thumb img');"
            " return i && i.complete && i.naturalWidth > 0 }"
        )
        # 48×32 with EXIF orientation 6: the kept orientation turns it upright, 32 wide.
        assert await panel.locator(".media-thumb img").evaluate("i => i.naturalWidth") == 32
        [(_info, stored)] = await site.media(ticket)
        assert b"MARKER" not in stored

        await _change_status(site, code, TicketStatus.IN_PROGRESS)
        await site.deliver()
        assert len(site.texts_to(PHONE)) == 3  # the code, "registered", "in progress"

        await page.goto("/r/status")
        await page.fill("input[name=code]", code.translate(_TO_PERSIAN))
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        text = await page.inner_text("main")
        assert "در دست اقدام" in text
        for private in ("۰۹۱۲۱۲۳۴۵۶۷", "09121234567", "فردوسی", "بهار", "Olga"):
            assert private not in text and private not in await page.content()
        await _fits(page)
        await keep_screenshot(page, f"webform-status-{size}", tmp_path)


async def test_a_phone_never_confirmed_hears_only_its_code(browser: Any, tmp_path: Path) -> None:
    async with running_form(f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}", tmp_path) as site:
        page = await open_page(browser, site.url)
        await page.goto("/r/")
        await page.fill("textarea[name=text]", RUBBISH)
        await page.fill("input[name=phone]", "09121234567")
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        assert await page.locator("input[name=code]").count() == 1
        [ticket] = await site.tickets()
        await _change_status(site, ticket.tracking_code, TicketStatus.IN_PROGRESS)
        await _change_status(site, ticket.tracking_code, TicketStatus.RESOLVED, "زباله‌ها جمع شد")
        await site.deliver()
        [only] = site.texts_to(PHONE)
        assert SMS_CODE.fullmatch(only)
