"""New requests, a batch at a time: classify, spot repeats, open tickets, return the replies.

The gateway hands over every message of one round that is a new request. The batch costs a
fixed number of statements whatever its size (candidate tickets, free tracking codes, ticket
INSERT, reporters, history, linked tickets), and the classifier sees the whole batch in one call.
Decisions are taken in arrival order: a report repeating an open ticket joins it as a reporter,
and so does a report repeating one opened earlier in the same batch.

A voice note with no text opens a ticket of its own (never a repeat: there are no words to
compare), in the fallback category and flagged for an operator, who listens to it on the ticket
page; speech recognition, where a city runs it, may classify it later (bot/jobs/media_fetch.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import GatewaySettings
from bot.dates.clock import Clock
from bot.dates.workdays import WorkCalendar
from bot.intake.intent import IntentKind
from bot.intake.understanding import Understander, Understanding
from bot.lifecycle import Lifecycle
from bot.models import EventKind, Identity, InboundMessage, Priority, ReceiveResult, Ticket, TicketStatus
from bot.replies import when
from bot.taxonomy import Taxonomy
from bot.tracking import new_code
from nlp.classification import Classification
from nlp.duplicates import DuplicateCandidate
from storage.outbox import Queued
from storage.store import Transaction
from storage.tickets import DuplicateRow, NewEvent, NewTicket

log = logging.getLogger(__name__)

CODE_TRIES = 20  # a batch whose codes keep colliding this often means the code space is full
VOICE_MODEL = "voice"  # the "model version" of a voice note's ticket: nobody has classified it yet


@dataclass(frozen=True, slots=True)
class Request:
    """One new request: the message, its cleaned text, and who sent it."""

    message: InboundMessage
    text: str
    identity: Identity
    voice: bool = False  # a voice note with no text: for an operator to listen to


@dataclass(frozen=True, slots=True)
class Handled:
    """What became of one request: the channel's answer, the ticket it opened or joined, and the
    reply to queue for the sender."""

    result: ReceiveResult
    ticket_id: int
    reply: Queued


# The channels a request arriving on an SMS channel may name as its real door: recorded in the
# panel (a 137 call, a walk-in), or POSTed to the Open311 API with a phone to answer.
PANEL_INTAKE = ("phone", "in_person", "open311")


def _intake_channel(msg: InboundMessage) -> str:
    """The channel a ticket records: a request recorded in the panel arrives on the SMS channel
    that answers the citizen, but the ticket says how it really came in (a 137 call, a walk-in)."""
    named = _meta_str(msg, "intake_channel")
    return named if named in PANEL_INTAKE else msg.channel


def _meta_str(msg: InboundMessage, key: str) -> str | None:
    value = msg.meta.get(key)
    return value if isinstance(value, str) and value else None


class NewRequests:
    """Opens tickets (or joins open ones) for a batch of new requests inside the caller's transaction."""

    def __init__(
        self,
        understander: Understander,
        lifecycle: Lifecycle,
        taxonomy: Taxonomy,
        settings: GatewaySettings,
        clock: Clock,
        calendar: WorkCalendar,
    ) -> None:
        self._nlp = understander
        self._life = lifecycle
        self._taxonomy = taxonomy
        self._settings = settings
        self._clock = clock
        self._calendar = calendar

    async def handle(
        self,
        tx: Transaction,
        requests: Sequence[Request],
        understood: Mapping[str, Understanding] | None = None,
    ) -> list[Handled]:
        """Handle `requests` (at most one per sender); each Handled carries the reply to queue.

        `understood` holds texts already classified outside the transaction; the rest are
        classified here, in one batch."""
        if not requests:
            return []
        now = self._clock.now()
        found = self._understand(requests, understood or {})
        since = now - timedelta(hours=self._settings.duplicate_window_hours)
        open_rows = await tx.tickets.open_similar_many(
            {(f.classification.category, f.district) for f in found}, since
        )
        fresh, repeats = self._repeats(found, open_rows, {i for i, r in enumerate(requests) if r.voice})
        codes = await self._free_codes(tx, len(fresh))
        created = await tx.tickets.create_many(
            [self._new_ticket(requests[i], found[i], code, now) for i, code in zip(fresh, codes, strict=True)]
        )
        opened = dict(zip(fresh, created, strict=True))
        joined = await tx.tickets.get_many({t for t in repeats.values() if t >= 0})
        target: dict[int, Ticket] = {}
        for i, t in repeats.items():
            target[i] = joined[t] if t >= 0 else opened[fresh[-t - 1]]
        pairs = [(t.id, requests[i].identity.id) for i, t in sorted({**opened, **target}.items())]
        added = await tx.tickets.add_reporters(pairs, now)
        events: list[NewEvent] = []
        handled: list[Handled] = []
        for i, request in enumerate(requests):
            if i in opened:
                ticket = opened[i]
                events.extend(self._opening_events(request, found[i], ticket, now))
                template = "voice_received" if request.voice else _template(ticket)
                reply = self._life.reply(request.identity, template, ticket=ticket, when=when(now))
                log.info(
                    "ticket=%s channel=%s category=%s review=%s",
                    ticket.id,
                    request.message.channel,
                    ticket.category,
                    ticket.needs_review,
                )
            else:
                ticket = target[i]
                actor = f"citizen:{request.identity.citizen_id}"
                data: dict[str, object] = {"channel": request.message.channel, "text": request.text}
                events.append(NewEvent(ticket.id, EventKind.MESSAGE_IN, now, actor, data))
                if (ticket.id, request.identity.id) in added:
                    data = {"channel": request.message.channel, "identity": request.identity.id}
                    events.append(NewEvent(ticket.id, EventKind.REPORTER_ADDED, now, "system", data))
                reply = self._life.reply(request.identity, "linked", ticket=ticket)
                log.info("ticket=%s channel=%s repeated report joined", ticket.id, request.message.channel)
            result = ReceiveResult(
                intent=IntentKind.NEW_REQUEST, duplicate=False, ticket_code=ticket.tracking_code, replies=1
            )
            handled.append(Handled(result, ticket.id, reply))
        await tx.tickets.add_events(events)
        return handled

    def _understand(
        self, requests: Sequence[Request], understood: Mapping[str, Understanding]
    ) -> list[Understanding]:
        texts = [r.text for r in requests]
        missing = sorted({r.text for r in requests if r.text not in understood and not r.voice})
        extra = dict(zip(missing, self._nlp.understand_many(missing), strict=True))
        return [
            self._unheard() if r.voice else understood[t] if t in understood else extra[t]
            for r, t in zip(requests, texts, strict=True)
        ]

    def _unheard(self) -> Understanding:
        """A voice note nobody has listened to: the fallback category, for an operator."""
        category = self._settings.fallback_category
        department = self._taxonomy.department_of(category)
        return Understanding(
            "", Classification(category, department, 0.0, (), VOICE_MODEL, needs_review=True)
        )

    def _repeats(
        self,
        found: Sequence[Understanding],
        open_rows: dict[tuple[str, str | None], list[DuplicateRow]],
        voices: set[int] | None = None,
    ) -> tuple[list[int], dict[int, int]]:
        """(indices that open a ticket, index → ticket id it repeats, or -(k+1) for the k-th opened
        in this batch). A ticket opened earlier in the batch is the newest candidate of every pool
        whose (category, district) would have found it in the store."""
        # Kept between groups by the understander: only tickets new since the last group are profiled.
        pools = {key: self._nlp.open_pool(key[0], key[1], rows) for key, rows in open_rows.items()}
        fresh: list[int] = []
        repeats: dict[int, int] = {}
        for i, f in enumerate(found):
            if voices and i in voices:
                fresh.append(i)  # no words to compare, and nothing for a later text to repeat
                continue
            category = f.classification.category
            match = self._nlp.duplicate_of(
                f, pools[(category, f.district)], self._settings.duplicate_threshold
            )
            if match is not None:
                repeats[i] = match
                continue
            # Keyed -(k+1) for the k-th ticket this batch opens; it has no id before the INSERT.
            opened = DuplicateCandidate(str(-(len(fresh) + 1)), f.normalized, category, f.district, f.place)
            fresh.append(i)
            for (pool_category, district), pool in pools.items():
                if pool_category == category and (district is None or f.district in (None, district)):
                    pool.add_newest(opened)
        return fresh, repeats

    async def _free_codes(self, tx: Transaction, count: int) -> list[str]:
        """`count` distinct tracking codes no ticket has."""
        codes: list[str] = []
        for _ in range(CODE_TRIES):
            wanted = count - len(codes)
            if not wanted:
                return codes
            drawn = {new_code() for _ in range(wanted)} - set(codes)
            taken = await tx.tickets.codes_taken(drawn)
            codes.extend(sorted(drawn - taken))
        if len(codes) == count:
            return codes
        raise RuntimeError(f"could not find free tracking codes in {CODE_TRIES} tries")

    def _new_ticket(self, request: Request, found: Understanding, code: str, now: datetime) -> NewTicket:
        msg = request.message
        cls = found.classification
        category = self._taxonomy.categories[cls.category]
        # A channel may ask for review itself (hotline: low speech-recognition confidence).
        needs_review = cls.needs_review or msg.meta.get("needs_review") is True
        return NewTicket(
            tracking_code=code,
            citizen_id=request.identity.citizen_id,
            channel=_intake_channel(msg),
            text=request.text,
            normalized_text=found.normalized,
            category=cls.category,
            department=cls.department,
            confidence=cls.confidence,
            model_version=cls.model_version,
            top_k=cls.top_k,
            needs_review=needs_review,
            priority=Priority(cls.priority.value),
            # Confident tickets go straight to their department; the rest wait for an operator.
            status=TicketStatus.REGISTERED if needs_review else TicketStatus.REFERRED,
            district=found.district or _meta_str(msg, "district"),
            location_text=found.place,
            latitude=msg.location.latitude if msg.location else None,
            longitude=msg.location.longitude if msg.location else None,
            created_at=now,
            due_at=self._calendar.due_at(now, category.sla_days),
        )

    @staticmethod
    def _opening_events(
        request: Request, found: Understanding, ticket: Ticket, now: datetime
    ) -> list[NewEvent]:
        cls = found.classification
        msg = request.message
        citizen = f"citizen:{request.identity.citizen_id}"
        model = f"model:{cls.model_version}"
        events = [
            NewEvent(
                ticket.id,
                EventKind.CREATED,
                now,
                citizen,
                {"channel": msg.channel, "attachments": [a.reference for a in msg.attachments]},
            ),
            NewEvent(
                ticket.id,
                EventKind.CLASSIFIED,
                now,
                model,
                {
                    "category": cls.category,
                    "department": cls.department,
                    "confidence": cls.confidence,
                    "top_k": [list(p) for p in cls.top_k],
                    "needs_review": ticket.needs_review,
                    "priority": cls.priority.value,
                    "urgent_reasons": list(cls.urgent_reasons),
                },
            ),
        ]
        if ticket.status is TicketStatus.REFERRED:
            moved = {"from": TicketStatus.REGISTERED.value, "to": TicketStatus.REFERRED.value}
            events.append(NewEvent(ticket.id, EventKind.STATUS_CHANGED, now, model, moved))
        return events


def _template(ticket: Ticket) -> str:
    if ticket.priority is Priority.URGENT:
        return "created_urgent"
    return "created_review" if ticket.needs_review else "created"
