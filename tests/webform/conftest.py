"""The web form on a real aiohttp server on 127.0.0.1, over a real store, with a real Kavenegar SMS
channel talking to the fake provider (tests/channels/fakes.py), a manual clock and the panel's
accounts; plus an anonymous citizen's HTTP client that fills the form as a browser would."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import Sada
from bot.config import config_from_mapping
from bot.dates.clock import ManualClock
from bot.models import Ticket
from bot.runtime.channel_factory import build_channels
from channels.desk import WEB
from channels.phone import local_form
from storage.media import MediaInfo, MediaRepository
from storage.store import Store
from storage.tables import InboundRow
from tests.channels.conftest import ENV
from tests.channels.fakes import FakeSmsProviders
from tests.channels.sms_senders import SENDERS
from tests.conftest import START
from tests.panel.conftest import Client, browser, serving  # noqa: F401 - `browser`: the fixture, for test_browser.py

KAVENEGAR = SENDERS[0]
PHONE = "+989121234567"
RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"
POTHOLE = "یه چاله خیلی بزرگ وسط خیابان فردوسی هست ماشین ها آسیب می بینن"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
SMS_CODE = re.compile(r"کد تأیید صدا: ([۰-۹]{6})")
_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


class FormSite:
    """A running service with its web form and panel, the fake SMS provider and store helpers."""

    def __init__(self, sada: Sada, sms: FakeSmsProviders, clock: ManualClock, url: str) -> None:
        self.sada = sada
        self.sms = sms
        self.clock = clock
        self.url = url

    async def deliver(self) -> None:
        """Send every queued message (the SMS go to the fake provider)."""
        await self.sada.dispatcher.drain()

    def texts_to(self, phone: str = PHONE) -> list[str]:
        """Every SMS the fake provider accepted for `phone`, in order."""
        return [text for _kind, receptor, text in self.sms.texts() if receptor == local_form(phone)]

    def code_sent(self, phone: str = PHONE) -> str:
        """The one-time code in the latest code SMS to `phone` (ASCII digits)."""
        codes = [m.group(1) for t in self.texts_to(phone) if (m := SMS_CODE.fullmatch(t))]
        assert codes, self.texts_to(phone)
        return codes[-1].translate(_TO_ASCII)

    async def tickets(self) -> list[Ticket]:
        async with self.sada.store.read() as tx:
            return await tx.tickets.recent(100)

    async def web_messages(self) -> int:
        """How many messages the form has put through the front door."""
        async with self.sada.store.read() as tx:
            return int(await tx.session.scalar(select(func.count()).where(InboundRow.channel == WEB)) or 0)

    async def ticket(self, code: str) -> Ticket:
        async with self.sada.store.read() as tx:
            ticket = await tx.tickets.by_code(code)
        assert ticket is not None, code
        return ticket

    async def media(self, ticket: Ticket) -> list[tuple[MediaInfo, bytes]]:
        async with self.sada.store.read() as tx:
            repo = MediaRepository(tx.session)
            infos = await repo.for_ticket(ticket.id)
            files = [await repo.file(i.id) for i in infos]
        return [(i, f.data if f else b"") for i, f in zip(infos, files, strict=True)]

    async def reporter_channels(self, ticket: Ticket) -> list[tuple[str, str]]:
        async with self.sada.store.read() as tx:
            return [(r.channel, r.address) for r in await tx.tickets.reporters(ticket.id)]


@asynccontextmanager
async def running_form(
    store_url: str, tmp_path: Path, *, sms: bool = True, panel: dict[str, Any] | None = None, **webform: Any
) -> AsyncIterator[FormSite]:
    """Sada with the web form (`webform` overrides `[webform]`) and, unless `sms=False`, a Kavenegar
    channel pointed at the fake provider."""
    fake = FakeSmsProviders([KAVENEGAR])
    base_url = await fake.start()
    channels = {KAVENEGAR.channel: {**KAVENEGAR.table, "base_url": base_url}} if sms else {}
    data = {
        "store": {"url": store_url},
        "nlp": {"classifier": "keywords"},
        "outbox": {"backoff_base_seconds": 1.0, "max_attempts": 4},
        "channels": channels,
        "webform": webform,
        "panel": panel or {},
    }
    config = config_from_mapping(data, base_dir=tmp_path, env=ENV)
    store = Store.from_url(store_url)
    clock = ManualClock(START)
    sada = Sada(config, channels=build_channels(config.channels, store=store), store=store, clock=clock)
    await sada.start(background_tasks=False)
    try:
        async with serving(sada) as url:
            yield FormSite(sada, fake, clock, url)
    finally:
        await sada.stop()
        await fake.close()


FormFactory = Callable[..., Awaitable[FormSite]]


@pytest.fixture
async def make_form(store_url: str, tmp_path: Path) -> AsyncIterator[FormFactory]:
    """Start a form site with overrides; each is stopped at the end of the test."""
    stack: list[Any] = []

    async def factory(**overrides: Any) -> FormSite:
        context = running_form(store_url, tmp_path, **overrides)
        stack.append(context)
        return await context.__aenter__()

    yield factory
    for context in reversed(stack):
        await context.__aexit__(None, None, None)


@pytest.fixture
async def form_site(make_form: FormFactory) -> FormSite:
    """The web form with its defaults, over each kind of store."""
    return await make_form()


class Citizen:
    """An anonymous browser: its own cookie jar, the form read from the page as a browser would."""

    def __init__(self, site: FormSite, forwarded_for: str | None = None) -> None:
        self.site = site
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.http.get(self.site.url + path, headers=self.headers, allow_redirects=False)

    async def open_form(self) -> dict[str, str]:
        """The form's hidden fields (csrf, token)."""
        page = await (await self.get("/r/")).text()
        csrf, token = CSRF.search(page), TOKEN.search(page)
        assert csrf and token
        return {"csrf": csrf.group(1), "token": token.group(1)}

    async def post(
        self, path: str, fields: dict[str, str], photo: bytes | None = None
    ) -> aiohttp.ClientResponse:
        form = aiohttp.FormData()
        for name, value in fields.items():
            form.add_field(name, value)
        if photo is not None:
            form.add_field("photo", io.BytesIO(photo), filename="photo.jpg", content_type="image/jpeg")
        return await self.http.post(
            self.site.url + path, data=form, headers=self.headers, allow_redirects=False
        )

    async def send(
        self, text: str = RUBBISH, photo: bytes | None = None, **fields: str
    ) -> aiohttp.ClientResponse:
        """Open the form and send it (no redirect followed)."""
        hidden = await self.open_form()
        return await self.post("/r/", {**hidden, "text": text, **fields}, photo)

    async def receipt(self, response: aiohttp.ClientResponse) -> tuple[str, str]:
        """(the receipt page's path, its HTML) after a 303 from the form."""
        assert response.status == 303, (response.status, await response.text())
        location = response.headers["Location"]
        page = await self.get(location)
        assert page.status == 200
        return location, await page.text()

    async def csrf_on(self, path: str) -> str:
        found = CSRF.search(await (await self.get(path)).text())
        assert found
        return found.group(1)

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def citizens() -> AsyncIterator[Callable[..., Citizen]]:
    """Make citizens (anonymous browsers) for a site; all are closed at the end of the test."""
    made: list[Citizen] = []

    def make(site: FormSite, forwarded_for: str | None = None) -> Citizen:
        citizen = Citizen(site, forwarded_for)
        made.append(citizen)
        return citizen

    yield make
    for citizen in made:
        await citizen.close()


async def operator(site: FormSite) -> Client:
    """An operator logged in to the panel (the caller closes it)."""
    client = Client(site)  # type: ignore[arg-type]  # it needs only `url`
    response = await client.login("olga")
    assert response.status == 303
    return client
