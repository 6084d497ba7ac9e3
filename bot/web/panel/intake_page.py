"""Phone and walk-in intake: a 137 operator or a front-desk clerk records a citizen's request.

Three steps, each a plain form (no JavaScript needed): the form (number, how the request came,
text, place) → a preview with the classifier's suggestion (category, department, urgency) and the
open ticket it most likely repeats → save. Saving sends the request through the one front door,
`Sada.inbound`, as an `InboundMessage` on the configured SMS channel (`[panel] intake_sms_channel`,
else the first SMS channel): the citizen's identity is their mobile number on that channel, so the
pipeline's own reply — the tracking code — goes out by SMS like any reply, and every later status
change reaches them the same way. The message carries `meta["intake_channel"]` (`phone` or
`in_person`) and `meta["operator"]`; the history gets a note saying who recorded it and how.

Afterwards, in one transaction and through bot.lifecycle: the operator's category, when it differs
from the model's, is applied as a reclassification (actor: the operator), and a chosen open ticket
absorbs the new one as a merge. The message id is a token drawn at the preview, so submitting the
same preview twice is a repeated delivery: one ticket, one SMS.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bot.intake.intent import IntentKind
from bot.intake.understanding import Understander, Understanding
from bot.intake.written_place import with_place
from bot.lifecycle import LifecycleError
from bot.models import OPEN_STATUSES, EventKind, InboundMessage, Medium, Ticket, TicketStatus
from bot.tracking import is_valid
from bot.web.panel.context import panel_of
from bot.web.panel.district_centres import DISTRICT_CENTRES
from bot.web.panel.forms import form_field, read_form
from bot.web.panel.rendering import render
from bot.web.panel.roles import Permission, Principal
from bot.web.panel.security import require
from channels.desk import DESK, SINKS
from channels.phone import PhoneError, canonical_mobile
from nlp.duplicates import DuplicateCandidate
from nlp.letters import ascii_digits
from storage.store import Transaction

if TYPE_CHECKING:
    from bot.app import Sada

log = logging.getLogger(__name__)

INTAKE_CHANNELS = ("phone", "in_person")
MAX_TEXT = 2000
MAX_PLACE = 300
# An open ticket scoring at least this against the new request is offered for merging; the
# pipeline itself joins a repeat at `[gateway] duplicate_threshold` (80 by default).
LIKELY_DUPLICATE = 50.0
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True, slots=True)
class IntakeForm:
    """What the operator typed (as typed, to show it again) and the preview's token."""

    phone: str = ""
    channel: str = "phone"
    text: str = ""
    place: str = ""
    district: str = ""
    category: str = ""
    merge_into: str = ""
    token: str = ""

    def message_text(self) -> str:
        """The text the pipeline classifies and stores: the request, then the place if given apart."""
        return with_place(self.text, self.place)


@dataclass(frozen=True, slots=True)
class Likely:
    """An open ticket the new request may repeat, with the matcher's score (0–100)."""

    ticket: Ticket
    score: float
    joins: bool  # at or above the pipeline's threshold: saving will join it by itself


def read_intake(form: Mapping[str, Any]) -> IntakeForm:
    """The submitted fields, trimmed and capped."""
    return IntakeForm(
        phone=form_field(form, "phone", 40),
        channel=form_field(form, "channel", 16),
        text=form_field(form, "text", MAX_TEXT),
        place=form_field(form, "place", MAX_PLACE),
        district=ascii_digits(form_field(form, "district", 8)),
        category=form_field(form, "category", 64),
        merge_into=ascii_digits(form_field(form, "merge_into", 20)),
        token=form_field(form, "token", 64),
    )


def check(intake: IntakeForm, categories: Mapping[str, object]) -> tuple[str | None, dict[str, str]]:
    """(the number in E.164, field → error key); error keys are worded in intake.html."""
    errors: dict[str, str] = {}
    mobile = None
    try:
        # No number: a walk-in who leaves none is told the code at the desk (channels/desk.py).
        mobile = canonical_mobile(intake.phone) if intake.phone else None
    except PhoneError:
        errors["phone"] = "bad_phone"
    if intake.channel not in INTAKE_CHANNELS:
        errors["channel"] = "bad_channel"
    if len(intake.text) < 3:
        errors["text"] = "text_required"
    if intake.district and intake.district not in DISTRICT_CENTRES:
        errors["district"] = "bad_district"
    if intake.category and intake.category not in categories:
        errors["category"] = "bad_category"
    if intake.merge_into and not is_valid(intake.merge_into):
        errors["merge_into"] = "bad_merge"
    return mobile, errors


def sms_channel(sada: Sada, wanted: str | None) -> str | None:
    """The SMS channel intake replies go out on: `wanted` if it is a running SMS channel, else (when
    nothing is configured) the first running SMS channel that sends by itself; None when none does."""
    relays = {spec.name for spec in sada.config.channels if spec.role.value == "relay"}
    sms = [n for n in sorted(sada.channels) if n not in SINKS and sada.directory.medium(n) is Medium.SMS]
    if wanted is not None:
        return wanted if wanted in sms else None
    senders = [n for n in sms if n not in relays]
    return senders[0] if senders else None


def understander_of(sada: Sada) -> Understander:
    """The nlp in service (the one the gateway classifies with and retraining swaps)."""
    return sada.understander


async def intake_form(request: web.Request) -> web.Response:
    """GET /panel/intake"""
    require(request, Permission.INTAKE)
    return _form(request, IntakeForm(channel=request.query.get("channel", "phone")), {})


async def intake_preview(request: web.Request) -> web.Response:
    """POST /panel/intake/preview: the classifier's suggestion and the likely repeat, nothing saved."""
    principal = require(request, Permission.INTAKE)
    panel = panel_of(request)
    intake = read_intake(await read_form(request))
    _mobile, errors = check(intake, panel.sada.config.taxonomy.categories)
    if errors:
        return _form(request, intake, errors, status=400)
    found = await asyncio.to_thread(understander_of(panel.sada).understand, intake.message_text())
    likely = await _likely(panel.sada, found) if principal.sees_tickets else None
    suggested = found.classification
    token = intake.token if _TOKEN.fullmatch(intake.token) else secrets.token_urlsafe(18)
    shown = IntakeForm(
        phone=intake.phone,
        channel=intake.channel,
        text=intake.text,
        place=intake.place,
        district=intake.district,
        category=intake.category or suggested.category,
        merge_into=intake.merge_into,
        token=token,
    )
    return _form(request, shown, {}, found=found, likely=likely)


async def intake_save(request: web.Request) -> web.StreamResponse:
    """POST /panel/intake: the request goes through `Sada.inbound`; then override and merge."""
    principal = require(request, Permission.INTAKE)
    panel = panel_of(request)
    sada = panel.sada
    intake = read_intake(await read_form(request))
    mobile, errors = check(intake, sada.config.taxonomy.categories)
    if not _TOKEN.fullmatch(intake.token):
        errors["preview"] = "no_preview"
    channel = sms_channel(sada, panel.settings.intake_sms_channel) if mobile else DESK
    if channel is None:
        errors["sms"] = "no_sms_channel"
    if errors or channel is None:
        return _form(request, intake, errors, status=400)
    meta: dict[str, Any] = {"intake_channel": intake.channel, "operator": principal.user.username}
    if intake.district:
        meta["district"] = intake.district
    message = InboundMessage(
        channel=channel,
        address=mobile or f"{DESK}:{intake.token}",
        provider_message_id=f"panel:{intake.token}",
        text=intake.message_text(),
        received_at=sada.clock.now(),
        contact_phone=mobile,
        meta=meta,
    )
    result = await sada.inbound(message)
    if result.dropped:
        return _form(request, intake, {"sms": "flooded"}, status=429)
    if result.intent != IntentKind.NEW_REQUEST or result.ticket_code is None:
        log.info("panel intake user=%s not a new request: intent=%s", principal.user.username, result.intent)
        return _form(request, intake, {"text": "not_a_request"}, status=409)
    outcome = {"code": result.ticket_code}
    if not result.duplicate:
        try:
            outcome = await _after(sada, principal, intake, result.ticket_code)
        except LifecycleError as exc:
            # The ticket exists and the citizen has its code: say what did not happen, keep the code.
            log.info("panel intake follow-up refused ticket=%s: %s", result.ticket_code, exc)
            outcome = {"code": result.ticket_code, "refused": "1"}
    if channel == DESK:
        outcome["desk"] = "1"
    sada.dispatcher.wake()
    log.info("panel intake user=%s channel=%s via=%s", principal.user.username, intake.channel, channel)
    raise web.HTTPSeeOther("/panel/intake/done?" + urlencode(outcome))


async def _after(sada: Sada, principal: Principal, intake: IntakeForm, code: str) -> dict[str, str]:
    """Note how it came in, apply the operator's category, merge into the chosen ticket."""
    life = sada.lifecycle
    outcome = {"code": code}
    async with sada.store.transaction() as tx:
        found = await tx.tickets.by_code(code)
        assert found is not None  # noqa: S101 - the pipeline just returned its code
        ticket = await tx.tickets.get(found.id, for_update=True)
        assert ticket is not None  # noqa: S101 - tickets are never deleted
        if await _joined(tx, ticket, intake.message_text()):
            # The pipeline found the same request open already and added this caller to it.
            return {**outcome, "joined": "1"}
        how = "تلفنی" if intake.channel == "phone" else "حضوری"
        await life.add_note(tx, ticket, actor=principal.actor, text=f"ثبت {how} در پنل")
        if intake.category and intake.category != ticket.category:
            reason = f"انتخاب کارشناس هنگام ثبت {how}"
            ticket = await life.reclassify(tx, ticket, intake.category, actor=principal.actor, reason=reason)
            outcome["reclassified"] = "1"
        if intake.merge_into and intake.merge_into != code and principal.sees_tickets:
            survivor = await tx.tickets.by_code(intake.merge_into)
            if survivor is not None and principal.can_see(survivor):
                await life.merge(tx, ticket, survivor, actor=principal.actor)
                outcome["merged"] = survivor.tracking_code
    return outcome


async def _joined(tx: Transaction, ticket: Ticket, text: str) -> bool:
    """Whether the pipeline added this message to an open ticket instead of opening one: the ticket's
    text is another's, or this text arrived on it as a later message (a repeat of the same words)."""
    if ticket.text.strip() != text.strip():
        return True
    events = await tx.tickets.events(ticket.id)
    return any(
        e.kind is EventKind.MESSAGE_IN and str(e.data.get("text", "")).strip() == text.strip() for e in events
    )


async def intake_done(request: web.Request) -> web.Response:
    """GET /panel/intake/done: the tracking code, large, to read out."""
    require(request, Permission.INTAKE)
    code = ascii_digits(request.query.get("code", ""))
    merged = ascii_digits(request.query.get("merged", ""))
    if not is_valid(code):
        raise web.HTTPNotFound()
    return render(
        request,
        "intake_done.html",
        code=code,
        joined=request.query.get("joined") == "1",
        reclassified=request.query.get("reclassified") == "1",
        refused=request.query.get("refused") == "1",
        merged=merged if is_valid(merged) else None,
        no_number=request.query.get("desk") == "1",
    )


async def _likely(sada: Sada, found: Understanding) -> Likely | None:
    """The open ticket this request most likely repeats, scored as the pipeline scores repeats."""
    understander = understander_of(sada)
    settings = sada.config.gateway
    key = (found.classification.category, found.district)
    since = sada.clock.now() - timedelta(hours=settings.duplicate_window_hours)
    async with sada.store.read() as tx:
        rows = (await tx.tickets.open_similar_many({key}, since)).get(key, [])
        if not rows:
            return None
        pool = understander.open_pool(key[0], key[1], rows)
        new = DuplicateCandidate("new", found.normalized, key[0], found.district, found.place)
        match = pool.best(new, threshold=LIKELY_DUPLICATE)
        if match is None:
            return None
        ticket = await tx.tickets.get(int(match[0]))
    if ticket is None or ticket.status not in OPEN_STATUSES | {TicketStatus.RESOLVED}:
        return None
    return Likely(ticket, match[1], joins=match[1] >= settings.duplicate_threshold)


def _form(
    request: web.Request,
    intake: IntakeForm,
    errors: Mapping[str, str],
    *,
    status: int = 200,
    found: Understanding | None = None,
    likely: Likely | None = None,
) -> web.Response:
    panel = panel_of(request)
    return render(
        request,
        "intake.html",
        status=status,
        form=intake,
        errors=errors,
        found=found,
        likely=likely,
        districts=sorted(DISTRICT_CENTRES, key=int),
        sms_ready=sms_channel(panel.sada, panel.settings.intake_sms_channel) is not None,
    )
