"""The Open311 API on a real aiohttp server on 127.0.0.1 over a real store (SQLite and PostgreSQL),
with FakeChannels and a manual clock; API keys come from the environment as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from bot.app import Sada
from bot.dates.clock import ManualClock
from bot.models import Medium
from channels.fake import FakeChannel
from tests.channels.conftest import make_service  # noqa: F401 - the fixture, for the SMS provider test
from tests.conftest import START, make_config
from tests.panel.conftest import serving

KEY = "city-app-key-0123456789abcdef"
OTHER_KEY = "another-key-abcdefghijklmnop"
KEYS = f"cityapp:{KEY}, partner:{OTHER_KEY}"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
POTHOLE = "یه چاله خیلی بزرگ وسط خیابان فردوسی هست ماشین ها آسیب می بینن"
RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"


class Api:
    """A running service and an HTTP client for /open311/v2."""

    def __init__(
        self, sada: Sada, url: str, http: aiohttp.ClientSession, sms: FakeChannel, clock: ManualClock
    ):
        self.sada = sada
        self.url = url
        self.base = f"{url}/open311/v2"
        self.http = http
        self.sms = sms
        self.clock = clock

    async def get(self, path: str, **params: str) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(f"{self.base}/{path}", params=params) as response:
            return response.status, await response.text(), response

    async def post(
        self, fmt: str = "json", data: Any = None, **fields: str
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        body = data if data is not None else {"api_key": KEY, **fields}
        async with self.http.post(f"{self.base}/requests.{fmt}", data=body) as response:
            return response.status, await response.text(), response

    async def ticket_count(self) -> int:
        async with self.sada.store.read() as tx:
            return await tx.tickets.count()

    async def ticket(self, code: str) -> Any:
        async with self.sada.store.read() as tx:
            ticket = await tx.tickets.by_code(code)
            assert ticket is not None
            return ticket

    async def events(self, code: str) -> Any:
        ticket = await self.ticket(code)
        async with self.sada.store.read() as tx:
            return await tx.tickets.events(ticket.id)


def xml_root(text: str, root: str) -> ET.Element:
    """The parsed document, after checking the declaration and the root element's name."""
    assert text.startswith(DECLARATION), text[:80]
    element = ET.fromstring(text.encode("utf-8"))  # noqa: S314 - our own service's answer
    assert element.tag == root, element.tag
    return element


@asynccontextmanager
async def running_api(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, keys: str = KEYS, **sections: Any
) -> AsyncIterator[Api]:
    """Start Sada (FakeChannels `tg` and SMS `sms`) with its web app on a free port of 127.0.0.1."""
    monkeypatch.setenv("SADA_OPEN311_KEYS", keys)
    chat, sms = FakeChannel("tg"), FakeChannel("sms", medium=Medium.SMS)
    clock = ManualClock(START)
    sada = Sada(make_config(store_url, tmp_path, **sections), channels={"tg": chat, "sms": sms}, clock=clock)
    await sada.start(background_tasks=False)
    try:
        async with serving(sada) as url, aiohttp.ClientSession() as http:
            yield Api(sada, url, http, sms, clock)
    finally:
        await sada.stop()


@pytest.fixture
async def api(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    """The API over each kind of store."""
    async with running_api(store_url, tmp_path, monkeypatch) as a:
        yield a
