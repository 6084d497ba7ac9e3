"""The ticket list's date filter and the names the list and ticket pages show (issue 17, "Bugs seen")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.models import EventKind, Priority, TicketStatus
from bot.tracking import new_code
from nlp.letters import persian_digits
from storage.tickets import NewTicket
from tests.conftest import START
from tests.panel.conftest import RUBBISH, Site


async def test_a_gregorian_date_is_read_as_gregorian_and_says_so(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", RUBBISH)  # START: 1405/09/01 = 2026-11-22
    operator = await clients("olga")

    async def listed(query: str) -> tuple[bool, str]:
        response = await operator.get(f"/panel/tickets?{query}")
        assert response.status == 200, query
        text = await response.text()
        return f'/panel/tickets/{code}"' in text, text

    found, text = await listed("from=2026-11-22")  # was read as Jalali 2026 (Gregorian 2647): nothing
    assert found and "میلادی خوانده شد: ۱۴۰۵/۰۹/۰۱" in text
    assert (await listed("from=۲۰۲۶/۱۱/۲۳"))[0] is False  # Persian digits, Gregorian year
    assert (await listed("to=2026-11-22"))[0] is True
    assert (await listed("from=1405-09-01&to=۱۴۰۵/۰۹/۰۱"))[0] is True  # Jalali, either digits
    found, text = await listed("from=1405-09-02")
    assert not found and "میلادی" not in text


async def test_a_date_it_cannot_read_is_named_beside_its_field_and_no_list_is_shown(
    site: Site, clients: Any
) -> None:
    code = await site.say("tg:1", RUBBISH)
    operator = await clients("olga")
    for query, field in (
        ("from=yesterday", "from"),
        ("to=1405-13-40", "to"),
        ("from=2026-02-30", "from"),
        ("from=1405-09-10&to=1405-09-01", "to"),  # the wrong way round
        ("status=gone", "status"),
    ):
        response = await operator.get(f"/panel/tickets?{query}")
        text = await response.text()
        assert response.status == 400, query
        # Before: the error on top of the whole, unfiltered list, which looks like a filtered one.
        assert f'/panel/tickets/{code}"' not in text and "<table" not in text, query
        assert f'id="e-{field}"' in text and 'aria-invalid="true"' in text, query
        assert "فهرست تا اصلاح آن نشان داده نمی‌شود" in text, query
        assert "yesterday" not in query or 'value="yesterday"' in text  # what was typed stays to be fixed


async def test_pages_show_persian_channel_names_people_and_a_quiet_normal_badge(
    site: Site, clients: Any
) -> None:
    async with site.sada.store.transaction() as tx:
        identity = await tx.citizens.identity_for("telegram", "5550001", at=START)
        ticket = await tx.tickets.create(
            NewTicket(
                tracking_code=new_code(),
                citizen_id=identity.citizen_id,
                channel="telegram",
                text=RUBBISH,
                normalized_text=RUBBISH,
                category="waste_collection",
                department="waste",
                confidence=0.4,
                model_version="test",
                top_k=(("waste_collection", 0.4),),
                needs_review=True,
                priority=Priority.NORMAL,
                status=TicketStatus.REGISTERED,
                district="6",
                location_text=None,
                latitude=None,
                longitude=None,
                created_at=START,
                due_at=START + timedelta(days=3),
            )
        )
        await tx.tickets.add_reporter(ticket.id, identity.id, START)
        await tx.tickets.add_event(ticket.id, EventKind.CREATED, START, "citizen:1", {"channel": "telegram"})
    code = ticket.tracking_code
    await site.say("+989121234567", "چاله بزرگ وسط خیابان", channel=site.sms)
    operator = await clients("olga")
    assert (await operator.post(f"/panel/tickets/{code}/note", {"note": "OK, called back"})).status == 303
    listing = await (await operator.get("/panel/tickets")).text()
    assert "<td>تلگرام</td>" in listing and "<td>پیامک</td>" in listing
    assert (
        '<option value="telegram">تلگرام</option>' in listing
        and '<option value="6">منطقه ۶</option>' in listing
    )
    assert "<td>telegram</td>" not in listing
    page = await (await operator.get(f"/panel/tickets/{code}")).text()
    assert "ثبت از کانال تلگرام" in page and "منطقه ۶" in page
    assert 'تلگرام: <bdi dir="ltr">5550001</bdi>' in page  # the chat id, named by its channel
    assert '<b title="olga">Olga</b>' in page  # the person, the username on hover
    assert '<span class="quoted" dir="auto">OK, called back</span>' in page
    triage = await (await operator.get("/panel/triage")).text()
    assert persian_digits(code) in triage
    assert '<span class="badge plain">عادی</span>' in triage  # not the alarm colours of «فوری»
