"""One ticket: conversation, history, classification, location, attachments, and the action forms."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.lifecycle import free_reply_text
from bot.models import (
    OPEN_STATUSES,
    ChannelDirectory,
    EventKind,
    Identity,
    Medium,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from bot.web.panel.context import panel_of, principal_of
from bot.web.panel.labels import ERRORS, HistoryLine, channel_names, history_line, status_name
from bot.web.panel.media import attachments_of
from bot.web.panel.rendering import render
from channels.segments import encoded_length, sms_parts
from nlp.letters import persian_digits
from storage.canned_replies import CannedReplyRepository
from storage.panel_queries import ConversationEntry, PanelQueries
from storage.store import Transaction

# A shared location is stored twice: the message (no text) and a history event with the point; the
# two are written in one transaction, so their times differ by far less than this.
_SAME_MESSAGE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Bubble:
    """One message of the conversation as the page shows it; `location` for a shared pin."""

    message: ConversationEntry
    location: tuple[float, float] | None = None


def bubbles(conversation: Sequence[ConversationEntry], events: Sequence[TicketEvent]) -> list[Bubble]:
    """The conversation with each text-less message from a citizen matched to the location it shared."""
    pins = [
        (e.at, (float(e.data["location"][0]), float(e.data["location"][1])))
        for e in events
        if e.kind is EventKind.MESSAGE_IN and isinstance(e.data.get("location"), list | tuple)
    ]
    shown = []
    for m in conversation:
        location = None
        if m.direction == "in" and not m.text.strip():
            near = [i for i, (at, _) in enumerate(pins) if abs(at - m.at) <= _SAME_MESSAGE]
            if near:
                location = pins.pop(min(near, key=lambda i: abs(pins[i][0] - m.at)))[1]
        shown.append(Bubble(m, location))
    return shown


async def ticket_page(request: web.Request) -> web.Response:
    """GET /panel/tickets/{code}"""
    return await show_ticket(request)


async def show_ticket(
    request: web.Request,
    *,
    code: str | None = None,
    error: str | None = None,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
    notice: str | None = None,
) -> web.Response:
    """Render the ticket page (also after a refused action, with its error and the user's input, and
    after a login that kept a draft: `code` then names the ticket, since the URL is the login's)."""
    principal = principal_of(request)
    panel = panel_of(request)
    taxonomy = panel.sada.config.taxonomy
    channel_name = channel_names(panel.sada.config.channels)
    async with panel.sada.store.read() as tx:
        ticket = await tx.tickets.by_code(code or request.match_info["code"])
        # Out of scope reads as absent: a staff member cannot even learn that the code exists.
        if ticket is None or not principal.can_see(ticket):
            raise web.HTTPNotFound()
        events = await tx.tickets.events(ticket.id)
        conversation = await PanelQueries(tx.session).conversation(ticket.id)
        reporters = await tx.tickets.reporters(ticket.id)
        phone = await tx.citizens.phone_of(ticket.citizen_id)
        canned = await CannedReplyRepository(tx.session).for_category(ticket.category)
        survivor = await tx.tickets.get(ticket.duplicate_of) if ticket.duplicate_of else None
        users = {u.username: u.display_name for u in await tx.users.all()}
        people = await tx.users.in_department(ticket.department)
        assignee = await tx.users.get(ticket.assignee_id) if ticket.assignee_id is not None else None
        reporter_names = await tx.citizens.display_names({r.citizen_id for r in reporters})
        choices = await reply_choices(tx, ticket)
    attachments = await attachments_of(panel.sada.store, ticket.id, events)
    classified = next((e for e in events if e.kind is EventKind.CLASSIFIED), None)
    targets = [s for s in panel.sada.lifecycle.allowed(ticket.status) if s is not TicketStatus.DUPLICATE]
    now = panel.sada.clock.now()
    return render(
        request,
        "ticket.html",
        status=status,
        ticket=ticket,
        history=[(e, assignment_line(e, users) or history_line(e, taxonomy, channel_name)) for e in events],
        users=users,
        conversation=bubbles(conversation, events),
        reporters=reporters,
        phone=phone,
        attachments=attachments,
        classified=classified,
        targets=[s.value for s in targets],
        canned={s.value: [c for c in canned if c.status == s.value] for s in targets},
        survivor=survivor,
        overdue=bool(ticket.due_at and ticket.due_at < now and ticket.status in OPEN_STATUSES),
        error=ERRORS.get(error or "", error),
        form=form or {},
        notice=notice or ASSIGN_NOTICES.get(request.query.get("done", "")),
        people=people,
        assignee=assignee,
        reporter_names=reporter_names,
        reply=reply_form(
            ticket, reporters, choices, form or {}, panel.sada.config.channels, panel.sada.directory
        ),
    )


# --- assignment and free replies (the action forms and the facts) ------------------------------

# Ready-made free replies for what operators ask most; the stored canned replies follow them.
QUICK_REPLIES = (
    "لطفاً نشانی دقیق محل (خیابان، کوچه، پلاک یا یک نشانهٔ نزدیک) را بفرستید.",
    "لطفاً اگر می‌توانید یک عکس از محل مشکل بفرستید.",
    "کارشناس ما برای بازدید به محل می‌آید. سپاس از همراهی شما.",
)

# After an action of these forms redirects back (`?done=<key>`).
ASSIGN_NOTICES = {
    "assigned": "درخواست به کارشناس واگذار شد.",
    "unassigned": "واگذاری درخواست برداشته شد.",
    "claimed": "درخواست را برداشتید؛ در «درخواست‌های من» می‌آید.",
    "released": "درخواست را پس دادید.",
    "replied": "پاسخ برای شهروند در صف ارسال است؛ وضعیت درخواست تغییری نکرد.",
}


@dataclass(frozen=True, slots=True)
class ReplyChoices:
    """Texts the reply form can insert: (group label, [(value, text)]) in the order shown."""

    groups: list[tuple[str, list[tuple[str, str]]]]

    @property
    def flat(self) -> list[tuple[str, str]]:
        return [choice for _, choices in self.groups for choice in choices]


async def reply_choices(tx: Transaction, ticket: Ticket) -> ReplyChoices:
    """The quick replies, then the stored canned replies of the ticket's category by status."""
    groups: list[tuple[str, list[tuple[str, str]]]] = [
        ("درخواست از شهروند", [(f"q{i}", text) for i, text in enumerate(QUICK_REPLIES)])
    ]
    by_status: dict[str, list[tuple[str, str]]] = {}
    for c in await CannedReplyRepository(tx.session).for_category(ticket.category):
        by_status.setdefault(c.status, []).append((f"c{c.id}", c.text))
    for status, choices in by_status.items():
        groups.append((f"پاسخ‌های آماده: {status_name(status)}", choices))
    return ReplyChoices(groups)


def sms_limits(
    specs: Iterable[Any], directory: ChannelDirectory, reporters: Sequence[Identity]
) -> dict[str, int]:
    """SMS channel → how many parts its provider sends at most (`max_parts`), for the reporters
    who wrote by SMS (a channel that answers through another, `reply_via`, takes that one's)."""
    by_name = {spec.name: spec for spec in specs}

    def limit(name: str, seen: frozenset[str] = frozenset()) -> int:
        spec = by_name.get(name)
        settings = getattr(spec, "settings", None)
        api = getattr(settings, "api", None)
        parts = getattr(api, "max_parts", None) or getattr(settings, "max_parts", None)
        if isinstance(parts, int):
            return parts
        via = getattr(settings, "reply_via", None)
        if isinstance(via, str) and via not in seen:
            return limit(via, seen | {name})
        return DEFAULT_MAX_PARTS

    return {r.channel: limit(r.channel) for r in reporters if directory.medium(r.channel) is Medium.SMS}


DEFAULT_MAX_PARTS = 4  # channels/provider_config.py `max_parts`' default


def sms_count_text(parts: int, length: int, max_parts: int) -> str:
    """The reply form's SMS counter in Persian (the same words sms-count.js writes)."""
    fa = persian_digits
    return f"پیامک: {fa(str(parts))} بخش از حداکثر {fa(str(max_parts))} — {fa(str(length))} نویسه"


def assignment_line(event: TicketEvent, users: Mapping[str, str]) -> HistoryLine | None:
    """History lines for assignment and free replies (labels.history_line covers the rest)."""
    d = event.data
    if event.kind is EventKind.ASSIGNED:
        to = d.get("to_name") or users.get(str(d.get("to"))) or d.get("to")
        was = d.get("from_name") or users.get(str(d.get("from"))) or d.get("from")
        if to and event.actor == f"user:{d.get('to')}" and not was:
            return HistoryLine("درخواست را برای خود برداشت")
        if to and was:
            return HistoryLine(f"واگذاری از «{was}» به «{to}»")
        if to:
            return HistoryLine(f"واگذاری به «{to}»")
        return HistoryLine(f"برداشتن واگذاری (پیش‌تر: «{was}»)")
    if event.kind is EventKind.REPLIED:
        return HistoryLine("پاسخ به شهروند (بدون تغییر وضعیت):", str(d.get("text", "")))
    return None


@dataclass(frozen=True, slots=True)
class ReplyForm:
    """What the free reply form shows: the channels it goes out on, the texts it can insert, and for
    SMS reporters the prefix the citizen's SMS starts with, its part limit and the typed text's count."""

    channels: list[str]
    choices: ReplyChoices
    text: str
    sms_prefix: str | None
    max_parts: int
    count: str | None


def reply_form(
    ticket: Ticket,
    reporters: Sequence[Identity],
    choices: ReplyChoices,
    form: Mapping[str, Any],
    specs: Iterable[Any],
    directory: ChannelDirectory,
) -> ReplyForm:
    text = str(form.get("text", "")) if form.get("action") == "reply" else ""
    limits = sms_limits(specs, directory, reporters)
    max_parts = min(limits.values(), default=DEFAULT_MAX_PARTS)
    prefix = free_reply_text(ticket.tracking_code, "", Medium.SMS) if limits else None
    count = None
    if limits and text.strip():
        sms = free_reply_text(ticket.tracking_code, text, Medium.SMS)
        count = sms_count_text(sms_parts(sms), encoded_length(sms), max_parts)
    return ReplyForm(
        channels=sorted({r.channel for r in reporters}),
        choices=choices,
        text=text,
        sms_prefix=prefix,
        max_parts=max_parts,
        count=count,
    )
