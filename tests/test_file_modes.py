"""The SQLite store and the polling spool hold citizens' numbers and messages: owner-only files in an
owner-only folder, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import InboundMessage
from channels.spool import Spool
from storage.store import Store


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, as on many servers (files 0644, folders 0755 by default)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_store_is_private(tmp_path: Path, open_umask: None) -> None:
    var = tmp_path / "var"
    store = Store.from_url(f"sqlite+aiosqlite:///{var}/sada.db")
    try:
        await store.ensure_ready()
        async with store.transaction() as tx:
            await tx.citizens.identity_for("sms", "+989121234567", at=datetime.now(UTC))
        files = sorted(p.name for p in var.iterdir())
        assert {"sada.db", "sada.db-wal", "sada.db-shm"} <= set(files), files
        for name in files:
            assert mode(var / name) == 0o600, (name, oct(mode(var / name)))
        assert mode(var) == 0o700
    finally:
        await store.aclose()


async def test_an_existing_readable_store_is_narrowed(tmp_path: Path, open_umask: None) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/sada.db"
    first = Store.from_url(url)
    await first.ensure_ready()
    await first.aclose()
    (tmp_path / "sada.db").chmod(0o644)  # as an older version left it
    again = Store.from_url(url)
    try:
        await again.ensure_ready()
        assert mode(tmp_path / "sada.db") == 0o600
    finally:
        await again.aclose()


def test_the_polling_spool_is_private(tmp_path: Path, open_umask: None) -> None:
    spool = Spool(tmp_path / "var" / "sms-polled.jsonl")
    message = InboundMessage("sms", "+989121234567", "p-1", "آب قطع است", datetime.now(UTC))
    spool.append([message])
    assert mode(spool.path) == 0o600
    assert mode(spool.path.parent) == 0o700
    spool.replace([message])
    assert mode(spool.path) == 0o600
