"""The one front door: every channel hands its parsed messages to `Gateway.receive`.

Per message, in ONE transaction: dedupe on (channel, provider message id) → identity → intent →
handle (new ticket, status, survey answer, help) → queue replies in the outbox. The caller
acknowledges the provider only after `receive` returns, i.e. after the commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta

from bot.clock import Clock
from bot.config import GatewaySettings
from bot.intent import Intent, IntentKind, detect
from bot.lifecycle import Lifecycle
from bot.models import (
    EventKind,
    Identity,
    InboundMessage,
    Priority,
    ReceiveResult,
    SurveyAnswer,
    Ticket,
    TicketStatus,
)
from bot.replies import MENU_BUTTONS, STATUS_NAMES, date_only, when
from bot.taxonomy import Taxonomy
from bot.tracking import is_valid, new_code
from bot.understanding import Understander
from bot.workdays import WorkCalendar
from storage.store import Store, Transaction
from storage.surveys import Survey
from storage.tickets import NewTicket

log = logging.getLogger(__name__)

MAX_TEXT = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _meta_str(msg: InboundMessage, key: str) -> str | None:
    value = msg.meta.get(key)
    return value if isinstance(value, str) and value else None


def clean_text(text: str) -> str:
    """Drop control characters and surrounding space; cap absurd lengths."""
    return _CONTROL.sub("", text).strip()[:MAX_TEXT]


class Gateway:
    """Turns inbound messages into tickets, answers and survey results."""

    def __init__(
        self,
        store: Store,
        understander: Understander,
        lifecycle: Lifecycle,
        taxonomy: Taxonomy,
        settings: GatewaySettings,
        clock: Clock,
        *,
        calendar: WorkCalendar = WorkCalendar(),  # noqa: B008 - frozen, shared safely
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._nlp = understander
        self._life = lifecycle
        self._taxonomy = taxonomy
        self._settings = settings
        self._clock = clock
        self._calendar = calendar
        self._on_commit = on_commit or (lambda: None)

    async def receive(self, msg: InboundMessage) -> ReceiveResult:
        """Handle one inbound message exactly once; a repeated delivery changes nothing."""
        async with self._store.transaction() as tx:
            result = await self.receive_in(tx, msg)
        if not result.duplicate:
            self.committed(msg, result)
        return result

    def committed(self, msg: InboundMessage, result: ReceiveResult) -> None:
        """After the commit that holds `msg`: wake the outbox and log (bot.ingest calls it per group)."""
        self._on_commit()
        log.info("received channel=%s intent=%s ticket=%s", msg.channel, result.intent, result.ticket_code)

    async def receive_in(self, tx: Transaction, msg: InboundMessage) -> ReceiveResult:
        """Everything `receive` does, inside the caller's transaction (which the caller commits)."""
        text = clean_text(msg.text)
        now = self._clock.now()
        identity = await tx.citizens.identity_for(
            msg.channel, msg.address, at=now, display_name=msg.display_name, phone=msg.contact_phone
        )
        inbound_id = await tx.inbound.record(msg, text, identity.id, now)
        if inbound_id is None:
            prior = await tx.inbound.prior(msg.channel, msg.provider_message_id)
            log.info("duplicate delivery channel=%s id=%s", msg.channel, msg.provider_message_id)
            return ReceiveResult(
                intent=prior.intent if prior else "unknown",
                duplicate=True,
                ticket_code=prior.ticket_code if prior else None,
            )
        survey = await self._open_survey(tx, identity)
        intent = detect(
            text,
            button=msg.button,
            survey_open=survey is not None,
            min_request_letters=self._settings.min_request_letters,
        )
        result, ticket_id = await self._handle(tx, intent, msg, text, identity)
        await tx.inbound.settle(inbound_id, intent.kind.value, ticket_id)
        return result

    async def _handle(
        self, tx: Transaction, intent: Intent, msg: InboundMessage, text: str, identity: Identity
    ) -> tuple[ReceiveResult, int | None]:
        match intent.kind:
            case IntentKind.HELP:
                await self._life.tell(tx, identity, "welcome", buttons=MENU_BUTTONS)
                return ReceiveResult(intent=intent.kind, duplicate=False, replies=1), None
            case IntentKind.NOISE:
                await self._life.tell(tx, identity, "describe")
                return ReceiveResult(intent=intent.kind, duplicate=False, replies=1), None
            case IntentKind.STATUS_QUERY:
                return await self._status(tx, intent, identity)
            case IntentKind.SURVEY_ANSWER:
                return await self._survey_answer(tx, intent, identity, text)
            case IntentKind.NEW_REQUEST:
                return await self._new_request(tx, msg, text, identity)
        raise AssertionError(intent.kind)  # pragma: no cover - match is exhaustive

    async def _status(
        self, tx: Transaction, intent: Intent, identity: Identity
    ) -> tuple[ReceiveResult, int | None]:
        if intent.code is None:
            tickets = await tx.tickets.for_identity(identity.id)
            if not tickets:
                await self._life.tell(tx, identity, "status_none")
                return ReceiveResult(intent=intent.kind, duplicate=False, replies=1), None
            lines = "\n".join(f"• {t.tracking_code}: {STATUS_NAMES[t.status]}" for t in tickets)
            latest = tickets[0]
            await self._life.tell(
                tx,
                identity,
                "status_list",
                lines=lines,
                latest=f"{latest.tracking_code}: {STATUS_NAMES[latest.status]}",
            )
            return ReceiveResult(
                intent=intent.kind, duplicate=False, ticket_code=latest.tracking_code, replies=1
            ), latest.id
        ticket = await tx.tickets.by_code(intent.code) if is_valid(intent.code) else None
        if ticket is None:
            await self._life.tell(tx, identity, "not_found", code=intent.code[:12])
            return ReceiveResult(intent=intent.kind, duplicate=False, replies=1), None
        shown = ticket
        if ticket.status is TicketStatus.DUPLICATE and ticket.duplicate_of is not None:
            shown = await tx.tickets.get(ticket.duplicate_of) or ticket
        await self._life.tell(
            tx,
            identity,
            "status",
            ticket=shown,
            status=STATUS_NAMES[shown.status],
            when=when(shown.updated_at),
            date=date_only(shown.updated_at),
        )
        return ReceiveResult(
            intent=intent.kind, duplicate=False, ticket_code=shown.tracking_code, replies=1
        ), ticket.id

    async def _survey_answer(
        self, tx: Transaction, intent: Intent, identity: Identity, text: str
    ) -> tuple[ReceiveResult, int | None]:
        survey = await self._open_survey(tx, identity)
        assert survey is not None and intent.answer is not None  # noqa: S101 - detect() checked both
        now = self._clock.now()
        await tx.surveys.answer(survey.id, intent.answer, now)
        ticket = await tx.tickets.get(survey.ticket_id, for_update=True)
        assert ticket is not None  # noqa: S101 - foreign key
        await tx.tickets.add_event(
            ticket.id,
            EventKind.SURVEY_ANSWER,
            now,
            f"citizen:{identity.citizen_id}",
            {"answer": intent.answer.value, "text": text},
        )
        replies = 0
        if ticket.status is TicketStatus.RESOLVED:
            if intent.answer is SurveyAnswer.FIXED:
                ticket = await self._life.change_status(
                    tx, ticket, TicketStatus.CLOSED, actor=f"citizen:{identity.citizen_id}"
                )
            else:
                ticket = await self._life.change_status(
                    tx,
                    ticket,
                    TicketStatus.REOPENED,
                    actor=f"citizen:{identity.citizen_id}",
                    note="شهروند اعلام کرد مشکل برطرف نشده است.",
                )
            replies = len(await tx.tickets.reporters(ticket.id))
        return ReceiveResult(
            intent=intent.kind, duplicate=False, ticket_code=ticket.tracking_code, replies=replies
        ), ticket.id

    async def _open_survey(self, tx: Transaction, identity: Identity) -> Survey | None:
        """The open survey for this identity, else for another identity of the same citizen (a
        hotline caller answering by SMS: identities are linked by phone in storage.citizens)."""
        survey = await tx.surveys.open_for_identity(identity.id)
        if survey is None:
            for other in await tx.citizens.identity_ids(identity.citizen_id):
                if other != identity.id and (survey := await tx.surveys.open_for_identity(other)):
                    break
        return survey

    async def _new_request(
        self, tx: Transaction, msg: InboundMessage, text: str, identity: Identity
    ) -> tuple[ReceiveResult, int | None]:
        found = self._nlp.understand(text)
        cls = found.classification
        now = self._clock.now()
        window = now - timedelta(hours=self._settings.duplicate_window_hours)
        candidates = await tx.tickets.open_similar(cls.category, window, district=found.district)
        existing_id = self._nlp.duplicate_of(found, candidates, self._settings.duplicate_threshold)
        existing = await tx.tickets.get(existing_id) if existing_id is not None else None
        if existing is not None:
            return await self._link(tx, existing, identity, msg, text)
        category = self._taxonomy.categories[cls.category]
        priority = Priority(cls.priority.value)
        needs_review = cls.needs_review or msg.meta.get("needs_review") is True
        ticket = await tx.tickets.create(
            NewTicket(
                tracking_code=await self._unused_code(tx),
                citizen_id=identity.citizen_id,
                channel=msg.channel,
                text=text,
                normalized_text=found.normalized,
                category=cls.category,
                department=cls.department,
                confidence=cls.confidence,
                model_version=cls.model_version,
                top_k=cls.top_k,
                # A channel may ask for review itself (hotline: low speech-recognition confidence).
                needs_review=needs_review,
                priority=priority,
                status=TicketStatus.REGISTERED,
                district=found.district or _meta_str(msg, "district"),
                location_text=found.place,
                latitude=msg.location.latitude if msg.location else None,
                longitude=msg.location.longitude if msg.location else None,
                created_at=now,
                due_at=self._calendar.due_at(now, category.sla_days),
            )
        )
        await tx.tickets.add_reporter(ticket.id, identity.id, now)
        await tx.tickets.add_event(
            ticket.id,
            EventKind.CREATED,
            now,
            f"citizen:{identity.citizen_id}",
            {"channel": msg.channel, "attachments": [a.reference for a in msg.attachments]},
        )
        await tx.tickets.add_event(
            ticket.id,
            EventKind.CLASSIFIED,
            now,
            f"model:{cls.model_version}",
            {
                "category": cls.category,
                "department": cls.department,
                "confidence": cls.confidence,
                "top_k": [list(p) for p in cls.top_k],
                "needs_review": needs_review,
                "priority": cls.priority.value,
                "urgent_reasons": list(cls.urgent_reasons),
            },
        )
        if not needs_review:
            ticket = await tx.tickets.update(ticket.id, now, status=TicketStatus.REFERRED)
            await tx.tickets.add_event(
                ticket.id,
                EventKind.STATUS_CHANGED,
                now,
                f"model:{cls.model_version}",
                {"from": TicketStatus.REGISTERED.value, "to": TicketStatus.REFERRED.value},
            )
        template = (
            "created_urgent"
            if priority is Priority.URGENT
            else "created_review"
            if needs_review
            else "created"
        )
        await self._life.tell(tx, identity, template, ticket=ticket, when=when(now))
        log.info(
            "ticket=%s channel=%s category=%s review=%s",
            ticket.id,
            msg.channel,
            cls.category,
            needs_review,
        )
        return ReceiveResult(
            intent=IntentKind.NEW_REQUEST, duplicate=False, ticket_code=ticket.tracking_code, replies=1
        ), ticket.id

    async def _link(
        self, tx: Transaction, ticket: Ticket, identity: Identity, msg: InboundMessage, text: str
    ) -> tuple[ReceiveResult, int | None]:
        now = self._clock.now()
        added = await tx.tickets.add_reporter(ticket.id, identity.id, now)
        await tx.tickets.add_event(
            ticket.id,
            EventKind.MESSAGE_IN,
            now,
            f"citizen:{identity.citizen_id}",
            {"channel": msg.channel, "text": text},
        )
        if added:
            await tx.tickets.add_event(
                ticket.id,
                EventKind.REPORTER_ADDED,
                now,
                "system",
                {"channel": msg.channel, "identity": identity.id},
            )
        await self._life.tell(tx, identity, "linked", ticket=ticket)
        return ReceiveResult(
            intent=IntentKind.NEW_REQUEST, duplicate=False, ticket_code=ticket.tracking_code, replies=1
        ), ticket.id

    async def _unused_code(self, tx: Transaction) -> str:
        for _ in range(20):
            code = new_code()
            if not await tx.tickets.code_exists(code):
                return code
        raise RuntimeError("could not find a free tracking code in 20 tries")  # 1e-8 chance at 1e7 tickets
