"""Phone and walk-in intake: preview with the classifier's suggestion and the likely repeat, then
the one front door; the tracking code goes out by SMS, an override is a reclassification by the
operator, a chosen repeat is a merge, and a form submitted twice is one ticket."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.models import EventKind
from bot.web.panel.intake_page import IntakeForm, check, read_intake
from nlp.letters import persian_digits
from storage.panel_queries import PanelQueries, TicketFilter
from storage.tables import OutboxRow
from tests.panel.conftest import POTHOLE, RUBBISH, Client, Site, running_site

CALLER = "0912 345 6789"
CALLER_E164 = "+989123456789"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def _preview(client: Any, **fields: str) -> tuple[int, str]:
    response = await client.post("/panel/intake/preview", {"phone": CALLER, "channel": "phone", **fields})
    return response.status, await response.text()


async def _save(client: Any, html: str, **fields: str) -> Any:
    token = TOKEN.search(html)
    assert token, "the preview draws a token"
    data = {"phone": CALLER, "channel": "phone", "token": token.group(1), **fields}
    return await client.post("/panel/intake", data)


async def test_a_phone_intake_creates_a_ticket_and_sends_its_code_by_sms(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    form = await olga.get("/panel/intake")
    assert form.status == 200
    status, preview = await _preview(olga, text=POTHOLE, place="نرسیده به میدان فردوسی", district="12")
    assert status == 200
    # The suggestion is shown before saving, with the model's choice selected in the override list.
    assert "پیشنهاد سامانه" in preview and "معاونت فنی و عمرانی" in preview
    assert re.search(r'<option value="road_damage" selected>[^<]*\(پیشنهاد سامانه\)', preview)
    response = await _save(olga, preview, text=POTHOLE, place="نرسیده به میدان فردوسی", district="12")
    assert response.status == 303
    location = response.headers["Location"]
    code = re.search(r"code=(\d+)", location)
    assert code and location.startswith("/panel/intake/done?")
    ticket = await site.ticket(code.group(1))
    assert ticket.category == "road_damage" and ticket.district is not None
    assert ticket.channel == "phone"  # how it came in; the replies still go by SMS
    assert "نشانی: نرسیده به میدان فردوسی" in ticket.text
    done = await (await olga.get(location)).text()
    assert f'id="code">{persian_digits(ticket.tracking_code)}</bdi>' in done
    big = persian_digits(f"{ticket.tracking_code[:3]} {ticket.tracking_code[3:6]} {ticket.tracking_code[6:]}")
    assert big in re.sub(r"</?span[^>]*>", "", done)  # grouped to read out
    await site.sada.dispatcher.drain()
    sms = site.sms.texts(CALLER_E164)
    assert len(sms) == 1 and persian_digits(ticket.tracking_code) in sms[0]
    assert site.chat.sent == []
    async with site.sada.store.transaction() as tx:
        events = await tx.tickets.events(ticket.id)
    notes = [e for e in events if e.kind is EventKind.NOTE]
    assert [(e.actor, e.data["note"]) for e in notes] == [("user:olga", "ثبت تلفنی در پنل")]


async def test_the_same_preview_saved_twice_is_one_ticket_and_one_sms(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    _, preview = await _preview(olga, text=RUBBISH, channel="in_person")
    first = await _save(olga, preview, text=RUBBISH, channel="in_person")
    again = await _save(olga, preview, text=RUBBISH, channel="in_person")
    assert first.status == again.status == 303
    assert first.headers["Location"].split("&")[0] == again.headers["Location"].split("&")[0]
    await site.sada.dispatcher.drain()
    assert len(site.sms.texts(CALLER_E164)) == 1
    code = re.search(r"code=(\d+)", first.headers["Location"])
    assert code
    ticket = await site.ticket(code.group(1))
    async with site.sada.store.transaction() as tx:
        events = await tx.tickets.events(ticket.id)
    assert [e.data["note"] for e in events if e.kind is EventKind.NOTE] == ["ثبت حضوری در پنل"]


async def test_an_overridden_category_is_a_reclassification_by_the_operator(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    _, preview = await _preview(olga, text=POTHOLE)
    response = await _save(olga, preview, text=POTHOLE, category="street_lighting")
    assert response.status == 303 and "reclassified=1" in response.headers["Location"]
    code = re.search(r"code=(\d+)", response.headers["Location"])
    assert code
    ticket = await site.ticket(code.group(1))
    assert ticket.category == "street_lighting" and not ticket.needs_review
    async with site.sada.store.transaction() as tx:
        events = await tx.tickets.events(ticket.id)
    changed = [e for e in events if e.kind is EventKind.RECLASSIFIED]
    assert len(changed) == 1 and changed[0].actor == "user:olga"
    assert changed[0].data["from_category"] == "road_damage"


async def test_a_likely_repeat_is_offered_and_merged_when_chosen(site: Site, clients: Any) -> None:
    earlier = await site.say("tg:5", "چاله بزرگ وسط خیابان فردوسی ماشین ها را خراب می کند")
    olga = await clients("olga")
    _, preview = await _preview(olga, text="یک چاله در خیابان فردوسی هست")
    assert "درخواست باز مشابه" in preview and f'value="{earlier}"' in preview
    response = await _save(olga, preview, text="یک چاله در خیابان فردوسی هست", merge_into=earlier)
    assert response.status == 303, await response.text()
    location = response.headers["Location"]
    assert f"merged={earlier}" in location
    code = re.search(r"code=(\d+)", location)
    assert code and code.group(1) != earlier
    assert (await site.ticket(code.group(1))).status == "duplicate"
    survivor = await site.ticket(earlier)
    async with site.sada.store.transaction() as tx:
        reporters = await tx.tickets.reporters(survivor.id)
    assert CALLER_E164 in {r.address for r in reporters}


async def test_a_walk_in_without_a_number_gets_the_code_at_the_desk_and_no_message_is_stuck(
    site: Site, clients: Any
) -> None:
    """The number is optional: without one the ticket is made the same way, the page shows the
    code to read out and says no SMS goes, nothing is sent to any provider, and the reply the
    pipeline queued is settled (no outbox row waits for a channel that does not exist)."""
    olga = await clients("olga")
    status, preview = await _preview(olga, phone="", text=POTHOLE, channel="in_person")
    assert status == 200 and "ثبت (بدون پیامک)" in preview
    response = await _save(olga, preview, phone="", text=POTHOLE, channel="in_person")
    assert response.status == 303
    location = response.headers["Location"]
    code = re.search(r"code=(\d+)", location)
    assert code and "desk=1" in location
    ticket = await site.ticket(code.group(1))
    assert ticket.channel == "in_person" and ticket.category == "road_damage"
    done = await (await olga.get(location)).text()
    assert "شماره‌ای داده نشد" in done and "با پیامک به شمارهٔ شهروند فرستاده می‌شود" not in done
    await site.sada.dispatcher.drain()
    assert site.sms.sent == [] and site.chat.sent == []
    async with site.sada.store.read() as tx:
        pending = await tx.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(("pending", "sending")))
        )
    assert pending == 0
    health = await (await olga.get("/healthz")).json()
    assert "desk" not in health["channels"]


async def test_bad_input_is_shown_again_with_the_reason(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    status, html = await _preview(olga, phone="12345", text="")
    assert status == 400
    assert "شمارهٔ همراه ایران نیست" in html and "متن درخواست را بنویسید" in html
    # Saving without a preview's token is refused: the suggestion must have been seen.
    response = await olga.post("/panel/intake", {"phone": CALLER, "channel": "phone", "text": RUBBISH})
    assert response.status == 400 and "پیش از ثبت، پیش‌نمایش را ببینید" in await response.text()
    assert site.sms.sent == []


async def test_only_roles_with_intake_may_record(site: Site, clients: Any) -> None:
    wasim = await clients("wasim")
    assert (await wasim.get("/panel/intake")).status == 403
    assert (await wasim.post("/panel/intake/preview", {"phone": CALLER, "text": RUBBISH})).status == 403
    for username in ("olga", "mina", "adam"):
        client = await clients(username)
        assert (await client.get("/panel/intake")).status == 200, username


def test_reading_the_form_caps_and_checks_each_field() -> None:
    form = read_intake({"phone": "۰۹۱۲۳۴۵۶۷۸۹", "channel": "walk", "text": "x" * 5000, "district": "۲۳"})
    assert len(form.text) == 2000 and form.district == "23"
    mobile, errors = check(form, {"waste_collection": None})
    assert mobile == CALLER_E164
    assert errors == {"channel": "bad_channel", "district": "bad_district"}
    assert IntakeForm(text="چاله", place="کوچه ۵").message_text() == "چاله\nنشانی: کوچه ۵"


async def test_a_repeat_the_pipeline_joins_by_itself_is_said_so_and_left_alone(
    site: Site, clients: Any
) -> None:
    earlier = await site.say("tg:5", POTHOLE)
    before = await site.event_count(earlier)
    olga = await clients("olga")
    _, preview = await _preview(olga, text=POTHOLE)
    assert "سامانه خودش این تماس را به همان درخواست اضافه می‌کند" in preview
    response = await _save(olga, preview, text=POTHOLE, category="street_lighting")
    assert response.headers["Location"] == f"/panel/intake/done?code={earlier}&joined=1"
    survivor = await site.ticket(earlier)
    assert survivor.category == "road_damage"  # no override applied to someone else's ticket
    assert await site.event_count(earlier) == before + 2  # the message and the new reporter only
    done = await (await olga.get(response.headers["Location"])).text()
    assert "این درخواست پیش‌تر ثبت شده بود" in done
    await site.sada.dispatcher.drain()
    assert persian_digits(earlier) in site.sms.texts(CALLER_E164)[0]


async def test_intake_never_answers_on_a_channel_that_is_not_sms(tmp_path: Path) -> None:
    """`intake_sms_channel` naming a chat channel: the form says so and nothing is saved or sent."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    async with running_site(url, tmp_path, intake_sms_channel="tg") as site:
        olga = Client(site)
        try:
            assert (await olga.login("olga")).status == 303
            form = await (await olga.get("/panel/intake")).text()
            assert "هیچ کانال پیامکی" in form
            _, preview = await _preview(olga, text=RUBBISH)
            response = await _save(olga, preview, text=RUBBISH)
            assert response.status == 400 and "هیچ کانال پیامکی" in await response.text()
        finally:
            await olga.close()
        assert site.chat.sent == [] and site.sms.sent == []
        async with site.sada.store.read() as tx:
            listed = await PanelQueries(tx.session).tickets(TicketFilter(), scope=None, now=site.clock.now())
        assert listed.total == 0
