"""Photos and voice notes in a real browser (Debian's chromium, headless): sent through the fake Bot
API's webhook, fetched with getFile, shown on the ticket page (a photo that decodes, a lightbox, a
voice note that plays), and refused to staff of another department.

Set SADA_SCREENSHOTS=<folder> to also save the screens there (docs/screens/media-*.png).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import Sada
from bot.dates.clock import ManualClock
from bot.models import Medium
from channels.fake import FakeChannel
from channels.telegram import SECRET_HEADER, TelegramChannel
from tests.channels import updates as u
from tests.channels.fakes import FakeBotApi
from tests.conftest import START, make_config
from tests.media_samples import jpeg, ogg_opus
from tests.panel.browser_steps import keep_screenshot, log_in, open_page
from tests.panel.conftest import PASSWORD, RUBBISH, serving

TOKEN = "123456789:AAbrowser-TEST-token-abcdefghij"
SECRET = "hook_secret_browser_0123456789"


class MediaSite:
    """The service with a Telegram bot whose Bot API is the fake, and its panel."""

    def __init__(self, sada: Sada, api: FakeBotApi, url: str) -> None:
        self.sada = sada
        self.api = api
        self.url = url

    async def send(self, update: dict[str, Any]) -> str:
        """POST an update to the bot's webhook; returns the ticket's code once replies and files are in."""
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{self.url}/hooks/tg/{SECRET}", json=update, headers={SECRET_HEADER: SECRET}
            )
            assert response.status == 200, await response.text()
        await self.sada.dispatcher.drain()
        await self.sada.media.drain()
        async with self.sada.store.read() as tx:
            [ticket] = (await tx.tickets.recent(1))[:1]
        return ticket.tracking_code


@asynccontextmanager
async def media_site(tmp_path: Path) -> AsyncIterator[MediaSite]:
    api = FakeBotApi(TOKEN)
    base = await api.start()
    bot = TelegramChannel(
        "tg", token=TOKEN, secret=SECRET, base_url=base, base_file_url=api.file_url(), chat_interval=0.0
    )
    config = make_config(f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}", tmp_path)
    sada = Sada(
        config, channels={"tg": bot, "sms": FakeChannel("sms", medium=Medium.SMS)}, clock=ManualClock(START)
    )
    await sada.start(background_tasks=False)
    try:
        async with serving(sada) as url:
            yield MediaSite(sada, api, url)
    finally:
        await sada.stop()
        await api.close()


async def _page(browser: Any, site: MediaSite, *, width: int = 1280, height: int = 800) -> Any:
    return await open_page(browser, site.url, width=width, height=height)


async def _login(page: Any, username: str, password: str = PASSWORD) -> Any:
    return await log_in(page, username, password)


async def _shot(page: Any, name: str, tmp_path: Path, *, full_page: bool = True) -> None:
    await keep_screenshot(page, f"{name}", tmp_path, full_page=full_page)


def voice(update_id: int, file_id: str, uid: int) -> dict[str, Any]:
    note = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": 2, "mime_type": "audio/ogg"}
    return u.message(update_id, 80 + update_id, voice=note, uid=uid)


async def test_a_photo_and_a_voice_note_are_seen_and_heard_on_the_ticket_page_and_refused_elsewhere(
    browser: Any, tmp_path: Path
) -> None:
    async with media_site(tmp_path) as site:
        site.api.files["large-file-id"] = jpeg(640, 480)
        site.api.files["voice-1"] = ogg_opus(2.0)
        photo_code = await site.send(u.photo(1, RUBBISH))
        voice_code = await site.send(voice(2, "voice-1", uid=43))
        assert photo_code != voice_code

        # Waste staff: their department's photo decodes in the page, and opens in the lightbox.
        page = await _page(browser, site)
        await _login(page, "wasim")
        await page.goto(f"/panel/tickets/{photo_code}")
        thumb = page.locator(".media-thumb img")
        await thumb.wait_for()
        await page.wait_for_function(
            "() => { const i = document.querySelector('.media-thumb img'); "
            "return i.complete && i.naturalWidth > 0 }"
        )
        assert await thumb.evaluate("i => i.naturalWidth") == 640
        assert "عکس" in await page.locator(".media-list").inner_text()
        await _shot(page, "media-ticket-desktop", tmp_path)
        await thumb.click()
        lightbox = page.locator(".lightbox:target")
        await lightbox.wait_for()
        assert await lightbox.locator("img").evaluate("i => i.naturalWidth") == 640
        await _shot(page, "media-lightbox-desktop", tmp_path, full_page=False)
        await page.click(".lightbox:target .lightbox-close")
        assert await page.locator(".lightbox:target").count() == 0

        # The file's own response: sniffed type, inline, nosniff, not cached, sandboxed.
        [media_url] = [await thumb.get_attribute("src")]
        response = await page.request.get(media_url)
        assert response.status == 200
        headers = response.headers
        assert headers["content-type"] == "image/jpeg"
        assert headers["content-disposition"].startswith('inline; filename="sada-')
        assert headers["x-content-type-options"] == "nosniff"
        assert "private" in headers["cache-control"] and "sandbox" in headers["content-security-policy"]
        assert await response.body() == site.api.files["large-file-id"]
        # The voice note is another department's (general, for an operator): absent for waste staff.
        response = await page.goto(f"/panel/tickets/{voice_code}")
        assert response.status == 404

        # The operator hears the voice note: the player loads it.
        page = await _page(browser, site)
        await _login(page, "olga")
        await page.goto(f"/panel/tickets/{voice_code}")
        audio = page.locator(".media-list audio")
        await audio.wait_for()
        await page.wait_for_function(
            "() => { const a = document.querySelector('.media-list audio'); "
            "return a.readyState >= 1 && a.duration > 0 }"
        )
        assert "پیام صوتی" in await page.locator(".media-list").inner_text()
        voice_url = await audio.get_attribute("src")
        # What the player loaded is the citizen's own recording, served as the type read from it.
        heard = await page.request.get(voice_url)
        assert heard.headers["content-type"] == "audio/ogg"
        assert await heard.body() == site.api.files["voice-1"]
        await _shot(page, "media-voice-desktop", tmp_path)
        # Phone: nothing scrolls sideways.
        phone = await _page(browser, site, width=390, height=844)
        await _login(phone, "olga")
        for code, name in ((photo_code, "media-ticket-phone"), (voice_code, "media-voice-phone")):
            await phone.goto(f"/panel/tickets/{code}")
            await phone.locator(".media-list figure").first.wait_for()
            assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            await _shot(phone, name, tmp_path)

        # Civil-works staff: neither the photo's ticket nor the file itself.
        page = await _page(browser, site)
        await _login(page, "cyrus")
        response = await page.goto(f"/panel/tickets/{photo_code}")
        assert response.status == 404
        for url in (media_url, voice_url):
            response = await page.request.get(url)
            assert response.status == 404
            assert "image" not in response.headers["content-type"]
        # Nobody logged in: the login page, not the file.
        async with aiohttp.ClientSession() as http:
            response = await http.get(site.url + media_url, allow_redirects=False)
            assert response.status in (302, 303) and "/panel/login" in response.headers["Location"]
