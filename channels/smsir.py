"""SMS.ir (sms.ir): outbound sending through the bulk endpoint.

Wire facts (protocols.md): `X-API-KEY` header; `POST {base}/v1/send/bulk` with
`{lineNumber, messageText, mobiles[], sendDateTime}` → `{"status": 1, "message": ..., "data": ...}`;
HTTP 429 when throttled. `data.messageIds[0]` is the id of our single recipient's message.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from bot.models import OutboundMessage, SendError, SendResult
from bot.toml_reader import Table
from channels import provider_config as cfg
from channels.phone import local_form, masked
from channels.provider_http import ProviderHttp
from channels.ratelimit import RateLimiter
from channels.registry import BuildContext, Provider, ReadContext, Role
from channels.sms import SmsChannel

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.sms.ir"


class SmsIrChannel(SmsChannel):
    """An SMS.ir account sending from one line number (outbound only)."""

    provider = "smsir"

    def __init__(
        self,
        name: str,
        *,
        api_key: str,
        line_number: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        limiter: RateLimiter | None = None,
        max_parts: int = 4,
    ) -> None:
        super().__init__(name, guard=None, limiter=limiter, max_parts=max_parts)
        self._key = api_key
        self._line = line_number
        self._base = base_url.rstrip("/")
        self._http = ProviderHttp(self.provider, timeout=timeout, secrets=[api_key])

    async def _transmit(self, address: str, text: str, message: OutboundMessage) -> SendResult:
        line: int | str = int(self._line) if self._line.isdigit() else self._line
        reply = await self._http.request(
            "POST",
            f"{self._base}/v1/send/bulk",
            json_body={
                "lineNumber": line,
                "messageText": text,
                "mobiles": [local_form(address)],
                "sendDateTime": None,
            },
            headers={"X-API-KEY": self._key, "Accept": "application/json"},
        )
        body = reply.body
        if not isinstance(body, dict) or "status" not in body:
            raise SendError(f"smsir: unreadable answer (HTTP {reply.status})", retryable=False)
        if body.get("status") != 1 or reply.status >= 400:
            detail = self._http.safe(str(body.get("message", "")))
            code = body.get("status")
            raise SendError(f"smsir: status {code} (HTTP {reply.status}) {detail}", retryable=False)
        data = body.get("data") or {}
        ids = data.get("messageIds") or [] if isinstance(data, dict) else []
        log.debug("smsir accepted a message to %s", masked(address))
        return SendResult(provider_message_id=str(ids[0]) if ids else str(data.get("packId", "")) or None)

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        with contextlib.suppress(Exception):
            await self._http.aclose()


@dataclass(frozen=True, slots=True)
class SmsIrSettings:
    """`kind = "smsir"` (sends only)."""

    api_key: str = field(repr=False)
    line_number: str
    api: cfg.SmsApi


def read(t: Table, ctx: ReadContext) -> SmsIrSettings:
    """`[channels.<name>]` with `kind = "smsir"`."""
    return SmsIrSettings(
        api_key=cfg.secret(t, "api_key"),
        line_number=t.str("line_number"),
        api=cfg.sms_api(t, DEFAULT_BASE_URL),
    )


def build(s: SmsIrSettings, ctx: BuildContext) -> SmsIrChannel:
    """The channel for read settings."""
    return SmsIrChannel(
        ctx.name,
        api_key=s.api_key,
        line_number=s.line_number,
        **s.api.channel_args(),
    )


PROVIDER = Provider(("smsir",), Role.SENDER, read, build)
