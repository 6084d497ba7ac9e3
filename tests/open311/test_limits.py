"""Rate limits: calls per client address (every resource), POSTs per API key; 429 in the requested
format with Retry-After; X-Forwarded-For counts only when `[panel] trust_forwarded_for` says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.web.rate_limits import SlidingWindow
from tests.open311.conftest import OTHER_KEY, POTHOLE, running_api, xml_root

PLACE = {"lat": "35.6997", "long": "51.3380"}


async def test_calls_over_the_per_address_limit_are_429_in_the_asked_format(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(store_url, tmp_path, monkeypatch, open311={"requests_per_minute": 3}) as api:
        for path in ("services.json", "discovery.xml", "requests.json"):
            assert (await api.get(path))[0] == 200
        status, text, response = await api.get("services.xml")
        assert status == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
        assert xml_root(text, "errors").findtext("error/code") == "429"
        status, text, response = await api.post(
            "json", service_code="road_damage", description=POTHOLE, **PLACE
        )
        assert status == 429 and json.loads(text)[0]["code"] == 429
        assert await api.ticket_count() == 0
        # A forged X-Forwarded-For does not buy a fresh window (the panel does not trust a proxy).
        async with api.http.get(f"{api.base}/services.json", headers={"X-Forwarded-For": "203.0.113.9"}) as r:
            assert r.status == 429


async def test_a_trusted_proxy_address_is_counted_per_client(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(
        store_url,
        tmp_path,
        monkeypatch,
        open311={"requests_per_minute": 2},
        panel={"trust_forwarded_for": True},
    ) as api:
        # An IPv6 host is one client by its /64 (one host usually holds a whole /64: counted per
        # address it had endless fresh windows); another /64 is another client.
        clients = (
            ("203.0.113.9",) * 3,
            ("203.0.113.10",) * 3,
            ("2001:db8:5:7::1", "2001:db8:5:7::2", "2001:db8:5:7:abcd::9"),
            ("2001:db8:5:8::1",),
        )
        for addresses in clients:
            for address, expected in zip(addresses, (200, 200, 429), strict=False):
                headers = {"X-Forwarded-For": f"198.51.100.1, {address}"}
                async with api.http.get(f"{api.base}/services.json", headers=headers) as r:
                    assert r.status == expected, address


async def test_posts_over_the_per_key_limit_are_429_and_store_nothing(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_api(store_url, tmp_path, monkeypatch, open311={"posts_per_minute": 2}) as api:
        texts = [POTHOLE, "چراغ های کوچه ما سه شبه خاموشه و کوچه تاریکه", "درخت بزرگ کوچه افتاده"]
        for text in texts[:2]:
            status, body, _ = await api.post("json", service_code="road_damage", description=text, **PLACE)
            assert status == 200, body
        status, body, response = await api.post(
            "xml", service_code="road_damage", description=texts[2], **PLACE
        )
        assert status == 429 and response.headers["Retry-After"]
        assert xml_root(body, "errors").findtext("error/code") == "429"
        assert await api.ticket_count() == 2
        # Another client's key has its own window.
        data = {"api_key": OTHER_KEY, "service_code": "road_damage", "description": texts[2], **PLACE}
        assert (await api.post("json", data=data))[0] == 200


def test_the_window_slides() -> None:
    window = SlidingWindow(2, 60)
    assert window.hit("a", 0.0) == 0 and window.hit("a", 10.0) == 0
    assert window.hit("a", 20.0) == pytest.approx(40.0)
    assert window.hit("b", 20.0) == 0
    assert window.hit("a", 60.5) == 0  # the first hit left the window
    assert window.hit("a", 61.0) == pytest.approx(9.0)


def test_many_addresses_do_not_grow_the_table_without_bound() -> None:
    window = SlidingWindow(1, 60, max_keys=100)
    for i in range(1000):
        window.hit(f"10.0.{i // 256}.{i % 256}", float(i))
    assert len(window) <= 100
