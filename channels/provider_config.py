"""Reading what many providers' tables share: secrets, base URLs, webhook access, pacing, length.

Every error names the dotted key (`channels.<name>.<key>`); secrets come from the environment
variable named by `<key>_env`, resolved when the config is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.toml_reader import ConfigError, Table
from channels.ratelimit import RateLimiter
from channels.webhook import Guard

# Telegram's secret_token allows 1-256 of these; we ask for 16+ so the path segment is unguessable.
_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


@dataclass(frozen=True, slots=True)
class WebhookAccess:
    """Who may call a provider's webhook: the secret path segment and, optionally, source addresses."""

    secret: str = field(repr=False)
    allowed_ips: frozenset[str] = frozenset()

    def guard(self) -> Guard:
        """The webhook guard (built when the channel is, since it registers the secret for redaction)."""
        return Guard(self.secret, allowed_ips=self.allowed_ips)


def secret(t: Table, key: str) -> str:
    """The required secret named by `<key>_env`."""
    return (t.secret(key) or "").strip()  # required: t.secret raises rather than return nothing


def optional_secret(t: Table, key: str) -> str | None:
    """The secret named by `<key>_env`, or None when that key is absent."""
    value = t.secret(key, required=False)
    return value.strip() if value else None


def webhook_secret(t: Table) -> str | None:
    """The secret path segment of the channel's webhook (`webhook_secret_env`), if set."""
    value = optional_secret(t, "webhook_secret")
    if value is not None and not _SECRET.fullmatch(value):
        raise ConfigError(t.dotted("webhook_secret_env"), "the secret must be 16-256 of A-Z a-z 0-9 _ -")
    return value


def webhook(t: Table) -> WebhookAccess | None:
    """The webhook's secret and `allowed_ips`; None (no webhook) without a secret."""
    value = webhook_secret(t)
    ips = frozenset(t.strings("allowed_ips", []))
    return None if value is None else WebhookAccess(value, allowed_ips=ips)


def url(t: Table, default: str, key: str = "base_url") -> str:
    """A provider's http(s) address (configurable, so tests and staging point it at a fake)."""
    value = t.str(key, default)
    if not value.startswith(("https://", "http://")):
        raise ConfigError(t.dotted(key), "must be an http(s) URL")
    return value


def rate(t: Table) -> float:
    """`messages_per_second` of an SMS account."""
    return t.float("messages_per_second", 10.0, minimum=0.01)


def timeout(t: Table) -> float:
    """`timeout_seconds` of a provider's HTTP calls."""
    return t.float("timeout_seconds", 15.0, minimum=1)


def max_parts(t: Table) -> int:
    """`max_parts`: longer SMS texts are cut to this many billed parts."""
    return t.int("max_parts", 4, minimum=1, maximum=10)


@dataclass(frozen=True, slots=True)
class SmsApi:
    """What every SMS account's table says about its API: where it is (`base_url`), how long to wait
    (`timeout_seconds`), how fast to send (`messages_per_second`) and how long a text may be
    (`max_parts`)."""

    base_url: str
    timeout: float
    messages_per_second: float
    max_parts: int

    def channel_args(self) -> dict[str, Any]:
        """The `SmsChannel` constructor's arguments for these settings (a fresh rate limiter)."""
        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "limiter": RateLimiter(self.messages_per_second),
            "max_parts": self.max_parts,
        }


def sms_api(t: Table, default_url: str) -> SmsApi:
    """An SMS account's API settings, read in the order the keys are documented."""
    return SmsApi(url(t, default_url), timeout(t), rate(t), max_parts(t))
