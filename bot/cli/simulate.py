"""`sada simulate`: a realistic batch of citizen messages through the real pipeline (`Sada.inbound`),
printed."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from bot.app import Sada
from bot.config import AppConfig
from bot.models import Medium, TicketStatus
from bot.replies import STATUS_NAMES
from channels.fake import FakeChannel
from nlp.letters import persian_digits

TELEGRAM, SMS = "telegram-sim", "sms-sim"

# (channel, citizen address, text) — the way people actually write on each channel.
BATCH: list[tuple[str, str, str]] = [
    (TELEGRAM, "tg:1001", "سلام"),
    (TELEGRAM, "tg:1001", "سلام وقت بخیر 🙏\nسه روزه زباله‌های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"),
    (SMS, "+989121234567", "چاله بزرگ وسط خیابان ولیعصر نرسیده به میدان ونک ماشینا میفتن توش"),
    (SMS, "+989351112233", "سگ ولگرد تو پارک محله زیاد شده بچه ها میترسن"),
    (SMS, "+989127654321", "بوی گاز شدید تو کوچه ما میاد لطفا سریع"),
    (TELEGRAM, "tg:2002", "چراغ برق تیر جلوی خونه ما یه هفته است خاموشه، شبا کوچه تاریکه"),
    (SMS, "+989191919191", "سلام اتوبوس خط ۱۴۰ نیم ساعت دیر میاد هر روز"),
]


async def simulate(config: AppConfig, *, store_url: str | None) -> int:
    """Run the batch and print tickets and every reply that went out."""
    with tempfile.TemporaryDirectory(prefix="sada-sim-") as tmp:
        url = store_url or f"sqlite+aiosqlite:///{Path(tmp) / 'simulate.db'}"
        config = dataclasses.replace(config, store=dataclasses.replace(config.store, url=url))
        telegram, sms = FakeChannel(TELEGRAM), FakeChannel(SMS, medium=Medium.SMS)
        sada = Sada(config, channels={TELEGRAM: telegram, SMS: sms})
        await sada.start(background_tasks=False)
        try:
            await _run(sada, telegram, sms)
        finally:
            await sada.stop()
    return 0


async def _run(sada: Sada, telegram: FakeChannel, sms: FakeChannel) -> None:
    receive = sada.inbound  # the door every webhook uses: flood limit → group commit → gateway
    codes: list[str] = []
    for index, (channel_name, address, text) in enumerate(BATCH):
        channel = telegram if channel_name == TELEGRAM else sms
        result = await channel.push(receive, address, text, message_id=f"batch-{index}")
        await sada.dispatcher.drain()
        _say(channel_name, address, text, result.intent, result.ticket_code)
        if result.ticket_code:
            codes.append(result.ticket_code)
    # The SMS provider delivers the pothole report a second time (same provider message id).
    again = await sms.push(receive, BATCH[2][1], BATCH[2][2], message_id="batch-2")
    _say(
        SMS,
        BATCH[2][1],
        "(the same SMS delivered again by the provider)",
        f"duplicate={again.duplicate}",
        None,
    )
    first = codes[0]
    status = await telegram.push(receive, "tg:1001", f"پیگیری {persian_digits(first)}")
    _say(TELEGRAM, "tg:1001", f"پیگیری {persian_digits(first)}", status.intent, status.ticket_code)
    # One digit mistyped (the check digit catches every single-digit error).
    typo = first[:-1] + str((int(first[-1]) + 1) % 10)
    wrong = await sms.push(receive, "+989121234567", typo)
    _say(SMS, "+989121234567", typo, wrong.intent, wrong.ticket_code)
    # Department staff resolve the rubbish ticket; the citizen says it is not fixed; then it is.
    async with sada.store.transaction() as tx:
        ticket = await tx.tickets.by_code(first)
        assert ticket is not None  # noqa: S101 - created above
        if ticket.status is TicketStatus.REGISTERED:
            ticket = await sada.lifecycle.change_status(
                tx, ticket, TicketStatus.REFERRED, actor="operator:demo"
            )
        ticket = await sada.lifecycle.change_status(
            tx, ticket, TicketStatus.RESOLVED, actor="staff:waste", note="زباله‌ها جمع‌آوری و مخزن شست‌وشو شد."
        )
    answer = await telegram.push(receive, "tg:1001", "۲")
    await sada.dispatcher.drain()
    _say(TELEGRAM, "tg:1001", "۲", answer.intent, answer.ticket_code)
    async with sada.store.transaction() as tx:
        ticket = await tx.tickets.by_code(first)
        assert ticket is not None  # noqa: S101 - created above
        await sada.lifecycle.change_status(
            tx, ticket, TicketStatus.RESOLVED, actor="staff:waste", note="مخزن جدید نصب و کوچه نظافت شد."
        )
    answer = await telegram.push(receive, "tg:1001", "1")
    _say(TELEGRAM, "tg:1001", "1", answer.intent, answer.ticket_code)
    await sada.dispatcher.drain()
    await _print_tickets(sada)
    print("\n== replies delivered ==")
    for channel in (telegram, sms):
        for message in channel.sent:
            print(f"[{channel.name} → {message.address}]\n  " + message.text.replace("\n", "\n  "))


def _say(channel: str, address: str, text: str, intent: str, code: str | None) -> None:
    line = text.replace("\n", " ⏎ ")
    print(f"{channel:13} {address:15} {line[:60]:60} → {intent}{' ' + code if code else ''}")


async def _print_tickets(sada: Sada) -> None:
    print("\n== tickets ==")
    async with sada.store.transaction() as tx:
        for t in reversed(await tx.tickets.recent(100)):
            flags = " review" if t.needs_review else ""
            flags += " URGENT" if t.priority.value == "urgent" else ""
            print(
                f"{t.tracking_code}  {t.category:20} {t.department:16} {t.confidence:.2f}  "
                f"{STATUS_NAMES[t.status]}{flags}"
            )
