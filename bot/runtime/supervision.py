"""Background tasks that come back when they crash.

The outbox, the survey closer, the digest and the polling channels each run a loop that catches
what it expects (a store outage, a provider error). Anything else used to end the task silently,
and with it, say, all SMS intake by polling, while `/healthz` still said "ok". A `Supervisor`
runs each loop as a task, logs a crash with its traceback, and starts the loop again after a
back-off (1 s, doubling up to a minute; back to 1 s after a run that lasted a minute). A loop that
returns (it was told to stop, or has nothing to do here) is not restarted. `/healthz` reports the
restarts per task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection

log = logging.getLogger(__name__)


class Supervisor:
    """Runs named background loops, restarting any that raises."""

    def __init__(self, *, first_delay: float = 1.0, max_delay: float = 60.0) -> None:
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._resting: set[str] = set()  # waiting out a back-off before the next start
        self.restarts: dict[str, int] = {}

    def start(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run `loop()` as the task `name`, again after each crash."""
        self._tasks[name] = asyncio.create_task(self._keep(name, loop), name=name)

    async def stop(self, *, graceful: Collection[str] = ()) -> None:
        """Wait for the tasks in `graceful` (told to stop by their owner: each finishes its step);
        cancel the rest, and any that is waiting to restart."""
        for name, task in self._tasks.items():
            if name not in graceful or name in self._resting:
                task.cancel()
        # gather: a task's own cancellation is its result; a cancellation of stop() itself propagates.
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    async def _keep(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        delay = self._first_delay
        running = asyncio.get_running_loop()
        while True:
            began = running.time()
            try:
                await loop()
                return
            except Exception:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                if running.time() - began >= self._max_delay:
                    delay = self._first_delay
                log.exception("background task %s crashed; starting it again in %.0f s", name, delay)
            self._resting.add(name)
            try:
                await asyncio.sleep(delay)
            finally:
                self._resting.discard(name)
            delay = min(delay * 2, self._max_delay)
