"""Kavenegar (kavenegar.com): send, inbound push and polling, delivery reports.

Wire facts (protocols.md): `{base}/v1/{API_KEY}/{scope}/{method}.json`, GET or POST form; success
is `return.status == 200` in the body, not the HTTP status. The push forwarding's field names are
unverified, so inbound accepts from/sender, to/receptor, message/text/body, messageid/id in a form,
a JSON object or the query string, by GET or POST.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.models import InboundMessage, OutboundMessage, SendError, SendResult
from bot.toml_reader import Table
from channels import provider_config as cfg
from channels.base import DeliveryReport, DeliveryStatus, OnInbound
from channels.phone import local_form, masked
from channels.provider_http import ProviderHttp
from channels.ratelimit import RateLimiter
from channels.registry import BuildContext, Provider, ReadContext, Role
from channels.sms import SmsChannel, SmsFieldNames, parse_polled, report
from channels.spool import Spool, SpooledPoll
from channels.webhook import Guard, pick

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.kavenegar.com"

# Entry status codes, from the official Go SDK (protocols.md).
STATUS_MAP: dict[str, DeliveryStatus] = {
    "1": DeliveryStatus.QUEUED,
    "2": DeliveryStatus.QUEUED,  # scheduled
    "4": DeliveryStatus.SENT,  # handed to the operator
    "5": DeliveryStatus.SENT,
    "10": DeliveryStatus.DELIVERED,
    "11": DeliveryStatus.UNDELIVERED,
    "13": DeliveryStatus.FAILED,  # cancelled
    "14": DeliveryStatus.FAILED,  # filtered
    "50": DeliveryStatus.DELIVERED,  # received (inbound)
    "100": DeliveryStatus.UNKNOWN,
}
FINAL_FAILURES = {"11", "13", "14"}

# `return.status` values that are worth retrying: 409 server busy, 418 not enough credit (someone
# tops the account up), 429 throttled, 5xx. Everything else (bad key, bad receptor …) is final.
RETRYABLE_RETURN = {409, 418, 429}


class KavenegarChannel(SmsChannel):
    """Kavenegar account: one line number, API key in the URL path."""

    provider = "kavenegar"
    names = SmsFieldNames()
    reports = True

    def __init__(
        self,
        name: str,
        *,
        api_key: str,
        sender: str,
        guard: Guard | None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        limiter: RateLimiter | None = None,
        max_parts: int = 4,
        poll_interval: float | None = None,
        spool: Spool | None = None,
    ) -> None:
        super().__init__(name, guard=guard, limiter=limiter, max_parts=max_parts)
        self._key = api_key
        self._sender = sender
        self._base = base_url.rstrip("/")
        self._http = ProviderHttp(self.provider, timeout=timeout, secrets=[api_key])
        self._poll_interval = poll_interval
        self._spool = spool

    def _url(self, scope: str, method: str) -> str:
        return f"{self._base}/v1/{self._key}/{scope}/{method}.json"

    def parse_report(self, fields: dict[str, str]) -> DeliveryReport | None:
        """Delivery push: messageid/id and status (unverified names, so both are accepted)."""
        return report(
            self.name, pick(fields, ("messageid", "id")), pick(fields, ("status", "statuscode")), STATUS_MAP
        )

    async def _transmit(self, address: str, text: str, message: OutboundMessage) -> SendResult:
        form = {"receptor": local_form(address), "sender": self._sender, "message": text}
        if message.idempotency_key:
            # localid makes Kavenegar answer a repeated request with the first send, not a second SMS.
            form["localid"] = "".join(ch for ch in message.idempotency_key if ch.isdigit()) or "0"
        reply = await self._http.request("POST", self._url("sms", "send"), data=form)
        body = self._checked(reply.status, reply.body, reply.retry_after)
        entries = body.get("entries") or []
        if not entries or not isinstance(entries[0], dict):
            raise SendError("kavenegar: no entry in the answer", retryable=False)
        entry = entries[0]
        status = str(entry.get("status", ""))
        if status in FINAL_FAILURES:
            raise SendError(f"kavenegar: status {status}", retryable=False)
        log.debug("kavenegar accepted a message to %s", masked(address))
        return SendResult(
            provider_message_id=str(entry.get("messageid")), status=STATUS_MAP.get(status, "sent")
        )

    def _checked(self, http_status: int, body: Any, retry_after: float | None) -> dict[str, Any]:
        """The body when `return.status` is 200; a typed SendError otherwise."""
        if not isinstance(body, dict) or not isinstance(body.get("return"), dict):
            retryable = http_status >= 500
            raise SendError(f"kavenegar: unreadable answer (HTTP {http_status})", retryable=retryable)
        code = body["return"].get("status")
        if code == 200:
            return body
        message = self._http.safe(str(body["return"].get("message", "")))
        retryable = isinstance(code, int) and (code in RETRYABLE_RETURN or code >= 500)
        raise SendError(f"kavenegar: return {code} {message}", retryable=retryable, retry_after=retry_after)

    # --- inbound polling (an alternative to push forwarding) -----------------------------------

    async def poll_once(self) -> list[InboundMessage]:
        """Fetch unread inbound SMS (`sms/receive`); Kavenegar marks what it returns as read."""
        reply = await self._http.request(
            "GET", self._url("sms", "receive"), params={"linenumber": self._sender, "isread": "0"}
        )
        body = self._checked(reply.status, reply.body, reply.retry_after)
        entries = [
            {k: str(v) for k, v in entry.items() if v is not None}
            for entry in body.get("entries") or []
            if isinstance(entry, dict)
        ]
        return parse_polled(entries, self.names, channel=self.name)

    async def run(self, on_inbound: OnInbound) -> None:
        """Poll `sms/receive` every `poll_interval` seconds (only when polling is configured).

        What Kavenegar returned is already marked read there, so fetched messages go through the
        spool until the gateway has committed them (`channels.spool.SpooledPoll`)."""
        if self._poll_interval is None:
            return
        await SpooledPoll(self.name, self.poll_once, self._spool, self._poll_interval).run(on_inbound)

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        with contextlib.suppress(Exception):
            await self._http.aclose()


@dataclass(frozen=True, slots=True)
class KavenegarSettings:
    """`kind = "kavenegar"`."""

    api_key: str = field(repr=False)
    sender: str
    webhook: cfg.WebhookAccess | None
    api: cfg.SmsApi
    poll_interval: float | None
    spool_path: Path


def read(t: Table, ctx: ReadContext) -> KavenegarSettings:
    """`[channels.<name>]` with `kind = "kavenegar"`."""
    return KavenegarSettings(
        api_key=cfg.secret(t, "api_key"),
        sender=t.str("sender"),
        webhook=cfg.webhook(t),
        api=cfg.sms_api(t, DEFAULT_BASE_URL),
        poll_interval=t.float("poll_interval_seconds", minimum=1) if t.has("poll_interval_seconds") else None,
        spool_path=t.path_value("spool_path", f"var/{ctx.name}-polled.jsonl"),
    )


def build(s: KavenegarSettings, ctx: BuildContext) -> KavenegarChannel:
    """The channel for read settings."""
    return KavenegarChannel(
        ctx.name,
        api_key=s.api_key,
        sender=s.sender,
        guard=s.webhook.guard() if s.webhook else None,
        **s.api.channel_args(),
        poll_interval=s.poll_interval,
        spool=Spool(s.spool_path),
    )


PROVIDER = Provider(("kavenegar",), Role.SENDER, read, build)
