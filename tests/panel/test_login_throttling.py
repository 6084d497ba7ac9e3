"""Login throttling that an attacker cannot turn against the office (issue 15, item 13).

Every request here goes through the real POST /panel/login. The `site` fixture does not trust
X-Forwarded-For, so every client shares one address (127.0.0.1): the office behind a proxy with
`trust_forwarded_for = false`. The `proxied` sites trust it, so clients are told apart by address.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import config_from_mapping
from bot.toml_reader import ConfigError
from storage.tables import LoginAttemptRow, LoginDeviceRow
from tests.panel.conftest import PASSWORD, Client, Site, running_site

SPRAYED = "Tehran1405!"  # one common password tried against many usernames


def close_browser(client: Client) -> None:
    """What closing the browser does to its cookies: those without Max-Age/Expires are gone."""
    client.http.cookie_jar.clear(lambda morsel: not morsel["max-age"] and not morsel["expires"])


async def log_out_and_close(client: Client) -> None:
    assert (await client.post("/panel/logout", {})).status == 303
    close_browser(client)


@asynccontextmanager
async def browsers(site: Site) -> AsyncIterator[Callable[[str], Client]]:
    """A maker of browsers, each with its own cookie jar, sending `X-Forwarded-For: <address>`."""
    async with AsyncExitStack() as stack:

        def browser_at(address: str) -> Client:
            client = Client(site)
            stack.push_async_callback(client.http.close)  # the session Client made, replaced below
            client.http = aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"X-Forwarded-For": address}
            )
            stack.push_async_callback(client.http.close)
            return client

        yield browser_at


@pytest.fixture
async def proxied(store_url: str, tmp_path: Path) -> AsyncIterator[tuple[Site, Callable[[str], Client]]]:
    """A panel behind a trusted proxy, and a maker of browsers each at its own client address."""
    async with running_site(store_url, tmp_path, trust_forwarded_for=True) as site, browsers(site) as make:
        yield site, make


async def test_spraying_from_the_shared_address_locks_out_no_colleague(site: Site, clients: Any) -> None:
    # Mina logged in on her browser yesterday; the browser has been closed since.
    mina = await clients("mina")
    await log_out_and_close(mina)
    site.clock.advance(timedelta(hours=20))
    # An attacker behind the same proxy sprays 50 usernames (spoofing X-Forwarded-For changes nothing).
    async with browsers(site) as browser_at:
        attacker = browser_at("10.9.8.7")
        for n in range(50):
            assert (await attacker.login(f"user{n}", SPRAYED)).status == 401
        # Mina still gets in on the first try, from the same address.
        assert (await mina.login("mina")).status == 303
        # The attacker is stopped: even a right password is refused unchecked on a browser never logged in.
        assert (await attacker.login("olga")).status == 429
        assert (await attacker.login("user51", SPRAYED)).status == 429
    stranger = await clients()
    assert (await stranger.login("cyrus")).status == 429
    # Once the window has passed without more guesses, new browsers get in again.
    site.clock.advance(timedelta(minutes=16))
    assert (await stranger.login("cyrus")).status == 303


async def test_an_account_locked_from_one_address_still_opens_from_another(proxied: Any) -> None:
    site, browser_at = proxied
    attacker = browser_at("203.0.113.9")
    for _ in range(5):
        assert (await attacker.login("olga", "guess")).status == 401
    assert (await attacker.login("olga")).status == 429  # locked for the attacker, right password or not
    # Olga, on a browser that never logged in, at another address: in.
    assert (await browser_at("198.51.100.7").login("olga")).status == 303
    # The attacker's other address-mates are not touched either.
    assert (await browser_at("203.0.113.9").login("mina")).status == 303


async def test_hammering_from_one_address_cannot_lock_the_account_for_everyone(proxied: Any) -> None:
    site, browser_at = proxied
    attacker = browser_at("203.0.113.9")
    statuses = [(await attacker.login("olga", f"guess{n}")).status for n in range(60)]
    assert statuses == [401] * 5 + [429] * 55  # five guesses, then refused without checking
    assert (await browser_at("198.51.100.7").login("olga")).status == 303


async def test_guesses_from_many_addresses_lock_new_browsers_but_not_the_owners(proxied: Any) -> None:
    site, browser_at = proxied
    olga = browser_at("198.51.100.7")
    assert (await olga.login("olga")).status == 303
    await log_out_and_close(olga)
    # 4 addresses × 5 guesses = 20: the account's limit for browsers that never logged in as olga.
    for n in range(4):
        attacker = browser_at(f"203.0.113.{n}")
        for _ in range(5):
            assert (await attacker.login("olga", "guess")).status == 401
    assert (await browser_at("203.0.113.50").login("olga")).status == 429
    assert (await browser_at("192.0.2.1").login("olga")).status == 429  # a new browser, even Olga's
    # Olga's own browser (its device cookie) is not locked by other people's guesses.
    assert (await olga.login("olga")).status == 303
    site.clock.advance(timedelta(minutes=16))
    assert (await browser_at("192.0.2.1").login("olga")).status == 303


async def test_a_trusted_browser_has_its_own_limit(proxied: Any) -> None:
    site, browser_at = proxied
    desk = browser_at("198.51.100.7")
    assert (await desk.login("olga")).status == 303
    await log_out_and_close(desk)
    for _ in range(5):
        assert (await desk.login("olga", "guess")).status == 401
    assert (await desk.login("olga")).status == 429
    # That browser's guesses lock neither Olga elsewhere nor her colleagues on the same computer.
    assert (await browser_at("198.51.100.8").login("olga")).status == 303
    assert (await desk.login("mina")).status == 303


async def test_device_cookie_is_only_for_the_login_form_and_can_be_turned_off(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    async with running_site(url, tmp_path, cookie_secure=False) as site:
        client = Client(site)
        try:
            response = await client.login("olga")
            device = _set_cookie(response, "sada_device")
            assert device is not None
            assert "HttpOnly" in device and "SameSite=Strict" in device and "Path=/panel/login" in device
            assert "Max-Age=7776000" in device  # 90 days: it lets no one in, it only marks a browser
            # The store keeps only its hash, as for sessions.
            value = response.cookies["sada_device"].value
            async with site.sada.store.read() as tx:
                ids = list(await tx.session.scalars(select(LoginDeviceRow.id)))
            assert ids == [hashlib.sha256(value.encode()).hexdigest()]
        finally:
            await client.close()
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    async with running_site(url, tmp_path, device_trust_days=0) as site:
        client = Client(site)
        try:
            response = await client.login("olga")
            assert response.status == 303 and _set_cookie(response, "sada_device") is None
        finally:
            await client.close()


def _set_cookie(response: aiohttp.ClientResponse, name: str) -> str | None:
    return next((h for h in response.headers.getall("Set-Cookie", []) if h.startswith(f"{name}=")), None)


async def test_password_is_checked_only_when_no_rule_refuses(site: Site, clients: Any) -> None:
    """Refused attempts are recorded as refused, so they are not counted as guesses."""
    client = await clients()
    for _ in range(6):
        await client.login("olga", "guess")
    assert (await client.login("olga", PASSWORD)).status == 429
    async with site.sada.store.read() as tx:
        rows = list(await tx.session.scalars(select(LoginAttemptRow).order_by(LoginAttemptRow.id)))
    assert [(r.success, r.throttled) for r in rows] == [(False, False)] * 5 + [(False, True)] * 2


async def test_a_burst_of_parallel_guesses_is_held_to_the_limit(site: Site, clients: Any) -> None:
    client = await clients()
    page = await client.http.get(site.url + "/panel/login")
    token = (await page.text()).split('name="csrf" value="')[1].split('"')[0]

    async def guess(n: int) -> int:
        form = {"csrf": token, "username": "olga", "password": f"guess{n}"}
        response = await client.http.post(site.url + "/panel/login", data=form, allow_redirects=False)
        return response.status

    statuses = await asyncio.gather(*(guess(n) for n in range(20)))
    assert sorted(statuses) == [401] * 5 + [429] * 15


def test_one_address_cannot_reach_the_account_limit_by_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"panel\.account_max_failures.*more than login_max_failures"):
        config_from_mapping(
            {"panel": {"login_max_failures": 5, "account_max_failures": 5}}, base_dir=tmp_path, env={}
        )


async def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(proxied: Any) -> None:
    """A proxy that appends (nginx's `$proxy_add_x_forwarded_for`) passes on what the client sent in
    front of the address it saw: the last entry is the one the proxy vouches for."""
    site, browser_at = proxied
    statuses = []
    for i in range(7):
        attacker = browser_at(f"10.9.9.{i}, 203.0.113.9")  # a new made-up address in front each time
        statuses.append((await attacker.login("olga", "guess")).status)
    assert statuses == [401] * 5 + [429] * 2
