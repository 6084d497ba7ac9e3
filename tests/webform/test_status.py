"""The status page: a tracking code (Persian or ASCII digits, dashes or not) shows the status, the
department, Jalali dates and what the citizen was told — never the description, names, numbers or
an operator's internal notes; guessing codes is limited per address and city-wide, apart from the
form's own budget."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from bot.models import TicketStatus
from tests.webform.conftest import PHONE, Citizen, FormFactory, FormSite, operator

Citizens = Callable[..., Citizen]
_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
NAME = "مریم احمدی"
DESCRIPTION = f"سلام من {NAME} هستم شماره ام ۰۹۱۲۱۲۳۴۵۶۷ چاله بزرگ وسط خیابان فردوسی خطرناکه"
INTERNAL = "یادداشت داخلی: پیمانکار دیر کرده است"
REPLY = "اکیپ فردا صبح اعزام می‌شود؛ هماهنگی با ۰۹۱۲۷۶۵۴۳۲۱"


async def _ticket_with_history(site: FormSite, citizen: Citizen) -> str:
    """A web request with a confirmed phone, an internal note, a free reply and a resolution."""
    receipt, _page = await citizen.receipt(
        await citizen.send(DESCRIPTION, phone="09121234567", place="کوچه ۱۲")
    )
    await site.deliver()
    csrf = await citizen.csrf_on(receipt)
    assert (await citizen.post(f"{receipt}/confirm", {"csrf": csrf, "code": site.code_sent()})).status == 303
    [ticket] = await site.tickets()
    code = ticket.tracking_code
    olga = await operator(site)
    try:
        for path, fields in (
            ("note", {"note": INTERNAL}),
            ("reply", {"text": REPLY}),
            ("status", {"to": TicketStatus.IN_PROGRESS.value, "note": ""}),
            ("status", {"to": TicketStatus.RESOLVED.value, "note": "چاله آسفالت شد"}),
        ):
            response = await olga.post(f"/panel/tickets/{code}/{path}", fields)
            assert response.status == 303, (path, await response.text())
    finally:
        await olga.close()
    return code


async def test_the_status_page_shows_what_was_told_and_no_personal_data(
    form_site: FormSite, citizens: Citizens
) -> None:
    code = await _ticket_with_history(form_site, citizens(form_site))
    typed = f"{code[:3]}-{code[3:6]}-{code[6:]}".translate(_TO_PERSIAN)
    response = await citizens(form_site).get("/r/status?code=" + quote(typed))
    assert response.status == 200
    page = await response.text()
    ticket = await form_site.ticket(code)
    department = form_site.sada.config.taxonomy.departments[ticket.department]
    assert "رفع‌شده" in page and f"<dd>{department}</dd>" in page  # status and department, in Persian
    assert "ارجاع‌شده به واحد مسئول" in page  # the model's referral, told with the code
    assert "۱۴۰۵/۰۹/۰۱" in page  # created 1 Azar 1405, Tehran
    assert "چاله آسفالت شد" in page  # the resolution note the citizen was sent
    assert "اکیپ فردا صبح اعزام می‌شود" in page  # the free reply, its number masked
    for private in (
        NAME,
        "فردوسی",  # the description is not shown at all
        "کوچه",
        INTERNAL,
        "پیمانکار",
        "Olga",
        PHONE,
        "09121234567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "9121234567",
        "۰۹۱۲۷۶۵۴۳۲۱",
        "09127654321",
    ):
        assert private not in page, private


async def test_an_unknown_or_mistyped_code_is_not_found(form_site: FormSite, citizens: Citizens) -> None:
    citizen = citizens(form_site)
    for typed in ("1234567890", "12345", "abc"):
        response = await citizen.get("/r/status?code=" + typed)
        assert response.status == 404
        assert "درخواستی با این کد پیدا نشد" in await response.text()
    empty = await citizen.get("/r/status")
    assert empty.status == 200 and 'name="code"' in await empty.text()


async def test_guessing_codes_is_limited_per_address(form_site: FormSite, citizens: Citizens) -> None:
    citizen = citizens(form_site)
    _receipt, _page = await citizen.receipt(await citizen.send())
    [ticket] = await form_site.tickets()
    misses = form_site.sada.config.webform.status_misses_per_address
    for i in range(misses):
        assert (await citizen.get(f"/r/status?code=100000000{i}")).status == 404
    refused = await citizen.get(f"/r/status?code={ticket.tracking_code}")
    assert refused.status == 429
    assert ticket.tracking_code.translate(_TO_PERSIAN) not in await refused.text()


async def test_unknown_codes_have_a_city_wide_budget_of_their_own(
    make_form: FormFactory, citizens: Citizens
) -> None:
    site = await make_form(global_status_misses_minute=3, panel={"trust_forwarded_for": True})
    for i in range(3):
        assert (await citizens(site, f"10.1.0.{i}").get("/r/status?code=1000000001")).status == 404
    assert (await citizens(site, "10.1.0.9").get("/r/status?code=1000000001")).status == 429
    assert (await citizens(site, "10.1.0.10").send()).status == 303  # the form is not shut
