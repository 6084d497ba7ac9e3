"""The channel contract every adapter implements (courier's handler idea, as a Protocol).

Send errors form one small tree (bot.models.SendError is the root):

    SendError(retryable=True)    429, 5xx, timeouts, connection errors: try again later
    SendError(retryable=False)   other 4xx, bad configuration: final
      RecipientBlocked           the citizen blocked the bot (Telegram 403): try another route
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from aiohttp import web

from bot.models import InboundMessage, Medium, OutboundMessage, ReceiveResult, SendError, SendResult

OnInbound = Callable[[InboundMessage], Awaitable[ReceiveResult]]


class DeliveryStatus(StrEnum):
    """Our delivery states; each provider's status map translates its codes into these."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider says what became of a message it accepted earlier."""

    channel: str
    provider_message_id: str
    status: DeliveryStatus
    provider_status: str


OnDelivery = Callable[[DeliveryReport], Awaitable[int]]


class RecipientBlocked(SendError):
    """The recipient refuses our messages on this channel (e.g. Telegram 403: bot blocked)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class ChannelState(Protocol):
    """Small durable state a channel keeps across restarts (a feed follower's position)."""

    async def load(self, key: str) -> dict[str, Any] | None: ...

    async def save(self, key: str, value: dict[str, Any]) -> None: ...


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


@runtime_checkable
class ReportingChannel(Channel, Protocol):
    """A channel whose provider reports delivery; the dispatcher binds where reports go."""

    def bind_delivery(self, on_delivery: OnDelivery) -> None: ...


class MediaUnavailable(Exception):
    """A file could not be fetched: `retryable` for network trouble, 429 and 5xx; final otherwise
    (the provider forgot the file, refused the request, or answered with something that is not it)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class MediaTooLarge(MediaUnavailable):
    """The file is over the size cap: not fetched (or the download stopped at the cap)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@runtime_checkable
class MediaSource(Protocol):
    """A channel that can fetch the files citizens send (Telegram and Bale: `getFile`).

    `fetch_media` returns the bytes of the file a message referred to, at most `max_bytes` of them:
    a larger file raises MediaTooLarge without being kept; other failures raise MediaUnavailable.
    Nothing the provider says about the file's type is returned: the caller sniffs the bytes."""

    async def fetch_media(self, reference: str, max_bytes: int) -> bytes: ...
