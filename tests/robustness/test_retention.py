"""Retention: contact details of tickets closed long ago are anonymised, statistics stay, and a
citizen with something still open keeps their number."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bot.cli.retention import anonymise
from bot.models import TicketStatus
from storage.phone_confirmations import PhoneConfirmationRepository
from tests.conftest import Rig, existing

OLD_TEXT = "زباله های کوچه شهید رضایی جمع نشده شماره من ۰۹۱۲۱۲۳۴۵۶۷ است"


async def _rows(rig: Rig, sql: str) -> list[tuple[Any, ...]]:
    async with rig.store.transaction() as tx:
        return [tuple(r) for r in (await tx.session.execute(text(sql))).all()]


async def test_old_closed_tickets_lose_contact_details_but_keep_statistics(rig: Rig) -> None:
    old = await rig.say(rig.sms, "+989121234567", OLD_TEXT)
    live = await rig.say(rig.sms, "+989351112222", "چاله بزرگ وسط خیابان ولیعصر خطرناک است لطفا")
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, old.ticket_code)
        await tx.tickets.update(
            ticket.id, rig.clock.now(), status=TicketStatus.CLOSED, closed_at=rig.clock.now()
        )
    before = await _rows(rig, "SELECT category, department, status, created_at FROM tickets ORDER BY id")

    # Not yet old enough: nothing changes.
    report = await anonymise(rig.store, days=30, now=rig.clock.now() + timedelta(days=10))
    assert report.citizens == 0 and report.tickets == 0

    report = await anonymise(rig.store, days=30, now=rig.clock.now() + timedelta(days=31))
    assert report.citizens == 1 and report.identities == 1 and report.tickets == 1 and report.messages == 1

    assert (
        await _rows(rig, "SELECT category, department, status, created_at FROM tickets ORDER BY id") == before
    )
    texts = [r[0] for r in await _rows(rig, "SELECT text FROM tickets ORDER BY id")]
    assert "۰۹۱۲۱۲۳۴۵۶۷" not in texts[0] and "***" in texts[0] and "زباله" in texts[0]
    inbound = await _rows(rig, "SELECT text FROM inbound_messages ORDER BY id")
    assert "۰۹۱۲۱۲۳۴۵۶۷" not in str(inbound[0])
    addresses = [r[0] for r in await _rows(rig, "SELECT address FROM identities ORDER BY id")]
    assert addresses[0].startswith("anon-") and addresses[1] == "+989351112222"
    phones = [r[0] for r in await _rows(rig, "SELECT phone FROM citizens ORDER BY id")]
    assert phones == [None, "+989351112222"]
    outbox = [r[0] for r in await _rows(rig, "SELECT address FROM outbox ORDER BY id")]
    assert outbox[0].startswith("anon-") and outbox[1] == "+989351112222"
    assert live.ticket_code is not None

    # Running it again changes nothing more.
    again = await anonymise(rig.store, days=30, now=rig.clock.now() + timedelta(days=31))
    assert (again.citizens, again.identities, again.tickets, again.messages, again.outbox) == (0, 0, 0, 0, 0)


async def test_a_citizen_with_an_open_ticket_keeps_their_number(rig: Rig) -> None:
    first = await rig.say(rig.sms, "+989121234567", OLD_TEXT)
    await rig.say(rig.sms, "+989121234567", "چراغ های خیابان آزادی سه شب است خاموش مانده")
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, first.ticket_code)
        await tx.tickets.update(
            ticket.id, rig.clock.now(), status=TicketStatus.CLOSED, closed_at=rig.clock.now()
        )
    report = await anonymise(rig.store, days=30, now=rig.clock.now() + timedelta(days=31))
    assert report.citizens == 0
    assert [r[0] for r in await _rows(rig, "SELECT phone FROM citizens")] == ["+989121234567"]


async def test_a_phone_given_on_the_web_form_goes_with_its_old_ticket(rig: Rig) -> None:
    """The confirmation row of a web-form phone holds the number: retention deletes it with the
    old ticket's other contact details, and leaves the one of a ticket still open."""
    old = await rig.say(rig.sms, "+989121234567", OLD_TEXT)
    live = await rig.say(rig.sms, "+989351112222", "چاله بزرگ وسط خیابان ولیعصر خطرناک است لطفا")
    now = rig.clock.now()
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, old.ticket_code)
        open_one = await existing(tx, live.ticket_code)
        await tx.tickets.update(ticket.id, now, status=TicketStatus.CLOSED, closed_at=now)
        confirmations = PhoneConfirmationRepository(tx.session)
        for n, (t, phone) in enumerate(((ticket, "+989121234567"), (open_one, "+989351112222"))):
            await confirmations.open(
                token_hash=f"{n:064d}",
                ticket_id=t.id,
                channel="sms",
                phone=phone,
                code_hash="0" * 64,
                at=now,
                expires_at=now + timedelta(minutes=10),
            )

    await anonymise(rig.store, days=30, now=now + timedelta(days=31))

    assert await _rows(rig, "SELECT phone FROM phone_confirmations ORDER BY id") == [("+989351112222",)]
