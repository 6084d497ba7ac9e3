"""Follows an NDJSON file, or a directory of them, that a call-centre system appends to.

Positions (byte offset and inode per file) are saved through ChannelState after every record, so
a restart resumes where the last run stopped. A record handed over but not yet saved is read again
after a crash; the gateway is idempotent on the call id, so it is still ingested once. Only
complete lines (ending in a newline) are read: a record being written is picked up next pass.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from channels.base import ChannelState
from channels.webhook import BadPayload

log = logging.getLogger(__name__)

SUFFIXES = (".ndjson", ".jsonl")
MAX_CHUNK = 1024 * 1024

HandleLine = Callable[[bytes], Awaitable[None]]


def _read(path: Path, offset: int) -> tuple[int, bytes]:
    """(inode, bytes from `offset`, at most MAX_CHUNK)."""
    with path.open("rb") as f:
        inode = os.fstat(f.fileno()).st_ino
        f.seek(offset)
        return inode, f.read(MAX_CHUNK)


class FeedFollower:
    """Reads new complete lines from `path` (a file or a directory) and hands each to a handler."""

    def __init__(self, path: Path, state: ChannelState, key: str, *, interval: float = 1.0) -> None:
        self._path = path
        self._state = state
        self._key = key
        self._interval = interval

    def _files(self) -> list[Path]:
        if self._path.is_dir():
            return sorted(p for p in self._path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        return [self._path] if self._path.exists() else []

    async def read_once(self, handle: HandleLine) -> int:
        """One pass over every file; returns how many lines were handled.

        A BadPayload from the handler skips that line (logged); any other error stops the pass
        without moving the position, so the line is tried again next pass.
        """
        saved: dict[str, Any] = await self._state.load(self._key) or {}
        files: dict[str, dict[str, int]] = dict(saved.get("files", {}))
        handled = 0
        for path in self._files():
            known = files.get(path.name, {"offset": 0, "inode": -1})
            offset = int(known["offset"])
            inode, data = await asyncio.to_thread(_read, path, offset)
            if known["inode"] not in (-1, inode) or (offset and not data and path.stat().st_size < offset):
                log.warning(
                    "feed %s: %s was replaced or truncated; reading it from the start", self._key, path.name
                )
                offset = 0
                inode, data = await asyncio.to_thread(_read, path, 0)
            start = 0
            while True:
                end = data.find(b"\n", start)
                if end < 0:
                    if start == 0 and len(data) >= MAX_CHUNK:
                        # A megabyte without a newline is no transcript: drop it rather than stall.
                        log.error("feed %s: %s has an overlong line; skipped", self._key, path.name)
                        offset += len(data) - start
                        files[path.name] = {"offset": offset, "inode": inode}
                        await self._state.save(self._key, {"files": files})
                    break
                line = data[start:end]
                start = end + 1
                if line.strip():
                    try:
                        await handle(line)
                    except BadPayload as exc:
                        log.warning("feed %s: %s at byte %d skipped: %s", self._key, path.name, offset, exc)
                    handled += 1
                offset += len(line) + 1
                files[path.name] = {"offset": offset, "inode": inode}
                await self._state.save(self._key, {"files": files})
        return handled

    async def run(self, handle: HandleLine) -> None:
        """Follow forever; a failed pass (store down) is retried after the interval."""
        while True:
            try:
                handled = await self.read_once(handle)
            except OSError as exc:
                log.error("feed %s: cannot read: %s", self._key, type(exc).__name__)
                handled = 0
            except Exception as exc:  # the gateway or the store failed: retry the same line later
                log.error("feed %s: record not stored: %s", self._key, type(exc).__name__)
                handled = 0
            if not handled:
                await asyncio.sleep(self._interval)
