"""A durable local queue for inbound messages a provider hands over only once.

Kavenegar's `sms/receive` marks what it returns as read: a polled message that the store cannot
take yet (an outage) exists nowhere else. The poller writes what it fetched here (one JSON line
each, fsynced) before handing it on, and rewrites the file (to a temporary file, fsynced, then
renamed over it) once messages are committed. After a crash or restart the file is read first.
A message stored but not yet struck from the file is handed on again; the gateway's idempotency on
(channel, provider message id) makes that a repeated delivery, not a second ticket.

The file is on the service's machine, so this survives a database outage and a restart, not the
loss of the machine. A line that cannot be read (torn by a crash mid-write, or garbled on disk)
is skipped with a warning; the others are kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.models import InboundMessage, SendError
from channels.base import OnInbound

log = logging.getLogger(__name__)


class Spool:
    """Inbound messages fetched but not yet committed, in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[InboundMessage]:
        """Every message in the file, oldest first (none when there is no file)."""
        if not self.path.exists():
            return []
        messages = []
        for number, line in enumerate(self.path.read_bytes().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                messages.append(_message(json.loads(line.decode("utf-8"))))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning(
                    "spool %s: line %d unreadable (%s), skipped", self.path.name, number, type(exc).__name__
                )
        return messages

    def append(self, messages: Iterable[InboundMessage]) -> None:
        """Add messages durably (returns after fsync)."""
        lines = "".join(_line(m) for m in messages)
        if not lines:
            return
        if not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, mode=0o700)
            self.path.parent.chmod(0o700)  # mkdir's mode is masked by the umask
        # Citizens' messages: readable by this user only, whatever the umask.
        with os.fdopen(
            os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8"
        ) as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())

    def replace(self, messages: Sequence[InboundMessage]) -> None:
        """Keep only `messages` (the ones not committed yet), atomically."""
        if not messages:
            self.path.unlink(missing_ok=True)
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with os.fdopen(os.open(temporary, flags, 0o600), "w", encoding="utf-8") as f:
            f.writelines(_line(m) for m in messages)
            f.flush()
            os.fsync(f.fileno())
        temporary.replace(self.path)


def _line(m: InboundMessage) -> str:
    return json.dumps(_record(m), ensure_ascii=False) + "\n"


def _record(m: InboundMessage) -> dict[str, Any]:
    return {
        "channel": m.channel,
        "address": m.address,
        "provider_message_id": m.provider_message_id,
        "text": m.text,
        "received_at": m.received_at.isoformat(),
        "contact_phone": m.contact_phone,
        "meta": m.meta,
    }


def _message(r: dict[str, Any]) -> InboundMessage:
    return InboundMessage(
        channel=str(r["channel"]),
        address=str(r["address"]),
        provider_message_id=str(r["provider_message_id"]),
        text=str(r["text"]),
        received_at=datetime.fromisoformat(r["received_at"]),
        contact_phone=r.get("contact_phone"),
        meta=dict(r.get("meta") or {}),
    )


class SpooledPoll:
    """The polling loop of a provider whose receive API hands a message over only once (Kavenegar's
    `sms/receive`, SMS.ir's live list): fetch, keep in the spool, hand on, strike once committed.

    Fetched messages are kept until the gateway has committed them: in the spool file when one is
    configured (surviving store outages and restarts), else in memory (surviving store outages
    only). A spool that cannot be read or written (disk full, permissions) does not stop polling:
    the messages are kept in memory and handed on, and while some of them are held in memory only,
    nothing more is fetched (the provider keeps it), so a crash then loses at most the one batch the
    failing disk could not take. A fetched message already waiting (same provider id) is not taken
    twice. `stored` is told each message the gateway took.
    """

    def __init__(
        self,
        name: str,
        fetch: Callable[[], Awaitable[list[InboundMessage]]],
        spool: Spool | None,
        interval: float,
        *,
        stored: Callable[[InboundMessage], None] | None = None,
    ) -> None:
        self._name = name
        self._fetch_once = fetch
        self._spool = spool
        self._interval = interval
        self._stored = stored

    async def run(self, on_inbound: OnInbound) -> None:
        """Poll every `interval` seconds until cancelled."""
        spool = self._spool
        pending: deque[InboundMessage] = deque()
        if spool is not None:
            try:  # the spool's reads, writes and fsyncs run in a thread: a slow disk must not stall the loop
                pending.extend(await asyncio.to_thread(spool.load))
            except OSError as exc:
                log.error(
                    "channel=%s spool %s unreadable (%s): it is left as it is for an operator, and "
                    "polling goes on without a spool",
                    self._name,
                    spool.path,
                    type(exc).__name__,
                )
                spool = None
        if pending:
            log.info("channel=%s %d polled messages from the spool", self._name, len(pending))
        spooled = True  # every message in `pending` is also in the spool file
        while True:
            if spool is None or spooled or not pending:
                waiting = {m.provider_message_id for m in pending}
                fetched = [m for m in await self._fetch() if m.provider_message_id not in waiting]
                if spool is not None and fetched:
                    written = await self._write(spool.append, fetched)
                    spooled = (spooled or not pending) and written
                pending.extend(fetched)
            handed = len(pending)
            try:
                while pending:
                    await on_inbound(pending[0])
                    taken = pending.popleft()
                    if self._stored is not None:
                        self._stored(taken)
            except Exception as exc:  # the store is down: keep the messages and try again
                log.error("channel=%s polled message not stored: %s", self._name, type(exc).__name__)
            finally:
                if spool is not None and len(pending) != handed:
                    # The file now holds exactly what is pending; if it cannot be rewritten, the old
                    # file still holds what it held (committed ones come back as repeated deliveries).
                    spooled = await self._write(spool.replace, list(pending)) or spooled
            await asyncio.sleep(self._interval)

    async def _fetch(self) -> list[InboundMessage]:
        try:
            return await self._fetch_once()
        except SendError as exc:
            log.warning("channel=%s poll failed: %s", self._name, exc)
            return []

    async def _write(
        self, write: Callable[[list[InboundMessage]], None], messages: list[InboundMessage]
    ) -> bool:
        """Run a spool write in a thread; False (logged) when the disk refuses it."""
        try:
            await asyncio.to_thread(write, messages)
        except OSError as exc:
            log.error(
                "channel=%s spool not written (%s); %d polled messages waiting",
                self._name,
                exc,
                len(messages),
            )
            return False
        return True
