"""SQLite's one write lock, taken in the open: a lock file shared by every `sada serve` process.

SQLite lets one connection write at a time. Inside one process the store queues its writers on
an asyncio lock. Several processes (`sada serve --workers N`) would otherwise meet only on the
database's busy handler, which polls with sleeps of up to 100 ms: the waiting process notices
late that the lock is free, one process can starve the other, and latency jumps. An exclusive
`flock` on `<database>.writer` hands the lock over the moment it is released.

The wait runs in a thread (flock blocks). It is bounded like the busy timeout: after `timeout`
seconds `StoreBusy` is raised, and webhooks answer 503 so the provider retries. A wait given up
is not abandoned: at most one wait per process is in flight, the next writer takes it over, and if
nobody does, the lock is released as soon as it arrives.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from storage.engine import sqlite_file


class StoreBusy(RuntimeError):
    """Another process has held the database's write lock for longer than the busy timeout."""


class ProcessWriteLock:
    """An exclusive lock on a file, for coroutines of one process at a time (the caller queues them)."""

    def __init__(self, path: Path, *, timeout: float) -> None:
        self.path = path
        self._timeout = timeout
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._pending: asyncio.Future[None] | None = None
        self._orphaned = False

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold the lock for the block (raises StoreBusy if it does not come within the timeout)."""
        await self._acquire()
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    async def _acquire(self) -> None:
        if self._pending is None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return  # free: no thread needed
            except BlockingIOError:
                pending = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self._fd, fcntl.LOCK_EX))
                pending.add_done_callback(self._arrived)
                self._pending = pending
        self._orphaned = False  # this writer takes over a wait an earlier one gave up
        try:
            await asyncio.wait_for(asyncio.shield(self._pending), self._timeout)
        except TimeoutError:
            self._orphaned = True
            raise StoreBusy(f"the database is locked by another process ({self.path})") from None
        except asyncio.CancelledError:
            self._orphaned = True
            raise

    def _arrived(self, future: asyncio.Future[None]) -> None:
        self._pending = None
        if self._orphaned and not future.cancelled() and future.exception() is None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)  # nobody is waiting for it any more

    def close(self) -> None:
        """Close the lock file (releases the lock if held)."""
        os.close(self._fd)


def lock_path_for(url: str) -> Path | None:
    """`<database file>.writer` for an SQLite file URL; None for PostgreSQL or in-memory SQLite."""
    path = sqlite_file(url)
    return None if path is None else path.with_name(path.name + ".writer")
