"""ORM tables. Rows never leave storage/: repositories turn them into bot.models types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so migrations can refer to them on both SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


def table_of(row: type[DeclarativeBase]) -> Table:
    """The Core table of a mapped class (for bulk INSERT/UPDATE statements)."""
    return cast(Table, row.__table__)


class CitizenRow(Base):
    __tablename__ = "citizens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime]


class IdentityRow(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    # Its own index: the panel's search by phone number looks an address up across channels.
    address: Mapped[str] = mapped_column(String(128), index=True)
    # Set when the provider says we can no longer write here (e.g. Telegram 403: bot blocked).
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class InboundRow(Base):
    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "provider_message_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    intent: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    stored_at: Mapped[datetime]


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_category", "status", "category"),
        Index("ix_tickets_department_status", "department", "status"),
        Index("ix_tickets_status_due_at", "status", "due_at"),
        Index("ix_tickets_resolved_at", "resolved_at"),
        Index("ix_tickets_category_created_at", "category", "created_at"),
        Index("ix_tickets_channel", "channel"),  # the list filter's channel choices, per channel counts
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(10), unique=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    normalized_text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64))
    top_k: Mapped[list[Any]] = mapped_column(JSON)
    needs_review: Mapped[bool] = mapped_column(Boolean, index=True)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    district: Mapped[str | None] = mapped_column(String(64), index=True)
    location_text: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # The staff member working on it (issue 17: assign, claim, "my tickets"); None: unassigned.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(index=True)
    due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class ReporterRow(Base):
    """Everyone who reported a ticket; all of them hear about its changes."""

    __tablename__ = "ticket_reporters"
    __table_args__ = (UniqueConstraint("ticket_id", "identity_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    added_at: Mapped[datetime]


class EventRow(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_kind_at", "kind", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any]] = mapped_column(JSON)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    lease_until: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # A chat reply's SMS wording, for a citizen who blocked the bot (channel `fallback_sms`); None
    # for SMS rows and for rows queued before migration 0007.
    sms_text: Mapped[str | None] = mapped_column(Text)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # operator | staff | manager | admin
    department: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class UserAuditRow(Base):
    """Every change an admin makes to an account (added, role or department changed, disabled,
    enabled, password reset), append-only: the panel's audit view."""

    __tablename__ = "user_audit"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))  # who did it (username, or "cli")
    username: Mapped[str] = mapped_column(String(64), index=True)  # whose account
    action: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # before/after values; never a password


class MediaRow(Base):
    """A photo, voice note, audio file, video or document a citizen sent: fetched from the
    provider after the message is stored (the ticket never waits for it), kept with a size cap,
    its content type sniffed from the bytes. Retention removes the bytes with the ticket's
    contact details."""

    __tablename__ = "media"
    __table_args__ = (
        UniqueConstraint("channel", "reference"),
        Index("ix_media_status_next_attempt_at", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(300))  # the provider's file id
    kind: Mapped[str] = mapped_column(String(16))  # photo | voice | audio | video | document
    status: Mapped[str] = mapped_column(String(16))  # pending | stored | failed | too_large | refused
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    content_type: Mapped[str | None] = mapped_column(String(100))  # sniffed from the bytes
    size: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    transcript: Mapped[str | None] = mapped_column(Text)  # speech recognition, when configured
    created_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))


class SurveyRow(Base):
    """One "is it fixed?" question to one reporter of a resolved ticket."""

    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_open", "status", "expires_at"),
        Index("ix_surveys_answered_at", "answered_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open | answered | expired | cancelled
    answer: Mapped[str | None] = mapped_column(String(16))
    asked_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class ChannelStateRow(Base):
    """Small durable state a channel keeps between restarts (e.g. a file follower's position)."""

    __tablename__ = "channel_state"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class WebSessionRow(Base):
    """A panel login session; `id` is a hash of the cookie's token, never the token itself."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginAttemptRow(Base):
    """Every panel login attempt, for throttling and audit."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    success: Mapped[bool] = mapped_column(Boolean)
    # Refused by a throttling rule before the password was checked: not a guess, so not counted.
    throttled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The trusted browser (`LoginDeviceRow.id`) the attempt came from; None for any other browser.
    device_id: Mapped[str | None] = mapped_column(String(64))


class LoginDeviceRow(Base):
    """A browser that has logged in as `username`: its device cookie's SHA-256, never the cookie."""

    __tablename__ = "login_devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime]


class CannedReplyRow(Base):
    """Editable Persian replies staff pick when changing a status (per status, optionally per category)."""

    __tablename__ = "canned_replies"
    __table_args__ = (Index("ix_canned_replies_status_category", "status", "category"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))


class DigestDeliveryRow(Base):
    """One digest for one recipient, day and medium: the unique key makes "once per day" hold across
    restarts and processes (a worker claims the row before sending)."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("recipient", "day", "medium"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(100))
    day: Mapped[str] = mapped_column(String(10))  # Jalali YYYY-MM-DD (Tehran)
    medium: Mapped[str] = mapped_column(String(16))  # telegram | bale | email | …
    status: Mapped[str] = mapped_column(String(16))  # claimed | sent | failed
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class AbuseEventRow(Base):
    """A sender that exceeded a flood limit (kept for operators; the address may be masked later)."""

    __tablename__ = "abuse_events"
    __table_args__ = (Index("ix_abuse_events_channel_address", "channel", "address"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # e.g. flood
    count: Mapped[int] = mapped_column(Integer)
    window_seconds: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(index=True)


class ModelRetrainRow(Base):
    """One attempt to retrain the classifier on operator corrections, and what came of it.

    At most one row is `running` at a time (a partial unique index): two processes asked to
    retrain at once both try to insert, and only one insert lands."""

    __tablename__ = "model_retrains"
    __table_args__ = (
        Index(
            "uq_model_retrains_running",
            "outcome",
            unique=True,
            sqlite_where=text("outcome = 'running'"),
            postgresql_where=text("outcome = 'running'"),
        ),
        Index("ix_model_retrains_outcome_id", "outcome", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # startup | schedule | panel
    actor: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))  # running | accepted | refused | unchanged | failed
    reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    base_version: Mapped[str] = mapped_column(String(64))  # shipped data + settings, no corrections
    serving_version: Mapped[str] = mapped_column(String(64))
    # What the shipped data + these corrections should give (how "already tried" is recognised),
    # and the version of the model actually trained.
    planned_version: Mapped[str | None] = mapped_column(String(64), index=True)
    candidate_version: Mapped[str | None] = mapped_column(String(64), index=True)
    corrections: Mapped[int] = mapped_column(Integer)
    heldout_f1: Mapped[float | None] = mapped_column(Float)
    dev_f1: Mapped[float | None] = mapped_column(Float)
    serving_heldout_f1: Mapped[float | None] = mapped_column(Float)
    serving_dev_f1: Mapped[float | None] = mapped_column(Float)
    heldout_examples: Mapped[int | None] = mapped_column(Integer)
    dev_examples: Mapped[int | None] = mapped_column(Integer)


class PhoneConfirmationRow(Base):
    """A phone number given on the web form, waiting for the one-time code sent to it: only once it is
    confirmed does it join the ticket as a reporter. Hashes only: of the receipt token the citizen's
    browser holds, and of the code salted with that token."""

    __tablename__ = "phone_confirmations"
    # The per-number limit on codes sent (bot/web/webform) counts by phone and time.
    __table_args__ = (Index("ix_phone_confirmations_phone_sent_at", "phone", "sent_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))  # the SMS channel that sends the code and updates
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer)  # wrong codes typed
    sends: Mapped[int] = mapped_column(Integer)  # codes sent
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
