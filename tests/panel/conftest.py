"""The panel on a real aiohttp server on 127.0.0.1, over a real store, with FakeChannels, a manual
clock and one account per role; plus a headless Debian chromium for the browser tests."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Sada
from bot.dates.clock import ManualClock
from bot.models import Medium, Ticket
from bot.web.panel.passwords import hash_password
from channels.fake import FakeChannel
from tests.conftest import START, make_config

PASSWORD = "a-long-test-password"
CHROMIUM = os.environ.get("SADA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# (username, role, department)
ACCOUNTS = (
    ("olga", "operator", None),
    ("wasim", "staff", "waste"),
    ("cyrus", "staff", "civil_works"),
    ("mina", "manager", None),
    ("adam", "admin", None),
)
# Three keyword hits, the top one at 50 %: below the review threshold, so it waits in triage.
UNSURE = "کنار پارک هم زباله ریخته، هم یه چاله بزرگ هست، هم لامپ کوچه خاموشه"
RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"
POTHOLE = "یه چاله خیلی بزرگ وسط خیابان فردوسی هست ماشین ها آسیب می بینن"

_HASH: list[str] = []


def password_hash() -> str:
    """One scrypt hash of PASSWORD for every test account (hashing is slow on purpose)."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]


class Site:
    """A running service with its panel, its FakeChannels and helpers that read the store."""

    def __init__(self, sada: Sada, chat: FakeChannel, sms: FakeChannel, clock: ManualClock, url: str) -> None:
        self.sada = sada
        self.chat = chat
        self.sms = sms
        self.clock = clock
        self.url = url

    async def say(self, address: str, text: str, channel: FakeChannel | None = None) -> str:
        """A citizen writes; returns the ticket's tracking code after replies are delivered."""
        result = await (channel or self.chat).push(self.sada.inbound, address, text)
        await self.sada.dispatcher.drain()
        assert result.ticket_code
        return str(result.ticket_code)

    async def ticket(self, code: str) -> Ticket:
        async with self.sada.store.transaction() as tx:
            ticket = await tx.tickets.by_code(code)
        assert ticket is not None
        return ticket

    async def event_count(self, code: str) -> int:
        ticket = await self.ticket(code)
        async with self.sada.store.transaction() as tx:
            return len(await tx.tickets.events(ticket.id))


@asynccontextmanager
async def serving(sada: Sada) -> AsyncIterator[str]:
    """A started Sada's web app on a free port of 127.0.0.1, with one account per role (unless the
    store has accounts already); yields the base URL. Stopping Sada is the caller's."""
    async with sada.store.transaction() as tx:
        if not await tx.users.all():
            for username, role, department in ACCOUNTS:
                await tx.users.add(username, username.title(), role, department, password_hash(), START)
    runner = web.AppRunner(sada.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def running_site(store_url: str, tmp_path: Path, **panel: Any) -> AsyncIterator[Site]:
    """Start Sada and its web app on a free port of 127.0.0.1, with one account per role."""
    chat, sms = FakeChannel("tg"), FakeChannel("sms", medium=Medium.SMS)
    clock = ManualClock(START)
    config = make_config(store_url, tmp_path, panel=panel)
    sada = Sada(config, channels={"tg": chat, "sms": sms}, clock=clock)
    await sada.start(background_tasks=False)
    try:
        async with serving(sada) as url:
            yield Site(sada, chat, sms, clock, url)
    finally:
        await sada.stop()


@pytest.fixture
async def site(store_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    """The panel over each kind of store."""
    async with running_site(store_url, tmp_path) as s:
        yield s


@pytest.fixture
async def sqlite_site(tmp_path: Path) -> AsyncIterator[Site]:
    """The panel over SQLite (the browser tests: one store kind is enough to test the browser)."""
    async with running_site(f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}", tmp_path) as s:
        yield s


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Client:
    """An HTTP client with its own cookie jar, logged in as one user (or anonymous)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def login(self, username: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
        page = await self.http.get(f"{self.site.url}/panel/login")
        token = CSRF.search(await page.text())
        assert token
        response = await self.http.post(
            f"{self.site.url}/panel/login",
            data={"csrf": token.group(1), "username": username, "password": password, "next": "/panel/"},
            allow_redirects=False,
        )
        if response.status == 303:
            self.csrf = await self.csrf_of("/panel/tickets" if username != "adam" else "/panel/users")
        return response

    async def csrf_of(self, path: str) -> str:
        response = await self.get(path)
        token = CSRF.search(await response.text())
        assert token, path
        return token.group(1)

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.http.get(self.site.url + path, allow_redirects=False)

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> aiohttp.ClientResponse:
        body = {"csrf": self.csrf, **data} if csrf else dict(data)
        return await self.http.post(self.site.url + path, data=body, allow_redirects=False)

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def clients(site: Site) -> AsyncIterator[Any]:
    """Make clients for `site`; all are closed at the end of the test."""
    made: list[Client] = []

    async def make(username: str | None = None) -> Client:
        client = Client(site)
        made.append(client)
        if username is not None:
            response = await client.login(username)
            assert response.status == 303, username
        return client

    yield make
    for client in made:
        await client.close()


def chromium_or_skip() -> str:
    """The browser's path, or skip (or fail in CI, where `.ci/test` installs it)."""
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"chromium is required in CI but {CHROMIUM} is missing")
    pytest.skip(f"no chromium at {CHROMIUM}")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Debian chromium driven by Playwright."""
    executable = chromium_or_skip()
    try:
        from playwright import async_api
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("playwright is required in CI (the dev extra installs it)")
        pytest.skip("playwright is not installed")
    async with async_api.async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()
