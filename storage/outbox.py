"""The transactional outbox: replies are rows written with the change that caused them.

Claiming is one UPDATE over a sub-select, so on SQLite it is atomic under the write lock and on
PostgreSQL the sub-select skips rows another process holds (FOR UPDATE SKIP LOCKED). A claim is a
lease: a process that dies mid-send leaves rows that become due again when the lease runs out.
`SentJournal` keeps that from repeating a send the provider had already accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Integer, Update, bindparam, case, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Button, OutboundMessage, OutboxItem
from storage.engine import sqlite_file
from storage.inserts import insert_returning_ids
from storage.tables import OutboxRow, table_of

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """An outbox row as tests and the panel see it."""

    id: int
    channel: str
    address: str
    text: str
    ticket_id: int | None
    status: str
    attempts: int
    last_error: str | None
    provider_message_id: str | None
    delivery_status: str | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """One message to queue: what, about which ticket, how urgent (lower goes first), and for a
    chat reply its SMS wording (sent instead if the citizen has blocked the bot)."""

    message: OutboundMessage
    ticket_id: int | None
    priority: int
    sms_text: str | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    """A send the provider accepted: the row, the claim it was sent under, the provider's id."""

    outbox_id: int
    claim_token: str
    provider_message_id: str | None


def one_line(text: str) -> str:
    """A chat text as one SMS line: what a row queued without its SMS wording (before migration
    0007) is sent as by the blocked-bot fallback; the SMS channel still cuts it to its parts limit."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


class OutboxRepository:
    """Queue, claim and settle outbound messages."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def enqueue(
        self, msg: OutboundMessage, *, ticket_id: int | None, priority: int, at: datetime
    ) -> int:
        """Queue one message, due now."""
        return (await self.enqueue_many([Queued(msg, ticket_id, priority)], at=at))[0]

    async def enqueue_many(self, queued: Sequence[Queued], *, at: datetime) -> list[int]:
        """Queue many messages, due now, in one multi-row INSERT; ids in the order given."""
        if not queued:
            return []
        return await insert_returning_ids(
            self._s,
            OutboxRow,
            [
                {
                    "channel": q.message.channel,
                    "address": q.message.address,
                    "text": q.message.text,
                    "buttons": [[b.label, b.data] for b in q.message.buttons],
                    "ticket_id": q.ticket_id,
                    "priority": q.priority,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                    "sms_text": q.sms_text,
                }
                for q in queued
            ],
        )

    async def claim(
        self,
        channels: Collection[str],
        *,
        limit: int,
        now: datetime,
        lease: timedelta,
        token: str | None = None,
    ) -> list[OutboxItem]:
        """Take up to `limit` due rows for these channels, most urgent first, under `token` (the
        claim's identity, a fresh one by default)."""
        if not channels:
            return []
        token = token or secrets.token_hex(8)
        await self._s.execute(
            _claim_statement(self._s.get_bind().dialect.name == "postgresql"),
            {"channels": sorted(channels), "now": now, "limit": limit, "token": token, "until": now + lease},
        )
        rows = await self._s.execute(_CLAIMED, {"token": token})
        return [
            OutboxItem(
                id=row_id,
                message=OutboundMessage(
                    channel=channel,
                    address=address,
                    text=text,
                    buttons=tuple(Button(label=b[0], data=b[1]) for b in buttons),
                    idempotency_key=f"sada-{row_id}",
                ),
                ticket_id=ticket_id,
                attempts=attempts,
                priority=priority,
            )
            for row_id, channel, address, text, buttons, ticket_id, attempts, priority in rows
        ]

    async def mark_sent(self, item_id: int, provider_message_id: str | None, at: datetime) -> None:
        """The provider accepted the message."""
        await self.mark_sent_many([(item_id, provider_message_id)], at)

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], at: datetime) -> None:
        """`mark_sent` for many rows in one executemany: (outbox id, provider message id) each."""
        if not sent:
            return
        table = table_of(OutboxRow)
        await self._s.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                status=SENT,
                provider_message_id=bindparam("sent_as"),
                sent_at=at,
                last_error=None,
                claim_token=None,
                lease_until=None,
            ),
            [{"row_id": item_id, "sent_as": provider_id} for item_id, provider_id in sent],
        )

    async def mark_sent_under_claim(self, sent: Sequence[Sent], at: datetime) -> None:
        """`mark_journaled_sent` for sends this process made (one executemany; no row count)."""
        if sent:
            await self._s.execute(
                _SENT_UNDER_CLAIM,
                [
                    {"row_id": s.outbox_id, "token": s.claim_token, "sent_as": s.provider_message_id}
                    | {"stamp": at}
                    for s in sent
                ],
            )

    async def mark_journaled_sent(self, sent: Sequence[Sent], at: datetime) -> int:
        """`mark_sent` for rows the sent journal names, if still in the claim they were sent under
        (a row claimed again since, or not `sending` any more, is left alone); returns how many."""
        if not sent:
            return 0
        # One statement, not an executemany: asyncpg reports no row count for the latter.
        result = await self._s.execute(
            update(OutboxRow)
            .where(
                tuple_(OutboxRow.id, OutboxRow.claim_token).in_([(s.outbox_id, s.claim_token) for s in sent]),
                OutboxRow.status == SENDING,
            )
            .values(
                status=SENT,
                provider_message_id=case(
                    {s.outbox_id: s.provider_message_id for s in sent}, value=OutboxRow.id
                ),
                sent_at=at,
                last_error=None,
                claim_token=None,
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def sms_texts(self, ids: Collection[int]) -> dict[int, str]:
        """The SMS wording of these rows (their chat text on one line if none was stored)."""
        if not ids:
            return {}
        rows = await self._s.execute(
            select(OutboxRow.id, OutboxRow.sms_text, OutboxRow.text).where(OutboxRow.id.in_(list(ids)))
        )
        return {row_id: sms_text or one_line(text) for row_id, sms_text, text in rows}

    async def mark_retry(self, item_id: int, error: str, next_attempt_at: datetime) -> None:
        """A retryable failure: try again later."""
        await self._settle(
            item_id,
            status=PENDING,
            last_error=error[:1000],
            next_attempt_at=next_attempt_at,
            attempts=OutboxRow.attempts + 1,
        )

    async def mark_failed(self, item_id: int, error: str) -> None:
        """A permanent failure."""
        await self._settle(item_id, status=FAILED, last_error=error[:1000], attempts=OutboxRow.attempts + 1)

    async def set_delivery_status(self, provider_message_id: str, delivery_status: str) -> int:
        """A provider's delivery report; returns how many rows it matched."""
        result = await self._s.execute(
            update(OutboxRow)
            .where(OutboxRow.provider_message_id == provider_message_id)
            .values(delivery_status=delivery_status)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def record_delivery(
        self, provider_message_id: str, delivery_status: str
    ) -> list[tuple[int, int | None]]:
        """A provider's delivery report: set it on the rows sent with this id; returns (id, ticket_id)."""
        result = await self._s.execute(
            select(OutboxRow.id, OutboxRow.ticket_id).where(
                OutboxRow.provider_message_id == provider_message_id
            )
        )
        rows = [(row[0], row[1]) for row in result]
        if rows:
            await self._s.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([r[0] for r in rows]))
                .values(delivery_status=delivery_status[:32])
                .execution_options(synchronize_session=False)
            )
        return rows

    async def _settle(self, item_id: int, **values: object) -> None:
        await self._s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(claim_token=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )

    async def records(self, *, ticket_id: int | None = None) -> list[OutboxRecord]:
        """Rows in queue order (for tests, the panel and `sada simulate`)."""
        stmt = select(OutboxRow).order_by(OutboxRow.id)
        if ticket_id is not None:
            stmt = stmt.where(OutboxRow.ticket_id == ticket_id)
        return [
            OutboxRecord(
                id=r.id,
                channel=r.channel,
                address=r.address,
                text=r.text,
                ticket_id=r.ticket_id,
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
                provider_message_id=r.provider_message_id,
                delivery_status=r.delivery_status,
            )
            for r in await self._s.scalars(stmt)
        ]

    async def pending_count(self, channels: Collection[str] | None = None) -> int:
        """Rows not yet sent or failed."""
        stmt = select(func.count(OutboxRow.id)).where(OutboxRow.status.in_([PENDING, SENDING]))
        if channels is not None:
            stmt = stmt.where(OutboxRow.channel.in_(list(channels)))
        return int(await self._s.scalar(stmt) or 0)


class SentJournal:
    """Sends the provider accepted, recorded in a small file beside the database the moment each
    send returns, before the outbox row can be marked sent.

    Marking the row sent needs the database's write lock; on SQLite that waits behind intake's
    group commits (tens to hundreds of milliseconds under load). A process killed meanwhile leaves
    the row `sending`, and when its lease runs out it is sent again: a second SMS with a provider
    that has no idempotency key (Melipayamak, SMS.ir, Telegram). The journal is an SQLite file of
    its own, with its own lock: a record takes well under a millisecond, in a worker thread. Every
    claim (by any process sharing the file) first marks the rows it names sent, then forgets them;
    a settled batch forgets its own. An entry names the claim its row was sent under, so it never
    marks a row claimed again since, or a row of a restored database, as sent. It holds ids only:
    no phone numbers, no texts.

    Writes use synchronous=OFF: they reach the operating system before `record` returns, which a
    killed process cannot undo, but a power cut can lose the last ones (those rows are then sent
    again after their lease, as without a journal). A journal that cannot be read is set aside.
    """

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = path
        self._timeout = timeout
        self._ready = False

    @classmethod
    def beside(cls, database_url: str) -> SentJournal | None:
        """`<database file>.sent` for an SQLite file; None for PostgreSQL or in-memory SQLite."""
        path = sqlite_file(database_url)
        return None if path is None else cls(path.with_name(path.name + ".sent"))

    async def record(self, sent: Sent) -> None:
        """Write down that the provider accepted this row's send."""
        await self.record_many([sent])

    async def record_many(self, sent: Sequence[Sent]) -> None:
        """`record` for sends that returned together: one write."""
        if sent:
            await asyncio.to_thread(
                self._write, "INSERT OR REPLACE INTO sent VALUES (?, ?, ?)", [_row(s) for s in sent]
            )

    async def entries(self) -> list[Sent]:
        """Every recorded send (of any process sharing the file)."""
        return await asyncio.to_thread(self._read)

    async def forget(self, sent: Sequence[Sent]) -> None:
        """Drop these entries (the outbox says sent); a newer entry for the same row stays."""
        if sent:
            await asyncio.to_thread(
                self._write,
                "DELETE FROM sent WHERE outbox_id = ? AND claim_token = ?",
                [(s.outbox_id, s.claim_token) for s in sent],
            )

    @contextlib.contextmanager
    def _connected(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: nothing stays open to close, whichever thread or process calls.
        if not self._ready:
            # Owner-only like the database, whatever the umask; SQLite gives its rollback journal
            # the file's mode.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self.path.chmod(0o600)
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=OFF")
            if not self._ready:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS sent (outbox_id INTEGER PRIMARY KEY, "
                    "claim_token TEXT NOT NULL, provider_message_id TEXT)"
                )
                self._ready = True
            yield conn
        finally:
            conn.close()

    def _write(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        with self._connected() as conn:
            conn.executemany(sql, rows)

    def _read(self) -> list[Sent]:
        try:
            with self._connected() as conn:
                rows = conn.execute("SELECT outbox_id, claim_token, provider_message_id FROM sent").fetchall()
        except sqlite3.OperationalError:
            raise  # locked, or cannot open: the caller goes on without it this time
        except sqlite3.DatabaseError as exc:  # not a database any more (e.g. torn by a power cut)
            aside = self.path.with_name(self.path.name + ".unreadable")
            log.error("sent journal %s unreadable (%s); set aside as %s", self.path, exc, aside.name)
            with contextlib.suppress(OSError):
                self.path.replace(aside)
            self._ready = False
            return []
        return [Sent(int(row[0]), str(row[1]), None if row[2] is None else str(row[2])) for row in rows]


# The outbox's statements for every pass, built once: reused with new values, a statement is not
# built and cache-keyed again.
@functools.cache
def _claim_statement(skip_locked: bool) -> Update:
    due = (
        select(OutboxRow.id)
        .where(
            OutboxRow.channel.in_(bindparam("channels", expanding=True)),
            or_(
                (OutboxRow.status == PENDING) & (OutboxRow.next_attempt_at <= bindparam("now")),
                (OutboxRow.status == SENDING) & (OutboxRow.lease_until < bindparam("now")),
            ),
        )
        .order_by(OutboxRow.priority, OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(bindparam("limit", type_=Integer))
    )
    if skip_locked:  # PostgreSQL: rows another process holds are skipped, not waited for
        due = due.with_for_update(skip_locked=True)
    return (
        update(OutboxRow)
        .where(OutboxRow.id.in_(due.scalar_subquery()))
        .values(status=SENDING, claim_token=bindparam("token"), lease_until=bindparam("until"))
        .execution_options(synchronize_session=False)
    )


_CLAIMED = (
    select(
        OutboxRow.id,
        OutboxRow.channel,
        OutboxRow.address,
        OutboxRow.text,
        OutboxRow.buttons,
        OutboxRow.ticket_id,
        OutboxRow.attempts,
        OutboxRow.priority,
    )
    .where(OutboxRow.claim_token == bindparam("token"))
    .order_by(OutboxRow.priority, OutboxRow.id)
)
# A send of this process: sent if still in the claim it was sent under (never a row claimed again
# since, nor one no longer `sending`).
_SENT_UNDER_CLAIM = (
    update(table_of(OutboxRow))
    .where(
        table_of(OutboxRow).c.id == bindparam("row_id"),
        table_of(OutboxRow).c.claim_token == bindparam("token"),
        table_of(OutboxRow).c.status == SENDING,
    )
    .values(
        status=SENT,
        provider_message_id=bindparam("sent_as"),
        sent_at=bindparam("stamp"),
        last_error=None,
        claim_token=None,
        lease_until=None,
    )
)


def _row(sent: Sent) -> tuple[object, ...]:
    return (sent.outbox_id, sent.claim_token, sent.provider_message_id)
