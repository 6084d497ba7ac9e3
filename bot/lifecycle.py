"""The ticket lifecycle: allowed moves, required notes, and what each move tells the reporters.

Every change here runs inside the caller's transaction, writes its event and queues its replies
there too, so a failed transaction leaves neither the change nor a message behind.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.dates.clock import Clock
from bot.dates.workdays import WorkCalendar
from bot.models import (
    BULK_PRIORITY,
    OPEN_STATUSES,
    REPLY_PRIORITY,
    Button,
    ChannelDirectory,
    EventKind,
    Identity,
    Medium,
    OutboundMessage,
    Ticket,
    TicketStatus,
)
from bot.replies import FREE_REPLY, SURVEY_BUTTONS, render
from bot.taxonomy import Taxonomy
from nlp.letters import persian_digits
from storage.outbox import Queued
from storage.store import Transaction
from storage.users import User

S = TicketStatus
log = logging.getLogger(__name__)

TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.REGISTERED: frozenset({S.REFERRED, S.IN_PROGRESS, S.RESOLVED, S.REJECTED, S.DUPLICATE}),
    S.REFERRED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.REJECTED, S.DUPLICATE}),
    S.IN_PROGRESS: frozenset({S.RESOLVED, S.REJECTED, S.DUPLICATE}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.REOPENED: frozenset({S.REFERRED, S.IN_PROGRESS, S.RESOLVED, S.REJECTED, S.DUPLICATE}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REJECTED: frozenset({S.REOPENED}),
    S.DUPLICATE: frozenset(),
}
NOTE_REQUIRED = frozenset({S.RESOLVED, S.REJECTED, S.REOPENED})


def one_line(text: str) -> str:
    """`text` with each line break (and the spaces around it) turned into one space: an SMS shows no
    layout, and a line break in UCS-2 costs a character like any other."""
    return _LINE_BREAK.sub(" ", text.strip())


_LINE_BREAK = re.compile(r"\s*[\r\n]+\s*")


def free_reply_text(code: str, text: str, medium: Medium) -> str:
    """What a citizen receives for an operator's free reply `text` on a ticket, on `medium`."""
    if medium is Medium.SMS:
        return FREE_REPLY.sms.format(code=persian_digits(code), text=one_line(text))
    return FREE_REPLY.chat.format(code=persian_digits(code), text=text.strip())


def _sms_wording(template: str, **values: object) -> str | None:
    """A chat reply's SMS variant, for the blocked-bot fallback (the dispatcher reroutes a chat reply
    to SMS when the citizen has blocked the bot). It must not fail the change that queues it: a
    value only the SMS variant uses and the caller left out makes it None (sent as the chat text on
    one line)."""
    try:
        return render(template, Medium.SMS, **values)
    except (KeyError, IndexError):
        log.error("reply template %s: its SMS variant needs a value the caller did not give", template)
        return None


class LifecycleError(Exception):
    """A change the lifecycle does not allow; the message says why (shown to operators)."""


@dataclass(frozen=True, slots=True)
class SurveyPolicy:
    """How long a resolved ticket waits for the citizen's answer before it closes."""

    answer_within: timedelta


class Lifecycle:
    """Applies status changes, reclassifications and merges to tickets."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        directory: ChannelDirectory,
        clock: Clock,
        survey: SurveyPolicy,
        calendar: WorkCalendar = WorkCalendar(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        self._taxonomy = taxonomy
        self._directory = directory
        self._clock = clock
        self._survey = survey
        self._calendar = calendar

    def allowed(self, current: TicketStatus) -> frozenset[TicketStatus]:
        """Statuses a ticket in `current` may move to."""
        return TRANSITIONS[current]

    async def change_status(
        self,
        tx: Transaction,
        ticket: Ticket,
        to: TicketStatus,
        *,
        actor: str,
        note: str | None = None,
        other: Ticket | None = None,
    ) -> Ticket:
        """Move `ticket` to `to`, record it, and tell every reporter."""
        note = (note or "").strip() or None
        if to not in TRANSITIONS[ticket.status]:
            raise LifecycleError(f"cannot move a ticket from {ticket.status} to {to}")
        if to in NOTE_REQUIRED and not note:
            raise LifecycleError(f"moving to {to} needs a note for the citizen")
        if to is S.DUPLICATE and other is None:
            raise LifecycleError("a duplicate needs the ticket it duplicates")
        now = self._clock.now()
        values: dict[str, object] = {"status": to}
        if to is S.RESOLVED:
            values["resolved_at"] = now
        if to is S.CLOSED:
            values["closed_at"] = now
        if to is S.REOPENED:
            values.update(resolved_at=None, closed_at=None, needs_review=True)
        if to is S.DUPLICATE and other is not None:
            values["duplicate_of"] = other.id
        if ticket.status is S.RESOLVED:
            await tx.surveys.cancel_for_ticket(ticket.id)
        updated = await tx.tickets.update(ticket.id, now, **values)
        data: dict[str, object] = {"from": ticket.status.value, "to": to.value}
        if note:
            data["note"] = note
        if other is not None:
            data["into"] = other.tracking_code
        await tx.tickets.add_event(ticket.id, EventKind.STATUS_CHANGED, now, actor, data)
        await self.notify(
            tx,
            updated,
            f"now_{to.value}",
            note=note or "",
            note_line=f"\n{note}" if note else "",
            other=other.tracking_code if other else "",
        )
        if to is S.RESOLVED:
            await self._ask_survey(tx, updated)
        return updated

    async def reclassify(
        self,
        tx: Transaction,
        ticket: Ticket,
        category: str,
        *,
        actor: str,
        reason: str,
        department: str | None = None,
    ) -> Ticket:
        """Operator correction: new category (and department), logged as a labelled example."""
        if category not in self._taxonomy.categories:
            raise LifecycleError(f"unknown category {category!r}")
        department = department or self._taxonomy.department_of(category)
        if department not in self._taxonomy.departments:
            raise LifecycleError(f"unknown department {department!r}")
        now = self._clock.now()
        sla = self._taxonomy.categories[category].sla_days
        updated = await tx.tickets.update(
            ticket.id,
            now,
            category=category,
            department=department,
            needs_review=False,
            due_at=self._calendar.due_at(ticket.created_at, sla),
        )
        await tx.tickets.add_event(
            ticket.id,
            EventKind.RECLASSIFIED,
            now,
            actor,
            {
                "from_category": ticket.category,
                "to_category": category,
                "from_department": ticket.department,
                "to_department": department,
                "reason": reason,
            },
        )
        # Moving to `referred` already tells the citizen the (new) department: say it once, not twice.
        if updated.status in (S.REGISTERED, S.REOPENED):
            updated = await self.change_status(tx, updated, S.REFERRED, actor=actor)
        elif department != ticket.department:
            await self.notify(tx, updated, "now_referred")
        return updated

    async def assign(self, tx: Transaction, ticket: Ticket, assignee: User | None, *, actor: str) -> Ticket:
        """Give `ticket` to `assignee` (None: to nobody) and record who had it and who has it now.

        The assignee must be an active user of the ticket's department (ValueError otherwise);
        assigning to the person who already has it changes nothing and writes no event. The citizen
        is not told: who works on a request is the city's business."""
        if assignee is not None:
            if not assignee.active:
                raise ValueError(f"user {assignee.username!r} is disabled")
            if assignee.department != ticket.department:
                raise ValueError(
                    f"user {assignee.username!r} is not in department {ticket.department!r} of the ticket"
                )
        to_id = assignee.id if assignee is not None else None
        if to_id == ticket.assignee_id:
            return ticket
        previous = await tx.users.get(ticket.assignee_id) if ticket.assignee_id is not None else None
        now = self._clock.now()
        updated = await tx.tickets.update(ticket.id, now, assignee_id=to_id)
        await tx.tickets.add_event(
            ticket.id,
            EventKind.ASSIGNED,
            now,
            actor,
            {
                "from": previous.username if previous else None,
                "from_name": previous.display_name if previous else None,
                "to": assignee.username if assignee else None,
                "to_name": assignee.display_name if assignee else None,
            },
        )
        return updated

    async def add_note(self, tx: Transaction, ticket: Ticket, *, actor: str, text: str) -> None:
        """An internal note in the ticket's history; the citizen is not told."""
        text = text.strip()
        if not text:
            raise LifecycleError("a note needs text")
        await tx.tickets.add_event(ticket.id, EventKind.NOTE, self._clock.now(), actor, {"note": text})

    async def merge(self, tx: Transaction, duplicate: Ticket, survivor: Ticket, *, actor: str) -> Ticket:
        """Close `duplicate` into `survivor`; its reporters follow the survivor from now on."""
        if duplicate.id == survivor.id:
            raise LifecycleError("a ticket cannot be merged into itself")
        if survivor.status not in OPEN_STATUSES | {S.RESOLVED}:
            raise LifecycleError("merge into an open ticket")
        merged = await self.change_status(tx, duplicate, S.DUPLICATE, actor=actor, other=survivor)
        moved = await tx.tickets.move_reporters(duplicate.id, survivor.id, self._clock.now())
        await tx.tickets.add_event(
            survivor.id,
            EventKind.MERGED,
            self._clock.now(),
            actor,
            {"merged": duplicate.tracking_code, "reporters_added": len(moved)},
        )
        return merged

    async def reply_freely(self, tx: Transaction, ticket: Ticket, text: str, *, actor: str) -> int:
        """An operator's own words to every reporter, each on the channel they used (SMS on one line);
        the status does not change. Returns how many messages were queued."""
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()  # a form posts CRLF
        if not text:
            raise LifecycleError("a reply needs text")
        now = self._clock.now()
        queued = []
        for identity in await tx.tickets.reporters(ticket.id):
            medium = self._directory.medium(identity.channel)
            chat = medium is Medium.CHAT
            queued.append(
                Queued(
                    OutboundMessage(
                        channel=identity.channel,
                        address=identity.address,
                        text=free_reply_text(ticket.tracking_code, text, medium),
                    ),
                    ticket.id,
                    REPLY_PRIORITY,
                    # A chat reply to a citizen who blocked the bot goes by SMS: the SMS wording then.
                    sms_text=free_reply_text(ticket.tracking_code, text, Medium.SMS) if chat else None,
                )
            )
        await tx.outbox.enqueue_many(queued, at=now)
        channels = sorted({q.message.channel for q in queued})
        await tx.tickets.add_event(
            ticket.id,
            EventKind.REPLIED,
            now,
            actor,
            {"text": text, "sent": len(queued), "channels": channels},
        )
        return len(queued)

    async def notify(self, tx: Transaction, ticket: Ticket, template: str, **values: Any) -> int:
        """Queue `template` to every reporter of `ticket`; returns how many messages were queued."""
        reporters = await tx.tickets.reporters(ticket.id)
        for identity in reporters:
            await self.tell(tx, identity, template, ticket=ticket, **values)
        return len(reporters)

    async def tell(
        self,
        tx: Transaction,
        identity: Identity,
        template: str,
        *,
        ticket: Ticket | None = None,
        buttons: tuple[Button, ...] = (),
        priority: int = REPLY_PRIORITY,
        **values: object,
    ) -> None:
        """Queue one reply to one identity, rendered for the medium its reply channel speaks."""
        queued = self.reply(identity, template, ticket=ticket, buttons=buttons, priority=priority, **values)
        await tx.outbox.enqueue_many([queued], at=self._clock.now())

    def reply(
        self,
        identity: Identity,
        template: str,
        *,
        ticket: Ticket | None = None,
        buttons: tuple[Button, ...] = (),
        priority: int = REPLY_PRIORITY,
        **values: object,
    ) -> Queued:
        """One reply rendered for the medium of the identity's reply channel, ready for the outbox
        (`tell` queues it at once; batch intake queues a group's replies in one INSERT)."""
        channel, address = identity.channel, identity.address
        medium = self._directory.medium(channel)
        if ticket is not None:
            values.setdefault("code", ticket.tracking_code)
            values.setdefault(
                "department", self._taxonomy.departments.get(ticket.department, ticket.department)
            )
        text = render(template, medium, **values)
        return Queued(
            OutboundMessage(
                channel=channel, address=address, text=text, buttons=buttons if medium is Medium.CHAT else ()
            ),
            ticket.id if ticket else None,
            priority,
            sms_text=_sms_wording(template, **values) if medium is Medium.CHAT else None,
        )

    async def _ask_survey(self, tx: Transaction, ticket: Ticket) -> None:
        now = self._clock.now()
        for identity in await tx.tickets.reporters(ticket.id):
            await tx.surveys.open(ticket.id, identity.id, now, now + self._survey.answer_within)
            await self.tell(
                tx, identity, "survey", ticket=ticket, buttons=SURVEY_BUTTONS, priority=BULK_PRIORITY
            )
        await tx.tickets.add_event(ticket.id, EventKind.SURVEY_SENT, now, "system", {})
