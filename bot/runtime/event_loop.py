"""The event loop every `sada` command runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv) runs the same asyncio code with a cheaper loop: socket reads and writes, timers
and the thread wake-ups of the SQLite driver. On the ingest benchmark it takes about 8% off the
service's CPU per message (docs/BENCHMARKS.md, session 4). `[service] event_loop = "asyncio"`
turns it off; a platform without uvloop (it has no Windows build) falls back to asyncio with a
warning, so the choice never stops the service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

EVENT_LOOPS = ("uvloop", "asyncio")


def run[T](main: Coroutine[Any, Any, T], kind: str = "uvloop") -> T:
    """Run `main` to completion on a new loop of `kind` (one of EVENT_LOOPS)."""
    if kind not in EVENT_LOOPS:
        raise ValueError(f"unknown event loop {kind!r}")
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed: running on asyncio's own event loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def loop_name() -> str:
    """The running loop's kind, for logs and /healthz ("uvloop" or "asyncio")."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
