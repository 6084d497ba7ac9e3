"""Store.read(): a read-only unit of work. It sees what is committed, refuses writes, and on SQLite
runs while a writer (in this process or another) holds the write lock, instead of queueing
behind intake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text

from storage.engine import ReadOnlyError
from storage.store import Store
from tests.conftest import START


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(store_url, busy_timeout_ms=5000)
    await store.ensure_ready()
    yield store
    await store.aclose()


async def _usernames(store: Store) -> list[str]:
    async with store.read() as tx:
        return sorted(u.username for u in await tx.users.all())


async def test_a_read_sees_what_is_committed(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.users.add("mina", "مینا", "operator", None, "hash", START)
    assert await _usernames(store) == ["mina"]


async def test_a_read_refuses_writes_and_stores_nothing(store: Store) -> None:
    with pytest.raises(ReadOnlyError):
        async with store.read() as tx:
            await tx.users.add("reza", "رضا", "operator", None, "hash", START)
    with pytest.raises(ReadOnlyError):
        async with store.read() as tx:
            await tx.outbox.mark_sent_many([(1, "x")], START)  # a Core UPDATE
    assert await _usernames(store) == []
    async with store.transaction() as tx:  # the pooled connections still write afterwards
        await tx.users.add("reza", "رضا", "operator", None, "hash", START)
    assert await _usernames(store) == ["reza"]


@pytest.mark.postgres
async def test_on_postgresql_even_raw_sql_cannot_write(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SET TRANSACTION READ ONLY is PostgreSQL's")
    with pytest.raises(Exception, match="read-only transaction"):
        async with store.read() as tx:
            await tx.session.execute(text("DELETE FROM users"))


@asynccontextmanager
async def _writer_adding_sara(store: Store) -> AsyncIterator[None]:
    """Inside the block, another task holds a write transaction that has added user "sara" and
    not committed; it commits when the block ends."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with store.transaction() as tx:
            await tx.users.add("sara", "سارا", "operator", None, "hash", START)
            holding.set()
            await release.wait()

    task = asyncio.create_task(writer())
    try:
        await asyncio.wait_for(holding.wait(), 5)
        yield
    finally:
        release.set()
        await task


async def test_a_read_runs_while_a_writer_holds_the_lock(store: Store) -> None:
    """Intake holds the write transaction open; a panel page reads meanwhile and sees the snapshot
    without the uncommitted row. On SQLite this used to wait for the writer (the same lock)."""
    async with store.transaction() as tx:
        await tx.users.add("mina", "مینا", "operator", None, "hash", START)
    async with _writer_adding_sara(store):
        assert await asyncio.wait_for(_usernames(store), 3) == ["mina"]
    assert await _usernames(store) == ["mina", "sara"]


async def test_a_read_runs_while_another_process_holds_the_sqlite_lock(store_url: str) -> None:
    if not store_url.startswith("sqlite"):
        pytest.skip("the inter-process lock file is SQLite's")
    ours, theirs = Store.from_url(store_url), Store.from_url(store_url)
    await ours.ensure_ready()
    try:
        async with _writer_adding_sara(theirs):
            assert await asyncio.wait_for(_usernames(ours), 3) == []
    finally:
        await ours.aclose()
        await theirs.aclose()
