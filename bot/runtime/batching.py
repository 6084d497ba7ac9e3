"""Coalesce concurrent calls: whatever is queued while a batch runs goes into the next one.

Used where many concurrent tasks each need one small write: webhooks storing a message (bot.intake.ingest)
and outbox sends settling their row (bot.outbox.dispatcher). Each caller awaits its own result; one
`handle(items)` call serves everybody queued at that moment, so N concurrent writers cost one
transaction instead of N. There is no timer: a batch starts as soon as a lane is free, so an
idle system answers a lone caller at once and a busy one batches by itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Pending[T, R]:
    item: T
    done: asyncio.Future[R] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher[T, R]:
    """`await submit(item)` → `handle` runs on a batch holding `item`; returns this item's result.

    `handle` returns one result per item, in order; a result that is an exception is raised to
    that item's caller alone. If `handle` itself raises, every caller of the batch gets the error.
    At most `lanes` batches run at once (1 = strictly one after the other).

    With several lanes, `key` keeps items with the same key in order: an item whose key is in a
    batch being handled stays queued (ahead of nothing it must follow) until that batch is done,
    and the lane that handled it takes it next. Items with the same key may share a batch."""

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        *,
        max_batch: int = 64,
        lanes: int = 1,
        name: str = "batcher",
        key: Callable[[T], Hashable] | None = None,
    ) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._lanes = lanes
        self._name = name
        self._key = key
        self._queue: deque[_Pending[T, R]] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._busy: set[Hashable] = set()  # keys of the items in batches being handled

    async def submit(self, item: T) -> R:
        """Queue `item`; returns once the batch holding it has been handled."""
        pending: _Pending[T, R] = _Pending(item)
        self._queue.append(pending)
        if len(self._running) < self._lanes:
            self._running.add(asyncio.create_task(self._work(), name=self._name))
        # A cancelled caller must not cancel the lane: the batch is shared.
        return await asyncio.shield(pending.done)

    async def _work(self) -> None:
        try:
            await self._drain()
        finally:
            # Leave the running set in the same step that found the queue empty. (A done callback
            # runs a loop iteration later: a submit in between saw this lane as running, started
            # none, and its item waited forever.)
            task = asyncio.current_task()
            if task is not None:
                self._running.discard(task)

    def _take(self) -> list[_Pending[T, R]]:
        """The next batch, in queue order, leaving queued the items whose key another batch holds."""
        if self._key is None:
            return [self._queue.popleft() for _ in range(min(self._max_batch, len(self._queue)))]
        batch: list[_Pending[T, R]] = []
        waiting: list[_Pending[T, R]] = []
        while self._queue and len(batch) < self._max_batch:
            pending = self._queue.popleft()
            (waiting if self._key(pending.item) in self._busy else batch).append(pending)
        self._queue.extendleft(reversed(waiting))
        return batch

    async def _drain(self) -> None:
        while batch := self._take():  # empty: the queue is, or holds only items other batches hold
            keys = {self._key(p.item) for p in batch} if self._key is not None else set()
            self._busy |= keys
            try:
                results = await self._handle([p.item for p in batch])
            except BaseException as exc:
                error = exc if isinstance(exc, Exception) else RuntimeError("stopped")
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(error)
                if not isinstance(exc, Exception):
                    raise
                continue
            finally:
                self._busy -= keys
            if len(results) != len(batch):  # a bug in `handle`: nobody may wait forever
                bug = RuntimeError(f"{self._name}: {len(results)} results for {len(batch)} items")
                results = [bug] * len(batch)
            for pending, result in zip(batch, results, strict=True):
                if pending.done.done():
                    continue
                if isinstance(result, Exception):
                    pending.done.set_exception(result)
                else:
                    pending.done.set_result(result)
