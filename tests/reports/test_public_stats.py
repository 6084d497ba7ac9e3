"""Public statistics: no login, cacheable, and nothing personal in them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.public_stats import PublicSettings, read_public_settings
from bot.settings import ConfigError
from tests.conftest import make_config
from tests.reports.conftest import D1, PHONE, PLACE, Site


async def test_counts_and_medians_without_logging_in(site: Site, clients: Any) -> None:
    anonymous = await clients()
    response = await anonymous.get("/public/stats.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    stats = await response.json()
    n = {code: c.name for code, c in site.sada.config.taxonomy.categories.items()}
    # By default: the 30 complete days before today (1 Azar 1405).
    assert stats["period"]["from"] == "1405-08-01" and stats["period"]["to"] == "1405-08-30"
    assert stats["total"] == 12
    assert stats["by_category"] == [
        {"key": "road_damage", "name": n["road_damage"], "count": 5},
        {"key": "waste_collection", "name": n["waste_collection"], "count": 5},
        {"key": "street_lighting", "name": n["street_lighting"], "count": 2},
    ]
    # Districts under 5 tickets (district 2 with 4, district 3 with 1) are merged into "other".
    assert stats["by_district"] == [
        {"key": D1, "name": D1, "count": 6},
        {"key": "_other", "name": "سایر مناطق", "count": 5},
        {"key": "_unknown", "name": "نامشخص", "count": 1},
    ]
    assert {s["key"]: s["count"] for s in stats["by_status"]} == {"registered": 6, "resolved": 6}
    medians = stats["median_hours_to_resolve"]
    assert medians["all"] == 17.0  # 2, 5, 10, 24, 30, 48 hours
    assert medians["by_category"] == [
        {"key": "waste_collection", "name": n["waste_collection"], "resolved": 5, "hours": 24.0},
        {"key": "road_damage", "name": n["road_damage"], "resolved": 1, "hours": None},  # too few to show
    ]


async def test_nothing_personal_is_published(site: Site, clients: Any, codes: list[str]) -> None:
    anonymous = await clients()
    json_body = await (await anonymous.get("/public/stats.json")).text()
    page = await anonymous.get("/public/stats")
    html = await page.text()
    assert page.status == 200 and 'dir="rtl"' in html and "۱۲ درخواست" in html
    secrets = [
        PHONE,
        PHONE[1:],
        "۰۹۱۲۱۲۳۴۵۶۷",
        PLACE,
        "HYPERLINK",
        "مشکل",
        "تماس",
        "addr-",
        *codes,
    ]  # addresses are addr-<code>
    for body in (json_body, html):
        for secret in secrets:
            assert secret not in body, secret
    stats = json.loads(json_body)
    assert set(stats) == {
        "period",
        "total",
        "by_category",
        "by_district",
        "by_status",
        "median_hours_to_resolve",
        "privacy",
    }
    assert "Set-Cookie" not in page.headers


async def test_cache_headers_and_conditional_requests(site: Site, clients: Any) -> None:
    anonymous = await clients()
    first = await anonymous.get("/public/stats.json")
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    etag = first.headers["ETag"]
    again = await anonymous.http.get(site.url + "/public/stats.json", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    page = await anonymous.get("/public/stats")
    assert page.headers["Cache-Control"] == "public, max-age=300"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


async def test_a_chosen_period_and_bad_ones(site: Site, clients: Any) -> None:
    anonymous = await clients()
    week = await (await anonymous.get("/public/stats.json?from=۱۴۰۵/۰۸/۲۸&to=1405-08-29")).json()
    assert week["total"] == 4 and week["period"]["from"] == "1405-08-28"
    for query, key in (
        ("from=1405-13-01", "bad_date"),
        ("to=1405-09-05", "future"),
        ("from=1405-08-30&to=1405-08-01", "reversed"),
    ):
        response = await anonymous.get(f"/public/stats.json?{query}")
        assert response.status == 400 and (await response.json())["error"] == key, query
        assert response.headers["Cache-Control"] == "no-store"
        page = await anonymous.get(f"/public/stats?{query}")
        assert page.status == 400 and 'class="error"' in await page.text()


def test_the_public_section_is_validated(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}"
    good = make_config(url, tmp_path, public={"stats_days": 7, "min_district_tickets": 3})
    assert read_public_settings(good.public) == PublicSettings(days=7, min_tickets=3, cache_seconds=300)
    for section, key in (
        ({"min_district_tickets": 0}, "public.min_district_tickets"),
        ({"days": 7}, "public.days"),
    ):
        with pytest.raises(ConfigError) as raised:
            read_public_settings(make_config(url, tmp_path, public=section).public)
        assert key in str(raised.value)
