"""The channel contract every adapter implements (courier's handler idea, as a Protocol)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.models import InboundMessage, Medium, OutboundMessage, ReceiveResult, SendResult

OnInbound = Callable[[InboundMessage], Awaitable[ReceiveResult]]


@runtime_checkable
class Channel(Protocol):
    """A way to reach citizens.

    `name` is the configured name (what InboundMessage.channel and outbox rows carry); `medium`
    decides which reply variant is rendered. `send` raises bot.models.SendError with `retryable`.
    """

    name: str
    medium: Medium

    async def send(self, message: OutboundMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class WebhookChannel(Channel, Protocol):
    """A channel that receives over HTTP: it declares routes, the server mounts them."""

    def routes(self, on_inbound: OnInbound) -> Sequence[web.RouteDef]: ...


@runtime_checkable
class RunningChannel(Channel, Protocol):
    """A channel that pulls messages itself (pollers, file followers, the console)."""

    async def run(self, on_inbound: OnInbound) -> None: ...
