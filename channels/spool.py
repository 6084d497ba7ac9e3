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

import json
import logging
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.models import InboundMessage

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
