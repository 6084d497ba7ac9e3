"""The web form over HTTP, through the real aiohttp app: a request becomes a ticket on the `web`
channel; CSRF, the honeypot, the body cap, the rate limits and the photo rules guard it."""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import config_from_mapping
from bot.toml_reader import ConfigError, Table
from bot.web.webform.settings import MIB, read_webform_settings
from channels.desk import WEB
from tests.webform.conftest import POTHOLE, RUBBISH, Citizen, FormFactory, FormSite, operator
from tests.webform.photo_samples import MARKER, gif, jpeg_with_metadata

Citizens = Callable[..., Citizen]


async def test_the_form_is_persian_mobile_first_and_needs_no_script(
    form_site: FormSite, citizens: Citizens
) -> None:
    response = await citizens(form_site).get("/r/")
    assert response.status == 200
    page = await response.text()
    assert '<html lang="fa" dir="rtl">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    # The one script is a file from our origin; none is inline, and the CSP allows no other.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/r/static/locate.js" defer>']
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert response.headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=(self)"
    assert 'name="phone"' in page and 'type="file"' in page
    script = await citizens(form_site).get("/r/static/locate.js")
    assert script.status == 200 and "getCurrentPosition" in await script.text()


async def test_a_request_becomes_a_ticket_on_the_web_channel(form_site: FormSite, citizens: Citizens) -> None:
    citizen = citizens(form_site)
    response = await citizen.send(
        POTHOLE, place="خیابان فردوسی، روبروی بانک", latitude="35.6892", longitude="51.389"
    )
    _location, page = await citizen.receipt(response)
    [ticket] = await form_site.tickets()
    assert ticket.channel == WEB
    assert "فردوسی" in ticket.text and "روبروی بانک" in ticket.text
    assert (ticket.latitude, ticket.longitude) == (35.6892, 51.389)
    code = ticket.tracking_code
    grouped = "".join(f'<span class="code">{part}</span> ' for part in (code[:3], code[3:6], code[6:]))
    persian = grouped.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")).strip()
    assert persian in page
    assert form_site.sada.config.taxonomy.departments[ticket.department] in page
    assert 'name="code"' not in page  # no phone given: no one-time code asked for


async def test_sending_the_same_form_twice_makes_one_ticket(form_site: FormSite, citizens: Citizens) -> None:
    citizen = citizens(form_site)
    hidden = await citizen.open_form()
    first = await citizen.post("/r/", {**hidden, "text": RUBBISH})
    again = await citizen.post("/r/", {**hidden, "text": RUBBISH})
    assert first.status == again.status == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(await form_site.tickets()) == 1


@pytest.mark.parametrize("csrf", [None, "forged-token-value-0123456789"])
async def test_a_post_without_the_cookies_token_is_403_and_creates_nothing(
    form_site: FormSite, citizens: Citizens, csrf: str | None
) -> None:
    citizen = citizens(form_site)
    hidden = await citizen.open_form()
    fields = {"token": hidden["token"], "text": RUBBISH, "phone": "09121234567"}
    if csrf is not None:
        fields["csrf"] = csrf
    response = await citizen.post("/r/", fields)
    assert response.status == 403
    assert "فرم منقضی شده" in await response.text()
    # Another site's page cannot send the cookie either: a fresh browser with the right field value.
    stranger = citizens(form_site)
    forged = await stranger.post("/r/", {**hidden, "text": RUBBISH})
    assert forged.status == 403
    await form_site.deliver()
    assert await form_site.tickets() == []
    assert form_site.sms.texts() == []


async def test_the_honeypot_pretends_and_creates_nothing(
    form_site: FormSite, citizens: Citizens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await citizens(form_site).send(RUBBISH, phone="09121234567", website="http://spam.example")
    assert response.status == 200
    assert "درخواست شما دریافت شد" in await response.text()
    await form_site.deliver()
    assert await form_site.tickets() == []
    assert form_site.sms.texts() == []
    honeypot = [r.getMessage() for r in caplog.records if "honeypot" in r.getMessage()]
    assert len(honeypot) == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "spam.example" not in logged and "4567" not in logged and "زباله" not in logged


async def test_a_body_over_the_cap_is_413_in_persian(make_form: FormFactory, citizens: Citizens) -> None:
    site = await make_form(max_body_bytes=128 * 1024, max_photo_bytes=64 * 1024)
    citizen = citizens(site)
    response = await citizen.send(RUBBISH, photo=b"\xff\xd8\xff" + b"0" * (200 * 1024))
    assert response.status == 413
    assert "بزرگ‌تر از حد مجاز" in await response.text()
    assert await site.tickets() == []


async def test_a_streamed_body_over_the_cap_is_413_too(make_form: FormFactory, citizens: Citizens) -> None:
    site = await make_form(max_body_bytes=128 * 1024, max_photo_bytes=64 * 1024)
    citizen = citizens(site)
    hidden = await citizen.open_form()
    fields = {**hidden, "text": RUBBISH, "filler": "0" * (200 * 1024)}
    boundary = "webform-test-boundary"
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        + f"--{boundary}--\r\n".encode()
    )

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap holds while reading
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    response = await citizen.http.post(
        site.url + "/r/", data=chunks(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status == 413
    assert "بزرگ‌تر از حد مجاز" in await response.text()
    assert await site.tickets() == []


async def test_a_photo_larger_than_the_services_own_cap_is_taken(
    form_site: FormSite, citizens: Citizens
) -> None:
    # The service reads at most 1 MiB of any other body; the form allows `max_body_bytes` (10 MiB).
    comment = (
        b"\xff\xfe"
        + struct.pack(">H", 65_000)
        + MARKER * (64_998 // len(MARKER))
        + b"\0" * (64_998 % len(MARKER))
    )
    photo = jpeg_with_metadata()
    big = photo[:2] + comment * 32 + photo[2:]  # about 2 MiB of comments
    assert len(big) > 2_000_000
    citizen = citizens(form_site)
    await citizen.receipt(await citizen.send(RUBBISH, photo=big))
    [ticket] = await form_site.tickets()
    [(_info, data)] = await form_site.media(ticket)
    assert len(data) < 10_000 and MARKER not in data


async def test_the_form_path_without_its_slash_redirects(form_site: FormSite, citizens: Citizens) -> None:
    response = await citizens(form_site).get("/r")
    assert response.status == 308 and response.headers["Location"] == "/r/"


async def test_a_photo_over_its_cap_is_refused_with_the_form(
    make_form: FormFactory, citizens: Citizens
) -> None:
    site = await make_form(max_photo_bytes=2048)
    response = await citizens(site).send(RUBBISH, photo=jpeg_with_metadata() + b"\0" * 4096)
    assert response.status == 413
    page = await response.text()
    assert "عکس بزرگ‌تر از" in page and RUBBISH in page  # the form again, with what was typed
    assert await site.tickets() == []


def test_the_defaults_and_bad_settings() -> None:
    defaults = read_webform_settings(Table({}, "webform", base_dir=Path(), env={}))
    assert (
        defaults.max_body_bytes == 10 * MIB and defaults.path == "/r/" and defaults.status_path == "/r/status"
    )
    assert defaults.per_address_minute >= 3 and defaults.enabled
    for bad in ({"path": "r"}, {"path": "/panel/"}, {"max_photo_bytes": 20 * MIB}, {"colour": "red"}):
        with pytest.raises(ConfigError, match="webform"):
            config_from_mapping({"webform": bad}, base_dir=Path(), env={})


async def test_requests_past_the_per_address_limit_are_429(form_site: FormSite, citizens: Citizens) -> None:
    allowed = form_site.sada.config.webform.per_address_minute
    assert allowed >= 3
    citizen = citizens(form_site)
    for i in range(allowed):
        response = await citizen.send(f"{RUBBISH} شماره {i}")
        assert response.status == 303, i
    refused = await citizen.send(POTHOLE)
    assert refused.status == 429 and refused.headers["Retry-After"] == "60"
    assert "کمی بعد دوباره" in await refused.text()
    assert await form_site.web_messages() == allowed
    form_site.clock.advance(timedelta(seconds=61))
    assert (await citizen.send(POTHOLE)).status == 303


async def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    make_form: FormFactory, citizens: Citizens
) -> None:
    untrusted = await make_form(per_address_minute=3)
    for i in range(3):
        assert (await citizens(untrusted, f"10.0.0.{i}").send(f"{RUBBISH} {i}")).status == 303
    # Each claims another address, but the service trusts no proxy: they are all 127.0.0.1.
    assert (await citizens(untrusted, "10.0.0.9").send(POTHOLE)).status == 429


async def test_the_city_wide_limit_holds_across_addresses(make_form: FormFactory, citizens: Citizens) -> None:
    site = await make_form(global_minute=4, panel={"trust_forwarded_for": True})
    for i in range(4):
        assert (await citizens(site, f"10.0.0.{i}").send(f"{RUBBISH} {i}")).status == 303
    assert (await citizens(site, "10.0.0.50").send(POTHOLE)).status == 429
    assert await site.web_messages() == 4


@pytest.mark.parametrize(
    "photo",
    [gif(), b"%PDF-1.7\n%fake", b"<svg xmlns='http://www.w3.org/2000/svg'/>"],
    ids=["gif", "pdf", "svg"],
)
async def test_a_file_that_is_not_a_jpeg_png_or_webp_is_refused(
    form_site: FormSite, citizens: Citizens, photo: bytes
) -> None:
    response = await citizens(form_site).send(RUBBISH, photo=photo)  # named photo.jpg, typed image/jpeg
    assert response.status == 400
    assert "JPEG، PNG یا WebP نیست" in await response.text()
    assert await form_site.tickets() == []


async def test_the_stored_photo_has_no_metadata_and_the_panel_shows_it(
    form_site: FormSite, citizens: Citizens
) -> None:
    citizen = citizens(form_site)
    await citizen.receipt(await citizen.send(RUBBISH, photo=jpeg_with_metadata()))
    [ticket] = await form_site.tickets()
    [(info, data)] = await form_site.media(ticket)
    assert (info.status, info.kind, info.content_type) == ("stored", "photo", "image/jpeg")
    assert MARKER not in data and data.startswith(b"\xff\xd8")
    olga = await operator(form_site)
    try:
        page = await (await olga.get(f"/panel/tickets/{ticket.tracking_code}")).text()
        assert f'src="/panel/media/{info.id}"' in page
        served = await olga.get(f"/panel/media/{info.id}")
        assert served.status == 200 and await served.read() == data
    finally:
        await olga.close()


async def test_a_phone_is_asked_for_only_when_an_sms_channel_exists(
    make_form: FormFactory, citizens: Citizens
) -> None:
    site = await make_form(sms=False)
    citizen = citizens(site)
    page = await (await citizen.get("/r/")).text()
    assert 'name="phone"' not in page
    _location, receipt = await citizen.receipt(await citizen.send(RUBBISH, phone="09121234567"))
    assert 'name="code"' not in receipt
