"""Sinks: where the answers to a request that came with no address to answer go.

`desk` takes them for a request recorded in the panel without a phone number; `web` for the web
form's requests (a phone confirmed later joins the ticket as an SMS reporter); `open311` for a
GeoReport v2 request that gave no phone.

A walk-in who leaves no number hears the tracking code from the clerk (the panel shows it large).
The pipeline still queues its reply, as for every request, and later status changes are queued for
that citizen too; this channel takes them and sends nothing, so the outbox never holds a row no
channel can deliver. It is not configured (no `PROVIDER`): `bot.app.Sada` always runs it.
"""

from __future__ import annotations

from bot.models import Medium, OutboundMessage, SendResult

DESK = "desk"  # the channel name of requests recorded in the panel without a number
WEB = "web"  # the web form's requests (bot/web/webform)
OPEN311 = "open311"  # GeoReport v2 requests without a phone (bot/web/open311)
SINKS = (DESK, WEB, OPEN311)  # always running, never listed as configured channels


class DeskChannel:
    """Accepts every reply and delivers none (the citizen has no address)."""

    def __init__(self, name: str = DESK) -> None:
        self.name = name
        self.medium = Medium.SMS  # the short wording, like a 137 caller's

    async def send(self, message: OutboundMessage) -> SendResult:
        """Nothing to deliver to: settled as sent, with no provider id."""
        return SendResult(provider_message_id=None)

    async def aclose(self) -> None:
        """Nothing to close."""
