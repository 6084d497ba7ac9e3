"""A channel for people at a terminal: type as a citizen, read the bot's replies (`sada chat`)."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime
from typing import TextIO

from bot.models import InboundMessage, Medium, OutboundMessage, SendResult
from channels.base import OnInbound

PROMPT = "شما › "
BOT = "صدا › "


class ConsoleChannel:
    """Reads lines from `stdin` as one citizen's messages; prints replies to `stdout`."""

    def __init__(
        self,
        address: str,
        *,
        name: str = "console",
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        echo_input: bool = False,
    ) -> None:
        self.name = name
        self.medium = Medium.CHAT
        self.address = address
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        # With piped input nothing shows what the citizen typed: echo it so a transcript reads whole.
        self._echo = echo_input

    async def send(self, message: OutboundMessage) -> SendResult:
        """Print a reply (buttons shown in brackets)."""
        lines = [BOT + message.text.replace("\n", "\n      ")]
        if message.buttons:
            lines.append("      " + "  ".join(f"[{b.label}]" for b in message.buttons))
        self._out.write("\n".join(lines) + "\n")
        self._out.flush()
        return SendResult(provider_message_id=uuid.uuid4().hex)

    async def run(self, on_inbound: OnInbound) -> None:
        """Read until end of input; each non-empty line is one message."""
        while True:
            if not self._echo:
                self._out.write(PROMPT)
                self._out.flush()
            line = await asyncio.to_thread(self._in.readline)
            if not line:
                return
            text = line.rstrip("\n")
            if not text.strip():
                continue
            if self._echo:
                self._out.write(PROMPT + text + "\n")
            await on_inbound(
                InboundMessage(
                    channel=self.name,
                    address=self.address,
                    provider_message_id=uuid.uuid4().hex,
                    text=text,
                    received_at=datetime.now(UTC),
                )
            )

    async def aclose(self) -> None:
        """Nothing to release."""
