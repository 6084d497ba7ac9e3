"""Migrations: an empty store is created, an out-of-date one is refused with what to run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage.schema import SchemaOutOfDate, head_revision, schema_state
from storage.store import Store


async def test_empty_store_is_created_at_head(store_url: str) -> None:
    store = Store.from_url(store_url)
    try:
        state = await store.ensure_ready()
        assert state.current == head_revision() and state.up_to_date
        async with store.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert {
            "citizens",
            "identities",
            "inbound_messages",
            "tickets",
            "ticket_events",
            "ticket_reporters",
            "outbox",
            "users",
            "surveys",
        } <= tables
        assert (await store.ensure_ready()).up_to_date  # idempotent
    finally:
        await store.aclose()


async def test_out_of_date_store_is_refused(store_url: str) -> None:
    store = Store.from_url(store_url)
    try:
        await store.upgrade()
        async with store.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
        state = await schema_state(store.engine)
        assert state.current == "0000_older" and not state.up_to_date and not state.empty
        with pytest.raises(SchemaOutOfDate, match="sada db upgrade"):
            await store.ensure_ready()
    finally:
        await store.aclose()


async def test_tables_without_version_are_not_taken_for_empty(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'foreign.db'}")
    try:
        async with store.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE something_else (id INTEGER)"))
        with pytest.raises(SchemaOutOfDate):
            await store.ensure_ready()
    finally:
        await store.aclose()


def test_cli_db_upgrade_and_status(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[store]\nurl = "sqlite+aiosqlite:///state/sada.db"\n', encoding="utf-8")

    def sada(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    before = sada("db", "status")
    assert before.returncode == 1 and "run `sada db upgrade`" in before.stdout
    upgraded = sada("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert head_revision() in upgraded.stdout
    assert (tmp_path / "state" / "sada.db").exists()
    after = sada("db", "status")
    assert after.returncode == 0 and "up to date" in after.stdout
