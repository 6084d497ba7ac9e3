"""POST requests: the API key, every refusal (and that it stores nothing), the client's service_code
kept, the history naming the client, the sink without a phone and SMS replies with one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.models import EventKind
from bot.web.open311.api_keys import ApiKeys, client_name, parse_keys
from tests.channels.conftest import ServiceFactory
from tests.open311.conftest import KEY, OTHER_KEY, POTHOLE, RUBBISH, Api, running_api, xml_root

PLACE = {"lat": "35.6997", "long": "51.3380"}


def _error(fmt: str, text: str) -> tuple[int, str]:
    if fmt == "json":
        [err] = json.loads(text)
        return int(err["code"]), str(err["description"])
    root = xml_root(text, "errors")
    return int(root.findtext("error/code") or 0), root.findtext("error/description") or ""


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_post_without_a_valid_key_is_403_and_stores_nothing(api: Api, fmt: str) -> None:
    fields = {"service_code": "road_damage", "description": POTHOLE, **PLACE}
    for key in (None, "", "wrong-key-0123456789abcdef", KEY + "x", KEY[:-1]):
        data = fields if key is None else {**fields, "api_key": key}
        status, text, _ = await api.post(fmt, data=data)
        assert status == 403
        assert _error(fmt, text)[0] == 403
    assert await api.ticket_count() == 0
    assert api.sms.sent == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_bad_requests_are_400_404_or_413_and_store_nothing(api: Api, fmt: str) -> None:
    good = {"api_key": KEY, "service_code": "road_damage", "description": POTHOLE, **PLACE}
    cases: list[tuple[dict[str, str], int, str]] = [
        ({k: v for k, v in good.items() if k != "service_code"}, 400, "service_code"),
        ({**good, "service_code": " "}, 400, "service_code"),
        ({k: v for k, v in good.items() if k not in PLACE}, 400, "location"),
        ({**good, "long": ""}, 400, "together"),
        ({**good, "lat": "35.7.1"}, 400, "lat"),
        ({**good, "lat": "nan"}, 400, "lat"),
        ({**good, "long": "inf"}, 400, "long"),
        ({**good, "lat": "91"}, 400, "lat"),
        ({**good, "lat": "۳۵٫۷"}, 400, "lat"),
        ({**good, "phone": "12345"}, 400, "phone"),
        ({**good, "description": "چ" * 4001}, 400, "description"),
        ({**good, "media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({**good, "service_code": "no_such_service"}, 404, "no_such_service"),
    ]
    for data, code, words in cases:
        status, text, _ = await api.post(fmt, data=data)
        assert (status, _error(fmt, text)[0]) == (code, code), data
        assert words in _error(fmt, text)[1], (words, text)
    raw = [
        (
            b"api_key=" + KEY.encode() + b"&service_code=road_damage&lat=35.7&long=51.4&description=%FF%FE",
            400,
        ),
        (b"\xff\xfe" + b"a" * 20, 400),
        (b"a=" + b"x" * (70 * 1024), 413),
    ]
    for body, code in raw:
        async with api.http.post(
            f"{api.base}/requests.{fmt}",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ) as response:
            assert response.status == code
            assert _error(fmt, await response.text())[0] == code

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the cap counts what arrives
        for _ in range(20):
            yield b"a=" + b"x" * 8000 + b"&"

    async with api.http.post(f"{api.base}/requests.{fmt}", data=chunked()) as response:
        assert response.status == 413
        assert _error(fmt, await response.text())[0] == 413
    form = aiohttp.FormData({**good})
    form.add_field("file", b"bytes", filename="a.jpg")
    async with api.http.post(f"{api.base}/requests.{fmt}", data=form) as response:
        assert response.status == 400
    assert await api.ticket_count() == 0


async def test_the_client_service_code_is_kept_and_the_history_names_the_client(api: Api) -> None:
    # The text says rubbish; the client chose road damage: the client's choice stands.
    status, text, response = await api.post(
        "json",
        service_code="road_damage",
        description=RUBBISH,
        media_url="https://img.example/1.jpg",
        **PLACE,
    )
    assert status == 200 and response.headers["Content-Type"] == "application/json; charset=utf-8"
    [created] = json.loads(text)
    code = created["service_request_id"]
    assert isinstance(code, str) and len(code) == 10 and created["service_notice"]
    ticket = await api.ticket(code)
    assert ticket.category == "road_damage" and ticket.department == "civil_works"
    assert ticket.channel == "open311" and (ticket.latitude, ticket.longitude) == (35.6997, 51.338)
    events = await api.events(code)
    reclassified = [e for e in events if e.kind is EventKind.RECLASSIFIED]
    assert [(e.actor, e.data["from_category"]) for e in reclassified] == [
        ("open311:cityapp", "waste_collection")
    ]
    notes = [e.data["note"] for e in events if e.kind is EventKind.NOTE and e.actor == "open311:cityapp"]
    assert any("cityapp" in n for n in notes) and any("https://img.example/1.jpg" in n for n in notes)
    # A request the classifier agrees with is not reclassified, and the other key names its client.
    status, text, _ = await api.post(
        "xml",
        data={"api_key": OTHER_KEY, "service_code": "waste_collection", "address_string": "خیابان آزادی"},
    )
    assert status == 200
    second = xml_root(text, "service_requests").findtext("request/service_request_id")
    assert second is not None
    other = await api.ticket(second)
    assert other.category == "waste_collection" and "نشانی: خیابان آزادی" in other.text
    assert other.text.startswith("جمع‌آوری زباله")  # no description: the service's name stands for it
    events = await api.events(second)
    assert not [e for e in events if e.kind is EventKind.RECLASSIFIED]
    assert any(e.kind is EventKind.NOTE and e.actor == "open311:partner" for e in events)


async def test_the_longest_description_is_accepted_whole(api: Api) -> None:
    words = ("چاله بزرگ وسط خیابان فردوسی " * 200)[:3999] + "پ"
    status, text, _ = await api.post("json", service_code="road_damage", description=words, **PLACE)
    assert status == 200, text
    ticket = await api.ticket(json.loads(text)[0]["service_request_id"])
    assert ticket.text == words


async def test_without_a_phone_the_request_goes_to_the_open311_sink(api: Api) -> None:
    status, text, _ = await api.post("json", service_code="road_damage", description=POTHOLE, **PLACE)
    assert status == 200
    code = json.loads(text)[0]["service_request_id"]
    async with api.sada.store.read() as tx:
        ticket = await tx.tickets.by_code(code)
        assert ticket is not None
        [reporter] = await tx.tickets.reporters(ticket.id)
    assert reporter.channel == "open311" and reporter.address.startswith("open311:")
    await api.sada.dispatcher.drain()
    assert api.sms.sent == []


async def test_with_a_phone_the_citizen_is_answered_by_sms(api: Api) -> None:
    status, text, _ = await api.post(
        "json", service_code="road_damage", description=POTHOLE, phone="0912 345 6789", **PLACE
    )
    assert status == 200
    code = json.loads(text)[0]["service_request_id"]
    ticket = await api.ticket(code)
    assert ticket.channel == "open311"  # how it came in; the replies go by SMS
    await api.sada.dispatcher.drain()
    [sms] = api.sms.texts("+989123456789")
    assert code in sms.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))


async def test_a_phone_reply_reaches_a_real_sms_provider(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a Kavenegar channel and its fake server: the tracking code goes out as an SMS."""
    monkeypatch.setenv("SADA_OPEN311_KEYS", f"cityapp:{KEY}")
    svc = await make_service(only=("sms",))
    response = await svc.client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": KEY,
            "service_code": "road_damage",
            "description": POTHOLE,
            "phone": "+989121112233",
        },
    )
    assert response.status == 400  # no location
    response = await svc.client.post(
        "/open311/v2/requests.json",
        data={"api_key": KEY, "service_code": "road_damage", "phone": "+989121112233", **PLACE},
    )
    assert response.status == 200
    code = (await response.json())[0]["service_request_id"]
    await svc.drain()
    sent = svc.sms.texts()
    assert [(p, to) for p, to, _ in sent] == [("kavenegar", "09121112233")]
    assert code in sent[0][2].translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789"))


async def test_no_keys_configured_refuses_every_post(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(store_url, tmp_path, monkeypatch, keys="") as api:
        status, _, _ = await api.post("json", service_code="road_damage", description=POTHOLE, **PLACE)
        assert status == 403
        assert await api.ticket_count() == 0
        status, _, _ = await api.get("services.json")  # reading needs no key
        assert status == 200


def test_key_entries_name_their_clients_and_bad_entries_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    bare = "bare-key-0123456789abcdef"
    text = f"cityapp:{KEY}, {bare},short:abc, bad name!:{OTHER_KEY}, ,"
    clients = parse_keys(text)
    assert [(c.name, c.key) for c in clients] == [("cityapp", KEY), (client_name(bare), bare)]
    assert client_name(bare).startswith("key-") and bare not in client_name(bare)
    keys = ApiKeys(clients)
    assert keys.client(KEY) == clients[0] and keys.client(bare) == clients[1]
    assert keys.client(OTHER_KEY) is None and keys.client("abc") is None
    assert "abc" not in caplog.text and OTHER_KEY not in caplog.text and "skipped" in caplog.text
    assert KEY not in repr(clients)


async def test_no_key_appears_in_any_log_line(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    await api.post("json", service_code="road_damage", description=POTHOLE, **PLACE)
    await api.post("json", data={"api_key": "wrong-key-0123456789abcdef", "service_code": "x"})
    logged: Any = caplog.text
    assert "open311 POST client=cityapp" in logged
    assert KEY not in logged and "wrong-key-0123456789abcdef" not in logged


async def test_a_description_that_alone_is_no_request_still_files_one(api: Api) -> None:
    """«تست» or a greeting would be answered with a prompt on a chat channel; a POST is a request."""
    codes = []
    for words in ("Test", "سلام", "", "A large sinkhole is destroying the street"):
        status, text, _ = await api.post("json", service_code="road_damage", description=words, **PLACE)
        assert status == 200, (words, text)
        codes.append(json.loads(text)[0]["service_request_id"])
    assert await api.ticket_count() == 4
    first = await api.ticket(codes[0])
    assert first.category == "road_damage" and first.text.endswith("Test")
