"""The session cookie lives as long as the browser; idle and absolute limits are the server's (item 17)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from storage.tables import WebSessionRow
from tests.panel.conftest import PASSWORD, Client, Site, running_site


def session_cookie(response: aiohttp.ClientResponse) -> str:
    """The Set-Cookie header that hands over the session."""
    headers = [h for h in response.headers.getall("Set-Cookie", []) if h.startswith("sada_session=")]
    assert len(headers) == 1, response.headers.getall("Set-Cookie", [])
    return headers[0]


def attributes(header: str) -> set[str]:
    """The attribute names of one Set-Cookie header, lower-cased."""
    return {part.split("=", 1)[0].strip().lower() for part in header.split(";")[1:]}


async def login_over_https(site: Site, client: Client) -> aiohttp.ClientResponse:
    """Log in when cookies are Secure: a browser would send them back over HTTPS; here the test does."""
    page = await client.http.get(site.url + "/panel/login")
    token = (await page.text()).split('name="csrf" value="')[1].split('"')[0]
    return await client.http.post(
        site.url + "/panel/login",
        data={"csrf": token, "username": "olga", "password": PASSWORD},
        headers={"Cookie": f"sada_login_csrf={token}"},
        allow_redirects=False,
    )


async def test_session_cookie_ends_with_the_browser(site: Site, clients: Any) -> None:
    response = await (await clients()).login("olga")
    assert response.status == 303
    cookie = session_cookie(response)
    assert "max-age" not in attributes(cookie) and "expires" not in attributes(cookie)
    assert {"httponly", "samesite", "path"} <= attributes(cookie) and "secure" not in attributes(cookie)
    assert "SameSite=Strict" in cookie and "Path=/panel" in cookie


async def test_secure_session_cookie_is_still_a_browser_session_cookie(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    async with running_site(url, tmp_path, cookie_secure=True) as site:
        client = Client(site)
        try:
            response = await login_over_https(site, client)
            assert response.status == 303
            cookie = session_cookie(response)
            assert {"secure", "httponly", "samesite"} <= attributes(cookie)
            assert "max-age" not in attributes(cookie) and "expires" not in attributes(cookie)
        finally:
            await client.close()


async def test_persistent_cookie_is_an_operators_choice(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    async with running_site(url, tmp_path, persistent_cookie=True, session_hours=2) as site:
        client = Client(site)
        try:
            cookie = session_cookie(await client.login("olga"))
            assert "Max-Age=7200" in cookie and "HttpOnly" in cookie
        finally:
            await client.close()


async def test_idle_session_is_refused_and_ended_by_the_server(site: Site, clients: Any) -> None:
    client = await clients("olga")
    # Working keeps the session alive past the idle limit (30 minutes by default)...
    for _ in range(4):
        site.clock.advance(timedelta(minutes=20))
        assert (await client.get("/panel/tickets")).status == 200
    # ...leaving it alone for longer than that ends it, whatever the browser still holds.
    site.clock.advance(timedelta(minutes=31))
    response = await client.get("/panel/tickets")
    assert response.status == 303 and response.headers["Location"].startswith("/panel/login")
    async with site.sada.store.read() as tx:
        assert list(await tx.session.scalars(select(WebSessionRow.id))) == []


async def test_idle_limit_is_configurable(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 's.db'}"
    async with running_site(url, tmp_path, idle_minutes=10) as site:
        client = Client(site)
        try:
            assert (await client.login("olga")).status == 303
            site.clock.advance(timedelta(minutes=9))
            assert (await client.get("/panel/tickets")).status == 200
            site.clock.advance(timedelta(minutes=11))
            assert (await client.get("/panel/tickets")).status == 303
        finally:
            await client.close()


async def test_busy_session_still_ends_at_its_absolute_lifetime(site: Site, clients: Any) -> None:
    client = await clients("olga")
    for _ in range(12 * 3 - 1):  # a request every 20 minutes for 11 h 40 min
        site.clock.advance(timedelta(minutes=20))
        assert (await client.get("/panel/tickets")).status == 200
    site.clock.advance(timedelta(minutes=20, seconds=1))
    response = await client.get("/panel/tickets")
    assert response.status == 303 and response.headers["Location"].startswith("/panel/login")
