"""The service with real channel adapters, talking to fake provider servers on 127.0.0.1.

`service(...)` composes what `bot.app.Sada` will once the lead wires `build_channels(...,
store=)`: channels from a `[channels]` config table, the store, a manual clock, and an aiohttp app
holding every channel's routes, served on 127.0.0.1 for webhook calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import Sada
from bot.channel_factory import build_channels
from bot.clock import ManualClock
from bot.config import config_from_mapping
from storage.store import Store
from tests.channels.fakes import FakeBotApi, FakeSmsProviders
from tests.conftest import START

TG_TOKEN = "123456789:AAtelegram-TEST-token-abcdefghij"
BALE_TOKEN = "987654321:bale-TEST-token-zyxwvutsrq"
KAVENEGAR_KEY = "4B6A-KAVENEGAR-SECRET-KEY-0001"
SMSIR_KEY = "smsir-secret-api-key-424242"
MELI_PASSWORD = "meli-secret-password-77"
HOOK_SECRET = "hook_secret_0123456789abcdef"
HOTLINE_TOKEN = "hotline-token-0123456789"
SECRETS = (TG_TOKEN, BALE_TOKEN, KAVENEGAR_KEY, SMSIR_KEY, MELI_PASSWORD, HOOK_SECRET, HOTLINE_TOKEN)

ENV = {
    "TG_TOKEN": TG_TOKEN,
    "BALE_TOKEN": BALE_TOKEN,
    "KAVENEGAR_KEY": KAVENEGAR_KEY,
    "SMSIR_KEY": SMSIR_KEY,
    "MELI_PASSWORD": MELI_PASSWORD,
    "HOOK_SECRET": HOOK_SECRET,
    "HOTLINE_TOKEN": HOTLINE_TOKEN,
}

RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"
POTHOLE = "یه چاله بزرگ وسط خیابان ولیعصر نزدیک پارک ملت افتاده خطرناکه"


def channel_tables(bot_api: str, bale_api: str, sms_api: str, tmp_path: Path) -> dict[str, Any]:
    """Every kind of channel, pointed at the fakes."""
    return {
        "telegram": {
            "kind": "telegram",
            "token_env": "TG_TOKEN",
            "webhook_secret_env": "HOOK_SECRET",
            "base_url": bot_api,
            "fallback_sms": "sms",
            "chat_interval_seconds": 0.0,
        },
        "bale": {
            "kind": "bale",
            "token_env": "BALE_TOKEN",
            "webhook_secret_env": "HOOK_SECRET",
            "base_url": bale_api,
            "chat_interval_seconds": 0.0,
        },
        "sms": {
            "kind": "kavenegar",
            "api_key_env": "KAVENEGAR_KEY",
            "sender": "10004346",
            "webhook_secret_env": "HOOK_SECRET",
            "base_url": sms_api,
            "timeout_seconds": 1.0,
            "messages_per_second": 1000.0,
        },
        "meli": {
            "kind": "melipayamak",
            "username": "municipality",
            "password_env": "MELI_PASSWORD",
            "sender": "50004001",
            "webhook_secret_env": "HOOK_SECRET",
            "base_url": sms_api,
            "messages_per_second": 1000.0,
        },
        "smsir": {
            "kind": "smsir",
            "api_key_env": "SMSIR_KEY",
            "line_number": "30007732",
            "base_url": sms_api,
            "messages_per_second": 1000.0,
        },
        "gateway2": {
            "kind": "generic_sms",
            "webhook_secret_env": "HOOK_SECRET",
            "fields": {"from": "msisdn", "to": "shortcode", "text": "content", "id": "ref"},
            "reply_via": "smsir",
            "ok_body": "ACK",
        },
        "hotline": {
            "kind": "hotline",
            "token_env": "HOTLINE_TOKEN",
            "reply_via": "sms",
            "follow": str(tmp_path / "feed"),
            "follow_interval_seconds": 0.05,
        },
    }


class Service:
    """The composed service plus the fakes; `client` calls the service's webhooks."""

    def __init__(
        self,
        sada: Sada,
        client: TestClient[Any, Any],
        bot_api: FakeBotApi,
        bale_api: FakeBotApi,
        sms: FakeSmsProviders,
        clock: ManualClock,
    ) -> None:
        self.sada = sada
        self.client = client
        self.bot_api = bot_api
        self.bale_api = bale_api
        self.sms = sms
        self.clock = clock
        self.store = sada.store

    async def drain(self) -> None:
        """Deliver every reply that is due."""
        await self.sada.dispatcher.drain()

    async def ticket_count(self) -> int:
        async with self.store.transaction() as tx:
            return await tx.tickets.count()

    async def ticket(self, code: str) -> Any:
        async with self.store.transaction() as tx:
            return await tx.tickets.by_code(code)

    async def outbox(self) -> Any:
        async with self.store.transaction() as tx:
            return await tx.outbox.records()


ServiceFactory = Callable[..., Awaitable[Service]]


@pytest.fixture
async def make_service(store_url: str, tmp_path: Path) -> AsyncIterator[ServiceFactory]:
    """Build the service; `overrides` change single channel tables, `only` keeps some channels."""
    started: list[tuple[Sada, TestClient[Any, Any], list[Any]]] = []

    async def factory(
        only: tuple[str, ...] | None = None, outbox: dict[str, Any] | None = None, **overrides: dict[str, Any]
    ) -> Service:
        bot_api, bale_api = FakeBotApi(TG_TOKEN), FakeBotApi(BALE_TOKEN)
        sms = FakeSmsProviders(
            kavenegar_key=KAVENEGAR_KEY, smsir_key=SMSIR_KEY, melipayamak_password=MELI_PASSWORD
        )
        urls = (await bot_api.start(), await bale_api.start(), await sms.start())
        (tmp_path / "feed").mkdir(exist_ok=True)
        tables = channel_tables(*urls, tmp_path)
        for name, override in overrides.items():
            tables[name].update(override)
        if only is not None:
            tables = {k: v for k, v in tables.items() if k in only}
        data = {
            "store": {"url": store_url},
            "nlp": {"classifier": "keywords"},
            "outbox": {"backoff_base_seconds": 1.0, "max_attempts": 4, **(outbox or {})},
            "channels": tables,
        }
        config = config_from_mapping(data, base_dir=tmp_path, env=ENV)
        store = Store.from_url(store_url)
        clock = ManualClock(START)
        sada = Sada(config, channels=build_channels(config.channels, store=store), store=store, clock=clock)
        await sada.start(workers=False)
        client = TestClient(TestServer(sada.web_app(), host="127.0.0.1"))
        await client.start_server()
        started.append((sada, client, [bot_api, bale_api, sms]))
        return Service(sada, client, bot_api, bale_api, sms, clock)

    yield factory
    for sada, client, fakes in started:
        await client.close()
        await sada.stop()
        for fake in fakes:
            await fake.close()
