"""Logging in and out: passwords, throttling, sessions stored only as hashes, disabled accounts."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from nlp.letters import persian_digits
from storage.tables import LoginAttemptRow, WebSessionRow
from tests.panel.conftest import PASSWORD, RUBBISH, Client, Site, running_site

THROTTLED = "تلاش‌های ناموفق زیاد بود"
WRONG = "نام کاربری یا گذرواژه درست نیست"


async def test_login_opens_a_session_stored_as_a_hash_and_logout_ends_it(site: Site, clients: Any) -> None:
    client: Client = await clients()
    response = await client.login("olga")
    assert response.status == 303 and response.headers["Location"] == "/panel/"
    token = response.cookies["sada_session"].value
    async with site.sada.store.transaction() as tx:
        ids = list(await tx.session.scalars(select(WebSessionRow.id)))
    assert ids == [hashlib.sha256(token.encode()).hexdigest()]
    home = await client.get("/panel/")
    assert home.status == 303 and home.headers["Location"] == "/panel/triage"
    assert (await client.post("/panel/logout", {})).status == 303
    async with site.sada.store.transaction() as tx:
        assert list(await tx.session.scalars(select(WebSessionRow.id))) == []
    assert (await client.get("/panel/tickets")).status == 303  # back to the login page


async def test_wrong_password_and_unknown_user_get_the_same_answer(site: Site, clients: Any) -> None:
    client = await clients()
    wrong = await client.login("olga", "not-the-password")
    unknown = await client.login("nobody", PASSWORD)
    assert wrong.status == unknown.status == 401
    assert WRONG in await wrong.text() and WRONG in await unknown.text()
    assert "sada_session" not in wrong.cookies


async def test_five_wrong_passwords_throttle_even_the_right_one(site: Site, clients: Any) -> None:
    client = await clients()
    for _ in range(5):
        assert (await client.login("olga", "guess")).status == 401
    throttled = await client.login("olga", PASSWORD)
    assert throttled.status == 429
    assert THROTTLED in await throttled.text()
    assert "sada_session" not in throttled.cookies
    # Another account is not locked by Olga's guesses.
    assert (await (await clients()).login("mina")).status == 303
    # After the window passes, the right password works again.
    site.clock.advance(timedelta(minutes=16))
    assert (await client.login("olga", PASSWORD)).status == 303
    async with site.sada.store.transaction() as tx:
        rows = list(
            await tx.session.scalars(select(LoginAttemptRow).where(LoginAttemptRow.username == "olga"))
        )
    assert [r.success for r in rows] == [False] * 6 + [True]


async def test_a_success_resets_the_failure_count(site: Site, clients: Any) -> None:
    client = await clients()
    for _ in range(4):
        await client.login("olga", "guess")
    assert (await client.login("olga")).status == 303
    for _ in range(4):
        assert (await client.login("olga", "guess")).status == 401
    assert (await client.login("olga")).status == 303


async def test_login_form_without_its_token_is_refused(site: Site, clients: Any) -> None:
    client = await clients()
    await client.get("/panel/login")
    response = await client.http.post(
        site.url + "/panel/login",
        data={"username": "olga", "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 403
    assert "sada_session" not in response.cookies


async def test_disabled_user_loses_sessions_and_cannot_log_in(site: Site, clients: Any) -> None:
    wasim = await clients("wasim")
    admin = await clients("adam")
    assert (await admin.post("/panel/users/wasim", {"active": "0"})).status == 303
    assert (await wasim.get("/panel/tickets")).status == 303
    assert (await (await clients()).login("wasim")).status == 401
    assert (await admin.post("/panel/users/wasim", {"active": "1"})).status == 303
    assert (await (await clients()).login("wasim")).status == 303


async def test_admin_cannot_disable_itself(site: Site, clients: Any) -> None:
    admin = await clients("adam")
    response = await admin.post("/panel/users/adam", {"active": "0"})
    assert response.status == 400
    assert (await admin.get("/panel/users")).status == 200


async def test_expired_session_is_refused(site: Site, clients: Any) -> None:
    client = await clients("olga")
    site.clock.advance(timedelta(hours=12, seconds=1))
    response = await client.get("/panel/tickets")
    assert response.status == 303 and response.headers["Location"].startswith("/panel/login")


async def test_open_redirects_are_not_followed(site: Site, clients: Any) -> None:
    client = await clients()
    page = await client.http.get(site.url + "/panel/login")
    token = (await page.text()).split('name="csrf" value="')[1].split('"')[0]
    for target in ("https://evil.example/", "//evil.example/panel/", "/panel/\\evil"):
        response = await client.http.post(
            site.url + "/panel/login",
            data={"csrf": token, "username": "olga", "password": PASSWORD, "next": target},
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/panel/"


async def test_secure_cookies_when_configured(tmp_path: Path) -> None:
    async with running_site(
        f"sqlite+aiosqlite:///{tmp_path / 's.db'}", tmp_path, cookie_secure=True, session_hours=1
    ) as site:
        client = Client(site)
        try:
            page = await client.http.get(site.url + "/panel/login")
            assert "Secure" in page.headers["Set-Cookie"]
            token = (await page.text()).split('name="csrf" value="')[1].split('"')[0]
            # A browser keeps Secure cookies for HTTPS; here the test hands the cookie back itself.
            response = await client.http.post(
                site.url + "/panel/login",
                data={"csrf": token, "username": "olga", "password": PASSWORD},
                headers={"Cookie": f"sada_login_csrf={token}"},
                allow_redirects=False,
            )
            cookies = {h.split("=", 1)[0]: h for h in response.headers.getall("Set-Cookie")}
            assert response.status == 303
            assert "Secure" in cookies["sada_session"] and "Max-Age" not in cookies["sada_session"]
            assert "Secure" in cookies["sada_device"]
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        finally:
            await client.close()


ENDED = "نشست شما به پایان رسیده بود"


def _hidden(page: str) -> dict[str, str]:
    """The login form's hidden fields (HTML-unescaped)."""
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


async def test_a_note_posted_after_the_session_ended_comes_back_after_login(site: Site, clients: Any) -> None:
    """Issue 17: the typed note was lost, and the login led to the triage queue."""
    code = await site.say("tg:1", RUBBISH)
    before = await site.event_count(code)
    client = await clients("olga")
    site.clock.advance(timedelta(minutes=31))  # past the idle limit
    note = 'با پیمانکار تماس گرفتم؛\n«فردا» & <b>صبح</b> "می‌رود".'
    origin = {"Origin": site.url}
    posted = await client.http.post(
        f"{site.url}/panel/tickets/{code}/note",
        data={"csrf": client.csrf, "note": note},
        headers=origin,
        allow_redirects=False,
    )
    page = await posted.text()
    assert posted.status == 401 and ENDED in page
    fields = _hidden(page)
    assert fields["next"] == f"/panel/tickets/{code}"
    assert fields["draft_action"] == "note" and fields["draft_note"].replace("\r\n", "\n") == note
    assert "csrf" in fields and fields["csrf"] != client.csrf  # the login form's own token
    back = await client.http.post(
        f"{site.url}/panel/login",
        data={**fields, "username": "olga", "password": PASSWORD},
        allow_redirects=False,
    )
    shown = await back.text()
    assert back.status == 200 and "sada_session" in back.cookies
    assert persian_digits(code) in shown and "هنوز ثبت نشده" in shown
    box = re.search(r'<section class="card" id="note">.*?<textarea[^>]*>(.*?)</textarea>', shown, re.S)
    assert box and html.unescape(box.group(1)) == note  # in the note box, to be checked and sent
    assert await site.event_count(code) == before  # nothing was applied on the user's behalf


async def test_a_wrong_password_keeps_the_draft_and_the_way_back(site: Site, clients: Any) -> None:
    code = await site.say("tg:1", RUBBISH)
    client = await clients("olga")
    site.clock.advance(timedelta(minutes=31))
    posted = await client.http.post(
        f"{site.url}/panel/tickets/{code}/status",
        data={"csrf": client.csrf, "to": "rejected", "note": "خارج از محدوده"},
        headers={"Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    )
    fields = _hidden(await posted.text())
    wrong = await client.http.post(
        f"{site.url}/panel/login",
        data={**fields, "username": "olga", "password": "not-it"},
        allow_redirects=False,
    )
    again = _hidden(await wrong.text())
    assert wrong.status == 401 and again["next"] == f"/panel/tickets/{code}"
    kept = (again["draft_action"], again["draft_to"], again["draft_note"])
    assert kept == ("status", "rejected", "خارج از محدوده")


async def test_only_a_same_origin_post_keeps_a_draft(site: Site, clients: Any) -> None:
    """Another site cannot plant text in an operator's form by posting to an ended session."""
    code = await site.say("tg:1", RUBBISH)
    client = await clients("olga")
    site.clock.advance(timedelta(minutes=31))
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
        posted = await client.http.post(
            f"{site.url}/panel/tickets/{code}/note",
            data={"note": "planted"},
            headers=headers,
            allow_redirects=False,
        )
        assert posted.status == 303 and posted.headers["Location"].startswith("/panel/login?next=")
        assert "planted" not in await posted.text()


async def test_a_page_opened_after_the_session_ended_returns_there_after_login(
    site: Site, clients: Any
) -> None:
    code = await site.say("tg:1", RUBBISH)
    client = await clients("olga")
    site.clock.advance(timedelta(minutes=31))
    opened = await client.get(f"/panel/tickets/{code}")
    assert opened.status == 303
    login = await client.http.get(site.url + opened.headers["Location"])
    page = await login.text()
    assert ENDED in page and _hidden(page)["next"] == f"/panel/tickets/{code}"
    back = await client.http.post(
        f"{site.url}/panel/login",
        data={**_hidden(page), "username": "olga", "password": PASSWORD},
        allow_redirects=False,
    )
    assert back.status == 303 and back.headers["Location"] == f"/panel/tickets/{code}"


async def test_a_form_in_a_charset_python_does_not_know_is_400_not_500(site: Site, clients: Any) -> None:
    """The login form is public: a body declaring `charset=rot13` (no such codec) is the sender's
    fault, answered 400 like any malformed form, never a 500."""
    client: Client = await clients()
    await client.get("/panel/login")  # the login page sets the CSRF cookie
    response = await client.http.post(
        site.url + "/panel/login",
        data=b"username=olga&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=rot13"},
        allow_redirects=False,
    )
    assert response.status == 400
