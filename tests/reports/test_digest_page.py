"""The daily digest in the panel, as its recipients get it."""

from __future__ import annotations

from typing import Any

from tests.reports.conftest import Site


async def test_the_digest_of_a_chosen_day_for_the_city_and_for_a_department(site: Site, clients: Any) -> None:
    mina = await clients("mina")
    page = await mina.get("/panel/digest?date=1405-08-29")
    html = await page.text()
    assert page.status == 200
    assert "گزارش روزانهٔ صدا — جمعه ۱۴۰۵/۰۸/۲۹" in html
    assert "حوزه: کل شهر" in html
    assert "درخواست‌های جدید: ۲ (میانگین ۷ روز قبل: ۱٫۴)" in html  # 2 on the day; 10 in the 6 days before
    assert 'src="data:image/png;base64,' in html
    wasim = await clients("wasim")
    own = await (await wasim.get("/panel/digest?date=1405-08-29&department=civil_works")).text()
    waste = site.sada.config.taxonomy.departments["waste"]
    assert f"حوزه: {waste}" in own
    assert "درخواست‌های جدید: ۰ (میانگین ۷ روز قبل: ۰٫۷)" in own  # 5 waste tickets in the 6 days before


async def test_yesterday_by_default_and_the_email_version(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    html = await (await olga.get("/panel/digest")).text()
    assert "۱۴۰۵/۰۸/۳۰" in html  # the clock says Sunday 1 Azar 1405: yesterday was 30 Aban
    email = await olga.get("/panel/digest/email?date=1405-08-29")
    assert email.status == 200
    csp = email.headers["Content-Security-Policy"]
    assert "script" not in csp and "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    body = await email.text()
    assert 'dir="rtl"' in body and "data:image/png;base64," in body and "cid:" not in body


async def test_bad_or_future_days_are_refused(site: Site, clients: Any) -> None:
    olga = await clients("olga")
    future = await olga.get("/panel/digest?date=1405-09-02")
    assert future.status == 400 and "روزهای آینده" in await future.text()
    bad = await olga.get("/panel/digest?date=1405-02-32")
    assert bad.status == 400 and "تاریخ را به شکل" in await bad.text()
    assert (await olga.get("/panel/digest/email?date=nonsense")).status == 400
