"""Regression tests for the security review of the web form (docs/audit.md, session 9), over HTTP
through the real aiohttp app: status-page guessing cannot shut the form, one phone number cannot be
flooded with codes, crafted photos pay before they are parsed, a form sent twice at once ends on one
receipt, a failure after the ticket exists still shows its code, and IPv6 clients count by /64."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.web.webform import form_page, status_page
from bot.web.webform.confirmations import Confirmations
from storage.store import Transaction
from tests.webform.conftest import PHONE, POTHOLE, RUBBISH, SMS_CODE, Citizen, FormFactory, FormSite
from tests.webform.photo_samples import GPS, comment_flood_jpeg, jpeg_with_hidden_gps, jpeg_with_metadata

Citizens = Callable[..., Citizen]
TRUST = {"trust_forwarded_for": True}
_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
SAME_FORM = 12  # posts of one form at once (the review saw 500s with 8)
NO_CODE_NOW = "فعلاً نمی‌توانیم به این شماره کد تأیید بفرستیم"


# --- 1. Unknown status codes have a city-wide budget of their own.


async def test_guessing_codes_shuts_the_status_page_at_worst_never_the_form(
    make_form: FormFactory, citizens: Citizens
) -> None:
    site = await make_form(global_minute=3, global_status_misses_minute=3, panel=TRUST)
    for i in range(3):
        assert (await citizens(site, f"10.1.0.{i}").get("/r/status?code=1000000001")).status == 404
    assert (await citizens(site, "10.1.0.9").get("/r/status?code=1000000001")).status == 429
    for i in range(3):  # the form's own city-wide budget is untouched by the misses
        assert (await citizens(site, f"10.2.0.{i}").send(f"{RUBBISH} {i}")).status == 303
    assert (await citizens(site, "10.2.0.9").send(POTHOLE)).status == 429
    site.clock.advance(timedelta(seconds=61))  # and requests do not spend the status page's budget
    [ticket, *_] = await site.tickets()
    assert (await citizens(site, "10.1.0.9").get(f"/r/status?code={ticket.tracking_code}")).status == 200


# --- 2. SMS bombing: codes per phone number, over all requests; resends cost the address.


async def test_one_number_gets_at_most_its_codes_whoever_sends_the_forms(
    make_form: FormFactory, citizens: Citizens
) -> None:
    site = await make_form(phone_codes_hour=3, phone_codes_day=4, panel=TRUST)
    senders = [citizens(site, f"10.3.0.{i}") for i in range(6)]
    responses = await asyncio.gather(
        *(c.send(f"{RUBBISH} شماره {i}", phone="09121234567") for i, c in enumerate(senders))
    )
    assert [r.status for r in responses] == [303] * 6  # every request is still filed
    assert len({r.headers["Location"] for r in responses}) == 6  # (near-duplicates join one ticket)
    await site.deliver()
    assert len([t for t in site.texts_to(PHONE) if SMS_CODE.fullmatch(t)]) == 3
    receipts = [(c, r.headers["Location"]) for c, r in zip(senders, responses, strict=True)]
    pages = [await (await c.get(receipt)).text() for c, receipt in receipts]
    refused = [p for p in pages if NO_CODE_NOW in p]
    assert len(refused) == 3
    for page in refused:  # nothing about the other requests: no count, no code, no time
        assert 'name="code"' not in page and "۳" not in page.split(NO_CODE_NOW)[1].split("</p>")[0]
    # An hour later the number may get a code again: the refused receipt asks for one (and the day's
    # limit, 4, stops the next).
    site.clock.advance(timedelta(minutes=61))
    waiting = [sent for sent, page in zip(receipts, pages, strict=True) if page in refused]
    (first, first_receipt), (second, second_receipt) = waiting[:2]
    resent = await first.post(f"{first_receipt}/resend", {"csrf": await first.csrf_on(first_receipt)})
    assert resent.status == 303
    again = await second.post(f"{second_receipt}/resend", {"csrf": await second.csrf_on(second_receipt)})
    assert again.status == 429 and NO_CODE_NOW in await again.text()
    await site.deliver()
    assert len([t for t in site.texts_to(PHONE) if SMS_CODE.fullmatch(t)]) == 4


async def test_resending_codes_spends_the_addresss_budget(make_form: FormFactory, citizens: Citizens) -> None:
    site = await make_form(per_address_minute=3, resend_seconds=0, code_sends=10)
    citizen = citizens(site)
    receipt, _page = await citizen.receipt(await citizen.send(RUBBISH, phone="09121234567"))
    csrf = await citizen.csrf_on(receipt)
    for _ in range(2):
        assert (await citizen.post(f"{receipt}/resend", {"csrf": csrf})).status == 303
    refused = await citizen.post(f"{receipt}/resend", {"csrf": csrf})
    assert refused.status == 429 and refused.headers["Retry-After"] == "60"
    assert (await citizen.send(POTHOLE)).status == 429  # the same budget as requests
    await site.deliver()
    assert len(site.texts_to(PHONE)) == 3


# --- 3. A photo is paid for before it is parsed.


async def test_crafted_photos_spend_the_budget_before_they_are_parsed(
    make_form: FormFactory, citizens: Citizens
) -> None:
    site = await make_form(per_address_minute=3, global_minute=100)
    citizen = citizens(site)
    crafted = comment_flood_jpeg(1024 * 1024)
    for _ in range(3):
        response = await citizen.send("کوتاه", photo=crafted)
        assert response.status == 400 and "JPEG، PNG یا WebP نیست" in await response.text()
    assert (await citizen.send(RUBBISH, photo=crafted)).status == 429
    assert (await citizen.send(RUBBISH)).status == 429  # the address's budget is spent
    assert await site.tickets() == []


async def test_a_form_without_a_photo_shown_again_costs_nothing(
    make_form: FormFactory, citizens: Citizens
) -> None:
    site = await make_form(per_address_minute=2)
    citizen = citizens(site)
    for _ in range(3):
        assert (await citizen.send("کوتاه")).status == 400
    assert (await citizen.send(RUBBISH, photo=jpeg_with_metadata())).status == 303  # one attempt, once


async def test_a_photo_with_hidden_metadata_is_stored_without_it(
    form_site: FormSite, citizens: Citizens
) -> None:
    citizen = citizens(form_site)
    await citizen.receipt(await citizen.send(RUBBISH, photo=jpeg_with_hidden_gps()))
    [ticket] = await form_site.tickets()
    [(_info, data)] = await form_site.media(ticket)
    assert data.startswith(b"\xff\xd8") and GPS not in data and b"JFXX" not in data


# --- 4. The same form sent again at the same moment; a failure after the ticket exists.


@pytest.mark.parametrize("photo", [None, jpeg_with_metadata()], ids=["phone", "phone-and-photo"])
async def test_the_same_form_sent_at_once_ends_on_one_receipt(
    make_form: FormFactory, citizens: Citizens, photo: bytes | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue_code = Confirmations._queue_code

    async def slow_queue(self: Confirmations, tx: Transaction, phone: str) -> str:
        await asyncio.sleep(0.3)  # a slow store: the first post's transaction is still open
        return await queue_code(self, tx, phone)

    monkeypatch.setattr(Confirmations, "_queue_code", slow_queue)
    form_site = await make_form(per_address_minute=SAME_FORM)
    citizen = citizens(form_site)
    hidden = await citizen.open_form()
    fields = {**hidden, "text": RUBBISH, "phone": "09121234567"}
    responses = await asyncio.gather(*(citizen.post("/r/", fields, photo) for _ in range(SAME_FORM)))
    statuses = [r.status for r in responses]
    assert statuses == [303] * SAME_FORM, [(r.status, await r.text()) for r in responses if r.status != 303]
    assert len({r.headers["Location"] for r in responses}) == 1
    [ticket] = await form_site.tickets()
    assert len(await form_site.media(ticket)) == (photo is not None)
    _location, page = await citizen.receipt(responses[0])
    assert 'name="code"' in page
    await form_site.deliver()
    assert len(form_site.texts_to(PHONE)) == 1


async def test_a_failure_after_the_ticket_exists_shows_its_code_in_persian(
    form_site: FormSite, citizens: Citizens, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def full_disk(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device: 09121234567")

    monkeypatch.setattr(form_page.WebPhotoRepository, "attach", full_disk)
    caplog.set_level(logging.INFO)
    citizen = citizens(form_site)
    hidden = await citizen.open_form()
    fields = {**hidden, "text": RUBBISH, "phone": "09121234567"}
    failed = await citizen.post("/r/", fields, jpeg_with_metadata())
    assert failed.status == 500
    page = await failed.text()
    [ticket] = await form_site.tickets()
    code = ticket.tracking_code.translate(_TO_PERSIAN)
    assert f'aria-label="{code}"' in page and "عکس و شمارهٔ همراه شما" in page and '<html lang="fa"' in page
    assert await form_site.media(ticket) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "OSError" in logged and ticket.tracking_code in logged
    assert "4567" not in logged and "زباله" not in logged and hidden["token"] not in logged
    # Sent again (Back, then send), the missing part is stored and the receipt shown.
    monkeypatch.undo()
    again = await citizen.post("/r/", fields, jpeg_with_metadata())
    _location, receipt = await citizen.receipt(again)
    assert 'name="code"' in receipt and len(await form_site.media(ticket)) == 1
    assert len(await form_site.tickets()) == 1


async def test_an_unexpected_error_is_a_persian_page(
    form_site: FormSite, citizens: Citizens, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_code: str) -> bool:
        raise RuntimeError("checksum table missing")

    monkeypatch.setattr(status_page, "is_valid", broken)
    response = await citizens(form_site).get("/r/status?code=1234567890")
    assert response.status == 500
    page = await response.text()
    assert "خطایی در سامانه رخ داد" in page and "Server got itself in trouble" not in page


# --- 6. An IPv6 client is its /64.


async def test_an_ipv6_client_counts_as_its_slash_64(make_form: FormFactory, citizens: Citizens) -> None:
    site = await make_form(per_address_minute=2, status_misses_per_address=2, panel=TRUST)
    for i in range(2):
        assert (await citizens(site, f"2001:db8:5:6::{i + 1}").send(f"{RUBBISH} {i}")).status == 303
    assert (await citizens(site, "2001:db8:5:6:ffff:1:2:3").send(POTHOLE)).status == 429
    assert (await citizens(site, "2001:db8:5:7::1").send(POTHOLE)).status == 303  # another /64
    for i in range(2):
        assert (await citizens(site, f"2001:db8:9:9::{i + 1}").get("/r/status?code=1000000001")).status == 404
    assert (await citizens(site, "2001:db8:9:9:aaaa::1").get("/r/status?code=1000000001")).status == 429


async def test_an_ipv4_client_is_still_its_own_address(make_form: FormFactory, citizens: Citizens) -> None:
    site = await make_form(per_address_minute=1, panel=TRUST)
    assert (await citizens(site, "10.9.0.1").send(RUBBISH)).status == 303
    assert (await citizens(site, "10.9.0.2").send(POTHOLE)).status == 303
