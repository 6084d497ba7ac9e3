"""The store facade: one engine, and a unit of work that hands out repositories on one session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.citizens import CitizenRepository
from storage.engine import READ_ONLY, is_sqlite, make_engine, make_sessionmaker
from storage.inbound import InboundRepository
from storage.outbox import OutboxRepository
from storage.schema import SchemaState, ensure_ready, upgrade
from storage.surveys import SurveyRepository
from storage.tickets import TicketRepository
from storage.users import UserRepository
from storage.write_lock import ProcessWriteLock, StoreBusy, lock_path_for


@dataclass(slots=True)
class Transaction:
    """Repositories sharing one session: everything done through them commits or rolls back together."""

    session: AsyncSession
    citizens: CitizenRepository
    inbound: InboundRepository
    tickets: TicketRepository
    outbox: OutboxRepository
    surveys: SurveyRepository
    users: UserRepository


class Store:
    """Owns the engine; `transaction()` and `read()` are the only ways code outside storage/ touches
    the database."""

    def __init__(self, engine: AsyncEngine, *, busy_timeout_ms: int = 5000) -> None:
        self.engine = engine
        # SQLite has one writer at a time; queueing writers here (FIFO) instead of on the file's
        # busy timeout keeps a busy ingest from starving the outbox until "database is locked".
        self._write_lock = asyncio.Lock() if is_sqlite(str(engine.url)) else None
        # A writer waits at most this long for its turn in that queue, as for SQLite's own lock:
        # behind a lock held from outside, each writer ahead would otherwise add its own busy wait.
        self._busy_seconds = busy_timeout_ms / 1000
        # Between processes sharing the file, a lock file hands the write lock over at once.
        lock_path = lock_path_for(str(engine.url))
        self._process_lock = (
            ProcessWriteLock(lock_path, timeout=busy_timeout_ms / 1000) if lock_path is not None else None
        )
        self._sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)

    @classmethod
    def from_url(
        cls, url: str, *, busy_timeout_ms: int = 5000, pool_size: int = 10, echo: bool = False
    ) -> Store:
        """Build the engine for `url`."""
        engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size, echo=echo)
        return cls(engine, busy_timeout_ms=busy_timeout_ms)

    @property
    def dialect(self) -> str:
        return "sqlite" if is_sqlite(str(self.engine.url)) else "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A unit of work: commits when the block ends, rolls back if it raises."""
        async with (
            self._queued_writer(),
            self._process_lock.held() if self._process_lock is not None else nullcontext(),
            self._unit() as tx,
        ):
            yield tx

    @asynccontextmanager
    async def _queued_writer(self) -> AsyncIterator[None]:
        """This process's turn to write on SQLite (FIFO); StoreBusy after the busy timeout."""
        if self._write_lock is None:
            yield
            return
        try:
            async with asyncio.timeout(self._busy_seconds or None):
                await self._write_lock.acquire()
        except TimeoutError:
            raise StoreBusy("the database's writers are queued behind a lock held too long") from None
        try:
            yield
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Transaction]:
        """A read-only unit of work: one consistent snapshot; a write through it raises ReadOnlyError.

        On SQLite it takes neither the in-process nor the inter-process write lock and begins with
        a deferred BEGIN: WAL lets it read beside the one writer. Panel pages, reports and digests
        use it, so they neither wait for intake nor hold it up."""
        async with self._unit(read_only=True) as tx:
            yield tx

    @asynccontextmanager
    async def _unit(self, *, read_only: bool = False) -> AsyncIterator[Transaction]:
        async with self._sessions() as session, session.begin():
            if read_only:
                session.info[READ_ONLY] = True
                # The first connection of the session decides how its transaction begins.
                await session.connection(execution_options={READ_ONLY: True})
                if self.dialect == "postgresql":  # it refuses writes itself too, raw SQL included
                    await session.execute(text("SET TRANSACTION READ ONLY"))
            yield Transaction(
                session=session,
                citizens=CitizenRepository(session),
                inbound=InboundRepository(session),
                tickets=TicketRepository(session),
                outbox=OutboxRepository(session),
                surveys=SurveyRepository(session),
                users=UserRepository(session),
            )

    async def ensure_ready(self) -> SchemaState:
        """Create the schema in an empty store, or refuse an out-of-date one."""
        return await ensure_ready(self.engine)

    async def upgrade(self) -> SchemaState:
        """Apply all migrations."""
        return await upgrade(self.engine)

    async def healthy(self) -> bool:
        """Whether the store answers a trivial query."""
        try:
            # Read-only: on SQLite it must not wait for the write lock (a long writer elsewhere is
            # not an unreachable store; webhooks answer 503 for it on their own).
            async with self.engine.connect() as conn:
                await (await conn.execution_options(**{READ_ONLY: True})).execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not healthy"; the caller reports it
            return False
        return True

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
        if self._process_lock is not None:
            self._process_lock.close()
            self._process_lock = None
