"""Free replies over real HTTP: the panel's reply form reaches a Telegram citizen (through the fake Bot
API) and an SMS citizen (through the fake Kavenegar) on the channel each one used, one line in the
SMS, within the provider's part limit, with no status change; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.models import EventKind
from bot.web.panel.ticket_page import QUICK_REPLIES
from channels.segments import sms_parts
from nlp.letters import persian_digits
from tests.channels import updates as u
from tests.channels.conftest import (  # noqa: F401 - make_service is a fixture
    HOOK_SECRET,
    RUBBISH,
    Service,
    ServiceFactory,
    make_service,
)
from tests.conftest import START
from tests.panel.conftest import PASSWORD, password_hash

HEADER = {"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}
PHONE = "09351110002"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ASK = "سلام، لطفاً نشانی دقیق را بفرستید.\nپلاک و نام کوچه کافی است."


@pytest.fixture
def start(make_service: ServiceFactory) -> ServiceFactory:  # noqa: F811
    """The service with a Telegram bot and a Kavenegar SMS account on the fake providers."""
    return make_service


async def _two_citizens(svc: Service) -> str:
    """A Telegram citizen and an SMS citizen report the same rubbish: one ticket, two reporters."""
    await svc.client.post(f"/hooks/telegram/{HOOK_SECRET}", json=u.text(1, 10, RUBBISH), headers=HEADER)
    sms = {"from": PHONE, "to": "10004346", "message": RUBBISH, "messageid": "k-1"}
    assert (await svc.client.post(f"/hooks/sms/{HOOK_SECRET}", data=sms)).status == 200
    await svc.drain()
    async with svc.store.transaction() as tx:
        [ticket] = await tx.tickets.recent()
        assert len(await tx.tickets.reporters(ticket.id)) == 2
        for username, role, department in (("olga", "operator", None), ("mina", "manager", None)):
            await tx.users.add(username, username.title(), role, department, password_hash(), START)
        await tx.users.add("wasim", "Wasim", "staff", ticket.department, password_hash(), START)
    return ticket.tracking_code


async def _login(client: TestClient[Any, Any], username: str) -> str:
    """Log `client` in; returns the session's CSRF token."""
    client.session.cookie_jar.clear()
    token = CSRF.search(await (await client.get("/panel/login")).text())
    assert token
    form = {"csrf": token.group(1), "username": username, "password": PASSWORD, "next": "/panel/"}
    assert (await client.post("/panel/login", data=form, allow_redirects=False)).status == 303
    token = CSRF.search(await (await client.get("/panel/tickets")).text())
    assert token
    return token.group(1)


def _sms_to(svc: Service) -> list[str]:
    return [text for provider, to, text in svc.sms.texts() if provider == "kavenegar" and to == PHONE]


async def test_a_free_reply_reaches_the_telegram_and_the_sms_citizen(start: ServiceFactory) -> None:
    svc = await start(only=("telegram", "sms"))
    code = await _two_citizens(svc)
    before = (await svc.ticket(code)).status
    csrf = await _login(svc.client, "olga")
    page = await (await svc.client.get(f"/panel/tickets/{code}")).text()
    assert 'id="reply-text"' in page and "/panel/static/sms-count.js" in page
    assert f'data-sms-prefix="درخواست {persian_digits(code)}: "' in page and 'data-sms-max="4"' in page
    assert "مریم احمدی" in page  # the Telegram name we received, not only the chat id
    chats, sms_before = len(svc.bot_api.sent("42")), len(_sms_to(svc))
    response = await svc.client.post(
        f"/panel/tickets/{code}/reply", data={"csrf": csrf, "text": ASK}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"].endswith("?done=replied")
    await svc.drain()
    [chat] = svc.bot_api.sent("42")[chats:]
    assert chat["text"] == f"دربارهٔ درخواست {persian_digits(code)}:\n{ASK}"
    [sms] = _sms_to(svc)[sms_before:]
    assert sms == f"درخواست {persian_digits(code)}: {ASK.replace(chr(10), ' ')}"  # one line
    assert "\n" not in sms and sms_parts(sms) == 2
    ticket = await svc.ticket(code)
    assert ticket.status == before  # no status change
    async with svc.store.transaction() as tx:
        [event] = [e for e in await tx.tickets.events(ticket.id) if e.kind is EventKind.REPLIED]
    assert event.actor == "user:olga" and event.data["text"] == ASK and event.data["sent"] == 2
    page = await (await svc.client.get(f"/panel/tickets/{code}?done=replied")).text()
    assert "پاسخ به شهروند (بدون تغییر وضعیت):" in page and "وضعیت درخواست تغییری نکرد" in page


async def test_a_reply_longer_than_the_providers_limit_is_refused_and_counted(
    start: ServiceFactory,
) -> None:
    svc = await start(only=("telegram", "sms"), sms={"max_parts": 1})
    code = await _two_citizens(svc)
    csrf = await _login(svc.client, "olga")
    long_text = "لطفاً " + "نشانی " * 12  # with the code in front: 3 UCS-2 parts
    sent = len(svc.bot_api.calls)
    refused = await svc.client.post(f"/panel/tickets/{code}/reply", data={"csrf": csrf, "text": long_text})
    page = await refused.text()
    assert refused.status == 400 and "از ۱ بخش بیشتر" in page
    assert "پیامک: ۲ بخش از حداکثر ۱" in page  # the server's count, for a browser without JS
    assert long_text.strip() in page  # the typed text is kept
    await svc.drain()
    assert len(svc.bot_api.calls) == sent  # nothing went to anyone
    async with svc.store.transaction() as tx:
        ticket = await tx.tickets.by_code(code)
        assert ticket is not None
        assert not [e for e in await tx.tickets.events(ticket.id) if e.kind is EventKind.REPLIED]


async def test_canned_text_without_javascript_and_who_may_reply(start: ServiceFactory) -> None:
    svc = await start(only=("telegram", "sms"))
    code = await _two_citizens(svc)
    csrf = await _login(svc.client, "wasim")  # staff of the ticket's department may reply
    picked = await svc.client.post(
        f"/panel/tickets/{code}/reply", data={"csrf": csrf, "text": "", "canned": "q0", "use_canned": "1"}
    )
    page = await picked.text()
    assert picked.status == 200 and f">{QUICK_REPLIES[0]}</textarea>" in page
    assert re.search(r'id="reply-count"[^>]*>پیامک: ۲ بخش از حداکثر ۴', page)  # counted by the server
    bad = await svc.client.post(
        f"/panel/tickets/{code}/reply", data={"csrf": csrf, "canned": "nope", "use_canned": "1"}
    )
    assert bad.status == 400
    empty = await svc.client.post(f"/panel/tickets/{code}/reply", data={"csrf": csrf, "text": "  "})
    assert empty.status == 400 and "متن پاسخ خالی است" in await empty.text()
    ok = await svc.client.post(
        f"/panel/tickets/{code}/reply", data={"csrf": csrf, "text": QUICK_REPLIES[2]}, allow_redirects=False
    )
    assert ok.status == 303
    csrf = await _login(svc.client, "mina")  # managers read and assign, they do not write to citizens
    page = await (await svc.client.get(f"/panel/tickets/{code}")).text()
    assert 'id="reply-text"' not in page
    denied = await svc.client.post(f"/panel/tickets/{code}/reply", data={"csrf": csrf, "text": "سلام"})
    assert denied.status == 403
    await svc.drain()
    async with svc.store.transaction() as tx:
        ticket = await tx.tickets.by_code(code)
        assert ticket is not None
        replies = [e for e in await tx.tickets.events(ticket.id) if e.kind is EventKind.REPLIED]
    assert [(e.actor, e.data["text"]) for e in replies] == [("user:wasim", QUICK_REPLIES[2])]
