"""The lock file that hands SQLite's write lock between `serve --workers` processes.

flock locks belong to an open file description, so two ProcessWriteLock objects on one file
exclude each other exactly as two processes would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.store import Store
from storage.write_lock import ProcessWriteLock, StoreBusy, lock_path_for
from tests.conftest import START


def test_lock_file_sits_next_to_the_database(tmp_path: Path) -> None:
    assert lock_path_for(f"sqlite+aiosqlite:///{tmp_path}/sada.db") == tmp_path / "sada.db.writer"
    assert lock_path_for("sqlite+aiosqlite:///:memory:") is None
    assert lock_path_for("postgresql+asyncpg://sada@127.0.0.1/sada") is None


async def test_a_held_lock_times_out_as_store_busy_then_is_handed_over(tmp_path: Path) -> None:
    first = ProcessWriteLock(tmp_path / "db.writer", timeout=0.2)
    second = ProcessWriteLock(tmp_path / "db.writer", timeout=5.0)
    order: list[str] = []
    async with first.held():
        with pytest.raises(StoreBusy):
            async with ProcessWriteLock(tmp_path / "db.writer", timeout=0.2).held():
                pass  # pragma: no cover - never reached

        async def wait_then_hold() -> None:
            async with second.held():
                order.append("second")

        waiting = asyncio.create_task(wait_then_hold())
        await asyncio.sleep(0.2)
        assert not waiting.done()  # blocked behind `first`
        order.append("first done")
    await asyncio.wait_for(waiting, 2)
    assert order == ["first done", "second"]


async def test_a_wait_given_up_is_taken_over_or_released(tmp_path: Path) -> None:
    path = tmp_path / "db.writer"
    holder, waiter, other = (ProcessWriteLock(path, timeout=0.2) for _ in range(3))
    async with holder.held():
        with pytest.raises(StoreBusy):
            async with waiter.held():
                pass  # pragma: no cover
    # The abandoned wait got the lock once `holder` let go, and gave it back: nobody is stuck.
    async with asyncio.timeout(2):
        while True:
            try:
                async with other.held():
                    break
            except StoreBusy:
                continue
    # A wait given up and then resumed by the next writer of the same process holds the lock.
    async with holder.held():
        with pytest.raises(StoreBusy):
            async with waiter.held():
                pass  # pragma: no cover
        resumed = asyncio.create_task(_hold_briefly(waiter))
        await asyncio.sleep(0.05)
    assert await asyncio.wait_for(resumed, 2) == "held"
    for lock in (holder, waiter, other):
        lock.close()


async def _hold_briefly(lock: ProcessWriteLock) -> str:
    async with lock.held():
        return "held"


async def test_two_stores_on_one_file_write_in_turn(tmp_path: Path) -> None:
    """Two Store objects (as two processes would) writing concurrently: no 'database is locked'."""
    url = f"sqlite+aiosqlite:///{tmp_path}/sada.db"
    stores = [Store.from_url(url, busy_timeout_ms=5000) for _ in range(2)]
    await stores[0].ensure_ready()

    async def write(store: Store, n: int) -> None:
        for i in range(40):
            async with store.transaction() as tx:
                await tx.users.add(f"user{n}x{i}", "کاربر", "operator", None, "hash", START)

    try:
        await asyncio.gather(*(write(s, n) for n, s in enumerate(stores)))
        async with stores[0].transaction() as tx:
            assert len(await tx.users.all()) == 80
    finally:
        for store in stores:
            await store.aclose()
