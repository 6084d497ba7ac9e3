"""The real service behind real HTTP, for hostile-input, outage and flood tests.

`hooked` composes `bot.app.Sada` from a config with one Kavenegar SMS channel (pointed at the
fake Kavenegar of bench/crash_test.py), a manual clock, and `Sada.web_app()` served on 127.0.0.1,
so requests take the same path as in production: webhook → flood limit → group commit → gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bench.crash_test import API_KEY, HOOK_SECRET, FakeKavenegar
from bot.app import Sada
from bot.config import config_from_mapping
from bot.dates.clock import ManualClock
from tests.conftest import START

ENV = {"CRASH_KAVENEGAR_KEY": API_KEY, "CRASH_SMS_SECRET": HOOK_SECRET}
HOOK = f"/hooks/sms/{HOOK_SECRET}"


class Hooked:
    """A running service, its HTTP client and the fake SMS provider."""

    def __init__(self, sada: Sada, client: TestClient[Any, Any], provider: FakeKavenegar, clock: ManualClock):
        self.sada = sada
        self.client = client
        self.provider = provider
        self.clock = clock
        self.store = sada.store

    async def sms(self, sender: str, text: str, message_id: str) -> tuple[int, Any]:
        """One inbound SMS webhook as Kavenegar would send it: (status, answer)."""
        response = await self.client.post(
            HOOK, data={"from": sender, "to": "10004346", "message": text, "messageid": message_id}
        )
        body = await response.text()
        return response.status, body

    async def ticket_count(self) -> int:
        async with self.store.transaction() as tx:
            return await tx.tickets.count()


HookedFactory = Callable[..., Awaitable[Hooked]]


@pytest.fixture
async def hooked(store_url: str, tmp_path: Path) -> AsyncIterator[HookedFactory]:
    """Build the service; keyword arguments are extra config sections."""
    made: list[Hooked] = []

    async def factory(**sections: dict[str, Any]) -> Hooked:
        provider = FakeKavenegar()
        base_url = await provider.start()
        data: dict[str, Any] = {
            "store": {"url": store_url},
            "nlp": {"classifier": "keywords"},
            "channels": {
                "sms": {
                    "kind": "kavenegar",
                    "api_key_env": "CRASH_KAVENEGAR_KEY",
                    "webhook_secret_env": "CRASH_SMS_SECRET",
                    "sender": "10004346",
                    "base_url": base_url,
                    "messages_per_second": 1000.0,
                    "timeout_seconds": 2.0,
                }
            },
            **sections,
        }
        config = config_from_mapping(data, base_dir=tmp_path, env=ENV)
        clock = ManualClock(START)
        sada = Sada(config, clock=clock)
        await sada.start(background_tasks=False)
        client = TestClient(TestServer(sada.web_app(), host="127.0.0.1"))
        await client.start_server()
        hooked = Hooked(sada, client, provider, clock)
        made.append(hooked)
        return hooked

    yield factory
    for h in made:
        await h.client.close()
        await h.sada.stop()
        await h.provider.close()
