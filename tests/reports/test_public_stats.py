"""Public statistics: no login, cacheable, and nothing personal in them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.toml_reader import ConfigError
from bot.web.public_stats import PublicSettings, suppress
from tests.conftest import make_config
from tests.reports.conftest import D1, PHONE, PLACE, Site


async def test_counts_and_medians_without_logging_in(site: Site, clients: Any) -> None:
    anonymous = await clients()
    response = await anonymous.get("/public/stats.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    stats = await response.json()
    n = {code: c.name for code, c in site.sada.config.taxonomy.categories.items()}
    # By default: the latest complete Jalali month before today (1 Azar 1405), Aban.
    assert stats["period"] == {
        "kind": "month",
        "key": "1405-08",
        "from": "1405-08-01",
        "to": "1405-08-30",
        "from_gregorian": "2026-10-23",
        "to_gregorian": "2026-11-21",
        "timezone": "Asia/Tehran",
    }
    assert stats["total"] == 12 and stats["resolved"] == 6
    assert len(stats["by_day"]) == 30 and stats["by_day"][0] == {"date": "1405-08-01", "count": 0}
    assert [d["count"] for d in stats["by_day"][22:29]] == [2, 2, 2, 1, 1, 2, 2]  # 23 … 29 Aban
    # Street lighting (2) is under 5; alone it would be total minus the rest, so road damage (5,
    # the smaller of the two fives) is hidden with it and the two are published together.
    assert stats["by_category"] == [
        {"key": "waste_collection", "name": n["waste_collection"], "count": 5},
        {"key": "_other", "name": "سایر موضوع‌ها", "count": 7},
    ]
    # District 2 (4), district 3 (1) and the unknown one (1) are each under 5; together they are 6.
    assert stats["by_district"] == [
        {"key": D1, "name": D1, "count": 6},
        {"key": "_other", "name": "سایر مناطق", "count": 6},
    ]
    assert {s["key"]: s["count"] for s in stats["by_status"]} == {"registered": 6, "resolved": 6}
    medians = stats["median_hours_to_resolve"]
    assert medians["all"] == 17.0  # 2, 5, 10, 24, 30, 48 hours
    # Waste (5 resolved) would be shown but road damage (1) would then be the rest: both hidden,
    # and no median of a hidden cell.
    assert medians["by_category"] == [{"key": "_other", "name": "سایر موضوع‌ها", "resolved": 6, "hours": None}]


@pytest.mark.parametrize(
    ("counts", "shown", "other"),
    [
        ({}, [], None),
        ({"a": 9}, [], None),  # one cell would say every ticket has it
        ({"a": 9, "b": 6}, [("a", 9), ("b", 6)], None),
        ({"a": 9, "b": 2, "c": 3}, [("a", 9)], 5),
        ({"a": 9, "b": 1, "c": 5, "d": 5}, [("a", 9), ("d", 5)], 6),  # the smallest shown joins b
        ({"a": 9, "b": 1}, [], 10),  # hiding a too is the only way: «سایر» is then the total
        ({"a": 2, "b": 1}, [], None),  # under 5 even together: nothing
        ({"_unknown": 7, "a": 5, "b": 8}, [("b", 8), ("a", 5), ("_unknown", 7)], None),
        ({"a": 5, "b": 0, "c": 6}, [("c", 6), ("a", 5)], None),
    ],
)
def test_suppression_leaves_no_small_cell_and_no_small_rest(
    counts: dict[str, int], shown: list[tuple[str, int]], other: int | None
) -> None:
    result = suppress(counts, 5)
    assert (result.shown, result.other) == (shown, other)


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
        "resolved",
        "by_day",
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


async def test_weeks_and_days_publish_totals_only(site: Site, clients: Any) -> None:
    anonymous = await clients()
    week = await (await anonymous.get("/public/stats.json?period=week&date=۱۴۰۵/۰۸/۲۸")).json()
    assert week["period"]["from"] == "1405-08-23" and week["period"]["to"] == "1405-08-29"
    assert week["total"] == 12 and week["resolved"] == 6
    assert [d["count"] for d in week["by_day"]] == [2, 2, 2, 1, 1, 2, 2]
    assert week["by_category"] is None and week["by_district"] is None and week["by_status"] is None
    assert week["median_hours_to_resolve"] is None
    day = await (await anonymous.get("/public/stats.json?period=day&date=1405-08-28")).json()
    assert (day["total"], day["by_day"]) == (2, [{"date": "1405-08-28", "count": 2}])
    page = await anonymous.get("/public/stats?period=week&date=1405-08-28")
    html = await page.text()
    assert page.status == 200 and "هفتهٔ ۱۴۰۵/۰۸/۲۳ تا ۱۴۰۵/۰۸/۲۹" in html
    assert "جمعه ۱۴۰۵/۰۸/۲۹" in html  # the week's days, Saturday to Friday
    assert 'href="/public/stats?period=month&amp;date=1405-08-01"' in html  # breakdowns: see the month
    assert 'id="by-category"' not in html and 'id="by-district"' not in html
    month = await (await anonymous.get("/public/stats")).text()
    assert "آبان ۱۴۰۵" in month and 'id="by-district"' in month and "سایر مناطق" in month


def test_the_public_section_is_validated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sada.db'}"
    good = make_config(url, tmp_path, public={"min_tickets": 3, "past_cache_seconds": 3600})
    assert good.public == PublicSettings(min_tickets=3, cache_seconds=300, past_cache_seconds=3600)
    # The keys of earlier versions still start the service, with a warning.
    older = make_config(url, tmp_path, public={"stats_days": 7, "min_district_tickets": 4})
    assert older.public.min_tickets == 4
    assert "public.stats_days is no longer used" in caplog.text
    for section, key in (
        ({"min_tickets": 2}, "public.min_tickets"),  # one or two tickets would point at people
        ({"min_district_tickets": 1}, "public.min_district_tickets"),
        ({"cache_seconds": 0}, "public.cache_seconds"),  # every request would reach the store
        ({"days": 7}, "public.days"),
    ):
        with pytest.raises(ConfigError) as raised:
            make_config(url, tmp_path, public=section)
        assert key in str(raised.value)
