"""The channels named in `[channels.<name>]`: read into typed specs at load, built at start.

`read_channels` validates every table when the config is loaded (secrets come from environment
variables named by `<key>_env` and are resolved then, so a missing one stops start-up before
anything happens); `build_channels` turns the specs into channel objects when the service starts.
Provider base URLs are configuration, so tests and staging point them at local fakes. Channels
that answer through another channel (`reply_via`, `fallback_sms`) come after the SMS senders they
name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from bot.models import Medium
from bot.replies import MENU_BUTTONS
from bot.toml_reader import ConfigError, Table
from channels import kavenegar, melipayamak, smsir, telegram
from channels.base import Channel, ChannelState
from channels.fake import FakeChannel
from channels.generic_sms import GenericSmsChannel
from channels.hotline import HotlineChannel, follower
from channels.kavenegar import KavenegarChannel
from channels.melipayamak import MelipayamakChannel
from channels.ratelimit import RateLimiter
from channels.sms import SmsFieldNames
from channels.smsir import SmsIrChannel
from channels.spool import Spool
from channels.telegram import TelegramChannel
from channels.webhook import Guard
from storage.channel_state import ChannelStateRepository
from storage.store import Store

log = logging.getLogger(__name__)

KINDS = ("fake", "telegram", "bale", "kavenegar", "melipayamak", "smsir", "generic_sms", "hotline")
SENDERS = ("kavenegar", "melipayamak", "smsir")
RELAYS = ("generic_sms", "hotline")
# Telegram's secret_token allows 1-256 of these; we ask for 16+ so the path segment is unguessable.
_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


class StoreChannelState:
    """ChannelState kept in the store's `channel_state` table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def load(self, key: str) -> dict[str, Any] | None:
        async with self._store.transaction() as tx:
            return await ChannelStateRepository(tx.session).get(key)

    async def save(self, key: str, value: dict[str, Any]) -> None:
        async with self._store.transaction() as tx:
            await ChannelStateRepository(tx.session).put(key, value, datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class WebhookAccess:
    """Who may call a provider's webhook: the secret path segment and, optionally, source addresses."""

    secret: str = field(repr=False)
    allowed_ips: frozenset[str] = frozenset()

    def guard(self) -> Guard:
        """The webhook guard (built when the channel is, since it registers the secret for redaction)."""
        return Guard(self.secret, allowed_ips=self.allowed_ips)


@dataclass(frozen=True, slots=True)
class FakeSpec:
    """`kind = "fake"`: an in-memory chat channel."""

    name: str
    kind: str = "fake"
    medium: ClassVar[Medium] = Medium.CHAT


@dataclass(frozen=True, slots=True)
class TelegramSpec:
    """`kind = "telegram"` or `"bale"` (the same Bot API)."""

    name: str
    kind: str
    token: str = field(repr=False)
    secret: str | None = field(repr=False)
    mode: str
    base_url: str
    base_file_url: str
    require_secret_header: bool
    send_secret_header: bool
    webhook_url: str | None
    fallback_sms: str | None
    messages_per_second: float
    chat_interval: float
    timeout: float
    poll_timeout: int
    medium: ClassVar[Medium] = Medium.CHAT


@dataclass(frozen=True, slots=True)
class KavenegarSpec:
    """`kind = "kavenegar"`."""

    name: str
    api_key: str = field(repr=False)
    sender: str
    webhook: WebhookAccess | None
    base_url: str
    timeout: float
    messages_per_second: float
    max_parts: int
    poll_interval: float | None
    spool_path: Path
    kind: str = "kavenegar"
    medium: ClassVar[Medium] = Medium.SMS


@dataclass(frozen=True, slots=True)
class MelipayamakSpec:
    """`kind = "melipayamak"`."""

    name: str
    username: str
    password: str = field(repr=False)
    sender: str
    webhook: WebhookAccess | None
    base_url: str
    timeout: float
    messages_per_second: float
    max_parts: int
    kind: str = "melipayamak"
    medium: ClassVar[Medium] = Medium.SMS


@dataclass(frozen=True, slots=True)
class SmsIrSpec:
    """`kind = "smsir"` (sends only)."""

    name: str
    api_key: str = field(repr=False)
    line_number: str
    base_url: str
    timeout: float
    messages_per_second: float
    max_parts: int
    kind: str = "smsir"
    medium: ClassVar[Medium] = Medium.SMS


@dataclass(frozen=True, slots=True)
class GenericSmsSpec:
    """`kind = "generic_sms"`: a gateway's webhook, answered through the sender `reply_via`."""

    name: str
    webhook: WebhookAccess
    names: SmsFieldNames
    reply_via: str
    ok_body: str | None
    kind: str = "generic_sms"
    medium: ClassVar[Medium] = Medium.SMS


@dataclass(frozen=True, slots=True)
class HotlineSpec:
    """`kind = "hotline"`: the 137 call centre's records, pushed (token) or followed from a file."""

    name: str
    token: str | None = field(repr=False)
    reply_via: str
    review_below: float
    follow: Path | None
    follow_interval: float
    kind: str = "hotline"
    medium: ClassVar[Medium] = Medium.SMS


ChannelSpec = (
    FakeSpec | TelegramSpec | KavenegarSpec | MelipayamakSpec | SmsIrSpec | GenericSmsSpec | HotlineSpec
)


def read_channels(table: Table) -> tuple[ChannelSpec, ...]:
    """Validate every `[channels.<name>]` table (secrets resolved); disabled ones are skipped.

    The specs come in build order: senders first, so relays and fallbacks can name them."""
    sections: dict[str, tuple[str, Table]] = {}
    for name in table:
        section = table.table(name, required=True)
        if not section.bool("enabled", True):
            continue  # a disabled channel's table may be half written: it is not read
        sections[name] = (section.choice("kind", KINDS), section)
    order = sorted(
        sections, key=lambda n: (sections[n][0] in RELAYS or sections[n][0] in ("telegram", "bale"), n)
    )
    specs: dict[str, ChannelSpec] = {}
    for name in order:
        kind, section = sections[name]
        specs[name] = _read(name, kind, section, specs)
        section.check_unknown()
    return tuple(specs.values())


def chat_channel_names(specs: Sequence[ChannelSpec]) -> set[str]:
    """The configured channels that carry chat messages (and photos)."""
    return {spec.name for spec in specs if spec.medium is Medium.CHAT}


def _read(name: str, kind: str, t: Table, read: dict[str, ChannelSpec]) -> ChannelSpec:
    match kind:
        case "fake":
            return FakeSpec(name)
        case "telegram" | "bale":
            return _telegram(name, kind, t, read)
        case "kavenegar":
            return KavenegarSpec(
                name,
                api_key=_secret(t, "api_key"),
                sender=t.str("sender"),
                webhook=_webhook(t),
                base_url=_url(t, kavenegar.DEFAULT_BASE_URL),
                timeout=t.float("timeout_seconds", 15.0, minimum=1),
                messages_per_second=_rate(t),
                max_parts=t.int("max_parts", 4, minimum=1, maximum=10),
                poll_interval=t.float("poll_interval_seconds", minimum=1)
                if t.has("poll_interval_seconds")
                else None,
                spool_path=t.path_value("spool_path", f"var/{name}-polled.jsonl"),
            )
        case "melipayamak":
            return MelipayamakSpec(
                name,
                username=t.str("username"),
                password=_secret(t, "password"),
                sender=t.str("sender"),
                webhook=_webhook(t),
                base_url=_url(t, melipayamak.DEFAULT_BASE_URL),
                timeout=t.float("timeout_seconds", 15.0, minimum=1),
                messages_per_second=_rate(t),
                max_parts=t.int("max_parts", 4, minimum=1, maximum=10),
            )
        case "smsir":
            return SmsIrSpec(
                name,
                api_key=_secret(t, "api_key"),
                line_number=t.str("line_number"),
                base_url=_url(t, smsir.DEFAULT_BASE_URL),
                timeout=t.float("timeout_seconds", 15.0, minimum=1),
                messages_per_second=_rate(t),
                max_parts=t.int("max_parts", 4, minimum=1, maximum=10),
            )
        case "generic_sms":
            webhook = _webhook(t)
            if webhook is None:
                raise ConfigError(t.dotted("webhook_secret_env"), "missing")
            return GenericSmsSpec(
                name,
                webhook=webhook,
                names=_field_names(t.table("fields", required=True)),
                reply_via=_sender_name(t, "reply_via", read),
                ok_body=t.str("ok_body") if t.has("ok_body") else None,
            )
        case "hotline":
            return _hotline(name, t, read)
    raise AssertionError(kind)  # pragma: no cover - KINDS is checked by choice()


def _telegram(name: str, kind: str, t: Table, read: dict[str, ChannelSpec]) -> TelegramSpec:
    defaults = {
        "telegram": (telegram.TELEGRAM_BASE_URL, telegram.TELEGRAM_FILE_URL, True),
        "bale": (telegram.BALE_BASE_URL, telegram.BALE_FILE_URL, False),
    }[kind]
    mode = t.choice("mode", ("webhook", "polling"), "webhook")
    secret = _webhook_secret(t)
    if mode == "webhook" and secret is None:
        raise ConfigError(t.dotted("webhook_secret_env"), "missing (required in webhook mode)")
    public_url = t.str("public_url", "").rstrip("/") or None
    if public_url and not public_url.startswith("https://"):
        raise ConfigError(t.dotted("public_url"), "must start with https:// (Telegram and Bale require it)")
    return TelegramSpec(
        name,
        kind,
        token=_secret(t, "token"),
        secret=secret,
        mode=mode,
        base_url=_url(t, defaults[0]),
        base_file_url=_url(t, defaults[1], key="base_file_url"),
        require_secret_header=t.bool("require_secret_header", defaults[2]),
        send_secret_header=t.bool("send_secret_header", defaults[2]),
        webhook_url=public_url,
        fallback_sms=_sender_name(t, "fallback_sms", read) if t.has("fallback_sms") else None,
        messages_per_second=t.float("messages_per_second", 30.0, minimum=0.1),
        chat_interval=t.float("chat_interval_seconds", 1.0, minimum=0),
        timeout=t.float("timeout_seconds", 15.0, minimum=1),
        poll_timeout=t.int("poll_timeout_seconds", 30, minimum=0, maximum=50),
    )


def _hotline(name: str, t: Table, read: dict[str, ChannelSpec]) -> HotlineSpec:
    token = _secret(t, "token", required=False)
    follow = t.path_value("follow") if t.has("follow") else None
    interval = t.float("follow_interval_seconds", 1.0, minimum=0.05) if follow is not None else 1.0
    if token is None and follow is None:
        raise ConfigError(t.dotted("token_env"), "missing (or set follow = <file or directory>)")
    return HotlineSpec(
        name,
        token=token,
        reply_via=_sender_name(t, "reply_via", read),
        review_below=t.float("review_below", 0.6, minimum=0, maximum=1),
        follow=follow,
        follow_interval=interval,
    )


def build_channels(specs: Sequence[ChannelSpec], *, store: Store | None = None) -> dict[str, Channel]:
    """The channel objects for validated specs (`AppConfig.channels`), in their build order."""
    channels: dict[str, Channel] = {}
    for spec in specs:
        channels[spec.name] = _build(spec, channels, store)
        log.info("channel %s (%s) configured", spec.name, spec.kind)
    return channels


def _build(spec: ChannelSpec, built: dict[str, Channel], store: Store | None) -> Channel:
    match spec:
        case FakeSpec():
            return FakeChannel(spec.name)
        case TelegramSpec():
            return TelegramChannel(
                spec.name,
                token=spec.token,
                secret=spec.secret,
                mode=spec.mode,
                base_url=spec.base_url,
                base_file_url=spec.base_file_url,
                require_secret_header=spec.require_secret_header,
                send_secret_header=spec.send_secret_header,
                webhook_url=spec.webhook_url,
                keyboard=MENU_BUTTONS,
                fallback_sms=spec.fallback_sms,
                messages_per_second=spec.messages_per_second,
                chat_interval=spec.chat_interval,
                timeout=spec.timeout,
                poll_timeout=spec.poll_timeout,
            )
        case KavenegarSpec():
            return KavenegarChannel(
                spec.name,
                api_key=spec.api_key,
                sender=spec.sender,
                guard=spec.webhook.guard() if spec.webhook else None,
                base_url=spec.base_url,
                timeout=spec.timeout,
                limiter=RateLimiter(spec.messages_per_second),
                max_parts=spec.max_parts,
                poll_interval=spec.poll_interval,
                spool=Spool(spec.spool_path),
            )
        case MelipayamakSpec():
            return MelipayamakChannel(
                spec.name,
                username=spec.username,
                password=spec.password,
                sender=spec.sender,
                guard=spec.webhook.guard() if spec.webhook else None,
                base_url=spec.base_url,
                timeout=spec.timeout,
                limiter=RateLimiter(spec.messages_per_second),
                max_parts=spec.max_parts,
            )
        case SmsIrSpec():
            return SmsIrChannel(
                spec.name,
                api_key=spec.api_key,
                line_number=spec.line_number,
                base_url=spec.base_url,
                timeout=spec.timeout,
                limiter=RateLimiter(spec.messages_per_second),
                max_parts=spec.max_parts,
            )
        case GenericSmsSpec():
            return GenericSmsChannel(
                spec.name,
                guard=spec.webhook.guard(),
                names=spec.names,
                reply_via=built[spec.reply_via],
                ok_body=spec.ok_body,
            )
        case HotlineSpec():
            return _hotline_channel(spec, built, store)


def _hotline_channel(spec: HotlineSpec, built: dict[str, Channel], store: Store | None) -> HotlineChannel:
    feed = None
    if spec.follow is not None:
        if store is None:
            raise ConfigError(
                f"channels.{spec.name}.follow",
                "following a feed needs the store (build_channels(..., store=))",
            )
        state: ChannelState = StoreChannelState(store)
        feed = follower(spec.follow, state, spec.name, spec.follow_interval)
    return HotlineChannel(
        spec.name,
        token=spec.token,
        reply_via=built[spec.reply_via],
        review_below=spec.review_below,
        follow=feed,
    )


def _secret(t: Table, key: str, *, required: bool = True) -> Any:
    value = t.secret(key, required=required)
    return value.strip() if value else None


def _webhook_secret(t: Table) -> str | None:
    secret = _secret(t, "webhook_secret", required=False)
    if secret is not None and not _SECRET.fullmatch(secret):
        raise ConfigError(t.dotted("webhook_secret_env"), "the secret must be 16-256 of A-Z a-z 0-9 _ -")
    return secret


def _webhook(t: Table) -> WebhookAccess | None:
    secret = _webhook_secret(t)
    ips = frozenset(t.strings("allowed_ips", []))
    return None if secret is None else WebhookAccess(secret, allowed_ips=ips)


def _url(t: Table, default: str, key: str = "base_url") -> str:
    url = t.str(key, default)
    if not url.startswith(("https://", "http://")):
        raise ConfigError(t.dotted(key), "must be an http(s) URL")
    return url


def _rate(t: Table) -> float:
    return t.float("messages_per_second", 10.0, minimum=0.01)


def _sender_name(t: Table, key: str, read: dict[str, ChannelSpec]) -> str:
    name = t.str(key)
    spec = read.get(name)
    if spec is None or spec.kind not in SENDERS:
        raise ConfigError(t.dotted(key), f"must name an enabled {'/'.join(SENDERS)} channel, got {name!r}")
    return name


def _field_names(t: Table) -> SmsFieldNames:
    names = SmsFieldNames(
        sender=(t.str("from"),),
        receiver=(t.str("to"),) if t.has("to") else (),
        text=(t.str("text"),),
        message_id=(t.str("id"),) if t.has("id") else (),
    )
    t.check_unknown()
    return names
