"""A real, in-memory channel for tests and demos: push citizen messages in, read what came out."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from datetime import UTC, datetime

from bot.models import (
    Button,
    GeoPoint,
    InboundMessage,
    Medium,
    OutboundMessage,
    ReceiveResult,
    SendError,
    SendResult,
)
from bot.toml_reader import Table
from channels.base import OnInbound
from channels.registry import BuildContext, Provider, ReadContext, Role


class FakeChannel:
    """Implements the channel contract in memory; failures to inject are queued with `fail_next`."""

    def __init__(self, name: str = "fake", medium: Medium = Medium.CHAT) -> None:
        self.name = name
        self.medium = medium
        self.sent: list[OutboundMessage] = []
        self.attempts = 0
        self._failures: deque[SendError] = deque()
        self._ids = itertools.count(1)
        self._delivered = asyncio.Event()
        self.closed = False

    def fail_next(self, *errors: SendError) -> None:
        """The next sends raise these errors, in order."""
        self._failures.extend(errors)

    async def send(self, message: OutboundMessage) -> SendResult:
        """Record the message (or raise a queued failure)."""
        self.attempts += 1
        if self._failures:
            raise self._failures.popleft()
        self.sent.append(message)
        self._delivered.set()
        return SendResult(provider_message_id=f"{self.name}-{next(self._ids)}")

    def texts(self, address: str | None = None) -> list[str]:
        """Texts sent so far (to one address, or all)."""
        return [m.text for m in self.sent if address is None or m.address == address]

    def buttons(self, address: str) -> list[tuple[Button, ...]]:
        """Button rows sent to one address."""
        return [m.buttons for m in self.sent if m.address == address]

    def inbound(
        self,
        address: str,
        text: str,
        *,
        message_id: str | None = None,
        button: str | None = None,
        contact_phone: str | None = None,
        at: datetime | None = None,
        location: GeoPoint | None = None,
    ) -> InboundMessage:
        """Build an inbound message as a provider would deliver it."""
        return InboundMessage(
            channel=self.name,
            address=address,
            provider_message_id=message_id or f"in-{next(self._ids)}",
            text=text,
            received_at=at or datetime.now(UTC),
            contact_phone=contact_phone,
            button=button,
            location=location,
        )

    async def push(self, on_inbound: OnInbound, address: str, text: str, **kwargs: object) -> ReceiveResult:
        """Deliver a citizen's message to the gateway."""
        return await on_inbound(self.inbound(address, text, **kwargs))  # type: ignore[arg-type]

    async def aclose(self) -> None:
        """Nothing to release."""
        self.closed = True


def read(t: Table, ctx: ReadContext) -> None:
    """`kind = "fake"` has no settings."""


def build(s: None, ctx: BuildContext) -> FakeChannel:
    """An in-memory chat channel."""
    return FakeChannel(ctx.name)


PROVIDER = Provider(("fake",), Role.CHAT, read, build)
