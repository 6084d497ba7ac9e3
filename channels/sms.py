"""What every SMS provider adapter shares: inbound parsing with tolerant field names, the webhook
routes (inbound and delivery reports), length handling and send pacing.

A provider module supplies only its wire format: which field names it uses, how to send one text,
and its status map.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.models import (
    EARLIER_ID,
    InboundMessage,
    Medium,
    OutboundMessage,
    ReceiveResult,
    SendError,
    SendResult,
)
from channels.base import DeliveryReport, DeliveryStatus, OnDelivery, OnInbound
from channels.phone import PhoneError, canonical_mobile, masked
from channels.ratelimit import RateLimiter
from channels.segments import UCS2_PART, is_gsm7, sms_parts
from channels.webhook import (
    BadPayload,
    Guard,
    Respond,
    ignored,
    inbound_handler,
    json_ok,
    pick,
    read_fields,
    refused,
)

log = logging.getLogger(__name__)

ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class SmsFieldNames:
    """Field names a provider may use; the first non-empty one wins."""

    sender: tuple[str, ...] = ("from", "sender")
    receiver: tuple[str, ...] = ("to", "receptor")
    text: tuple[str, ...] = ("message", "text", "body")
    message_id: tuple[str, ...] = ("messageid", "id")


CONTENT_WINDOW = timedelta(minutes=10)


def content_ids(address: str, receiver: str | None, text: str, at: datetime) -> tuple[str, str]:
    """An id for a message whose provider sends none (Melipayamak), and the id the same message
    had one window earlier.

    A provider retries a forward within minutes, but a citizen may send the same words again later
    («وضعیت» twice a day) and must be answered again. So the id is the content within a window of
    CONTENT_WINDOW, and the gateway takes a message for a retry when the same content is stored
    under the window before's id too (bot.intake.gateway, EARLIER_ID): the same SMS from the same number
    within 10 minutes is one message, at least 20 minutes later it is a new one (in between, it
    depends on where the window starts)."""
    slot = int(at.timestamp() // CONTENT_WINDOW.total_seconds())
    return _content_key(address, receiver, text, slot), _content_key(address, receiver, text, slot - 1)


def _content_key(address: str, receiver: str | None, text: str, slot: int) -> str:
    key = f"{address}|{receiver or ''}|{text}|{slot}"
    return "h:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def parse_sms(fields: dict[str, str], names: SmsFieldNames, *, channel: str, now: datetime) -> InboundMessage:
    """An inbound SMS from decoded webhook fields; raises BadPayload naming what is wrong."""
    sender = pick(fields, names.sender)
    if sender is None:
        raise BadPayload(f"missing sender ({'/'.join(names.sender)})")
    try:
        address = canonical_mobile(sender)
    except PhoneError:
        raise BadPayload("sender is not an Iranian mobile number") from None
    text = pick(fields, names.text)
    if text is None:
        raise BadPayload(f"missing text ({'/'.join(names.text)})")
    receiver = pick(fields, names.receiver)
    meta: dict[str, str] = {"line": receiver} if receiver else {}
    message_id = pick(fields, names.message_id)
    if message_id is None:
        message_id, meta[EARLIER_ID] = content_ids(address, receiver, text, now)
    return InboundMessage(
        channel=channel,
        address=address,
        provider_message_id=message_id.strip()[:200],
        text=text,
        received_at=now,
        contact_phone=address,
        meta=meta,
    )


def parse_polled(
    entries: Sequence[dict[str, str]], names: SmsFieldNames, *, channel: str
) -> list[InboundMessage]:
    """Entries a receive API listed (field name → text) as messages; an entry that is no message
    (no sender, no text) is skipped with a warning, the others are kept."""
    messages = []
    for fields in entries:
        try:
            messages.append(parse_sms(fields, names, channel=channel, now=datetime.now(UTC)))
        except BadPayload as exc:
            log.warning("channel=%s skipped a polled entry: %s", channel, exc)
    return messages


def fit_parts(text: str, max_parts: int) -> str:
    """`text`, cut (with an ellipsis) so it is billed as at most `max_parts` parts."""
    if sms_parts(text) <= max_parts:
        return text
    limit = max_parts * (153 if is_gsm7(text) else UCS2_PART) - 1
    cut = text
    while cut and sms_parts(cut + ELLIPSIS) > max_parts:
        cut = cut[: min(len(cut) - 1, limit)]
    return cut.rstrip() + ELLIPSIS


class SmsChannel:
    """Base of the SMS adapters: webhook routes, length policy, pacing; subclasses `_transmit`."""

    medium = Medium.SMS
    provider = "sms"
    names = SmsFieldNames()
    reports = False  # whether the provider pushes delivery reports to us

    def __init__(
        self,
        name: str,
        *,
        guard: Guard | None,
        limiter: RateLimiter | None = None,
        max_parts: int = 4,
        max_body: int = 64 * 1024,
    ) -> None:
        self.name = name
        self._guard = guard
        self._limiter = limiter or RateLimiter(None)
        self._max_parts = max_parts
        self._max_body = max_body
        self._on_delivery: OnDelivery | None = None

    # --- inbound -------------------------------------------------------------------------------

    def parse(self, fields: dict[str, str]) -> InboundMessage | None:
        """Decoded webhook fields → an inbound message (pure)."""
        return parse_sms(fields, self.names, channel=self.name, now=datetime.now(UTC))

    def parse_report(self, fields: dict[str, str]) -> DeliveryReport | None:
        """Decoded delivery-report fields → a report (pure); providers without reports keep None."""
        return None

    def respond(self, result: ReceiveResult | None) -> web.StreamResponse:
        """The answer the provider expects after an inbound message."""
        return json_ok(result)

    def routes(self, on_inbound: OnInbound) -> Sequence[web.RouteDef]:
        """`/hooks/<name>/<secret>` for inbound SMS (GET or POST), and `/status` for reports."""
        if self._guard is None:
            return []
        respond: Respond = self.respond
        handler = inbound_handler(
            self.name, self._guard, self.parse, on_inbound, respond=respond, max_bytes=self._max_body
        )
        base = f"/hooks/{self.name}/{{secret}}"
        routes = [web.get(base, handler, allow_head=False), web.post(base, handler)]
        if self.reports:
            routes += [
                web.get(base + "/status", self._report, allow_head=False),
                web.post(base + "/status", self._report),
            ]
        return routes

    def bind_delivery(self, on_delivery: OnDelivery) -> None:
        """Where delivery reports go (the dispatcher binds this)."""
        self._on_delivery = on_delivery

    async def _report(self, request: web.Request) -> web.StreamResponse:
        assert self._guard is not None  # noqa: S101 - routes exist only with a guard
        self._guard.check(request)
        try:
            report = self.parse_report(await read_fields(request, self._max_body))
        except BadPayload as exc:
            log.warning("channel=%s refused a delivery report: %s", self.name, exc)
            return refused(exc)
        if report is None:
            return ignored("not a delivery report")
        if self._on_delivery is None:
            return web.json_response({"status": "unavailable"}, status=503)
        matched = await self._on_delivery(report)
        log.info("channel=%s delivery report %s matched=%d", self.name, report.status, matched)
        return web.json_response({"status": "ok", "matched": matched})

    # --- outbound ------------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one text to one mobile number, paced and cut to the configured number of parts."""
        try:
            address = canonical_mobile(message.address)
        except PhoneError:
            raise SendError(f"{self.provider}: not a mobile number", retryable=False) from None
        text = fit_parts(message.text, self._max_parts)
        if text != message.text:
            log.warning("channel=%s text cut to %d parts for %s", self.name, self._max_parts, masked(address))
        await self._limiter.acquire()
        try:
            result = await self._transmit(address, text, message)
        except SendError as exc:
            if exc.retry_after:
                self._limiter.defer(exc.retry_after)
            raise
        return SendResult(result.provider_message_id, result.status, segments=sms_parts(text))

    async def _transmit(self, address: str, text: str, message: OutboundMessage) -> SendResult:
        raise SendError(f"{self.provider}: this channel cannot send", retryable=False)

    async def aclose(self) -> None:
        """Nothing to release by default."""


def report(
    channel: str, message_id: str | None, status: str | None, status_map: dict[str, DeliveryStatus]
) -> DeliveryReport:
    """A DeliveryReport from a provider's id and status code, via its status map."""
    if not message_id:
        raise BadPayload("missing message id")
    if status is None:
        raise BadPayload("missing status")
    return DeliveryReport(
        channel=channel,
        provider_message_id=message_id.strip(),
        status=status_map.get(status.strip().lower(), DeliveryStatus.UNKNOWN),
        provider_status=status.strip()[:32],
    )
