"""What a group of inbound messages becomes: tickets, answers, survey results.

Messages reach the gateway only through intake (`Sada.inbound`: flood limit → bot.intake.ingest's group
commit → `Gateway.handle_group`). `handle_group` is the whole sequence in one place: understand
the likely new requests outside any transaction, handle the group inside the transaction intake
opens (dedupe on (channel, provider message id) → identity → intent → handle: new ticket,
status, survey answer, help, thanks → queue replies in the outbox), then, after the commit, wake
the outbox. The channel acknowledges the provider only after that, i.e. after the commit. Only a
new request reaches duplicate matching: a status question, thanks or noise never joins a ticket.

The work is set-based: identities, inbound rows, open surveys, new tickets, their history,
the replies and the pending rows of the files new requests carried (storage.media: fetched after
the commit by bot.jobs.media_fetch) are each one statement for the whole group, not one per message.
A voice note with no text is a new request too, for an operator to listen to.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.config import GatewaySettings
from bot.dates.clock import Clock
from bot.dates.workdays import WorkCalendar
from bot.intake.code_lookups import SENDER_GUESSING, CodeLookups, CodeLookupSettings, Trip
from bot.intake.intent import Intent, IntentKind, detect
from bot.intake.new_requests import NewRequests, Request
from bot.intake.understanding import Understander, Understanding
from bot.lifecycle import Lifecycle
from bot.models import (
    EARLIER_ID,
    OPEN_STATUSES,
    EventKind,
    Identity,
    InboundMessage,
    ReceiveResult,
    SurveyAnswer,
    Ticket,
    TicketStatus,
)
from bot.replies import MENU_BUTTONS, STATUS_NAMES, date_only, when
from bot.taxonomy import Taxonomy
from bot.tracking import is_valid
from channels.phone import masked
from storage.abuse import AbuseRepository
from storage.citizens import Caller
from storage.media import MediaRepository, NewMedia
from storage.outbox import Queued
from storage.store import Transaction
from storage.surveys import Survey

log = logging.getLogger(__name__)

MAX_TEXT = 10_000
LOCATION_WINDOW = timedelta(hours=24)  # how old a report a location sent alone may still join
MERGE_HOPS = 5  # a merged ticket's survivor may itself have been merged since
FINISHED = frozenset((TicketStatus.CLOSED, TicketStatus.REJECTED))  # no longer open for a follow-up
# Handles a group of messages inside the transaction it is given (`Gateway._handle`).
Step = Callable[[Transaction, Sequence[InboundMessage]], Awaitable[list[ReceiveResult]]]
# Runs a Step in a transaction and commits it (bot.intake.ingest): one result, or the message's own
# failure, per message.
Write = Callable[[Step, Sequence[InboundMessage]], Awaitable[list[ReceiveResult | Exception]]]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Drop control characters and surrounding space; cap absurd lengths."""
    return _CONTROL.sub("", text).strip()[:MAX_TEXT]


class Gateway:
    """Turns inbound messages into tickets, answers and survey results."""

    def __init__(
        self,
        understander: Understander,
        lifecycle: Lifecycle,
        taxonomy: Taxonomy,
        settings: GatewaySettings,
        clock: Clock,
        *,
        calendar: WorkCalendar = WorkCalendar(),  # noqa: B008 - frozen, shared safely
        on_commit: Callable[[bool], None] | None = None,
        code_lookups: CodeLookupSettings = CodeLookupSettings(),  # noqa: B008 - frozen, shared safely
        store_media: bool = True,
    ) -> None:
        """`store_media=False` ([media] enabled = false): files stay references in the history only."""
        self._store_media = store_media
        self._life = lifecycle
        self._settings = settings
        self._clock = clock
        self._on_commit = on_commit or (lambda files: None)
        self._nlp = understander
        self._requests = NewRequests(understander, lifecycle, taxonomy, settings, clock, calendar)
        self._lookups = CodeLookups(code_lookups, clock)

    async def handle_group(
        self, messages: Sequence[InboundMessage], write: Write
    ) -> list[ReceiveResult | Exception]:
        """What one group of messages becomes, in the order it happens.

        1. Understand, before any transaction: classify and locate the messages that look like new
           requests. That is pure (text in, category and place out) and runs in a worker thread, so
           the write lock is held for the store's work only and the event loop keeps answering.
        2. `write` (bot.intake.ingest: one transaction, savepoints, one by one if the group fails) runs
           `_handle` over the group and commits; a message whose own handling failed gets its
           exception instead of a result.
        3. After the commit: wake the outbox (and the media fetcher if files came), log what each
           stored message was."""
        ahead = await asyncio.to_thread(self._understand_ahead, messages)

        async def handle(tx: Transaction, group: Sequence[InboundMessage]) -> list[ReceiveResult]:
            return await self._handle(tx, group, ahead)

        results = await write(handle, messages)
        committed = files = False
        for msg, result in zip(messages, results, strict=True):
            if isinstance(result, ReceiveResult) and not result.duplicate:
                committed = True
                files = files or bool(msg.attachments)
                log.info(
                    "received channel=%s intent=%s ticket=%s", msg.channel, result.intent, result.ticket_code
                )
        if committed:
            # Once per group: it wakes the outbox, and the media fetcher only when a stored message
            # carried files (otherwise it would look for due files after every group of words only).
            self._on_commit(files)
        return results

    def _understand_ahead(self, messages: Sequence[InboundMessage]) -> _Ahead:
        """Classify and locate the messages that look like new requests; if that fails, `_handle`
        classifies inside the transaction (message by message if need be, so only the message
        that breaks the classifier is refused).

        Whether a message really is a new request is decided inside the transaction (an open
        survey can make «نه» an answer); a message understood here for nothing costs only the
        classification. The intents found here (no survey open, no location) are kept: inside,
        a message in that case is not detected a second time."""
        letters = self._settings.min_request_letters
        texts = {clean_text(m.text): m.button for m in messages}
        intents: dict[tuple[str, str | None], Intent] = {}
        try:
            for text, button in texts.items():
                intents[(text, button)] = detect(
                    text, button=button, survey_open=False, min_request_letters=letters
                )
            ordered = sorted(text for (text, _), intent in intents.items() if _may_open_a_ticket(intent))
            return _Ahead(dict(zip(ordered, self._nlp.understand_many(ordered), strict=True)), intents)
        except Exception as exc:  # noqa: BLE001 - redone inside, where failures are isolated
            log.warning("classifying %d messages ahead failed (%s)", len(messages), type(exc).__name__)
            return _Ahead({}, intents)

    async def _handle(
        self, tx: Transaction, messages: Sequence[InboundMessage], ahead: _Ahead
    ) -> list[ReceiveResult]:
        """Handle a group of messages inside `tx`, with a fixed number of statements per round.

        A message repeating the sender (or the provider id) of an earlier one in the group waits
        for a later round, so each citizen's messages are still handled one after the other.
        `ahead` (from `_understand_ahead`) saves classifying inside the transaction."""
        messages = await self._retries_as_such(tx, messages)
        results: list[ReceiveResult | None] = [None] * len(messages)
        for indices in _rounds(messages):
            done = await self._round(tx, [messages[i] for i in indices], ahead)
            for i, result in zip(indices, done, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    async def _retries_as_such(
        self, tx: Transaction, messages: Sequence[InboundMessage]
    ) -> Sequence[InboundMessage]:
        """A message whose provider sends no id carries the id its content had one window earlier
        (channels.sms.content_ids). If that one is stored, this is the provider retrying it across
        the window's edge: it takes that id, and is then answered as a repeated delivery."""
        earlier = {
            (m.channel, m.meta[EARLIER_ID]) for m in messages if isinstance(m.meta.get(EARLIER_ID), str)
        }
        if not earlier:
            return messages
        # Stored, or the first delivery in this very group (it is stored one round earlier).
        known = await tx.inbound.stored(earlier) | (
            earlier & {(m.channel, m.provider_message_id) for m in messages}
        )
        return [
            replace(m, provider_message_id=m.meta[EARLIER_ID])
            if (m.channel, m.meta.get(EARLIER_ID)) in known
            else m
            for m in messages
        ]

    async def _round(
        self, tx: Transaction, messages: Sequence[InboundMessage], ahead: _Ahead
    ) -> list[ReceiveResult]:
        now = self._clock.now()
        texts = [clean_text(m.text) for m in messages]
        callers = [Caller(m.channel, m.address, m.display_name, m.contact_phone) for m in messages]
        identities = await tx.citizens.identities_for(callers, at=now)
        who = [identities[c.key] for c in callers]
        stored = await tx.inbound.record_many(
            list(zip(messages, texts, (w.id for w in who), strict=True)), now
        )
        results: list[ReceiveResult | None] = [None] * len(messages)
        fresh: list[int] = []
        for i, msg in enumerate(messages):
            if (msg.channel, msg.provider_message_id) in stored:
                fresh.append(i)
            else:
                results[i] = await self._repeated_delivery(tx, msg)
        surveyed = await tx.surveys.citizens_with_open_survey({who[i].citizen_id for i in fresh})
        replies: list[Queued] = []
        requests: list[int] = []
        voices: set[int] = set()
        settled: list[tuple[int, str, int | None]] = []
        files: list[NewMedia] = []
        known = dict(ahead.understood)
        for i in fresh:
            msg, identity = messages[i], who[i]
            if _voice_only(msg, texts[i]):
                requests.append(i)
                voices.add(i)
                continue
            stored_id = stored[(msg.channel, msg.provider_message_id)]
            if _files_only(msg, texts[i]):
                results[i], joined = await self._files(tx, msg, identity)
                settled.append((stored_id, IntentKind.ATTACHMENT.value, joined))
                if joined is not None:
                    files.extend(
                        NewMedia(joined, stored_id, msg.channel, a.reference, a.kind) for a in msg.attachments
                    )
                continue
            survey_open = identity.citizen_id in surveyed
            intent = (
                None if survey_open or msg.location is not None else ahead.intents.get((texts[i], msg.button))
            ) or detect(
                texts[i],
                button=msg.button,
                survey_open=survey_open,
                min_request_letters=self._settings.min_request_letters,
                location=msg.location is not None,
            )
            if intent.names_problem and await self._new_problem(tx, texts[i], identity, known):
                intent = Intent(IntentKind.NEW_REQUEST)
            ticket_id: int | None = None
            match intent.kind:
                case IntentKind.NEW_REQUEST:
                    requests.append(i)
                    continue
                case IntentKind.HELP:
                    replies.append(self._life.reply(identity, "welcome", buttons=MENU_BUTTONS))
                    result = ReceiveResult(intent=intent.kind, duplicate=False, replies=1)
                case IntentKind.NOISE:
                    replies.append(self._life.reply(identity, "describe"))
                    result = ReceiveResult(intent=intent.kind, duplicate=False, replies=1)
                case IntentKind.COURTESY:
                    replies.append(self._life.reply(identity, "courtesy"))
                    result = ReceiveResult(intent=intent.kind, duplicate=False, replies=1)
                case IntentKind.STATUS_QUERY:
                    result, ticket_id = await self._status(tx, msg, intent, identity)
                case IntentKind.SURVEY_ANSWER:
                    result, ticket_id = await self._survey_answer(tx, intent, identity, texts[i])
                case IntentKind.LOCATION:
                    result, ticket_id = await self._location(tx, msg, identity)
            results[i] = result
            settled.append((stored_id, intent.kind.value, ticket_id))
        handled = await self._requests.handle(
            tx, [Request(messages[i], texts[i], who[i], voice=i in voices) for i in requests], known
        )
        for i, done in zip(requests, handled, strict=True):
            results[i] = done.result
            replies.append(done.reply)
            key = (messages[i].channel, messages[i].provider_message_id)
            settled.append((stored[key], IntentKind.NEW_REQUEST.value, done.ticket_id))
            files.extend(
                NewMedia(done.ticket_id, stored[key], messages[i].channel, a.reference, a.kind)
                for a in messages[i].attachments
            )
        if self._store_media and files:
            await MediaRepository(tx.session).add_pending(files, at=now)
        await tx.outbox.enqueue_many(replies, at=now)
        await tx.inbound.settle_many(settled)
        return [r for r in results if r is not None]

    async def _repeated_delivery(self, tx: Transaction, msg: InboundMessage) -> ReceiveResult:
        prior = await tx.inbound.prior(msg.channel, msg.provider_message_id)
        log.info("duplicate delivery channel=%s id=%s", msg.channel, msg.provider_message_id)
        return ReceiveResult(
            intent=prior.intent if prior else "unknown",
            duplicate=True,
            ticket_code=prior.ticket_code if prior else None,
        )

    async def _new_problem(
        self, tx: Transaction, text: str, identity: Identity, known: dict[str, Understanding]
    ) -> bool:
        """Is a status question that also names a problem a new report after all?

        «درخواستم برای چاله چی شد؟ هنوز چاله هست» refers to an earlier report. It is answered with
        the sender's status unless the problem it names is concrete (the classifier gives it a
        category other than the fallback) and none of the sender's open tickets is of that
        category, or the classifier is unsure and the sender has no open ticket at all: then it is
        a report, handled as one. A letter that mentions «چند بار شکایت کردیم» around stray dogs,
        from someone whose only open ticket is a pothole, is a new report;
        «درخواستم به کجا رسید؟ با ۱۳۷ تماس گرفتم» is a status question.
        `known` caches the classification for the new request it may become."""
        found = known.get(text)
        if found is None:
            found = known[text] = self._nlp.understand_many([text])[0]
        decided = found.classification
        open_tickets = [t for t in await tx.tickets.for_identity(identity.id) if t.status not in FINISHED]
        if decided.category == self._settings.fallback_category:
            # A confident `general` is a question about an earlier report («شکایتی که دادم چی شد؟»).
            # An unsure one from someone with nothing open to ask about may be a letter that says
            # «بارها پیگیری کردیم» around a problem the classifier cannot name: it is recorded.
            return decided.needs_review and not open_tickets
        return not any(t.category == decided.category for t in open_tickets)

    async def _status(
        self, tx: Transaction, msg: InboundMessage, intent: Intent, identity: Identity
    ) -> tuple[ReceiveResult, int | None]:
        """Answer a status question: the sender's own tickets, or the ticket a code names.

        Lookups that miss are limited (bot.intake.code_lookups): while the sender or the whole city is
        over the limit, a code that is not the asker's own gets the "try later or call 137" reply,
        whether a ticket has it or not (it is looked up only to tell the asker's own apart)."""
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
        sender, delivery = (msg.channel, msg.address), (msg.channel, msg.provider_message_id)
        well_formed = is_valid(intent.code)
        ticket = await tx.tickets.by_code(intent.code) if well_formed else None
        # No await between the limit's check and the miss's count: concurrent groups (PostgreSQL
        # runs several writers) cannot both take the last miss the limit allows.
        closed = self._lookups.closed(sender) if well_formed else None
        if ticket is None:
            self._lookups.missed(sender, delivery)
        if closed is not None and (
            ticket is None
            or all(r.citizen_id != identity.citizen_id for r in await tx.tickets.reporters(ticket.id))
        ):
            trip = self._lookups.refused(sender, delivery, closed)
            if trip is not None:
                await self._record_guessing(tx, msg, trip)
            await self._life.tell(tx, identity, "lookup_unavailable", code=intent.code[:12])
            return ReceiveResult(intent=intent.kind, duplicate=False, replies=1), None
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

    async def _record_guessing(self, tx: Transaction, msg: InboundMessage, trip: Trip) -> None:
        """The first refusal of a code-guessing episode: one `abuse_events` row, in the reply's tx."""
        log.warning(
            "code lookups: %s limit reached (%d misses in %ds) channel=%s sender=%s; refusing lookups "
            "of codes that are not the asker's own",
            "one sender's" if trip.kind == SENDER_GUESSING else "the city's",
            trip.count - 1,
            trip.window_seconds,
            msg.channel,
            masked(msg.address) if msg.address.startswith("+98") else "***",
        )
        await AbuseRepository(tx.session).record(
            msg.channel,
            msg.address,
            kind=trip.kind,
            count=trip.count,
            window_seconds=trip.window_seconds,
            at=self._clock.now(),
        )

    async def _location(
        self, tx: Transaction, msg: InboundMessage, identity: Identity
    ) -> tuple[ReceiveResult, int | None]:
        """A location shared without text belongs to the sender's latest report, if it is open and
        was made in the last LOCATION_WINDOW (the chat keyboard offers the button right after a
        report). A report an operator merged into another ticket means that ticket. The pin becomes
        the ticket's coordinates unless it already has some (another reporter's, or an earlier
        pin); either way it is in the ticket's history. Otherwise (no report, an old one, a closed
        one: never an older report instead) the sender is asked to write first."""
        assert msg.location is not None  # noqa: S101 - detect() checked it
        now = self._clock.now()
        ticket = await self._open_report(tx, identity, within=LOCATION_WINDOW)
        if ticket is None:
            await self._life.tell(tx, identity, "location_first")
            return ReceiveResult(intent=IntentKind.LOCATION, duplicate=False, replies=1), None
        point = msg.location
        if ticket.latitude is None or ticket.longitude is None:
            ticket = await tx.tickets.update(
                ticket.id, now, latitude=point.latitude, longitude=point.longitude
            )
        await tx.tickets.add_event(
            ticket.id,
            EventKind.MESSAGE_IN,
            now,
            f"citizen:{identity.citizen_id}",
            {"channel": msg.channel, "location": [point.latitude, point.longitude]},
        )
        await self._life.tell(tx, identity, "location_added", ticket=ticket)
        return ReceiveResult(
            intent=IntentKind.LOCATION, duplicate=False, ticket_code=ticket.tracking_code, replies=1
        ), ticket.id

    async def _files(
        self, tx: Transaction, msg: InboundMessage, identity: Identity
    ) -> tuple[ReceiveResult, int | None]:
        """Photos, videos or documents sent without a word (often what an operator asked for in a
        free reply) belong to the sender's latest report while it is open, however old: they go into
        its history and the media store (the caller queues them), and the citizen is told which
        ticket took them. With no open report the sender is asked to write the problem first."""
        ticket = await self._open_report(tx, identity, within=None)
        if ticket is None:
            await self._life.tell(tx, identity, "file_first")
            return ReceiveResult(intent=IntentKind.ATTACHMENT, duplicate=False, replies=1), None
        await tx.tickets.add_event(
            ticket.id,
            EventKind.MESSAGE_IN,
            self._clock.now(),
            f"citizen:{identity.citizen_id}",
            {"channel": msg.channel, "attachments": [a.reference for a in msg.attachments]},
        )
        await self._life.tell(tx, identity, "file_added", ticket=ticket)
        return ReceiveResult(
            intent=IntentKind.ATTACHMENT, duplicate=False, ticket_code=ticket.tracking_code, replies=1
        ), ticket.id

    async def _open_report(
        self, tx: Transaction, identity: Identity, *, within: timedelta | None
    ) -> Ticket | None:
        """The sender's latest report if it is still open (and made `within` ago, when given); a
        report an operator merged into another ticket means that ticket."""
        latest = await tx.tickets.latest_report(identity.id)
        if latest is None:
            return None
        ticket: Ticket | None = latest[0]
        for _ in range(MERGE_HOPS):
            if ticket is None or ticket.status is not TicketStatus.DUPLICATE or ticket.duplicate_of is None:
                break
            ticket = await tx.tickets.get(ticket.duplicate_of)
        if ticket is None or ticket.status not in OPEN_STATUSES:
            return None
        if within is not None and self._clock.now() - latest[1] > within:
            return None
        return ticket

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


@dataclass(frozen=True, slots=True)
class _Ahead:
    """What `Gateway._understand_ahead` found before the transaction: the likely new requests
    understood (by text), and every text's intent were no survey open (by text and button)."""

    understood: Mapping[str, Understanding]
    intents: Mapping[tuple[str, str | None], Intent]


def _voice_only(msg: InboundMessage, text: str) -> bool:
    """A voice note (or audio file) with no words and no button: a request to listen to."""
    return not text and msg.button is None and any(a.kind in ("voice", "audio") for a in msg.attachments)


def _files_only(msg: InboundMessage, text: str) -> bool:
    """Photos, videos or documents with no words, no button and no location (voice notes are
    requests of their own: `_voice_only`)."""
    return not text and msg.button is None and msg.location is None and bool(msg.attachments)


def _may_open_a_ticket(intent: Intent) -> bool:
    """A new request, or a status question that may turn out to be one (see `Gateway._new_problem`)."""
    return intent.kind is IntentKind.NEW_REQUEST or intent.names_problem


def _rounds(messages: Sequence[InboundMessage]) -> list[list[int]]:
    """Indices of `messages` in rounds: a message goes one round after the latest earlier message
    with the same sender or the same provider id (normally everything is round one)."""
    rounds: list[list[int]] = []
    by_sender: dict[tuple[str, str], int] = {}
    by_id: dict[tuple[str, str], int] = {}
    for i, msg in enumerate(messages):
        sender, delivery = (msg.channel, msg.address), (msg.channel, msg.provider_message_id)
        n = max(by_sender.get(sender, -1), by_id.get(delivery, -1)) + 1
        by_sender[sender] = by_id[delivery] = n
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds
