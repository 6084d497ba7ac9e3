"""Odd and hostile input to every resource: a 4xx in the asked format, never a 500."""

from __future__ import annotations

import json

import pytest

from bot.web.open311.w3c import DateError, format_w3c, parse_w3c
from tests.open311.conftest import KEY, Api, xml_root


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+03:30",
        "9999-12-31T23:59:59-12:00",
        "2026-02-30T00:00:00Z",
        "2026-11-22T25:00:00Z",
        "2026-11-22T10:00:00+99:00",
        "2026-11-22T10:00:00\x00Z",
        "2026-11-22",
        "۲۰۲۶-۱۱-۲۲T10:00:00Z",
        "x" * 5000,
    ],
)
def test_dates_that_are_no_w3c_date_times(text: str) -> None:
    with pytest.raises(DateError):
        parse_w3c(text)


def test_w3c_round_trip() -> None:
    moment = parse_w3c("2026-11-22T06:30:00Z")
    assert format_w3c(moment) == "2026-11-22T10:00:00+03:30"
    assert parse_w3c("2026-11-22T10:00:00+03:30") == moment == parse_w3c("2026-11-22T10:00+03:30")


async def test_odd_paths_and_parameters_are_answered_4xx(api: Api) -> None:
    gets = [
        ("requests/%00.json", {}),
        ("requests/%FF%FE.xml", {}),
        ("requests/" + "1" * 500 + ".json", {}),
        ("services/%00.json", {}),
        ("services/%D8%A7.xml", {}),
        ("requests.json", {"start_date": "0001-01-01T00:00:00+03:30"}),
        ("requests.xml", {"end_date": "9999-12-31T23:59:59-12:00"}),
        ("requests.json", {"start_date": "2026-11-22T10:00:00\x00Z"}),
        ("requests.json", {"status": "open,,OPEN"}),
    ]
    for path, params in gets:
        status, text, _ = await api.get(path, **params)
        assert 400 <= status < 500, (path, params, status)
        if path.endswith(".xml"):
            assert xml_root(text, "errors").findtext("error/code") == str(status)
        else:
            assert json.loads(text)[0]["code"] == status
    for params in (
        {"service_code": "x" * 3000},
        {"service_request_id": ",".join(["1"] * 2000)},
        {"status": ""},
    ):
        status, text, _ = await api.get("requests.json", **params)
        assert status == 200 and json.loads(text) == []
    posts = [
        {"api_key": KEY, "service_code": "road_damage", "lat": "1e400", "long": "51"},
        {"api_key": KEY, "service_code": "road_damage", "lat": "-0x1p3", "long": "51"},
        {"api_key": KEY, "service_code": "road_damage", "address_string": "\x00" * 400},
        {"api_key": KEY * 100, "service_code": "road_damage", "address_string": "تهران"},
        {"api_key": "\x00", "service_code": "road_damage"},
    ]
    for data in posts:
        status, text, _ = await api.post("json", data=data)
        assert 400 <= status < 500, (data, status, text)
    assert await api.ticket_count() == 0
