"""Assignment: the lifecycle's `assign`, the assign/claim/release forms per role, the history, and the
reporters' names on the ticket page; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.models import EventKind, TicketStatus
from storage.users import User
from tests.conftest import START
from tests.panel.conftest import POTHOLE, RUBBISH, Site, password_hash


async def _user(site: Site, username: str) -> User:
    async with site.sada.store.transaction() as tx:
        user = await tx.users.by_username(username)
    assert user is not None
    return user


async def _assigned(site: Site, code: str) -> list[dict[str, Any]]:
    ticket = await site.ticket(code)
    async with site.sada.store.transaction() as tx:
        events = await tx.tickets.events(ticket.id)
    return [{"actor": e.actor, **e.data} for e in events if e.kind is EventKind.ASSIGNED]


async def test_assign_reassign_unassign_in_the_lifecycle(site: Site) -> None:
    code = await site.say("tg:1", RUBBISH)  # waste
    async with site.sada.store.transaction() as tx:
        await tx.users.add("wendy", "وندی", "staff", "waste", password_hash(), START)
        await tx.users.add("gone", "رفته", "staff", "waste", password_hash(), START)
        await tx.users.set_active("gone", False)
    wasim, wendy, cyrus, gone = [await _user(site, n) for n in ("wasim", "wendy", "cyrus", "gone")]
    lifecycle = site.sada.lifecycle
    ticket = await site.ticket(code)
    async with site.sada.store.transaction() as tx:
        ticket = await lifecycle.assign(tx, ticket, wasim, actor="user:olga")
        assert ticket.assignee_id == wasim.id
        same = await lifecycle.assign(tx, ticket, wasim, actor="user:olga")  # no change, no event
        assert same.assignee_id == wasim.id
        ticket = await lifecycle.assign(tx, ticket, wendy, actor="user:mina")
        for outsider in (cyrus, gone):  # another department; disabled
            with pytest.raises(ValueError):
                await lifecycle.assign(tx, ticket, outsider, actor="user:olga")
        ticket = await lifecycle.assign(tx, ticket, None, actor="user:olga")
        assert ticket.assignee_id is None
    assert (await site.ticket(code)).assignee_id is None
    assert await _assigned(site, code) == [
        {"actor": "user:olga", "from": None, "from_name": None, "to": "wasim", "to_name": "Wasim"},
        {"actor": "user:mina", "from": "wasim", "from_name": "Wasim", "to": "wendy", "to_name": "وندی"},
        {"actor": "user:olga", "from": "wendy", "from_name": "وندی", "to": None, "to_name": None},
    ]
    await site.sada.dispatcher.drain()
    assert len(site.chat.texts("tg:1")) == 1  # the citizen hears nothing of who works on it


async def test_operator_and_manager_assign_in_the_department_only(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", RUBBISH)  # waste
    wasim, cyrus = await _user(site, "wasim"), await _user(site, "cyrus")
    operator, manager = await clients("olga"), await clients("mina")
    page = await (await operator.get(f"/panel/tickets/{code}")).text()
    select = re.search(r'<select name="assignee" id="assignee-select">(.*?)</select>', page, re.S)
    assert select is not None
    offered = re.findall(r'<option value="(\d*)"', select.group(1))
    assert offered == ["", str(wasim.id)]  # nobody, or people of the ticket's department
    assert cyrus.id != wasim.id
    refused = await operator.post(f"/panel/tickets/{code}/assign", {"assignee": str(cyrus.id)})
    assert refused.status == 400 and "واحد مسئول" in await refused.text()
    assert (await operator.post(f"/panel/tickets/{code}/assign", {"assignee": "999999"})).status == 400
    assert (await site.ticket(code)).assignee_id is None
    done = await manager.post(f"/panel/tickets/{code}/assign", {"assignee": str(wasim.id)})
    assert done.status == 303 and done.headers["Location"].endswith("?done=assigned")
    assert (await site.ticket(code)).assignee_id == wasim.id
    page = await (await operator.get(f"/panel/tickets/{code}?done=assigned")).text()
    assert "به کارشناس واگذار شد" in page and 'id="assignee">Wasim' in page
    assert "واگذاری به «Wasim»" in page  # the history, by the person's name
    unassigned = await operator.post(f"/panel/tickets/{code}/assign", {"assignee": ""})
    assert unassigned.status == 303 and (await site.ticket(code)).assignee_id is None
    assert "برداشتن واگذاری (پیش‌تر: «Wasim»)" in await (await operator.get(f"/panel/tickets/{code}")).text()


async def test_staff_claim_and_release_their_own_departments_tickets(site: Site, clients: Any) -> None:
    own, other = await site.say("tg:1", RUBBISH), await site.say("tg:2", POTHOLE)
    wasim, cyrus, olga = await clients("wasim"), await clients("cyrus"), await clients("olga")
    page = await (await wasim.get(f"/panel/tickets/{own}")).text()
    assert 'id="claim"' in page and 'id="assignee-select"' not in page  # staff do not assign others
    assert (await wasim.post(f"/panel/tickets/{own}/assign", {"assignee": ""})).status == 403
    assert (await cyrus.post(f"/panel/tickets/{own}/claim", {})).status == 404  # not even visible
    assert (await olga.post(f"/panel/tickets/{own}/claim", {})).status == 403  # no department
    assert (await wasim.post(f"/panel/tickets/{other}/claim", {})).status == 404
    assert (await wasim.post(f"/panel/tickets/{own}/release", {})).status == 409  # not theirs
    claimed = await wasim.post(f"/panel/tickets/{own}/claim", {})
    assert claimed.status == 303 and claimed.headers["Location"].endswith("?done=claimed")
    me = await _user(site, "wasim")
    assert (await site.ticket(own)).assignee_id == me.id
    page = await (await wasim.get(f"/panel/tickets/{own}")).text()
    assert 'id="release"' in page and 'id="claim"' not in page and "کار من" in page
    assert "درخواست را برای خود برداشت" in page
    assert (await wasim.post(f"/panel/tickets/{own}/release", {})).status == 303
    assert (await site.ticket(own)).assignee_id is None
    assert [e["to"] for e in await _assigned(site, own)] == ["wasim", None]
    # Admins see no tickets; managers have no claim (no department).
    adam, mina = await clients("adam"), await clients("mina")
    assert (await adam.post(f"/panel/tickets/{own}/claim", {})).status == 404
    assert (await mina.post(f"/panel/tickets/{own}/claim", {})).status == 403
    assert (await site.ticket(own)).assignee_id is None


async def test_reporters_show_the_name_they_sent_and_a_new_name_replaces_it(site: Site, clients: Any) -> None:
    result = await site.sada.inbound(replace(site.chat.inbound("1001", RUBBISH), display_name="مریم"))
    await site.sada.dispatcher.drain()
    code = str(result.ticket_code)
    operator = await clients("olga")
    page = await (await operator.get(f"/panel/tickets/{code}")).text()
    assert "مریم" in page and "1001" in page
    again = site.chat.inbound("1001", "سلام، پیگیری می‌کنم")
    await site.sada.inbound(replace(again, display_name="مریم رضایی"))
    await site.sada.dispatcher.drain()
    page = await (await operator.get(f"/panel/tickets/{code}")).text()
    assert '<bdi dir="auto">مریم رضایی</bdi>' in page
    ticket = await site.ticket(code)
    async with site.sada.store.transaction() as tx:
        assert await tx.citizens.display_names([ticket.citizen_id]) == {ticket.citizen_id: "مریم رضایی"}
        assert await tx.citizens.display_names([]) == {}


async def test_workload_per_person_in_the_reports_and_their_csv(site: Site, clients: Any) -> None:
    async with site.sada.store.transaction() as tx:
        await tx.users.add("wendy", "وندی", "staff", "waste", password_hash(), START)
    wasim, wendy = await _user(site, "wasim"), await _user(site, "wendy")
    lifecycle = site.sada.lifecycle
    done = await site.ticket(await site.say("tg:1", RUBBISH))
    async with site.sada.store.transaction() as tx:
        done = await lifecycle.assign(tx, done, wasim, actor="user:olga")
        await lifecycle.change_status(tx, done, TicketStatus.RESOLVED, actor="user:wasim", note="جمع شد")
    todo = await site.ticket(await site.say("tg:2", RUBBISH))  # the first is resolved: a new ticket
    assert todo.id != done.id
    async with site.sada.store.transaction() as tx:
        await lifecycle.assign(tx, todo, wendy, actor="user:mina")
    await site.say("tg:3", POTHOLE)  # civil works, nobody's
    site.clock.advance(timedelta(days=20))  # both open tickets are past due; still in the last 30 days

    def table(page: str) -> dict[str, list[str]]:
        body = page.split('id="workload"')[1].split("</table>")[0]
        rows = re.findall(
            r'<th scope="row">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>', body
        )
        return {name: [opened, late, resolved] for name, _, opened, late, resolved in rows}

    manager = await clients("mina")
    rows = table(await (await manager.get("/panel/reports")).text())
    assert rows == {
        "وندی": ["۱", "۱", "۰"],
        "Wasim": ["۰", "۰", "۱"],  # resolved in the period, nothing open
        "Cyrus": ["۰", "۰", "۰"],  # idle people of every department show too
        "واگذارنشده": ["۱", "۱", "۰"],
    }
    csv = await manager.get("/panel/reports/workload.csv")
    assert csv.status == 200 and csv.content_type == "text/csv"
    lines = (await csv.read()).decode("utf-8-sig").splitlines()
    assert lines[0] == "کارشناس,نام کاربری,واحد,باز,گذشته از مهلت,رفع‌شده در بازه"
    waste = site.sada.config.taxonomy.departments["waste"]
    assert f"وندی,wendy,{waste},1,1,0" in lines and f"Wasim,wasim,{waste},0,0,1" in lines
    assert not set("".join(lines)) & set("۰۱۲۳۴۵۶۷۸۹")  # ASCII digits in a CSV
    staff = table(await (await (await clients("cyrus")).get("/panel/reports")).text())
    assert staff == {"Cyrus": ["۰", "۰", "۰"], "واگذارنشده": ["۱", "۱", "۰"]}  # their department only
