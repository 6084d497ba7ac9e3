"""A generic inbound SMS webhook for gateways we have no adapter for: field names are configuration.

Replies cannot go back through an unknown gateway, so they are handed to another configured
channel (`reply_via`, e.g. an SMS.ir or Kavenegar account).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.models import OutboundMessage, ReceiveResult, SendError, SendResult
from bot.toml_reader import ConfigError, Table
from channels import provider_config as cfg
from channels.base import Channel
from channels.registry import BuildContext, Provider, ReadContext, Role
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


@dataclass(frozen=True, slots=True)
class GenericSmsSettings:
    """`kind = "generic_sms"`: a gateway's webhook, answered through the sender `reply_via`."""

    webhook: cfg.WebhookAccess
    names: SmsFieldNames
    reply_via: str
    ok_body: str | None


def read(t: Table, ctx: ReadContext) -> GenericSmsSettings:
    """`[channels.<name>]` with `kind = "generic_sms"`."""
    webhook = cfg.webhook(t)
    if webhook is None:
        raise ConfigError(t.dotted("webhook_secret_env"), "missing")
    return GenericSmsSettings(
        webhook=webhook,
        names=_field_names(t.table("fields", required=True)),
        reply_via=ctx.sender(t, "reply_via"),
        ok_body=t.str("ok_body") if t.has("ok_body") else None,
    )


def _field_names(t: Table) -> SmsFieldNames:
    names = SmsFieldNames(
        sender=(t.str("from"),),
        receiver=(t.str("to"),) if t.has("to") else (),
        text=(t.str("text"),),
        message_id=(t.str("id"),) if t.has("id") else (),
    )
    t.check_unknown()
    return names


def build(s: GenericSmsSettings, ctx: BuildContext) -> GenericSmsChannel:
    """The channel for read settings; `reply_via` is built already."""
    return GenericSmsChannel(
        ctx.name,
        guard=s.webhook.guard(),
        names=s.names,
        reply_via=ctx.channels[s.reply_via],
        ok_body=s.ok_body,
    )


PROVIDER = Provider(("generic_sms",), Role.RELAY, read, build)
