"""Ticket actions and lists over HTTP, on SQLite and PostgreSQL: each goes through the lifecycle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.models import EventKind, Priority, TicketStatus
from bot.tracking import new_code
from nlp.letters import persian_digits
from storage.tickets import NewTicket
from tests.conftest import START
from tests.panel.conftest import POTHOLE, RUBBISH, UNSURE, Site


async def _events(site: Site, code: str) -> list[Any]:
    ticket = await site.ticket(code)
    async with site.sada.store.transaction() as tx:
        return await tx.tickets.events(ticket.id)


async def test_triage_confirm_keeps_the_category_and_refers_once(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", UNSURE)
    operator = await clients("olga")
    page = await (await operator.get("/panel/triage")).text()
    assert persian_digits(code) in page and "۵۰٪" in page
    response = await operator.post(
        f"/panel/tickets/{code}/reclassify", {"category": "street_lighting", "back": "triage"}
    )
    assert response.status == 303 and response.headers["Location"] == "/panel/triage?done=confirmed"
    ticket = await site.ticket(code)
    assert ticket.category == "street_lighting" and not ticket.needs_review and ticket.status == "referred"
    await site.sada.dispatcher.drain()
    assert len([t for t in site.chat.texts("tg:1") if "ارجاع شد" in t]) == 1
    assert persian_digits(code) not in await (await operator.get("/panel/triage")).text()


async def test_reclassify_on_the_ticket_page_needs_a_reason(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", RUBBISH)
    operator = await clients("olga")
    refused = await operator.post(f"/panel/tickets/{code}/reclassify", {"category": "street_cleaning"})
    assert refused.status == 400 and "دلیل" in await refused.text()
    assert (await site.ticket(code)).category == "waste_collection"
    done = await operator.post(
        f"/panel/tickets/{code}/reclassify", {"category": "street_cleaning", "reason": "کوچه کثیف است"}
    )
    assert done.status == 303
    ticket = await site.ticket(code)
    assert (ticket.category, ticket.department) == ("street_cleaning", "urban_services")
    last = [e for e in await _events(site, code) if e.kind is EventKind.RECLASSIFIED][-1]
    assert last.actor == "user:olga" and last.data["reason"] == "کوچه کثیف است"
    await site.sada.dispatcher.drain()
    assert "معاونت خدمات شهری" in site.chat.texts("tg:1")[-1]


async def test_reassign_moves_the_ticket_out_of_a_departments_view(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", RUBBISH)
    operator, wasim = await clients("olga"), await clients("wasim")
    assert (await wasim.get(f"/panel/tickets/{code}")).status == 200
    same = await operator.post(f"/panel/tickets/{code}/reassign", {"department": "waste", "reason": "x"})
    assert same.status == 400
    moved = await operator.post(
        f"/panel/tickets/{code}/reassign", {"department": "urban_services", "reason": "نظافت معبر"}
    )
    assert moved.status == 303
    ticket = await site.ticket(code)
    assert (ticket.category, ticket.department) == ("waste_collection", "urban_services")
    assert (await wasim.get(f"/panel/tickets/{code}")).status == 404


async def test_status_change_rules_are_the_lifecycles(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", RUBBISH)
    wasim = await clients("wasim")
    no_note = await wasim.post(f"/panel/tickets/{code}/status", {"to": "resolved"})
    assert no_note.status == 400 and "توضیحی برای شهروند لازم است" in await no_note.text()
    not_allowed = await wasim.post(f"/panel/tickets/{code}/status", {"to": "closed"})
    assert not_allowed.status == 409
    duplicate = await wasim.post(f"/panel/tickets/{code}/status", {"to": "duplicate", "note": "x"})
    assert duplicate.status == 409
    assert (await site.ticket(code)).status == "referred"
    ok = await wasim.post(f"/panel/tickets/{code}/status", {"to": "in_progress", "note": "اکیپ اعزام شد"})
    assert ok.status == 303 and (await site.ticket(code)).status == "in_progress"
    await site.sada.dispatcher.drain()
    assert "اکیپ اعزام شد" in site.chat.texts("tg:1")[-1]


async def test_canned_reply_must_fit_the_status_and_category(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", POTHOLE)  # road damage
    operator = await clients("olga")
    async with site.sada.store.transaction() as tx:
        from storage.canned_replies import CannedReplyRepository

        replies = await CannedReplyRepository(tx.session).all()
    waste_only = next(r for r in replies if r.category == "waste_collection")
    general = next(r for r in replies if r.status == "resolved" and r.category is None)
    wrong = await operator.post(
        f"/panel/tickets/{code}/status", {"to": "resolved", "canned": str(waste_only.id)}
    )
    assert wrong.status == 400
    page = await (await operator.get(f"/panel/tickets/{code}")).text()
    assert general.text in page and waste_only.text not in page
    ok = await operator.post(f"/panel/tickets/{code}/status", {"to": "resolved", "canned": str(general.id)})
    assert ok.status == 303
    await site.sada.dispatcher.drain()
    assert general.text in site.chat.texts("tg:1")[-2]


async def test_canned_replies_are_editable(site: Site, clients: Any) -> None:
    operator = await clients("olga")
    added = await operator.post(
        "/panel/canned", {"status": "rejected", "category": "traffic", "text": "به پلیس راهور ارجاع شد."}
    )
    assert added.status == 303
    page = await (await operator.get("/panel/canned")).text()
    assert "به پلیس راهور ارجاع شد." in page
    async with site.sada.store.transaction() as tx:
        from storage.canned_replies import CannedReplyRepository

        reply = next(r for r in await CannedReplyRepository(tx.session).all() if r.category == "traffic")
    assert reply.updated_by == "user:olga"
    edited = await operator.post("/panel/canned", {"id": str(reply.id), "text": "به پلیس راهور خبر دادیم."})
    assert edited.status == 303
    assert "به پلیس راهور خبر دادیم." in await (await operator.get("/panel/canned")).text()
    assert (await operator.post(f"/panel/canned/{reply.id}/delete", {})).status == 303
    assert "به پلیس راهور" not in await (await operator.get("/panel/canned")).text()


async def test_merge_moves_reporters_to_the_survivor(site: Site, clients: Any) -> None:
    first = await site.say("tg:1", RUBBISH)
    second = await site.say("tg:2", POTHOLE)
    operator = await clients("olga")
    unknown = await operator.post(f"/panel/tickets/{second}/merge", {"into": "1234567890"})
    assert unknown.status == 400
    itself = await operator.post(f"/panel/tickets/{second}/merge", {"into": second})
    assert itself.status == 400
    merged = await operator.post(f"/panel/tickets/{second}/merge", {"into": persian_digits(first)})
    assert merged.status == 303
    assert (await site.ticket(second)).status == "duplicate"
    async with site.sada.store.transaction() as tx:
        survivor = await tx.tickets.by_code(first)
        assert survivor is not None
        assert {i.address for i in await tx.tickets.reporters(survivor.id)} == {"tg:1", "tg:2"}
    page = await (await operator.get(f"/panel/tickets/{second}")).text()
    assert "ادغام شده است" in page
    await site.sada.dispatcher.drain()
    assert persian_digits(first) in site.chat.texts("tg:2")[-1]


async def test_notes_are_internal(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", RUBBISH)
    sent = len(site.chat.sent)
    wasim = await clients("wasim")
    assert (await wasim.post(f"/panel/tickets/{code}/note", {"note": "با پیمانکار هماهنگ شد"})).status == 303
    notes = [e for e in await _events(site, code) if e.kind is EventKind.NOTE]
    assert [(n.actor, n.data["note"]) for n in notes] == [("user:wasim", "با پیمانکار هماهنگ شد")]
    await site.sada.dispatcher.drain()
    assert len(site.chat.sent) == sent
    assert "با پیمانکار هماهنگ شد" in await (await wasim.get(f"/panel/tickets/{code}")).text()


async def test_ticket_list_filters_search_and_pages(site: Site, clients: Any) -> None:
    rubbish = await site.say("tg:1", RUBBISH)
    site.clock.advance(timedelta(days=3))
    pothole = await site.say("+989121234567", POTHOLE, channel=site.sms)
    operator = await clients("olga")

    async def codes(query: str) -> set[str]:
        response = await operator.get(f"/panel/tickets?{query}")
        assert response.status == 200, query
        text = await response.text()
        return {c for c in (rubbish, pothole) if f'/panel/tickets/{c}"' in text}

    assert await codes("") == {rubbish, pothole}
    assert await codes("category=road_damage") == {pothole}
    assert await codes("department=waste") == {rubbish}
    assert await codes("channel=sms") == {pothole}
    assert await codes("status=referred") == {rubbish, pothole}
    assert await codes("status=resolved") == set()
    assert await codes(f"q={persian_digits(rubbish)}") == {rubbish}  # tracking code in Persian digits
    assert await codes("q=۰۹۱۲ ۱۲۳ ۴۵۶۷") == {pothole}  # phone in another written form
    assert await codes("q=فردوسی") == {pothole}
    assert await codes("q=زباله") == {rubbish}
    assert await codes("from=۱۴۰۵/۰۹/۰۴") == {pothole}  # START is 1405/09/01
    assert await codes("to=1405-09-01") == {rubbish}
    assert await codes("overdue=1") == {rubbish}  # waste: 1 working day, 3 days ago
    bad = await operator.get("/panel/tickets?from=yesterday")
    assert bad.status == 400 and "۱۴۰۵/۰۹/۰۱" in await bad.text()
    # Staff see only their department, whatever the filter asks for.
    wasim = await clients("wasim")
    text = await (await wasim.get("/panel/tickets?department=civil_works")).text()
    assert pothole not in text


async def test_pagination(site: Site, clients: Any) -> None:
    async with site.sada.store.transaction() as tx:
        for i in range(27):
            await tx.tickets.create(
                NewTicket(
                    tracking_code=new_code(),
                    citizen_id=(await tx.citizens.identity_for("tg", f"tg:{i}", at=START)).citizen_id,
                    channel="tg",
                    text=f"درخواست شمارهٔ {i}",
                    normalized_text=f"درخواست شماره {i}",
                    category="general",
                    department="public_relations",
                    confidence=0.9,
                    model_version="test",
                    top_k=(("general", 0.9),),
                    needs_review=False,
                    priority=Priority.NORMAL,
                    status=TicketStatus.REFERRED,
                    district=None,
                    location_text=None,
                    latitude=None,
                    longitude=None,
                    created_at=START,
                    due_at=None,
                )
            )
    operator = await clients("olga")
    first = await (await operator.get("/panel/tickets")).text()
    assert first.count('class="code"') == 25 and "صفحهٔ ۱ از ۲" in first
    second = await (await operator.get("/panel/tickets?page=2")).text()
    assert second.count('class="code"') == 2 and 'rel="prev"' in second


async def test_ticket_page_shows_location_map_link_and_conversation(site: Site, clients: Any) -> None:
    from bot.models import GeoPoint

    message = site.chat.inbound("tg:5", POTHOLE)
    from dataclasses import replace

    result = await site.sada.inbound(replace(message, location=GeoPoint(35.7, 51.4)))
    await site.sada.dispatcher.drain()
    operator = await clients("olga")
    page = await (await operator.get(f"/panel/tickets/{result.ticket_code}")).text()
    assert "openstreetmap.org/?mlat=35.7&amp;mlon=51.4" in page
    assert page.index("خیابان فردوسی") < page.index("درخواست شما ثبت شد")  # citizen first, then our reply
    assert "keywords-1" in page  # model version
