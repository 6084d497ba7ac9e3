"""Melipayamak / Farapayamak (melipayamak.com): inbound forwarding and REST sending.

Wire facts (protocols.md): inbound SMS is forwarded by GET `...?to=<line>&body=<text>&from=<mobile>`
and the endpoint answers a short plain-text `OK`. Sending is `POST {base}/api/SendSMS/SendSMS` with
`{username, password, to, from, text}` → `{Value, RetStatus, StrRetStatus}`; `RetStatus == 1` is
accepted and `Value` then holds the message id (the `recId`). The forward carries no message id, so
a repeated forward is recognised by its content (channels.sms.content_ids).

No delivery push is documented; the status is asked for (channels/delivery_watch.py) with
`POST {base}/api/SendSMS/GetDeliveries2` `{username, password, recId}` → the same
`{Value, RetStatus, StrRetStatus}`, `Value` then being the delivery code (Melipayamak's SDKs,
e.g. `Melipayamak/melipayamak-python` `sms/rest.py` `is_delivered`).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.models import OutboundMessage, ReceiveResult, SendError, SendResult
from bot.toml_reader import Table
from channels import provider_config as cfg
from channels.base import DeliveryStatus
from channels.delivery_watch import DeliveryWatch
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

# `Value` of GetDeliveries2 (Melipayamak's web-service documentation, "وضعیت تحویل"): 0 sent to the
# operator, 1 on the phone, 2 not on the phone, 3 operator error, 5 unknown error, 8 reached the
# operator, 16 did not reach the operator, 35 blacklisted, 100 unknown, 200 sent, 300 filtered,
# 400 in the send list, 500 refused. Anything else is `unknown` and is asked about again.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "0": DeliveryStatus.SENT,
    "1": DeliveryStatus.DELIVERED,
    "2": DeliveryStatus.UNDELIVERED,
    "3": DeliveryStatus.FAILED,
    "5": DeliveryStatus.UNKNOWN,
    "8": DeliveryStatus.SENT,
    "16": DeliveryStatus.FAILED,
    "35": DeliveryStatus.FAILED,
    "100": DeliveryStatus.UNKNOWN,
    "200": DeliveryStatus.SENT,
    "300": DeliveryStatus.FAILED,
    "400": DeliveryStatus.QUEUED,
    "500": DeliveryStatus.FAILED,
}


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
        delivery_interval: float = 60.0,
    ) -> None:
        super().__init__(name, guard=guard, limiter=limiter, max_parts=max_parts)
        self._username = username
        self._password = password
        self._sender = sender
        self._base = base_url.rstrip("/")
        self._http = ProviderHttp(self.provider, timeout=timeout, secrets=[password])
        self.deliveries = DeliveryWatch(
            name, lookup=self.delivery_state, status_map=STATUS_MAP, interval=delivery_interval
        )

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
        rec_id = str(body.get("Value"))
        self.deliveries.track(rec_id, self._on_delivery)
        return SendResult(provider_message_id=rec_id)

    async def delivery_state(self, rec_id: str) -> str | None:
        """The delivery code of one sent message (GetDeliveries2 by `recId`)."""
        reply = await self._http.request(
            "POST",
            f"{self._base}/api/SendSMS/GetDeliveries2",
            json_body={"username": self._username, "password": self._password, "recId": rec_id},
        )
        body: Any = reply.body
        if not isinstance(body, dict) or "RetStatus" not in body:
            retryable = reply.status >= 500 or reply.status == 429
            raise SendError(f"melipayamak: unreadable answer (HTTP {reply.status})", retryable=retryable)
        status = body.get("RetStatus")
        if status != 1:
            detail = self._http.safe(str(body.get("StrRetStatus", "")))
            # A refused lookup (bad credentials, unknown recId) will not get better by asking again
            # about this id, except the panel's "being updated".
            raise SendError(
                f"melipayamak: RetStatus {status} {detail}", retryable=status in RETRYABLE_RETSTATUS
            )
        value = body.get("Value")
        return None if value is None or str(value).strip() == "" else str(value).strip()

    async def aclose(self) -> None:
        """Stop asking about deliveries; close the HTTP pool."""
        await self.deliveries.aclose()
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
    delivery_interval: float


def read(t: Table, ctx: ReadContext) -> MelipayamakSettings:
    """`[channels.<name>]` with `kind = "melipayamak"`."""
    return MelipayamakSettings(
        username=t.str("username"),
        password=cfg.secret(t, "password"),
        sender=t.str("sender"),
        webhook=cfg.webhook(t),
        api=cfg.sms_api(t, DEFAULT_BASE_URL),
        delivery_interval=t.float("delivery_poll_seconds", 60.0, minimum=0),
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
        delivery_interval=s.delivery_interval,
    )


PROVIDER = Provider(("melipayamak",), Role.SENDER, read, build)
