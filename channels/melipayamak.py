"""Melipayamak / Farapayamak (melipayamak.com): inbound forwarding and REST sending.

Wire facts (protocols.md): inbound SMS is forwarded by GET `...?to=<line>&body=<text>&from=<mobile>`
and the endpoint answers a short plain-text `OK`. Sending is `POST {base}/api/SendSMS/SendSMS` with
`{username, password, to, from, text}` → `{Value, RetStatus, StrRetStatus}`; `RetStatus == 1` is
accepted and `Value` then holds the message id. The forward carries no message id, so a repeated
forward is recognised by its content (channels.sms.content_ids). No delivery push is documented.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

from aiohttp import web

from bot.models import OutboundMessage, ReceiveResult, SendError, SendResult
from bot.toml_reader import Table
from channels import provider_config as cfg
from channels.phone import local_form, masked
from channels.provider_http import ProviderHttp
from channels.ratelimit import RateLimiter
from channels.registry import BuildContext, Provider, ReadContext, Role
from channels.sms import SmsChannel, SmsFieldNames
from channels.webhook import Guard

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://rest.payamak-panel.com"

# RetStatus values from Melipayamak's REST documentation; only 1 is success. The panel answers 6
# ("system is being updated") for transient trouble; other codes (bad credentials, no credit, bad
# sender line, filtered words) need a person, so they are final.
RETRYABLE_RETSTATUS = {6}


class MelipayamakChannel(SmsChannel):
    """A Melipayamak panel account: username/password in the body, one sender line."""

    provider = "melipayamak"
    names = SmsFieldNames(
        sender=("from", "sender"), receiver=("to",), text=("body", "text", "message"), message_id=("id",)
    )

    def __init__(
        self,
        name: str,
        *,
        username: str,
        password: str,
        sender: str,
        guard: Guard | None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        limiter: RateLimiter | None = None,
        max_parts: int = 4,
    ) -> None:
        super().__init__(name, guard=guard, limiter=limiter, max_parts=max_parts)
        self._username = username
        self._password = password
        self._sender = sender
        self._base = base_url.rstrip("/")
        self._http = ProviderHttp(self.provider, timeout=timeout, secrets=[password])

    def respond(self, result: ReceiveResult | None) -> web.StreamResponse:
        """Melipayamak wants a plain `OK` once the message is taken."""
        return web.Response(text="OK", content_type="text/plain")

    async def _transmit(self, address: str, text: str, message: OutboundMessage) -> SendResult:
        reply = await self._http.request(
            "POST",
            f"{self._base}/api/SendSMS/SendSMS",
            json_body={
                "username": self._username,
                "password": self._password,
                "to": local_form(address),
                "from": self._sender,
                "text": text,
                "isFlash": False,
            },
        )
        body = reply.body
        if not isinstance(body, dict) or "RetStatus" not in body:
            raise SendError(f"melipayamak: unreadable answer (HTTP {reply.status})", retryable=False)
        status = body.get("RetStatus")
        if status != 1:
            detail = self._http.safe(str(body.get("StrRetStatus", "")))
            raise SendError(
                f"melipayamak: RetStatus {status} {detail}", retryable=status in RETRYABLE_RETSTATUS
            )
        log.debug("melipayamak accepted a message to %s", masked(address))
        return SendResult(provider_message_id=str(body.get("Value")))

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        with contextlib.suppress(Exception):
            await self._http.aclose()


@dataclass(frozen=True, slots=True)
class MelipayamakSettings:
    """`kind = "melipayamak"`."""

    username: str
    password: str = field(repr=False)
    sender: str
    webhook: cfg.WebhookAccess | None
    api: cfg.SmsApi


def read(t: Table, ctx: ReadContext) -> MelipayamakSettings:
    """`[channels.<name>]` with `kind = "melipayamak"`."""
    return MelipayamakSettings(
        username=t.str("username"),
        password=cfg.secret(t, "password"),
        sender=t.str("sender"),
        webhook=cfg.webhook(t),
        api=cfg.sms_api(t, DEFAULT_BASE_URL),
    )


def build(s: MelipayamakSettings, ctx: BuildContext) -> MelipayamakChannel:
    """The channel for read settings."""
    return MelipayamakChannel(
        ctx.name,
        username=s.username,
        password=s.password,
        sender=s.sender,
        guard=s.webhook.guard() if s.webhook else None,
        **s.api.channel_args(),
    )


PROVIDER = Provider(("melipayamak",), Role.SENDER, read, build)
