"""Confirming the phone number given on the web form with a one-time code sent to it by SMS.

Nobody can subscribe someone else's number: until the code is typed the number receives only the
code (the SMS names the service and nothing of the request), and only then does it join the ticket
as a reporter on the SMS channel, hearing of every change from then on like any reporter.

The code is 6 digits, valid `[webform] code_minutes`; `code_attempts` wrong codes lock the
confirmation; `code_sends` codes at most per request, `resend_seconds` apart (a new code replaces
the old). One number gets at most `phone_codes_hour` codes an hour and `phone_codes_day` a day,
over all requests (counted in the store, under a lock on the number, so every process and every
concurrent request sees the same count); past that the request is still filed, and its receipt
says a code cannot be sent to the number now, saying nothing of other requests. The store keeps a
hash of the receipt token (which only the citizen's browser holds, in the receipt page's address)
and of the code salted with that token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.models import REPLY_PRIORITY, EventKind, OutboundMessage, TicketStatus
from bot.web.webform.settings import WebformSettings
from nlp.letters import ascii_digits
from storage.phone_confirmations import PhoneConfirmation, PhoneConfirmationRepository
from storage.store import Transaction

if TYPE_CHECKING:
    from jinja2 import Environment

    from bot.app import Sada

log = logging.getLogger(__name__)

CODE_DIGITS = 6
_SEPARATORS = re.compile(r"[\s\-_.\u200c]")


class Outcome(StrEnum):
    """What became of a typed code or a request for another."""

    CONFIRMED = "confirmed"  # the right code: the number now hears about the ticket
    ALREADY = "already"  # confirmed earlier
    WRONG = "wrong"
    EXPIRED = "expired"  # the code's time is up: ask for another
    LOCKED = "locked"  # too many wrong codes
    SENT = "sent"  # another code is on its way
    TOO_SOON = "too_soon"  # another code only `resend_seconds` after the last
    USED_UP = "used_up"  # no more codes for this request
    PHONE_LIMIT = "phone_limit"  # the number had too many codes lately: none sent now


# One step on a confirmation whose row the transaction holds (see `Confirmations._open`).
Step = Callable[[Transaction, PhoneConfirmationRepository, PhoneConfirmation], Awaitable[Outcome]]


def receipt_key(token: str) -> str:
    """What the store keeps of a receipt token (SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(token: str, code: str) -> str:
    return hashlib.sha256(f"{token}:{code}".encode()).hexdigest()


def typed_code(raw: str) -> str:
    """A code as typed (Persian or ASCII digits, with spaces or dashes) → ASCII digits."""
    return ascii_digits(_SEPARATORS.sub("", raw))[:20]


@dataclass(frozen=True, slots=True)
class State:
    """What the receipt page says about the phone."""

    confirmed: bool
    locked: bool
    expired: bool
    attempts_left: int
    sends_left: int
    unsent: bool  # no code has gone to the number yet (it had too many codes lately)


class Confirmations:
    """Sends codes, checks them, and makes a confirmed number a reporter of its ticket."""

    def __init__(self, sada: Sada, settings: WebformSettings, templates: Environment, channel: str) -> None:
        self._sada = sada
        self._settings = settings
        self._templates = templates
        self.channel = channel

    def state(self, c: PhoneConfirmation) -> State:
        """How the confirmation stands now."""
        s = self._settings
        return State(
            confirmed=c.confirmed_at is not None,
            locked=c.attempts >= s.code_attempts,
            expired=self._sada.clock.now() >= c.expires_at,
            attempts_left=max(0, s.code_attempts - c.attempts),
            sends_left=max(0, s.code_sends - c.sends),
            unsent=c.sends == 0,
        )

    async def start(self, tx: Transaction, token: str, ticket_id: int, phone: str) -> bool:
        """Open the receipt's confirmation and queue the first code to `phone`, unless the number had
        too many codes lately (in the caller's transaction). False when the receipt has one already
        (the same form sent again, perhaps at the same moment: the number is locked first)."""
        now = self._sada.clock.now()
        repo = PhoneConfirmationRepository(tx.session)
        await repo.lock_phone(phone)
        if await repo.by_token(receipt_key(token)) is not None:
            return False
        allowed = await self._phone_may_get_code(repo, phone)
        code = await self._queue_code(tx, phone) if allowed else None
        await repo.open(
            token_hash=receipt_key(token),
            ticket_id=ticket_id,
            channel=self.channel,
            phone=phone,
            code_hash=_code_hash(token, code) if code is not None else "",
            at=now,
            expires_at=now + timedelta(minutes=self._settings.code_minutes) if code is not None else now,
            sent=code is not None,
        )
        log.info(
            "webform ticket=%s channel=%s phone confirmation opened (code %s)",
            ticket_id,
            self.channel,
            "sent" if allowed else "withheld: the number's limit",
        )
        return True

    async def _phone_may_get_code(self, repo: PhoneConfirmationRepository, phone: str) -> bool:
        """Whether `phone` is below its hourly and daily code limits (the caller holds `lock_phone`)."""
        now = self._sada.clock.now()
        s = self._settings
        return (
            await repo.codes_sent(phone, now - timedelta(hours=1)) < s.phone_codes_hour
            and await repo.codes_sent(phone, now - timedelta(days=1)) < s.phone_codes_day
        )

    async def _queue_code(self, tx: Transaction, phone: str) -> str:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        text = self._templates.get_template("code_sms.txt").render(code=code).strip()
        # No ticket id: the code is nobody's business in the panel's list of a ticket's messages.
        message = OutboundMessage(channel=self.channel, address=phone, text=text)
        await tx.outbox.enqueue(message, ticket_id=None, priority=REPLY_PRIORITY, at=self._sada.clock.now())
        return code

    async def confirm(self, token: str, typed: str) -> Outcome | None:
        """Check a typed code; None when the receipt has no phone to confirm."""

        async def check(tx: Transaction, repo: PhoneConfirmationRepository, c: PhoneConfirmation) -> Outcome:
            if c.sends == 0:  # no code was sent: there is nothing to type
                return Outcome.PHONE_LIMIT
            if self.state(c).expired:
                return Outcome.EXPIRED
            if not hmac.compare_digest(_code_hash(token, typed_code(typed)), c.code_hash):
                await repo.wrong_code(c.id)
                limit = self._settings.code_attempts
                log.info("webform ticket=%s wrong code (%d of %d)", c.ticket_id, c.attempts + 1, limit)
                return Outcome.LOCKED if c.attempts + 1 >= limit else Outcome.WRONG
            now = self._sada.clock.now()
            await repo.confirmed(c.id, now)
            await self._subscribe(tx, c, now)
            return Outcome.CONFIRMED

        return await self._open(token, check)

    async def _open(self, token: str, step: Step) -> Outcome | None:
        """Run `step` on the receipt's confirmation, its row locked for the transaction, unless there
        is none (None) or it is settled (confirmed or locked); then wake the outbox."""
        async with self._sada.store.transaction() as tx:
            repo = PhoneConfirmationRepository(tx.session)
            c = await repo.by_token(receipt_key(token), for_update=True)
            if c is None:
                return None
            state = self.state(c)
            if state.confirmed or state.locked:
                return Outcome.ALREADY if state.confirmed else Outcome.LOCKED
            outcome = await step(tx, repo, c)
        self._sada.dispatcher.wake()
        return outcome

    async def _subscribe(self, tx: Transaction, c: PhoneConfirmation, now: datetime) -> None:
        """The number becomes a reporter of the ticket (of the one it was merged into, if it was) and is
        told, by SMS, that it will hear of the request's changes."""
        ticket = await tx.tickets.get(c.ticket_id)
        if ticket is not None and ticket.status is TicketStatus.DUPLICATE and ticket.duplicate_of is not None:
            ticket = await tx.tickets.get(ticket.duplicate_of) or ticket
        if ticket is None:  # tickets are never deleted
            return
        identity = await tx.citizens.identity_for(c.channel, c.phone, at=now)
        if await tx.tickets.add_reporter(ticket.id, identity.id, now):
            data = {"channel": c.channel, "identity": identity.id, "via": "webform"}
            await tx.tickets.add_event(ticket.id, EventKind.REPORTER_ADDED, now, "system", data)
        await self._sada.lifecycle.tell(tx, identity, "phone_confirmed", ticket=ticket)
        log.info("webform ticket=%s channel=%s phone confirmed", ticket.id, c.channel)

    async def resend(self, token: str) -> Outcome | None:
        """Send another code (the old one stops working); None when the receipt has no phone."""

        async def again(tx: Transaction, repo: PhoneConfirmationRepository, c: PhoneConfirmation) -> Outcome:
            now = self._sada.clock.now()
            if self.state(c).sends_left <= 0:
                return Outcome.USED_UP
            if now - c.sent_at < timedelta(seconds=self._settings.resend_seconds):
                return Outcome.TOO_SOON
            await repo.lock_phone(c.phone)
            if not await self._phone_may_get_code(repo, c.phone):
                log.info("webform ticket=%s code withheld: the number's limit", c.ticket_id)
                return Outcome.PHONE_LIMIT
            code = await self._queue_code(tx, c.phone)
            expires = now + timedelta(minutes=self._settings.code_minutes)
            await repo.resent(c.id, _code_hash(token, code), now, expires)
            log.info("webform ticket=%s code sent again", c.ticket_id)
            return Outcome.SENT

        return await self._open(token, again)
