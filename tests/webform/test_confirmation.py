"""A phone given on the web form hears nothing but its one-time code until the code is typed back;
then it is a reporter of the ticket like any SMS citizen. Codes run out, lock and are resent
within limits. The SMS go through the real Kavenegar channel to the fake provider."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.models import TicketStatus
from tests.webform.conftest import PHONE, RUBBISH, SMS_CODE, Citizen, FormSite, operator

Citizens = Callable[..., Citizen]
_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


async def _sent_with_phone(site: FormSite, citizen: Citizen, phone: str = "۰۹۱۲ ۱۲۳ ۴۵۶۷") -> str:
    """Send the form with a phone; returns the receipt's path once the code SMS is delivered."""
    location, page = await citizen.receipt(await citizen.send(RUBBISH, phone=phone))
    assert "۰۹۱۲***۴۵۶۷" in page and 'name="code"' in page
    await site.deliver()
    return location


async def _type(citizen: Citizen, receipt: str, code: str, csrf: str | None = None) -> tuple[int, str]:
    csrf = csrf or await citizen.csrf_on(receipt)
    response = await citizen.post(f"{receipt}/confirm", {"csrf": csrf, "code": code})
    if response.status == 303:  # confirmed: the receipt again, saying so
        return 303, await (await citizen.get(response.headers["Location"])).text()
    return response.status, await response.text()


async def _move(site: FormSite, code: str, to: TicketStatus, note: str = "") -> None:
    """An operator changes the status in the panel."""
    olga = await operator(site)
    try:
        response = await olga.post(f"/panel/tickets/{code}/status", {"to": to.value, "note": note})
        assert response.status == 303, await response.text()
    finally:
        await olga.close()


async def test_an_unconfirmed_phone_gets_the_code_and_nothing_else(
    form_site: FormSite, citizens: Citizens
) -> None:
    await _sent_with_phone(form_site, citizens(form_site))
    [ticket] = await form_site.tickets()
    [code_sms] = form_site.texts_to(PHONE)
    assert SMS_CODE.fullmatch(code_sms)  # only the code and the service's name
    assert ticket.tracking_code.translate(_TO_PERSIAN) not in code_sms
    assert all(channel != "sms" for channel, _ in await form_site.reporter_channels(ticket))
    await _move(form_site, ticket.tracking_code, TicketStatus.IN_PROGRESS)
    await _move(form_site, ticket.tracking_code, TicketStatus.RESOLVED, "چاله پر شد")
    await form_site.deliver()
    assert form_site.texts_to(PHONE) == [code_sms]


async def test_the_right_code_subscribes_the_phone(form_site: FormSite, citizens: Citizens) -> None:
    citizen = citizens(form_site)
    receipt = await _sent_with_phone(form_site, citizen)
    [ticket] = await form_site.tickets()
    code = form_site.code_sent()
    response = await citizen.post(
        f"{receipt}/confirm", {"csrf": await citizen.csrf_on(receipt), "code": code}
    )
    assert response.status == 303
    page = await (await citizen.get(response.headers["Location"])).text()
    assert "شمارهٔ شما تأیید شد" in page and 'name="code"' not in page
    assert ("sms", PHONE) in await form_site.reporter_channels(ticket)
    await form_site.deliver()
    persian = ticket.tracking_code.translate(_TO_PERSIAN)
    code_sms, told = form_site.texts_to(PHONE)
    assert persian in told  # the SMS that says the number now hears about the request
    await _move(form_site, ticket.tracking_code, TicketStatus.IN_PROGRESS)
    await form_site.deliver()
    assert len(form_site.texts_to(PHONE)) == 3 and persian in form_site.texts_to(PHONE)[-1]


async def test_a_code_typed_in_persian_digits_with_spaces_is_taken(
    form_site: FormSite, citizens: Citizens
) -> None:
    citizen = citizens(form_site)
    receipt = await _sent_with_phone(form_site, citizen)
    code = form_site.code_sent().translate(_TO_PERSIAN)
    status, page = await _type(citizen, receipt, f" {code[:3]} {code[3:]} ")
    assert status == 303 and "شمارهٔ شما تأیید شد" in page


async def test_a_wrong_code_is_refused_and_five_lock_the_number(
    form_site: FormSite, citizens: Citizens
) -> None:
    citizen = citizens(form_site)
    receipt = await _sent_with_phone(form_site, citizen)
    right = form_site.code_sent()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    attempts = form_site.sada.config.webform.code_attempts
    csrf = await citizen.csrf_on(receipt)  # the locked page has no form to take it from
    for left in range(attempts - 1, 0, -1):
        status, page = await _type(citizen, receipt, wrong)
        assert status == 400 and "کد درست نیست" in page
        assert f"{left} بار دیگر".translate(_TO_PERSIAN) in page
    status, page = await _type(citizen, receipt, wrong)
    assert status == 429 and "این شماره تأیید نشد" in page
    status, page = await _type(citizen, receipt, right, csrf)  # too late: locked
    assert status == 429
    [ticket] = await form_site.tickets()
    assert all(channel != "sms" for channel, _ in await form_site.reporter_channels(ticket))
    await form_site.deliver()
    assert len(form_site.texts_to(PHONE)) == 1


async def test_an_expired_code_is_refused_and_a_new_one_works(
    form_site: FormSite, citizens: Citizens
) -> None:
    citizen = citizens(form_site)
    receipt = await _sent_with_phone(form_site, citizen)
    old = form_site.code_sent()
    form_site.clock.advance(timedelta(minutes=form_site.sada.config.webform.code_minutes, seconds=1))
    status, page = await _type(citizen, receipt, old)
    assert status == 400 and "زمان این کد گذشته است" in page
    csrf = await citizen.csrf_on(receipt)
    resent = await citizen.post(f"{receipt}/resend", {"csrf": csrf})
    assert resent.status == 303 and resent.headers["Location"].endswith("?done=sent")
    await form_site.deliver()
    new = form_site.code_sent()
    assert len(form_site.texts_to(PHONE)) == 2
    if new != old:  # one time in a million they are the same
        status, _page = await _type(citizen, receipt, old)
        assert status == 400
    status, page = await _type(citizen, receipt, new)
    assert status == 303 and "شمارهٔ شما تأیید شد" in page


async def test_codes_are_resent_only_after_a_wait_and_a_few_times(
    form_site: FormSite, citizens: Citizens
) -> None:
    citizen = citizens(form_site)
    receipt = await _sent_with_phone(form_site, citizen)
    settings = form_site.sada.config.webform
    csrf = await citizen.csrf_on(receipt)
    too_soon = await citizen.post(f"{receipt}/resend", {"csrf": csrf})
    assert too_soon.status == 429 and "کمی صبر کنید" in await too_soon.text()
    for _ in range(settings.code_sends - 1):
        form_site.clock.advance(timedelta(seconds=settings.resend_seconds))
        assert (await citizen.post(f"{receipt}/resend", {"csrf": csrf})).status == 303
    form_site.clock.advance(timedelta(seconds=settings.resend_seconds))
    used_up = await citizen.post(f"{receipt}/resend", {"csrf": csrf})
    assert used_up.status == 429
    await form_site.deliver()
    assert len(form_site.texts_to(PHONE)) == settings.code_sends


@pytest.mark.parametrize("action", ["confirm", "resend"])
async def test_confirming_needs_the_forms_cookie(
    form_site: FormSite, citizens: Citizens, action: str
) -> None:
    citizen = citizens(form_site)
    receipt = await _sent_with_phone(form_site, citizen)
    code = form_site.code_sent()
    stranger = citizens(form_site)
    response = await stranger.post(f"{receipt}/{action}", {"csrf": "x" * 32, "code": code})
    assert response.status == 403
    [ticket] = await form_site.tickets()
    assert all(channel != "sms" for channel, _ in await form_site.reporter_channels(ticket))


async def test_an_unknown_receipt_is_404(form_site: FormSite, citizens: Citizens) -> None:
    citizen = citizens(form_site)
    assert (await citizen.get("/r/receipt/" + "A" * 32)).status == 404
    assert (await citizen.get("/r/receipt/short")).status == 404
    page = await (await citizen.get("/r/receipt/" + "A" * 32)).text()
    assert re.search("این صفحه پیدا نشد", page)
