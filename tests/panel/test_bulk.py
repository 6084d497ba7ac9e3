"""Bulk work from the ticket list over HTTP, on SQLite and PostgreSQL: each ticket goes through the
same lifecycle method and checks as the single-ticket forms, with a result for each one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.models import EventKind, Priority, TicketStatus
from bot.tracking import new_code
from nlp.letters import persian_digits
from storage.tickets import NewTicket
from tests.conftest import START
from tests.panel.conftest import POTHOLE, RUBBISH, Site

BULK = "/panel/tickets/bulk"


async def seed(
    site: Site,
    *,
    department: str = "waste",
    category: str = "waste_collection",
    status: TicketStatus = TicketStatus.REFERRED,
    priority: Priority = Priority.NORMAL,
    created: timedelta = timedelta(0),
    due: timedelta | None = timedelta(days=2),
    address: str | None = None,
    review: bool = False,
    text: str | None = None,
) -> str:
    """A ticket straight in the store (with one Telegram reporter); returns its tracking code."""
    code = new_code()
    async with site.sada.store.transaction() as tx:
        identity = await tx.citizens.identity_for("tg", address or f"tg:{code}", at=START)
        ticket = await tx.tickets.create(
            NewTicket(
                tracking_code=code,
                citizen_id=identity.citizen_id,
                channel="tg",
                text=text or f"درخواست {code}",
                normalized_text=text or f"درخواست {code}",
                category=category,
                department=department,
                confidence=0.9,
                model_version="test",
                top_k=((category, 0.9),),
                needs_review=review,
                priority=priority,
                status=status,
                district=None,
                location_text=None,
                latitude=None,
                longitude=None,
                created_at=START + created,
                due_at=START + created + due if due is not None else None,
            )
        )
        await tx.tickets.add_reporter(ticket.id, identity.id, START)
    return code


def ticks(*codes: str) -> list[tuple[str, str]]:
    return [("t", code) for code in codes]


async def post(client: Any, action: str, codes: list[str], **fields: str) -> tuple[int, str]:
    body = [("csrf", client.csrf), ("action", action), *ticks(*codes), *fields.items()]
    response = await client.http.post(client.site.url + BULK, data=body, allow_redirects=False)
    return response.status, await response.text()


async def test_bulk_reclassify_moves_each_ticket_and_tells_each_citizen(site: Site, clients: Any) -> None:
    codes = [await seed(site, address=f"tg:{i}") for i in range(3)]
    olga = await clients("olga")
    status, page = await post(olga, "reclassify", codes, category="road_damage", reason="همه چاله‌اند")
    assert status == 200
    assert "۳ درخواست تغییر کرد" in page
    for code in codes:
        ticket = await site.ticket(code)
        assert (ticket.category, ticket.department) == ("road_damage", "civil_works")
        async with site.sada.store.read() as tx:
            events = await tx.tickets.events(ticket.id)
        reclassified = [e for e in events if e.kind is EventKind.RECLASSIFIED]
        assert [(e.actor, e.data["reason"]) for e in reclassified] == [("user:olga", "همه چاله‌اند")]
        assert f'href="/panel/tickets/{code}"' in page
    await site.sada.dispatcher.drain()
    for i in range(3):  # each citizen hears of the new department, once
        assert sum("معاونت فنی و عمرانی" in t for t in site.chat.texts(f"tg:{i}")) == 1


async def test_a_form_it_cannot_apply_changes_no_ticket(site: Site, clients: Any) -> None:
    codes = [await seed(site), await seed(site)]
    olga = await clients("olga")
    for action, fields, message in (
        ("reclassify", {"category": "road_damage"}, "دلیل اصلاح"),  # the reason is required
        ("reclassify", {"category": "nope", "reason": "x"}, "دستهٔ انتخاب‌شده معتبر نیست"),
        ("status", {"to": "resolved"}, "توضیحی برای شهروند لازم است"),  # as on the ticket page
        ("status", {"to": "duplicate", "note": "x"}, "وضعیت انتخاب‌شده معتبر نیست"),
        ("assign", {"assignee": "99999"}, "این کارشناس پیدا نشد"),
        ("merge", {"into": "1234567890"}, "درخواست اصلی"),
    ):
        status, page = await post(olga, action, codes, **fields)
        assert status == 400, (action, fields)
        assert message in page and "هیچ درخواستی تغییر نکرد" in page, (action, fields)
    status, page = await post(olga, "status", [], to="in_progress")
    assert status == 400 and "هیچ درخواستی انتخاب نشده" in page
    for code in codes:
        ticket = await site.ticket(code)
        assert (ticket.status, ticket.category, ticket.assignee_id) == ("referred", "waste_collection", None)


async def test_bulk_status_needs_its_note_and_reports_tickets_that_cannot_move(
    site: Site, clients: Any
) -> None:
    open_one = await seed(site, address="tg:1")
    closed = await seed(site, status=TicketStatus.CLOSED, address="tg:2")
    olga = await clients("olga")
    status, page = await post(olga, "status", [open_one, closed], to="resolved", note="جمع‌آوری شد")
    assert status == 200
    assert "۱ درخواست تغییر کرد، ۱ درخواست تغییر نکرد" in page
    assert "این تغییر وضعیت برای این درخواست مجاز نیست" in page
    assert (await site.ticket(open_one)).status == "resolved"
    assert (await site.ticket(closed)).status == "closed"
    await site.sada.dispatcher.drain()
    assert any("جمع‌آوری شد" in t for t in site.chat.texts("tg:1"))
    assert site.chat.texts("tg:2") == []


async def test_staff_bulk_changes_only_their_departments_tickets(site: Site, clients: Any) -> None:
    waste = await seed(site)
    civil = await seed(site, department="civil_works", category="road_damage")
    wasim = await clients("wasim")
    status, page = await post(wasim, "status", [waste, civil], to="in_progress")
    assert status == 200
    assert "پیدا نشد یا در دسترس شما نیست" in page  # the other department's: as a 404 would say
    assert (await site.ticket(waste)).status == "in_progress"
    assert (await site.ticket(civil)).status == "referred"
    # Staff may not reclassify, merge or share out work, in bulk either.
    for action, fields in (
        ("reclassify", {"category": "road_damage", "reason": "x"}),
        ("merge", {}),
        ("assign", {"assignee": ""}),
    ):
        status, _ = await post(wasim, action, [waste], **fields)
        assert status == 403, action
    assert (await site.ticket(waste)).category == "waste_collection"


async def test_bulk_without_the_csrf_token_is_refused(site: Site, clients: Any) -> None:
    code = await seed(site)
    olga = await clients("olga")
    body = [("action", "status"), ("to", "in_progress"), *ticks(code)]
    response = await olga.http.post(site.url + BULK, data=body, allow_redirects=False)
    assert response.status == 403
    body.append(("csrf", "not-the-token"))
    response = await olga.http.post(site.url + BULK, data=body, allow_redirects=False)
    assert response.status == 403
    assert (await site.ticket(code)).status == "referred"


async def test_bulk_merge_into_the_earliest_or_the_typed_ticket(site: Site, clients: Any) -> None:
    first = await seed(site, address="tg:1")
    second = await seed(site, created=timedelta(hours=1), address="tg:2")
    third = await seed(site, created=timedelta(hours=2), address="tg:3")
    olga = await clients("olga")
    status, page = await post(olga, "merge", [third, first, second])  # no code typed: the earliest
    assert status == 200 and "۲ درخواست تغییر کرد" in page
    assert f'درخواست اصلی: <span class="code">{persian_digits(first)}</span>' in page
    survivor = await site.ticket(first)
    for code in (second, third):
        ticket = await site.ticket(code)
        assert (ticket.status, ticket.duplicate_of) == ("duplicate", survivor.id)
    async with site.sada.store.read() as tx:
        reporters = {i.address for i in await tx.tickets.reporters(survivor.id)}
    assert reporters == {"tg:1", "tg:2", "tg:3"}
    # A typed survivor, not among the ticked ones; a ticket already merged is reported, not changed.
    a, b = await seed(site), await seed(site)
    status, page = await post(olga, "merge", [a, second], into=persian_digits(b))
    assert status == 200 and "۱ درخواست تغییر کرد، ۱ درخواست تغییر نکرد" in page
    assert (await site.ticket(a)).duplicate_of == (await site.ticket(b)).id
    assert (await site.ticket(second)).duplicate_of == survivor.id


async def test_bulk_assign_within_the_ticket_department_and_my_tickets(site: Site, clients: Any) -> None:
    mine = [await seed(site), await seed(site)]
    other = await seed(site)
    civil = await seed(site, department="civil_works", category="road_damage")
    async with site.sada.store.read() as tx:
        wasim_user = await tx.users.by_username("wasim")
    assert wasim_user is not None
    wasim = await clients("wasim")
    # Nothing given to Wasim yet: his list shows the department's tickets, and says so.
    first = await (await wasim.get("/panel/tickets")).text()
    assert "هنوز درخواستی به شما سپرده نشده است" in first
    assert all(f'/panel/tickets/{c}"' in first for c in [*mine, other])
    mina = await clients("mina")  # a manager shares out the work
    status, page = await post(mina, "assign", [*mine, civil], assignee=str(wasim_user.id))
    assert status == 200 and "۲ درخواست تغییر کرد، ۱ درخواست تغییر نکرد" in page
    assert "کارشناس در واحد این درخواست نیست" in page
    assert [(await site.ticket(c)).assignee_id for c in mine] == [wasim_user.id] * 2
    assert (await site.ticket(civil)).assignee_id is None
    # «کارهای من» is now Wasim's first view; the department's whole list is one link away.
    listing = await (await wasim.get("/panel/tickets")).text()
    assert {c for c in [*mine, other] if f'/panel/tickets/{c}"' in listing} == set(mine)
    assert '<option value="me" selected>' in listing and "Wasim" in listing  # the assignee column
    assert "<details>" in listing  # his own default view: the filter form stays folded
    everything = await (await wasim.get("/panel/tickets?assignee=all")).text()
    assert all(f'/panel/tickets/{c}"' in everything for c in [*mine, other])
    nobody = await (await wasim.get("/panel/tickets?assignee=none")).text()
    assert f'/panel/tickets/{other}"' in nobody and not any(f'/panel/tickets/{c}"' in nobody for c in mine)
    # Unassigning in bulk (the empty choice) writes the history too.
    status, page = await post(mina, "assign", mine, assignee="")
    assert status == 200 and "از کارشناس پس گرفته شد" in page
    assert [(await site.ticket(c)).assignee_id for c in mine] == [None, None]
    async with site.sada.store.read() as tx:
        events = await tx.tickets.events((await site.ticket(mine[0])).id)
    assert [e.data["to"] for e in events if e.kind is EventKind.ASSIGNED] == ["wasim", None]


async def test_the_list_offers_bulk_actions_by_role(site: Site, clients: Any) -> None:
    await site.say("tg:1", RUBBISH)
    await site.say("tg:2", POTHOLE)
    olga = await (await (await clients("olga")).get("/panel/tickets")).text()
    assert olga.count('name="t"') == 2 and 'action="/panel/tickets/bulk"' in olga
    for value in ("reclassify", "assign", "status", "merge"):
        assert f'name="action" value="{value}"' in olga
    wasim = await (await (await clients("wasim")).get("/panel/tickets")).text()
    assert wasim.count('name="t"') == 1
    assert 'value="status"' in wasim and 'value="reclassify"' not in wasim and 'value="merge"' not in wasim
