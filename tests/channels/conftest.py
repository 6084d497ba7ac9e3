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
from bot.config import config_from_mapping
from bot.dates.clock import ManualClock
from bot.runtime.channel_factory import build_channels
from storage.store import Store
from tests.channels.fakes import FakeBotApi, FakeSmsProviders
from tests.channels.sms_senders import SENDERS
from tests.conftest import START

TG_TOKEN = "123456789:AAtelegram-TEST-token-abcdefghij"
BALE_TOKEN = "987654321:bale-TEST-token-zyxwvutsrq"
HOOK_SECRET = "hook_secret_0123456789abcdef"
HOTLINE_TOKEN = "hotline-token-0123456789"
SENDER_SECRETS = {name: value for sender in SENDERS for name, value in sender.secrets.items()}
SECRETS = (TG_TOKEN, BALE_TOKEN, *SENDER_SECRETS.values(), HOOK_SECRET, HOTLINE_TOKEN)

ENV = {
    "TG_TOKEN": TG_TOKEN,
    "BALE_TOKEN": BALE_TOKEN,
    **SENDER_SECRETS,
    "HOOK_SECRET": HOOK_SECRET,
    "HOTLINE_TOKEN": HOTLINE_TOKEN,
}

RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"
POTHOLE = "یه چاله بزرگ وسط خیابان ولیعصر نزدیک پارک ملت افتاده خطرناکه"


def channel_tables(bot_api: str, bale_api: str, sms_api: str, tmp_path: Path) -> dict[str, Any]:
    """Every kind of channel, pointed at the fakes: the bots, every row of the send table, and the
    channels that answer through a sender."""
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
        **{sender.channel: {**sender.table, "base_url": sms_api} for sender in SENDERS},
        "gateway2": {
            "kind": "generic_sms",
            "webhook_secret_env": "HOOK_SECRET",
            "fields": {"from": "msisdn", "to": "shortcode", "text": "content", "id": "ref"},
            "reply_via": SENDERS[-1].channel,  # the newest sender: the gateway's replies go through it
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
        tables: dict[str, Any],
    ) -> None:
        self.sada = sada
        self.tables = tables
        self.client = client
        self.bot_api = bot_api
        self.bale_api = bale_api
        self.sms = sms
        self.clock = clock
        self.store = sada.store

    def replier(self, channel: str) -> str:
        """The kind of the channel that sends `channel`'s replies (itself, or its `reply_via`)."""
        return str(self.tables[self.tables[channel].get("reply_via", channel)]["kind"])

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
        sms = FakeSmsProviders(SENDERS)
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
        await sada.start(background_tasks=False)
        client = TestClient(TestServer(sada.web_app(), host="127.0.0.1"))
        await client.start_server()
        started.append((sada, client, [bot_api, bale_api, sms]))
        return Service(sada, client, bot_api, bale_api, sms, clock, tables)

    yield factory
    for sada, client, fakes in started:
        await client.close()
        await sada.stop()
        for fake in fakes:
            await fake.close()
