"""Another process holds SQLite's write lock for long (a backup, an admin's `sqlite3` shell): every
webhook is answered 503 while it is still held, so the provider retries, instead of waiting in a
queue where each writer ahead adds its own busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bench.crash_test import HOOK_SECRET
from bot.app import Sada
from tests.robustness.conftest import HookedFactory

BUSY_MS = 500


class OutsideWriter:
    """A connection in another thread holding the write lock until told to let go (or `limit` s)."""

    def __init__(self, path: Path, limit: float) -> None:
        self._path = path
        self._limit = limit
        self._held = threading.Event()
        self._release = threading.Event()
        self.released_when_told = False
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        other = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        self._held.set()
        self.released_when_told = self._release.wait(self._limit)
        other.execute("ROLLBACK")
        other.close()

    async def __aenter__(self) -> OutsideWriter:
        self._thread.start()
        await asyncio.to_thread(self._held.wait)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._release.set()
        await asyncio.to_thread(self._thread.join)


@pytest.fixture
async def running(hooked: HookedFactory, store_url: str) -> AsyncIterator[tuple[Sada, TestClient[Any, Any]]]:
    """The service as `sada serve` runs it: with the outbox, survey and digest workers."""
    if not store_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    built = await hooked(store={"url": store_url, "busy_timeout_ms": BUSY_MS})
    await built.sada.stop()
    sada = Sada(built.sada.config, clock=built.clock)
    await sada.start()
    client = TestClient(TestServer(sada.web_app(), host="127.0.0.1"))
    await client.start_server()
    yield sada, client
    await client.close()
    await sada.stop()


async def test_webhooks_answer_503_while_another_process_holds_the_lock(
    running: tuple[Sada, TestClient[Any, Any]], store_url: str
) -> None:
    sada, client = running
    path = Path(store_url.split("///", 1)[1])

    async def sms(i: int) -> int:
        response = await client.post(
            f"/hooks/sms/{HOOK_SECRET}",
            data={
                "from": f"0912111{i:04d}",
                "to": "10004346",
                "message": "چاله وسط خیابان",
                "messageid": f"m{i}",
            },
        )
        return response.status

    # Sixteen webhooks at once, several writer groups, the outbox polling beside them: before,
    # each group waited a busy timeout, then each of its messages again, one after the other
    # (sixteen webhooks took seventeen busy timeouts; with the default 5 s, over a minute).
    async with OutsideWriter(path, limit=8 * BUSY_MS / 1000) as writer:
        statuses = await asyncio.gather(*(sms(i) for i in range(16)))
    assert statuses == [503] * 16
    assert writer.released_when_told, "webhooks were still waiting when the outside writer gave up"

    # Nothing was acknowledged, so nothing is lost: the provider's retries are stored.
    statuses = await asyncio.gather(*(sms(i) for i in range(16)))
    assert statuses == [200] * 16
    async with sada.store.read() as tx:
        assert await tx.tickets.count() == 16
