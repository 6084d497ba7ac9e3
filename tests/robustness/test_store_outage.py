"""The database goes away: webhooks answer 503 (the provider keeps the message and retries),
/healthz says so, and when the database is back the service recovers by itself.

PostgreSQL is made unreachable for real: connections to the test database are refused
(`ALLOW_CONNECTIONS false`) and the service's open ones are terminated. SQLite's equivalent is
another process holding the file's write lock beyond the busy timeout.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import PG_ADMIN_DSN
from tests.robustness.conftest import HookedFactory


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def postgres_only(store_url: str) -> str:
    if not store_url.startswith("postgresql"):
        pytest.skip("the outage is staged on PostgreSQL")
    return store_url.rsplit("/", 1)[1]


@pytest.mark.postgres
async def test_webhooks_answer_503_while_the_store_is_down_and_recover(
    hooked: HookedFactory, postgres_only: str
) -> None:
    database = postgres_only
    svc = await hooked()
    status, _ = await svc.sms("09121110001", "زباله های کوچه شهید رضایی سه روز است جمع نشده", "m-1")
    assert status == 200

    await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        terminate = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'"
        await _admin(terminate.format(database) + " AND pid <> pg_backend_pid()")
        for attempt in range(3):
            status, body = await svc.sms("09121110002", "چاله بزرگ وسط خیابان ولیعصر خطرناک است", "m-2")
            assert status == 503, (attempt, body)
            assert "temporarily unavailable" in body
        health = await svc.client.get("/healthz")
        assert health.status == 503
        assert (await health.json())["store"] == "unreachable"
    finally:
        await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

    # The provider retries; nothing was restarted.
    status, body = await svc.sms("09121110002", "چاله بزرگ وسط خیابان ولیعصر خطرناک است", "m-2")
    assert status == 200, body
    assert (await svc.client.get("/healthz")).status == 200
    status, body = await svc.sms("09121110001", "زباله های کوچه شهید رضایی سه روز است جمع نشده", "m-1")
    assert status == 200 and '"duplicate": true' in body
    assert await svc.ticket_count() == 2
    await svc.sada.dispatcher.drain()
    assert sorted(r for r, _, _ in svc.provider.delivered.values()) == ["09121110001", "09121110002"]


@pytest.fixture
def sqlite_only(store_url: str) -> Path:
    if not store_url.startswith("sqlite"):
        pytest.skip("the outage is staged on SQLite")
    return Path(store_url.split("///", 1)[1])


async def test_sqlite_locked_by_another_process_answers_503_and_recovers(
    hooked: HookedFactory, sqlite_only: Path, store_url: str
) -> None:
    """SQLite's outage: another process (a backup, an admin's `sqlite3` shell) holds the write
    lock longer than the busy timeout. Reads still work (WAL), so /healthz stays up; writes fail
    and webhooks answer 503 until the lock is released, then the same process carries on."""
    svc = await hooked(store={"url": store_url, "busy_timeout_ms": 200})
    status, _ = await svc.sms("09121110001", "زباله های کوچه شهید رضایی سه روز است جمع نشده", "m-1")
    assert status == 200

    other = sqlite3.connect(sqlite_only, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for attempt in range(2):
            status, body = await svc.sms("09121110002", "چاله بزرگ وسط خیابان ولیعصر خطرناک است", "m-2")
            assert status == 503, (attempt, body)
            assert "temporarily unavailable" in body
        # The store is reachable and readable: a writer elsewhere is not an outage. The health
        # check reads without asking for the write lock (it used to wait for it and answer 503).
        health = await svc.client.get("/healthz")
        assert health.status == 200 and (await health.json())["store"] == "ok"
    finally:
        other.execute("ROLLBACK")
        other.close()

    status, body = await svc.sms("09121110002", "چاله بزرگ وسط خیابان ولیعصر خطرناک است", "m-2")
    assert status == 200, body
    status, body = await svc.sms("09121110001", "زباله های کوچه شهید رضایی سه روز است جمع نشده", "m-1")
    assert status == 200 and '"duplicate": true' in body
    assert await svc.ticket_count() == 2
    await svc.sada.dispatcher.drain()
    assert sorted(r for r, _, _ in svc.provider.delivered.values()) == ["09121110001", "09121110002"]
