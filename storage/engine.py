"""Engine and session factory for SQLite (default) and PostgreSQL, chosen by URL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.pool import ConnectionPoolEntry


def is_sqlite(url: str) -> bool:
    """Whether `url` names an SQLite database."""
    return url.startswith("sqlite")


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL; None for PostgreSQL or in-memory SQLite."""
    if not is_sqlite(url):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and ":memory:" not in path else None


FILE_MODE = 0o600  # the database holds citizens' phone numbers and messages: owner only
FOLDER_MODE = 0o700


def make_engine(
    url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10, echo: bool = False
) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    Statement parameters are never logged (`hide_parameters`), whatever `echo` says: they are
    phone numbers, messages and session ids."""
    if is_sqlite(url):
        if (path := sqlite_file(url)) is not None:
            private_database_file(path)
        engine = create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": busy_timeout_ms / 1000},
            pool_size=pool_size,
        )
        _install_sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
    )


def private_database_file(path: Path) -> None:
    """Make the SQLite file (and a folder we create for it) readable by this user only, whatever
    the umask. SQLite creates `-wal`, `-shm` with the database file's mode, so they follow; files
    an older version left readable by others are narrowed too."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=FOLDER_MODE)
        folder.chmod(FOLDER_MODE)  # mkdir's mode is masked by the umask
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            if existing.stat().st_mode & 0o077:
                existing.chmod(FILE_MODE)


READ_ONLY = "sada_read_only"  # execution option: this connection will not write


def _install_sqlite_pragmas(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # aiosqlite's own transaction handling fights SQLAlchemy's; take it over (SQLAlchemy docs,
        # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite and aiosqlite).
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers wait on the busy timeout
        # instead of failing with "database is locked" when a read lock is upgraded. A connection
        # marked READ_ONLY only reads: a deferred BEGIN, which WAL lets run beside a writer.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class ReadOnlyError(RuntimeError):
    """A write was attempted in a read-only unit of work (`Store.read()`): a bug in the caller."""


class GuardedSession(Session):
    """A Session that refuses INSERT, UPDATE, DELETE and flushes once `info[READ_ONLY]` is set."""


@event.listens_for(GuardedSession, "do_orm_execute")
def _refuse_statements(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlyError(f"{type(state.statement).__name__} in a read-only unit of work")


@event.listens_for(GuardedSession, "before_flush")
def _refuse_flush(session: Session, _context: object, _instances: object) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlyError("flush in a read-only unit of work")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (domain objects are built before it anyway)."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=GuardedSession)
