"""A generic inbound SMS webhook for gateways we have no adapter for: field names are configuration.

Replies cannot go back through an unknown gateway, so they are handed to another configured
channel (`reply_via`, e.g. an SMS.ir or Kavenegar account).
"""

from __future__ import annotations

from aiohttp import web

from bot.models import OutboundMessage, ReceiveResult, SendError, SendResult
from channels.base import Channel
from channels.sms import SmsChannel, SmsFieldNames
from channels.webhook import Guard, json_ok


class GenericSmsChannel(SmsChannel):
    """Inbound SMS with configured field names; sending goes through `reply_via`."""

    provider = "generic"

    def __init__(
        self,
        name: str,
        *,
        guard: Guard,
        names: SmsFieldNames,
        reply_via: Channel | None,
        ok_body: str | None = None,
        max_body: int = 64 * 1024,
    ) -> None:
        super().__init__(name, guard=guard, max_body=max_body)
        self.names = names
        self._via = reply_via
        self._ok_body = ok_body

    def respond(self, result: ReceiveResult | None) -> web.StreamResponse:
        """A configured plain-text answer, or JSON."""
        if self._ok_body is not None:
            return web.Response(text=self._ok_body, content_type="text/plain")
        return json_ok(result)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Hand the reply to the `reply_via` channel."""
        if self._via is None:
            raise SendError(f"{self.name}: no reply_via channel configured", retryable=False)
        return await self._via.send(message)
