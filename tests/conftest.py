"""Shared fixtures: a real store (SQLite file, and PostgreSQL when a server is there), a composed
service with FakeChannels and a manual clock, so tests read like conversations."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import Sada
from bot.config import AppConfig, config_from_mapping
from bot.dates.clock import ManualClock
from bot.models import Medium, Ticket
from channels.fake import FakeChannel
from storage.store import Store, Transaction

PG_ADMIN_DSN = os.environ.get("SADA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Sunday 1 Azar 1405, 10:00 Tehran (06:30 UTC): a working day, far from Friday.
START = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)


def _pg_available() -> str | None:
    """None when the server answers, else why not."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run (dropped at the end)."""
    import asyncpg

    problem = _pg_available()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_DSN}: {problem}")
        pytest.skip(f"no PostgreSQL server: {problem}")
    name = f"sada_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _reset_postgres(url: str) -> None:
    """Empty the test database between tests: truncate when the schema is current, else rebuild it."""
    from sqlalchemy import text

    from storage.schema import schema_state
    from storage.tables import Base

    store = Store.from_url(url)
    try:
        state = await schema_state(store.engine)
        if not state.up_to_date:
            async with store.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await store.upgrade()
            return
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with store.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await store.aclose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL of each kind, empty at the start of the test."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_reset_postgres(url))
    return url


def make_config(store_url: str, tmp_path: Path, **sections: dict[str, Any]) -> AppConfig:
    """A valid config for tests: the default taxonomy, the given store, overrides per section."""
    data: dict[str, Any] = {"store": {"url": store_url}, "nlp": {"classifier": "keywords"}}
    data["outbox"] = {"backoff_base_seconds": 1.0, "max_attempts": 4}
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return config_from_mapping(data, base_dir=tmp_path, env={})


async def existing(tx: Transaction, code: str | None) -> Ticket:
    """The ticket with this tracking code (the test fails here if there is none)."""
    assert code is not None
    ticket = await tx.tickets.by_code(code)
    assert ticket is not None, code
    return ticket


class Rig:
    """A composed service with a Telegram-like and an SMS-like FakeChannel and a manual clock."""

    def __init__(self, sada: Sada, chat: FakeChannel, sms: FakeChannel, clock: ManualClock) -> None:
        self.sada = sada
        self.chat = chat
        self.sms = sms
        self.clock = clock
        self.store = sada.store
        self.lifecycle = sada.lifecycle

    async def say(self, channel: FakeChannel, address: str, text: str, **kwargs: Any) -> Any:
        """A citizen sends a message through the service's front door (flood limit → group commit →
        gateway, as a webhook's message); replies are delivered before this returns."""
        result = await channel.push(self.sada.inbound, address, text, **kwargs)
        await self.sada.dispatcher.drain()
        return result

    async def ticket(self, code: str) -> Any:
        async with self.store.transaction() as tx:
            return await tx.tickets.by_code(code)


@pytest.fixture
async def rig(store_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """The whole pipeline on a real store, with FakeChannels and time under the test's control."""
    chat, sms = FakeChannel("tg"), FakeChannel("sms", medium=Medium.SMS)
    clock = ManualClock(START)
    sada = Sada(make_config(store_url, tmp_path), channels={"tg": chat, "sms": sms}, clock=clock)
    await sada.start(background_tasks=False)
    try:
        yield Rig(sada, chat, sms, clock)
    finally:
        await sada.stop()
