"""Migration 0007 (`outbox.sms_text`): the column matches the table definition, and a row queued
before it (no SMS wording) still has one for the blocked-bot fallback: its chat text on one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, insert

import storage
from storage.schema import upgrade
from storage.store import Store
from storage.tables import Base, OutboxRow, table_of
from tests.conftest import START


def _revision_before_0007() -> str:
    scripts = ScriptDirectory(str(Path(storage.__file__).with_name("migrations")))
    before = scripts.get_revision("0007").down_revision
    assert isinstance(before, str)
    return before


def _outbox_differences(conn: Connection) -> list[Any]:
    differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in differences if "outbox" in repr(d)]


async def test_a_row_queued_before_0007_is_sent_by_sms_as_its_chat_text_on_one_line(store_url: str) -> None:
    store = Store.from_url(store_url)
    try:
        await upgrade(store.engine, _revision_before_0007())
        async with store.engine.begin() as conn:  # what an older version queued
            row = await conn.execute(
                insert(table_of(OutboxRow))
                .values(
                    channel="telegram",
                    address="42",
                    text="درخواست شما ثبت شد.\nکد پیگیری: ۱۲۳\n",
                    buttons=[],
                    priority=0,
                    status="pending",
                    attempts=0,
                    next_attempt_at=START,
                    created_at=START,
                )
                .returning(table_of(OutboxRow).c.id)
            )
            row_id = row.scalar_one()
        assert (await upgrade(store.engine)).up_to_date
        async with store.transaction() as tx:
            assert await tx.outbox.sms_texts([row_id]) == {row_id: "درخواست شما ثبت شد. کد پیگیری: ۱۲۳"}
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_outbox_differences) == []
    finally:
        await store.aclose()
