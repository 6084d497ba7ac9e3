"""Phones given on the web form, waiting for their one-time code (bot/web/webform/confirmations.py).

Only hashes are kept: of the receipt token (the citizen's browser holds the token itself) and of the
code, salted with that token, so the table alone lets nobody confirm a number. The caller hashes;
this module stores, reads (a row locked for the attempt on PostgreSQL), settles, and counts the
codes sent to one number across all confirmations (the per-number SMS limit).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import PhoneConfirmationRow


@dataclass(frozen=True, slots=True)
class PhoneConfirmation:
    """One phone waiting for (or done with) its code."""

    id: int
    ticket_id: int
    channel: str
    phone: str
    code_hash: str
    attempts: int
    sends: int
    sent_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None


def _confirmation(r: PhoneConfirmationRow) -> PhoneConfirmation:
    return PhoneConfirmation(
        id=r.id,
        ticket_id=r.ticket_id,
        channel=r.channel,
        phone=r.phone,
        code_hash=r.code_hash,
        attempts=r.attempts,
        sends=r.sends,
        sent_at=r.sent_at,
        expires_at=r.expires_at,
        confirmed_at=r.confirmed_at,
    )


class PhoneConfirmationRepository:
    """Open, look up and settle phone confirmations."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def open(
        self,
        *,
        token_hash: str,
        ticket_id: int,
        channel: str,
        phone: str,
        code_hash: str,
        at: datetime,
        expires_at: datetime,
        sent: bool = True,
    ) -> int:
        """A new confirmation, its first code just queued (`sent`), or none sent yet (the number had
        too many codes lately: `code_hash` is then "", which no code matches); returns its id."""
        row = PhoneConfirmationRow(
            token_hash=token_hash,
            ticket_id=ticket_id,
            channel=channel,
            phone=phone,
            code_hash=code_hash,
            attempts=0,
            sends=1 if sent else 0,
            sent_at=at,
            expires_at=expires_at,
            confirmed_at=None,
            created_at=at,
        )
        self._s.add(row)
        await self._s.flush()
        return row.id

    async def by_token(self, token_hash: str, *, for_update: bool = False) -> PhoneConfirmation | None:
        """The confirmation of this receipt; `for_update` locks its row until the transaction ends."""
        stmt = select(PhoneConfirmationRow).where(PhoneConfirmationRow.token_hash == token_hash)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._s.scalars(stmt)).first()
        return None if row is None else _confirmation(row)

    async def lock_phone(self, phone: str) -> None:
        """Hold `phone` for this transaction, so two requests cannot both count its codes and both send
        one (PostgreSQL: a transaction-level advisory lock; SQLite: writers are serialised already)."""
        if self._s.get_bind().dialect.name != "postgresql":
            return
        digest = hashlib.sha256(b"phone_confirmations:" + phone.encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await self._s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def codes_sent(self, phone: str, since: datetime) -> int:
        """Codes sent to `phone` since `since`, over all its confirmations. A confirmation whose last
        code went out since then counts all its codes (it keeps no time per code), so this may count
        more than were sent in the window, never fewer."""
        total = await self._s.scalar(
            select(func.coalesce(func.sum(PhoneConfirmationRow.sends), 0)).where(
                PhoneConfirmationRow.phone == phone, PhoneConfirmationRow.sent_at >= since
            )
        )
        return int(total or 0)

    async def wrong_code(self, confirmation_id: int) -> None:
        """Count one wrong code."""
        await self._update(confirmation_id, attempts=PhoneConfirmationRow.attempts + 1)

    async def confirmed(self, confirmation_id: int, at: datetime) -> None:
        """The right code was typed."""
        await self._update(confirmation_id, confirmed_at=at)

    async def resent(self, confirmation_id: int, code_hash: str, at: datetime, expires_at: datetime) -> None:
        """A new code replaces the old one (which stops working)."""
        await self._update(
            confirmation_id,
            code_hash=code_hash,
            sends=PhoneConfirmationRow.sends + 1,
            sent_at=at,
            expires_at=expires_at,
        )

    async def _update(self, confirmation_id: int, **values: object) -> None:
        await self._s.execute(
            update(PhoneConfirmationRow)
            .where(PhoneConfirmationRow.id == confirmation_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
