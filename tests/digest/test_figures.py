"""Every figure of the digest, on a store whose content is known (tests/digest/seed.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import config_from_mapping
from bot.digest.figures import Limits, build_digest, parse_day
from storage.reports import Confusion, DayAgainstWeek
from storage.store import Store
from tests.digest.seed import D_JALALI, HOTSPOT, D, at

Handles = dict[str, list[tuple[int, int, str]]]


def calendar():  # the default config's calendar: Friday off, shipped holidays
    return config_from_mapping({}, base_dir=Path("."), env={}).calendar


async def test_city_digest_figures(seeded: tuple[Store, Handles]) -> None:
    store, h = seeded
    d = await build_digest(store, parse_day(D_JALALI), None, calendar())
    assert d.day == D and d.jalali == D_JALALI
    # yesterday against the 7-day average
    assert (d.new, d.new_week_average) == (7, 2.0)
    assert (d.resolved, d.resolved_week_average) == (3, pytest.approx(2 / 7))
    assert d.backlog == 15
    assert d.by_channel == (
        DayAgainstWeek("sms", 4, 7),
        DayAgainstWeek("telegram", 2, 7),
        DayAgainstWeek("hotline", 1, 0),
    )
    assert d.by_category == (
        DayAgainstWeek("road_damage", 4, 7),
        DayAgainstWeek("waste_collection", 2, 7),
        DayAgainstWeek("street_lighting", 1, 0),
    )
    assert d.by_department == (
        DayAgainstWeek("civil_works", 4, 7),
        DayAgainstWeek("waste", 2, 7),
        DayAgainstWeek("lighting", 1, 0),
    )
    assert d.by_category[0].average == 1.0
    # overdue, oldest due first, with working days late (Friday 30 Aban does not count)
    assert d.overdue_total == 5
    codes = [late.ticket.tracking_code for late in d.overdue]
    assert codes == [
        h["waste"][1][2],
        h["waste"][3][2],
        h["lighting"][0][2],
        h["road"][0][2],
        h["waste"][6][2],
    ]
    assert [late.working_days_late for late in d.overdue] == [4.0, 2.0, 0.0, 0.0, 0.0]
    assert d.overdue[0].ticket.due_at == at(-5, 23)
    # median hours to resolve: 74, 50, 2 on the day; 24, 24, 74, 50, 2 over the week
    assert d.median_hours_day == pytest.approx(50.0)
    assert d.median_hours_week == pytest.approx(24.0)
    # rates over the seven days ending with the day
    assert (d.satisfaction.part, d.satisfaction.whole, d.satisfaction.value) == (3, 4, 0.75)
    assert (d.reopen.part, d.reopen.whole) == (1, 6)
    assert (d.misclassification.part, d.misclassification.whole) == (3, 18)
    assert d.confusions == (
        Confusion("road_damage", "surface_water", 2),
        Confusion("waste_collection", "street_cleaning", 1),
    )
    # hot spots: district 5 had 4 requests against a daily average of 1
    assert [(s.place, s.day, s.average) for s in d.hotspots] == [(HOTSPOT, 4, 1.0)]
    assert [e.split(" با ")[0] for e in d.hotspots[0].examples] == ["چاله بزرگ شماره 3", "چاله بزرگ شماره 2"]


async def test_department_digest_is_scoped(seeded: tuple[Store, Handles]) -> None:
    store, h = seeded
    d = await build_digest(store, D, "waste", calendar())
    assert (d.new, d.new_week_average) == (2, 1.0)
    assert (d.resolved, d.backlog, d.overdue_total) == (3, 4, 3)
    assert {late.ticket.department for late in d.overdue} == {"waste"}
    assert [g.key for g in d.by_channel] == ["telegram"]
    assert (d.satisfaction.part, d.satisfaction.whole) == (3, 3)
    assert (d.reopen.part, d.reopen.whole) == (1, 6)
    assert (d.misclassification.part, d.misclassification.whole) == (1, 8)
    assert d.hotspots == ()
    assert (d.median_hours_day, d.median_hours_week) == (pytest.approx(50.0), pytest.approx(24.0))


async def test_limits_cut_lists_not_totals(seeded: tuple[Store, Handles]) -> None:
    store, _ = seeded
    d = await build_digest(store, D, None, calendar(), Limits(overdue=2, examples=1, hotspot_min=5))
    assert d.overdue_total == 5 and len(d.overdue) == 2
    assert d.hotspots == ()  # 4 requests no longer count as a spike


async def test_half_day_thursday_counts_half(seeded: tuple[Store, Handles]) -> None:
    store, _ = seeded
    cal = config_from_mapping({"calendar": {"half_days": ["thursday"]}}, base_dir=Path("."), env={}).calendar
    d = await build_digest(store, D, None, cal)
    assert [late.working_days_late for late in d.overdue[:2]] == [3.5, 1.5]


async def test_an_empty_day_has_no_rates(store_url: str) -> None:
    store = Store.from_url(store_url)
    await store.ensure_ready()
    try:
        d = await build_digest(store, D, None, calendar())
    finally:
        await store.aclose()
    assert (d.new, d.backlog, d.overdue_total, d.hotspots) == (0, 0, 0, ())
    assert d.median_hours_day is None and d.satisfaction.value is None and d.misclassification.value is None


def test_bad_days_are_refused() -> None:
    for text in ("1404-13-01", "yesterday", "1404/09"):
        with pytest.raises(ValueError):
            parse_day(text)
    assert parse_day("۱۴۰۴/۰۹/۰۱") == D
