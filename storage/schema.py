"""Schema versions through Alembic: upgrade, inspect, and refuse to run on an out-of-date store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

_MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaOutOfDate(Exception):
    """The store's schema is older (or newer) than this code; the message says what to run."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where the store's schema stands against this code's migrations."""

    current: str | None
    head: str
    empty: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration this code ships."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations shipped")
    return head


def _state(conn: Connection) -> SchemaState:
    current = MigrationContext.configure(conn).get_current_revision()
    tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    return SchemaState(current=current, head=head_revision(), empty=current is None and not tables)


def _upgrade(conn: Connection, revision: str) -> None:
    cfg = _alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """Read the store's schema revision."""
    async with engine.connect() as conn:
        return await conn.run_sync(_state)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> SchemaState:
    """Apply migrations up to `revision` (`sada db upgrade`)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)
    return await schema_state(engine)


async def ensure_ready(engine: AsyncEngine) -> SchemaState:
    """Create the schema in an empty store; refuse a store whose schema is not this code's."""
    state = await schema_state(engine)
    if state.empty:
        return await upgrade(engine)
    if not state.up_to_date:
        raise SchemaOutOfDate(
            f"the store's schema is at revision {state.current or 'none'}, this version of Sada needs "
            f"{state.head}: back up the database, then run `sada db upgrade --config <your config>`"
        )
    return state
