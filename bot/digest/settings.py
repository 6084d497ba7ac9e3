"""The `[digest]` config section: when, to whom, and through which SMTP server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from bot.taxonomy import Taxonomy
from bot.toml_reader import ConfigError, Table


@dataclass(frozen=True, slots=True)
class Recipient:
    """A manager (whole city) or a department head; gets the digest on chat, by e-mail, or both."""

    name: str
    display_name: str
    department: str | None
    chat_channel: str | None
    chat_id: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The outgoing mail server."""

    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    tls: bool
    sender: str
    timeout: float


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """What the daily digest contains and when it goes out."""

    enabled: bool
    send_at: time  # Tehran wall clock
    check_interval: float
    overdue_limit: int
    hotspot_min: int
    hotspot_ratio: float
    hotspot_limit: int
    examples: int
    chart: bool
    recipients: tuple[Recipient, ...]
    smtp: SmtpSettings | None


def _clock_time(t: Table, key: str, default: str) -> time:
    text = t.str(key, default)
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ConfigError(t.dotted(key), f"expected HH:MM (Tehran time), got {text!r}")
    return time(int(hours), int(minutes))


def _recipient(t: Table, name: str, taxonomy: Taxonomy, chat_channels: set[str]) -> Recipient:
    department = t.str("department", None)
    if department is not None and department not in taxonomy.departments:
        raise ConfigError(t.dotted("department"), f"unknown department {department!r}")
    chat_channel = t.str("chat_channel", None)
    chat_id = t.str("chat_id", None)
    if (chat_channel is None) != (chat_id is None):
        raise ConfigError(t.dotted("chat_id"), "chat_channel and chat_id go together")
    if chat_channel is not None and chat_channel not in chat_channels:
        raise ConfigError(t.dotted("chat_channel"), f"no Telegram/Bale channel named {chat_channel!r}")
    email = t.str("email", None)
    if email is not None and "@" not in email:
        raise ConfigError(t.dotted("email"), f"not an e-mail address: {email!r}")
    if chat_id is None and email is None:
        raise ConfigError(t.dotted("email"), "a recipient needs chat_channel + chat_id, or email")
    recipient = Recipient(
        name=name,
        display_name=t.str("display_name", name),
        department=department,
        chat_channel=chat_channel,
        chat_id=chat_id,
        email=email,
    )
    t.check_unknown()
    return recipient


def _smtp(t: Table) -> SmtpSettings:
    s = SmtpSettings(
        host=t.str("host"),
        port=t.int("port", 587, minimum=1, maximum=65535),
        username=t.str("username", None),
        password=t.secret("password", required=False),
        starttls=t.bool("starttls", True),
        tls=t.bool("tls", False),
        sender=t.str("sender"),
        timeout=t.float("timeout_seconds", 30.0, minimum=1),
    )
    if s.starttls and s.tls:
        raise ConfigError(t.dotted("tls"), "choose tls (port 465) or starttls, not both")
    t.check_unknown()
    return s


def read_digest_settings(t: Table, taxonomy: Taxonomy, chat_channels: set[str]) -> DigestSettings:
    """Validate `[digest]`; `chat_channels` are the configured channels that can send a photo."""
    listed = t.table("recipients")
    recipients = tuple(_recipient(listed.table(name), name, taxonomy, chat_channels) for name in listed)
    smtp = _smtp(t.table("smtp")) if t.has("smtp") else None
    if smtp is None and any(r.email for r in recipients):
        raise ConfigError(t.dotted("smtp"), "recipients have e-mail addresses but no SMTP server is set")
    s = DigestSettings(
        enabled=t.bool("enabled", False),
        send_at=_clock_time(t, "send_at", "07:30"),
        check_interval=t.float("check_interval_seconds", 60.0, minimum=0.01),
        overdue_limit=t.int("overdue_limit", 10, minimum=1, maximum=50),
        hotspot_min=t.int("hotspot_min_tickets", 3, minimum=1),
        hotspot_ratio=t.float("hotspot_ratio", 2.0, minimum=1.0),
        hotspot_limit=t.int("hotspot_limit", 3, minimum=0, maximum=10),
        examples=t.int("examples_per_hotspot", 2, minimum=0, maximum=5),
        chart=t.bool("chart", True),
        recipients=recipients,
        smtp=smtp,
    )
    t.check_unknown()
    return s
