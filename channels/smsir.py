"""SMS.ir (sms.ir): sending, inbound polling and polled delivery reports (REST API v1).

Wire facts (protocols.md, and SMS.ir's own SDKs `IPeCompany/SmsPanelV2.*`, routes in
`Routes/ReceiveRoutes.cs` and `Routes/ReportRoutes.cs`, fields in `Models/Results/*.cs`): every call
carries the `X-API-KEY` header and answers `{"status": 1, "message": ..., "data": ...}`; HTTP 429
when throttled.

- Send: `POST {base}/v1/send/bulk` `{lineNumber, messageText, mobiles[], sendDateTime}`;
  `data.messageIds[0]` is our single recipient's message id.
- Report: `GET {base}/v1/send/{messageId}` → `data.deliveryState` (null until the operator says
  something) and `data.deliveryDateTime`. SMS.ir documents no delivery push, so the channel asks
  (channels/delivery_watch.py).
- Inbound: `GET {base}/v1/receive/live?pageNumber=1&pageSize=100&sortByNewest=false` → `data` is a
  list of `{messageText, number, mobile, receivedDateTime}`. SMS.ir documents no inbound push
  either, so the channel polls, with Kavenegar's spool (channels/spool.py) in case the live list
  hands a message over only once. A received message has no id: its id is a hash of
  (mobile, number, receivedDateTime, text), the same every time the message is listed, so listing
  it again is a repeated delivery, not a second ticket.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.models import InboundMessage, OutboundMessage, SendError, SendResult
from bot.toml_reader import Table
from channels import provider_config as cfg
from channels.base import DeliveryStatus, OnInbound
from channels.delivery_watch import DeliveryWatch
from channels.phone import local_form, masked
from channels.provider_http import ProviderHttp
from channels.ratelimit import RateLimiter
from channels.registry import BuildContext, Provider, ReadContext, Role
from channels.sms import SmsChannel, SmsFieldNames, parse_polled
from channels.spool import Spool, SpooledPoll

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.sms.ir"

# `deliveryState` of `GET /v1/send/{messageId}` (SMS.ir's report documentation): 1 on the phone,
# 2 not on the phone, 3 being processed by the operator, 4 did not reach the operator, 5 reached
# the operator, 6 failed, 7 blacklisted. Anything else is `unknown` and is asked about again.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "1": DeliveryStatus.DELIVERED,
    "2": DeliveryStatus.UNDELIVERED,
    "3": DeliveryStatus.SENT,
    "4": DeliveryStatus.FAILED,
    "5": DeliveryStatus.SENT,
    "6": DeliveryStatus.FAILED,
    "7": DeliveryStatus.FAILED,
}

INBOUND_NAMES = SmsFieldNames(
    sender=("mobile",), receiver=("number",), text=("messageText",), message_id=("id",)
)
PAGE_SIZE = 100
SEEN = 2000  # ids of recently taken messages, not handed on again while the live list still shows them


def received_id(entry: dict[str, str]) -> str:
    """A stable id for a received message (SMS.ir gives none)."""
    key = "|".join(entry.get(k, "") for k in ("mobile", "number", "receiveddatetime", "messagetext"))
    return "smsir:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class SmsIrChannel(SmsChannel):
    """An SMS.ir account with one line number: sends, and polls for inbound SMS and delivery."""

    provider = "smsir"
    names = INBOUND_NAMES

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
        poll_interval: float | None = None,
        spool: Spool | None = None,
        delivery_interval: float = 60.0,
    ) -> None:
        super().__init__(name, guard=None, limiter=limiter, max_parts=max_parts)
        self._key = api_key
        self._line = line_number
        self._base = base_url.rstrip("/")
        self._http = ProviderHttp(self.provider, timeout=timeout, secrets=[api_key])
        self._poll_interval = poll_interval
        self._spool = spool
        self._seen: deque[str] = deque(maxlen=SEEN)
        self.deliveries = DeliveryWatch(
            name, lookup=self.delivery_state, status_map=STATUS_MAP, interval=delivery_interval
        )

    @property
    def _headers(self) -> dict[str, str]:
        return {"X-API-KEY": self._key, "Accept": "application/json"}

    def _checked(self, status: int, body: Any, retry_after: float | None = None) -> Any:
        """`data` of an answer whose `status` is 1; a typed SendError otherwise."""
        if not isinstance(body, dict) or "status" not in body:
            raise SendError(f"smsir: unreadable answer (HTTP {status})", retryable=status >= 500)
        if body.get("status") != 1 or status >= 400:
            detail = self._http.safe(str(body.get("message", "")))
            retryable = status == 429 or status >= 500
            raise SendError(
                f"smsir: status {body.get('status')} (HTTP {status}) {detail}",
                retryable=retryable,
                retry_after=retry_after,
            )
        return body.get("data")

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
            headers=self._headers,
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
        message_id = str(ids[0]) if ids else None
        self.deliveries.track(message_id, self._on_delivery)
        return SendResult(provider_message_id=message_id or str(data.get("packId", "")) or None)

    # --- delivery reports (asked for) --------------------------------------------------------

    async def delivery_state(self, message_id: str) -> str | None:
        """`deliveryState` of one sent message (`GET /v1/send/{messageId}`); None while it has none."""
        if not message_id.isdigit():
            raise SendError("smsir: not a message id", retryable=False)
        reply = await self._http.request("GET", f"{self._base}/v1/send/{message_id}", headers=self._headers)
        data = self._checked(reply.status, reply.body, reply.retry_after)
        if not isinstance(data, dict):
            return None
        fields = {k.lower(): v for k, v in data.items()}
        state = fields.get("deliverystate")
        return None if state is None else str(state)

    # --- inbound polling -------------------------------------------------------------------------

    async def poll_once(self) -> list[InboundMessage]:
        """The messages on the live receive list (`GET /v1/receive/live`) not taken lately."""
        reply = await self._http.request(
            "GET",
            f"{self._base}/v1/receive/live",
            params={"pageNumber": "1", "pageSize": str(PAGE_SIZE), "sortByNewest": "false"},
            headers=self._headers,
        )
        data = self._checked(reply.status, reply.body, reply.retry_after)
        entries = []
        for entry in data if isinstance(data, list) else []:
            if isinstance(entry, dict):
                fields = {k.lower(): str(v) for k, v in entry.items() if v is not None}
                fields["id"] = received_id(fields)
                if fields["id"] not in self._seen:
                    entries.append(fields)
        return parse_polled(entries, self.names, channel=self.name)

    async def run(self, on_inbound: OnInbound) -> None:
        """Poll the live receive list every `poll_interval` seconds (only when polling is configured):
        the same spooled loop as Kavenegar's (`channels.spool.SpooledPoll`); what was stored is
        remembered, so a live list that keeps showing it does not hand it on again."""
        if self._poll_interval is None:
            return
        poll = SpooledPoll(
            self.name,
            self.poll_once,
            self._spool,
            self._poll_interval,
            stored=lambda m: self._seen.append(m.provider_message_id),
        )
        await poll.run(on_inbound)

    async def aclose(self) -> None:
        """Stop asking about deliveries; close the HTTP pool."""
        await self.deliveries.aclose()
        with contextlib.suppress(Exception):
            await self._http.aclose()


@dataclass(frozen=True, slots=True)
class SmsIrSettings:
    """`kind = "smsir"`."""

    api_key: str = field(repr=False)
    line_number: str
    api: cfg.SmsApi
    poll_interval: float | None
    spool_path: Path
    delivery_interval: float


def read(t: Table, ctx: ReadContext) -> SmsIrSettings:
    """`[channels.<name>]` with `kind = "smsir"`."""
    return SmsIrSettings(
        api_key=cfg.secret(t, "api_key"),
        line_number=t.str("line_number"),
        api=cfg.sms_api(t, DEFAULT_BASE_URL),
        poll_interval=t.float("poll_interval_seconds", minimum=1) if t.has("poll_interval_seconds") else None,
        spool_path=t.path_value("spool_path", f"var/{ctx.name}-polled.jsonl"),
        delivery_interval=t.float("delivery_poll_seconds", 60.0, minimum=0),
    )


def build(s: SmsIrSettings, ctx: BuildContext) -> SmsIrChannel:
    """The channel for read settings."""
    return SmsIrChannel(
        ctx.name,
        api_key=s.api_key,
        line_number=s.line_number,
        **s.api.channel_args(),
        poll_interval=s.poll_interval,
        spool=Spool(s.spool_path),
        delivery_interval=s.delivery_interval,
    )


PROVIDER = Provider(("smsir",), Role.SENDER, read, build)
