"""`sada chat`: a person types as a citizen; the real intake (flood limit, group commit, gateway),
store and outbox answer."""

from __future__ import annotations

import sys

from bot.app import Sada
from bot.config import AppConfig
from bot.models import InboundMessage, ReceiveResult
from channels.console import ConsoleChannel

WELCOME = "گفتگو با «صدا» — پیام خود را بنویسید (پایان: Ctrl+D)\n"


async def chat(config: AppConfig, *, address: str, echo: bool) -> int:
    """Run one console conversation until end of input."""
    console = ConsoleChannel(address, echo_input=echo)
    sada = Sada(config, channels={console.name: console})
    await sada.start(background_tasks=False)
    try:
        sys.stdout.write(WELCOME)

        async def handle(msg: InboundMessage) -> ReceiveResult:
            result = await sada.inbound(msg)
            await sada.dispatcher.drain()
            return result

        await console.run(handle)
        await sada.dispatcher.drain()
    finally:
        await sada.stop()
    return 0
