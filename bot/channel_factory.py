"""Builds the channels named in `[channels.<name>]`, each from its own config table.

Secrets come from environment variables named by `<key>_env`; provider base URLs are
configuration, so tests and staging point them at local fakes. Channels that answer through
another channel (`reply_via`, `fallback_sms`) are built after the SMS senders they name.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from bot.replies import MENU_BUTTONS
from bot.settings import ConfigError, Table
from channels import kavenegar, melipayamak, smsir, telegram
from channels.base import Channel, ChannelState
from channels.fake import FakeChannel
from channels.generic_sms import GenericSmsChannel
from channels.hotline import HotlineChannel, follower
from channels.kavenegar import KavenegarChannel
from channels.melipayamak import MelipayamakChannel
from channels.ratelimit import RateLimiter
from channels.sms import SmsChannel, SmsFieldNames
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


def build_channels(table: Table, *, store: Store | None = None) -> dict[str, Channel]:
    """Channels named in `[channels.<name>]`, validated; disabled ones are skipped."""
    sections: dict[str, tuple[str, Table]] = {}
    for name in table:
        section = table.table(name, required=True)
        if not section.bool("enabled", True):
            continue  # a disabled channel's table may be half written: it is not read
        sections[name] = (section.choice("kind", KINDS), section)
    channels: dict[str, Channel] = {}
    # Senders first, so relays and fallbacks can name them.
    order = sorted(
        sections, key=lambda n: (sections[n][0] in RELAYS or sections[n][0] in ("telegram", "bale"), n)
    )
    for name in order:
        kind, section = sections[name]
        channels[name] = _build(name, kind, section, channels, store)
        section.check_unknown()
        log.info("channel %s (%s) configured", name, kind)
    return channels


def _build(name: str, kind: str, t: Table, built: dict[str, Channel], store: Store | None) -> Channel:
    match kind:
        case "fake":
            return FakeChannel(name)
        case "telegram" | "bale":
            return _telegram(name, kind, t, built)
        case "kavenegar":
            return KavenegarChannel(
                name,
                api_key=_secret(t, "api_key"),
                sender=t.str("sender"),
                guard=_guard(t),
                base_url=_url(t, kavenegar.DEFAULT_BASE_URL),
                timeout=t.float("timeout_seconds", 15.0, minimum=1),
                limiter=_limiter(t),
                max_parts=t.int("max_parts", 4, minimum=1, maximum=10),
                poll_interval=t.float("poll_interval_seconds", minimum=1)
                if t.has("poll_interval_seconds")
                else None,
                spool=Spool(t.path_value("spool_path", f"var/{name}-polled.jsonl")),
            )
        case "melipayamak":
            return MelipayamakChannel(
                name,
                username=t.str("username"),
                password=_secret(t, "password"),
                sender=t.str("sender"),
                guard=_guard(t),
                base_url=_url(t, melipayamak.DEFAULT_BASE_URL),
                timeout=t.float("timeout_seconds", 15.0, minimum=1),
                limiter=_limiter(t),
                max_parts=t.int("max_parts", 4, minimum=1, maximum=10),
            )
        case "smsir":
            return SmsIrChannel(
                name,
                api_key=_secret(t, "api_key"),
                line_number=t.str("line_number"),
                base_url=_url(t, smsir.DEFAULT_BASE_URL),
                timeout=t.float("timeout_seconds", 15.0, minimum=1),
                limiter=_limiter(t),
                max_parts=t.int("max_parts", 4, minimum=1, maximum=10),
            )
        case "generic_sms":
            guard = _guard(t)
            if guard is None:
                raise ConfigError(t.dotted("webhook_secret_env"), "missing")
            return GenericSmsChannel(
                name,
                guard=guard,
                names=_field_names(t.table("fields", required=True)),
                reply_via=_sender(t, "reply_via", built),
                ok_body=t.str("ok_body") if t.has("ok_body") else None,
            )
        case "hotline":
            return _hotline(name, t, built, store)
    raise AssertionError(kind)  # pragma: no cover - KINDS is checked by choice()


def _telegram(name: str, kind: str, t: Table, built: dict[str, Channel]) -> TelegramChannel:
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
    return TelegramChannel(
        name,
        token=_secret(t, "token"),
        secret=secret,
        mode=mode,
        base_url=_url(t, defaults[0]),
        base_file_url=_url(t, defaults[1], key="base_file_url"),
        require_secret_header=t.bool("require_secret_header", defaults[2]),
        send_secret_header=t.bool("send_secret_header", defaults[2]),
        webhook_url=public_url,
        keyboard=MENU_BUTTONS,
        fallback_sms=_sender_name(t, "fallback_sms", built) if t.has("fallback_sms") else None,
        messages_per_second=t.float("messages_per_second", 30.0, minimum=0.1),
        chat_interval=t.float("chat_interval_seconds", 1.0, minimum=0),
        timeout=t.float("timeout_seconds", 15.0, minimum=1),
        poll_timeout=t.int("poll_timeout_seconds", 30, minimum=0, maximum=50),
    )


def _hotline(name: str, t: Table, built: dict[str, Channel], store: Store | None) -> HotlineChannel:
    token = _secret(t, "token", required=False)
    feed = None
    if t.has("follow"):
        path = t.path_value("follow")
        if store is None:
            raise ConfigError(
                t.dotted("follow"), "following a feed needs the store (build_channels(..., store=))"
            )
        state: ChannelState = StoreChannelState(store)
        feed = follower(path, state, name, t.float("follow_interval_seconds", 1.0, minimum=0.05))
    if token is None and feed is None:
        raise ConfigError(t.dotted("token_env"), "missing (or set follow = <file or directory>)")
    return HotlineChannel(
        name,
        token=token,
        reply_via=_sender(t, "reply_via", built),
        review_below=t.float("review_below", 0.6, minimum=0, maximum=1),
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


def _guard(t: Table) -> Guard | None:
    secret = _webhook_secret(t)
    ips = frozenset(t.strings("allowed_ips", []))
    return None if secret is None else Guard(secret, allowed_ips=ips)


def _url(t: Table, default: str, key: str = "base_url") -> str:
    url = t.str(key, default)
    if not url.startswith(("https://", "http://")):
        raise ConfigError(t.dotted(key), "must be an http(s) URL")
    return url


def _limiter(t: Table) -> RateLimiter:
    rate = t.float("messages_per_second", 10.0, minimum=0.01)
    return RateLimiter(rate)


def _sender_name(t: Table, key: str, built: dict[str, Channel]) -> str:
    name = t.str(key)
    channel = built.get(name)
    if not isinstance(channel, SmsChannel) or isinstance(channel, GenericSmsChannel):
        raise ConfigError(t.dotted(key), f"must name an enabled {'/'.join(SENDERS)} channel, got {name!r}")
    return name


def _sender(t: Table, key: str, built: dict[str, Channel]) -> Channel:
    return built[_sender_name(t, key, built)]


def _field_names(t: Table) -> SmsFieldNames:
    names = SmsFieldNames(
        sender=(t.str("from"),),
        receiver=(t.str("to"),) if t.has("to") else (),
        text=(t.str("text"),),
        message_id=(t.str("id"),) if t.has("id") else (),
    )
    t.check_unknown()
    return names
