"""One number sending 100 SMS a minute is cut off at the limit, recorded as abuse, and nobody else
notices: their messages are stored and answered as usual."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text

from storage.abuse import AbuseRepository
from storage.store import Transaction
from tests.robustness.conftest import HookedFactory

FLOODER = "09120000001"
NEIGHBOUR = "09350000002"


async def stored_from(tx: Transaction, channel: str, address: str) -> int:
    """How many inbound messages the store holds from this sender."""
    count = await tx.session.scalar(
        text(
            "SELECT count(*) FROM inbound_messages m JOIN identities i ON i.id = m.identity_id "
            "WHERE i.channel = :channel AND i.address = :address"
        ),
        {"channel": channel, "address": address},
    )
    return int(count or 0)


async def test_a_flooding_number_is_cut_off_and_others_are_served(hooked: HookedFactory) -> None:
    svc = await hooked(flood={"max_messages": 20, "window_seconds": 60})

    async def flood() -> list[int]:
        statuses = []
        for i in range(100):
            status, _ = await svc.sms(FLOODER, f"زباله های کوچه شماره {i} جمع نشده است", f"f-{i}")
            statuses.append(status)
        return statuses

    async def neighbour() -> list[int]:
        statuses = []
        for i in range(5):
            text = ["چاله بزرگ خیابان", "چراغ خیابان خاموش", "درخت افتاده", "آب لوله ترکیده", "جوی پر شده"][i]
            status, _ = await svc.sms(NEIGHBOUR, f"{text} در محله {i} لطفا رسیدگی کنید", f"n-{i}")
            statuses.append(status)
        return statuses

    flooder, others = await asyncio.gather(flood(), neighbour())
    # Every call is answered 2xx: the provider must not retry what we dropped on purpose.
    assert set(flooder) == {200} and set(others) == {200}
    async with svc.store.transaction() as tx:
        flooder_rows = await stored_from(tx, "sms", "+989120000001")
        neighbour_rows = await stored_from(tx, "sms", "+989350000002")
        events = await AbuseRepository(tx.session).events(channel="sms")
    assert flooder_rows == 20
    assert neighbour_rows == 5
    assert [(e.address, e.kind, e.window_seconds) for e in events] == [("+989120000001", "flood", 60)]
    assert events[0].count == 21

    # A minute later the number is heard again, and a new episode would be recorded anew.
    svc.clock.advance(timedelta(seconds=61))
    status, _ = await svc.sms(FLOODER, "باز هم زباله ها جمع نشده است لطفا پیگیری کنید", "f-after")
    assert status == 200
    async with svc.store.transaction() as tx:
        assert await stored_from(tx, "sms", "+989120000001") == 21


async def test_the_limit_can_be_switched_off(hooked: HookedFactory) -> None:
    svc = await hooked(flood={"enabled": False, "max_messages": 2})
    for i in range(4):
        status, _ = await svc.sms(FLOODER, f"زباله های کوچه شماره {i} جمع نشده است", f"f-{i}")
        assert status == 200
    async with svc.store.transaction() as tx:
        assert await stored_from(tx, "sms", "+989120000001") == 4
        assert await AbuseRepository(tx.session).events() == []
