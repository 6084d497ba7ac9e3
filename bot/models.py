"""Domain types shared by every package: messages in and out, tickets, events, statuses.

Frozen dataclasses and StrEnums only; no library types inside, so channels and storage can
depend on this module without depending on each other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class Medium(StrEnum):
    """How a channel shows text: SMS is billed per 70-character part, chat is not."""

    SMS = "sms"
    CHAT = "chat"


class ChannelDirectory:
    """Channel name → medium. A reply goes back on the channel the citizen used; a channel that
    cannot send by itself answers through another (a hotline forwards to its `reply_via` SMS
    channel in `HotlineChannel.send`; a blocked chat bot falls back to SMS in the outbox
    dispatcher), so there is no routing table here."""

    def __init__(self, media: Mapping[str, Medium]) -> None:
        self._media = dict(media)

    def medium(self, channel: str) -> Medium:
        """How texts on `channel` are shown; unknown channels named sms… are SMS, others chat."""
        if channel in self._media:
            return self._media[channel]
        return Medium.SMS if channel.startswith(("sms", "hotline")) else Medium.CHAT


class TicketStatus(StrEnum):
    """Where a ticket is in its life; allowed moves are in bot.lifecycle."""

    REGISTERED = "registered"
    REFERRED = "referred"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    REOPENED = "reopened"


# Still waiting for the city: counted as open, can run late, joined by a repeated report. Resolved
# waits for the citizen's answer, not the city; closed, rejected and duplicate are finished.
OPEN_STATUSES = frozenset(
    {TicketStatus.REGISTERED, TicketStatus.REFERRED, TicketStatus.IN_PROGRESS, TicketStatus.REOPENED}
)


class Priority(StrEnum):
    """How fast a ticket must be looked at (same values as nlp.classification.Priority)."""

    NORMAL = "normal"
    URGENT = "urgent"


class EventKind(StrEnum):
    """Kinds of rows in the append-only ticket history."""

    CREATED = "created"
    CLASSIFIED = "classified"
    RECLASSIFIED = "reclassified"
    STATUS_CHANGED = "status_changed"
    MESSAGE_IN = "message_in"
    MESSAGE_OUT = "message_out"
    REPORTER_ADDED = "reporter_added"
    MERGED = "merged"
    SURVEY_SENT = "survey_sent"
    SURVEY_ANSWER = "survey_answer"
    DELIVERY_FAILED = "delivery_failed"
    NOTE = "note"
    ASSIGNED = "assigned"
    REPLIED = "replied"


class SurveyAnswer(StrEnum):
    """A citizen's answer to "is it fixed?"."""

    FIXED = "fixed"
    NOT_FIXED = "not_fixed"


# Outbox priorities: lower is sooner, so replies to citizens go ahead of bulk sends.
REPLY_PRIORITY = 0
BULK_PRIORITY = 10


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A shared location."""

    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the citizen sent, kept by the provider's reference (e.g. Telegram file_id)."""

    kind: str
    reference: str
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a citizen, as a channel parsed it from the provider's wire format.

    `channel` is the configured channel name (e.g. "telegram", "sms.kavenegar"); `address` is the
    citizen's address on it (chat id, E.164 phone number). `button` carries callback data when the
    citizen pressed one of our buttons instead of typing.
    """

    channel: str
    address: str
    provider_message_id: str
    text: str
    received_at: datetime
    contact_phone: str | None = None
    display_name: str | None = None
    location: GeoPoint | None = None
    attachments: tuple[Attachment, ...] = ()
    button: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None

    def storable(self) -> InboundMessage:
        """This message with every string encodable as UTF-8 (see `storable_text`); itself if it is."""
        strings = [self.channel, self.address, self.provider_message_id, self.text]
        strings += [s for s in (self.contact_phone, self.display_name, self.button) if s is not None]
        strings += [part for a in self.attachments for part in (a.kind, a.reference, a.caption or "")]
        if not any(_LONE_SURROGATE.search(s) for s in strings) and not _has_lone_surrogate(self.meta):
            return self
        return replace(
            self,
            channel=storable_text(self.channel),
            address=storable_text(self.address),
            provider_message_id=storable_text(self.provider_message_id),
            text=storable_text(self.text),
            contact_phone=_storable_or_none(self.contact_phone),
            display_name=_storable_or_none(self.display_name),
            button=_storable_or_none(self.button),
            attachments=tuple(
                Attachment(storable_text(a.kind), storable_text(a.reference), _storable_or_none(a.caption))
                for a in self.attachments
            ),
            meta=storable_value(self.meta),
            raw=None if self.raw is None else storable_value(self.raw),
        )


# A surrogate code point alone (a JSON "\ud800" escape without its pair) is not text: it cannot be
# encoded as UTF-8, so the database driver would refuse the whole message.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (the replacement character)."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def _storable_or_none(text: str | None) -> str | None:
    return None if text is None else storable_text(text)


def storable_value(value: Any) -> Any:
    """A decoded JSON value with `storable_text` applied to every string, keys included."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_value(k): storable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_value(v) for v in value]
    return value


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _LONE_SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_lone_surrogate(v) for v in value)
    return False


# `InboundMessage.meta` key: for a message whose provider sends no id, the id the same content had
# in the window before (channels.sms.content_ids); the gateway treats the message as a retry of it
# when that one is stored.
EARLIER_ID = "earlier_id"


@dataclass(frozen=True, slots=True)
class Button:
    """A reply button; `data` comes back as InboundMessage.button."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to a citizen."""

    channel: str
    address: str
    text: str
    buttons: tuple[Button, ...] = ()
    reply_to: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_message_id: str | None
    status: str = "sent"
    segments: int = 1


class SendError(Exception):
    """A send failed. `retryable` (429, 5xx, timeouts) means try again later; else it is final."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Ticket:
    """A citizen request as the store holds it."""

    id: int
    tracking_code: str
    status: TicketStatus
    category: str
    department: str
    confidence: float
    needs_review: bool
    priority: Priority
    text: str
    normalized_text: str
    channel: str
    citizen_id: int
    model_version: str
    top_k: tuple[tuple[str, float], ...]
    district: str | None
    location_text: str | None
    latitude: float | None
    longitude: float | None
    duplicate_of: int | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    # The panel user working on it (users.id), None while nobody is.
    assignee_id: int | None = None


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One row of a ticket's append-only history."""

    id: int
    ticket_id: int
    kind: EventKind
    at: datetime
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Identity:
    """A citizen's address on one channel."""

    id: int
    citizen_id: int
    channel: str
    address: str


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A queued outbound message claimed for delivery."""

    id: int
    message: OutboundMessage
    ticket_id: int | None
    attempts: int
    priority: int


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """What the gateway did with an inbound message (for the channel's HTTP answer and for tests)."""

    intent: str
    duplicate: bool
    ticket_code: str | None = None
    replies: int = 0
    # Not stored, on purpose (the sender is over the flood limit): answered 2xx so the provider
    # does not retry, and reported to the caller as refused, never as accepted.
    dropped: bool = False
