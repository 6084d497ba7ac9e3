"""GET requests and requests/{id}: filters, the 90-day window, the cap, the status mapping, status
notes, masking, and no personal data in any answer."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.models import TicketStatus
from bot.web.open311.requests_read import STATUS_MAP
from tests.open311.conftest import KEY, POTHOLE, RUBBISH, Api, running_api, xml_root

PLACE = {"lat": "35.6997", "long": "51.3380"}


async def _file(api: Api, code: str = "road_damage", text: str = POTHOLE, **extra: str) -> str:
    status, body, _ = await api.post("json", service_code=code, description=text, **PLACE, **extra)
    assert status == 200, body
    return str(json.loads(body)[0]["service_request_id"])


async def _ids(api: Api, fmt: str = "json", **params: str) -> list[str]:
    status, text, _ = await api.get(f"requests.{fmt}", **params)
    assert status == 200, text
    if fmt == "json":
        return [r["service_request_id"] for r in json.loads(text)]
    return [
        r.findtext("service_request_id") or "" for r in xml_root(text, "service_requests").findall("request")
    ]


def test_every_status_is_mapped_to_open_or_closed() -> None:
    assert set(STATUS_MAP) == set(TicketStatus)
    opened = {s.value for s, shown in STATUS_MAP.items() if shown == "open"}
    assert opened == {"registered", "referred", "in_progress", "reopened"}
    assert {s.value for s, shown in STATUS_MAP.items() if shown == "closed"} == {
        "resolved",
        "closed",
        "rejected",
        "duplicate",
    }


async def test_one_request_in_both_formats_and_404s(api: Api) -> None:
    code = await _file(api)
    status, text, _ = await api.get(f"requests/{code}.json")
    assert status == 200
    [one] = json.loads(text)
    assert one["service_request_id"] == code and one["status"] == "open"
    assert (
        one["service_code"] == "road_damage"
        and one["service_name"] == api.sada.config.taxonomy.categories["road_damage"].name
    )
    assert one["agency_responsible"] == "معاونت فنی و عمرانی"
    assert one["requested_datetime"] == "2026-11-22T10:00:00+03:30"
    assert one["expected_datetime"].endswith("+03:30") and one["updated_datetime"].endswith("+03:30")
    assert (one["lat"], one["long"]) == (35.7, 51.338)  # rounded to ~100 m
    status, text, response = await api.get(f"requests/{code}.xml")
    assert status == 200 and response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    request = xml_root(text, "service_requests").find("request")
    assert request is not None and request.findtext("service_request_id") == code
    assert request.findtext("lat") == "35.7" and request.findtext("status") == "open"
    wrong = str(int(code[:9] + str((int(code[9]) + 1) % 10)))  # a bad check digit
    for missing in ("1234567890", wrong, "abc", "9" * 40):
        for fmt in ("json", "xml"):
            status, text, _ = await api.get(f"requests/{missing}.{fmt}")
            assert status == 404
            if fmt == "xml":
                assert xml_root(text, "errors").findtext("error/code") == "404"
            else:
                assert json.loads(text)[0]["code"] == 404


async def test_filters_ids_codes_status_and_dates(api: Api) -> None:
    pothole = await _file(api)
    api.clock.advance(timedelta(hours=1))
    rubbish = await _file(api, "waste_collection", RUBBISH)
    api.clock.advance(timedelta(hours=1))
    light = await _file(api, "street_lighting", "چراغ های کوچه ما سه شبه خاموشه و کوچه تاریکه")
    assert await _ids(api) == [light, rubbish, pothole]  # newest first
    assert await _ids(api, "xml") == [light, rubbish, pothole]
    assert await _ids(api, service_code="waste_collection,street_lighting") == [light, rubbish]
    # service_request_id overrides every other filter.
    assert await _ids(api, service_request_id=f"{pothole},{light},1234567890", service_code="x") == [
        light,
        pothole,
    ]
    # Resolve one: it is closed from then on, with the note it was resolved with.
    async with api.sada.store.transaction() as tx:
        ticket = await tx.tickets.by_code(rubbish)
        assert ticket is not None
        await api.sada.lifecycle.change_status(
            tx, ticket, TicketStatus.RESOLVED, actor="user:olga", note="زباله‌ها جمع شد. تماس: 09121234567"
        )
    assert await _ids(api, status="closed") == [rubbish]
    assert await _ids(api, status="open") == [light, pothole]
    assert await _ids(api, status="open,closed") == [light, rubbish, pothole]
    _, text, _ = await api.get(f"requests/{rubbish}.json")
    [closed] = json.loads(text)
    assert closed["status"] == "closed" and closed["status_notes"].startswith("زباله‌ها جمع شد")
    assert "09121234567" not in text and "۰۹۱۲۱۲۳۴۵۶۷" not in text  # a number in a note is hidden too
    # Dates: Z or an offset (an unescaped "+" arrives as a space and still counts).
    assert await _ids(api, start_date="2026-11-22T06:45:00Z") == [light, rubbish]
    assert await _ids(api, start_date="2026-11-22T10:15:00 03:30", end_date="2026-11-22T11:15:00+03:30") == [
        rubbish
    ]
    assert await _ids(api, end_date="2026-11-22T06:30:00Z") == [pothole]
    for fmt in ("json", "xml"):
        for params in (
            {"start_date": "yesterday"},
            {"start_date": "2026-11-22T06:45:00"},  # no zone
            {"end_date": "2026-13-40T00:00:00Z"},
            {"start_date": "2026-11-22T00:00:00Z", "end_date": "2026-11-21T00:00:00Z"},
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-11-21T00:00:00Z"},  # over 90 days
            {"status": "pending"},
        ):
            status, text, _ = await api.get(f"requests.{fmt}", **params)
            assert status == 400, params
            if fmt == "xml":
                assert xml_root(text, "errors").findtext("error/code") == "400"


async def test_the_default_window_is_the_last_90_days(api: Api) -> None:
    old = await _file(api)
    api.clock.advance(timedelta(days=91))
    new = await _file(api, "waste_collection", RUBBISH)
    assert await _ids(api) == [new]
    assert await _ids(api, start_date="2026-11-01T00:00:00Z") == [old]  # start alone: 90 days from it
    assert await _ids(api, service_request_id=old) == [old]


async def test_results_are_capped_newest_first(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(store_url, tmp_path, monkeypatch, open311={"max_results": 2}) as api:
        codes = []
        for text in (POTHOLE, RUBBISH, "چراغ های کوچه ما سه شبه خاموشه و کوچه تاریکه"):
            codes.append(await _file(api, "road_damage", text))
            api.clock.advance(timedelta(minutes=5))
        assert await _ids(api) == [codes[2], codes[1]]
        assert await _ids(api, "xml") == [codes[2], codes[1]]
        assert await _ids(api, service_request_id=",".join(codes)) == [codes[2], codes[1]]
    assert api.sada.config.open311.max_results == 2


async def test_no_personal_data_in_any_answer(api: Api) -> None:
    phone_local, phone_e164 = "09351234567", "+989351234567"
    email, first, last = "maryam.secret@example.ir", "مریم‌خانم", "رازقی‌نژاد"
    words = f"چاله بزرگ جلوی خانه ما، شماره من {phone_local} و ایمیل {email} است"
    code = await _file(
        api,
        "road_damage",
        words,
        phone=phone_local,
        email=email,
        first_name=first,
        last_name=last,
        account_id="acct-777",
        device_id="device-888",
    )
    other = await _file(
        api, "waste_collection", RUBBISH, email="other.person@example.ir", first_name="Zohreh"
    )
    await api.sada.dispatcher.drain()
    assert api.sms.texts(phone_e164)  # the phone was taken: the citizen got the code
    forbidden = [
        phone_local,
        phone_e164,
        phone_local[1:],
        "۰۹۳۵۱۲۳۴۵۶۷",
        email,
        "other.person",
        first,
        last,
        "Zohreh",
        "acct-777",
        "device-888",
        KEY,
    ]
    bodies = []
    for fmt in ("json", "xml"):
        for path, params in (
            (f"requests.{fmt}", {}),
            (f"requests.{fmt}", {"service_request_id": f"{code},{other}"}),
            (f"requests.{fmt}", {"status": "open"}),
            (f"requests/{code}.{fmt}", {}),
            (f"requests/{other}.{fmt}", {}),
        ):
            status, text, _ = await api.get(path, **params)
            assert status == 200
            bodies.append(text)
    for text in bodies:
        assert code in text or other in text
        for secret in forbidden:
            assert secret not in text, secret
    [shown] = [r for r in json.loads(bodies[0]) if r["service_request_id"] == code]
    # No citizen's words at all: free text cannot be masked reliably (a name, a number in words).
    assert shown["description"].startswith(api.sada.config.taxonomy.categories["road_damage"].name)
    for text in bodies:
        assert "جلوی خانه ما" not in text and "چاله بزرگ" not in text


async def test_status_notes_hide_numbers_however_they_are_split(api: Api) -> None:
    """What an operator told the citizen is published as the status note, with any phone-like
    number hidden: dots, slashes, tatweel, no-break spaces and tabs between the digits."""
    code = await _file(api)
    spellings = [
        "۰۹۱۲.۳۴۵.۶۷۸۹",
        "0912/345/6789",
        "۰۹۱۲ـ۳۴۵ـ۶۷۸۹",
        "0912\u00a0345\u00a06789",
        "0912\t345\t6789",
    ]
    async with api.sada.store.transaction() as tx:
        ticket = await tx.tickets.by_code(code)
        assert ticket is not None
        note = f"با این شماره‌ها تماس بگیرید: {' و '.join(spellings)}"
        await api.sada.lifecycle.reply_freely(tx, ticket, note, actor="user:sara")
    for fmt in ("json", "xml"):
        status, text, _ = await api.get(f"requests/{code}.{fmt}")
        assert status == 200
        for spelled in spellings:
            assert spelled not in text and spelled.replace("\t", " ") not in text
