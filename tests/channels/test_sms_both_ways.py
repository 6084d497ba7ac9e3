"""SMS both ways on the providers that only answer when asked: SMS.ir's inbound list and delivery
lookups, Melipayamak's GetDeliveries2, end to end against the fakes of sms_senders.py (real HTTP on
127.0.0.1), and the delivery watch they share (channels/delivery_watch.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.models import SendError
from channels.base import DeliveryReport, DeliveryStatus
from channels.delivery_watch import DeliveryWatch
from channels.melipayamak import MelipayamakChannel
from channels.smsir import SmsIrChannel, received_id
from tests.channels.conftest import HOOK_SECRET, POTHOLE, RUBBISH, Service, ServiceFactory

MOBILE = "09121234567"
LINE = 30007732


def _live(text: str = RUBBISH, at: int = 1795336200, mobile: Any = 989121234567) -> dict[str, Any]:
    """One entry of SMS.ir's receive/live list, as its SDK models it (`ReceivedMessageResult`)."""
    return {"messageText": text, "number": LINE, "mobile": mobile, "receivedDateTime": at}


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def _row(svc: Service) -> Any:
    [row] = await svc.outbox()
    return row


# --- SMS.ir inbound ------------------------------------------------------------------------------


async def test_smsir_polls_the_live_list_and_answers_through_itself(make_service: ServiceFactory) -> None:
    svc = await make_service(smsir={"poll_interval_seconds": 1})
    svc.sms.live = [_live(), _live("x", mobile="not-a-number")]
    channel = svc.sada.channels["smsir"]
    assert isinstance(channel, SmsIrChannel)
    messages = await channel.poll_once()
    [lookup] = svc.sms.fakes["smsir"].lookups
    assert lookup.params == {"pageNumber": "1", "pageSize": "100", "sortByNewest": "false"}
    [message] = messages  # the entry without a mobile number is skipped
    assert message.address == "+989121234567" and message.meta["line"] == str(LINE)
    assert message.provider_message_id.startswith("smsir:")
    for again in (message, (await channel.poll_once())[0]):  # listed again: the same id, one ticket
        await svc.sada.inbound(again)
    await svc.drain()
    assert await svc.ticket_count() == 1
    [(provider, to, _text)] = svc.sms.texts()
    assert (provider, to) == ("smsir", MOBILE)


def test_smsir_received_ids_are_stable_and_distinct() -> None:
    def fields(entry: dict[str, Any]) -> dict[str, str]:
        return {k.lower(): str(v) for k, v in entry.items()}

    first = received_id(fields(_live()))
    assert received_id(fields(_live())) == first  # the same listing, the same id
    assert received_id(fields(_live(at=1795336260))) != first  # the same words a minute later: new
    assert received_id(fields(_live(POTHOLE))) != first


async def test_smsir_run_spools_what_it_fetched_until_it_is_stored(make_service: ServiceFactory) -> None:
    svc = await make_service(smsir={"poll_interval_seconds": 1})
    channel = svc.sada.channels["smsir"]
    assert isinstance(channel, SmsIrChannel)
    spool = channel._spool
    assert spool is not None
    svc.sms.live = [_live()]
    calls = 0

    async def flaky(message: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert [m.provider_message_id for m in spool.load()] == [message.provider_message_id]
            raise RuntimeError("store down")
        return await svc.sada.inbound(message)

    task = asyncio.create_task(channel.run(flaky))
    try:
        await _until(lambda: _tickets_are(svc, 1))
        await _until(lambda: _spool_empty(spool))
        await asyncio.sleep(1.2)  # one more poll: the message is still listed but not handed on again
    finally:
        task.cancel()
    assert calls == 2 and len(svc.sms.fakes["smsir"].lookups) >= 2


async def _tickets_are(svc: Service, count: int) -> bool:
    return await svc.ticket_count() == count


async def _spool_empty(spool: Any) -> bool:
    return spool.load() == []


# --- SMS.ir delivery reports ---------------------------------------------------------------------


async def _replied_by_smsir(make_service: ServiceFactory, **smsir: Any) -> tuple[Any, SmsIrChannel]:
    """A citizen's SMS polled from SMS.ir and answered through it (the reply is sent)."""
    svc = await make_service(smsir={"poll_interval_seconds": 1, **smsir})
    channel = svc.sada.channels["smsir"]
    assert isinstance(channel, SmsIrChannel)
    svc.sms.live = [_live()]
    [message] = await channel.poll_once()
    await svc.sada.inbound(message)
    await svc.drain()
    return svc, channel


async def test_smsir_delivery_states_reach_the_outbox_row(make_service: ServiceFactory) -> None:
    svc, channel = await _replied_by_smsir(make_service, delivery_poll_seconds=3600)
    row = await _row(svc)
    assert channel.deliveries.pending == [row.provider_message_id]
    on_delivery = svc.sada.dispatcher.delivery_report

    assert await channel.deliveries.check(on_delivery) == 0  # deliveryState null: nothing yet
    assert svc.sms.fakes["smsir"].lookups[-1].params == {"id": row.provider_message_id}
    svc.sms.states[row.provider_message_id] = 3  # at the operator
    assert await channel.deliveries.check(on_delivery) == 1
    assert (await _row(svc)).delivery_status == "sent"
    assert await channel.deliveries.check(on_delivery) == 0  # unchanged: not reported again
    svc.sms.states[row.provider_message_id] = 2  # not on the phone: final
    assert await channel.deliveries.check(on_delivery) == 1
    row = await _row(svc)
    assert row.delivery_status == "undelivered" and channel.deliveries.pending == []
    async with svc.store.transaction() as tx:
        events = await tx.tickets.events(row.ticket_id)
    assert events[-1].kind.value == "delivery_failed" and events[-1].data["delivery"] == "2"


async def test_smsir_asks_by_itself_after_a_send(make_service: ServiceFactory) -> None:
    svc, channel = await _replied_by_smsir(make_service, delivery_poll_seconds=0.05)
    svc.sms.states[(await _row(svc)).provider_message_id] = 1  # on the phone

    async def delivered() -> bool:
        return bool((await _row(svc)).delivery_status == "delivered")

    await _until(delivered)
    await _until(lambda: _nothing_pending(channel))


async def _nothing_pending(channel: SmsIrChannel | MelipayamakChannel) -> bool:
    return channel.deliveries.pending == []


# --- Melipayamak delivery reports ----------------------------------------------------------------


async def _meli_reply(svc: Service) -> Any:
    response = await svc.client.get(
        f"/hooks/meli/{HOOK_SECRET}", params={"to": "50004001", "body": RUBBISH, "from": MOBILE}
    )
    assert response.status == 200 and await response.text() == "OK"
    await svc.drain()
    return await _row(svc)


async def test_melipayamak_getdeliveries2_reaches_the_outbox_row(make_service: ServiceFactory) -> None:
    svc = await make_service(only=("meli",), meli={"delivery_poll_seconds": 3600})
    channel = svc.sada.channels["meli"]
    assert isinstance(channel, MelipayamakChannel)
    row = await _meli_reply(svc)
    on_delivery = svc.sada.dispatcher.delivery_report
    assert channel.deliveries.pending == [row.provider_message_id]

    assert await channel.deliveries.check(on_delivery) == 0  # no code yet
    lookup = svc.sms.fakes["melipayamak"].lookups[-1].params
    assert lookup == {
        "username": "municipality",
        "password": lookup["password"],
        "recId": row.provider_message_id,
    }
    svc.sms.states[row.provider_message_id] = 8  # reached the operator
    assert await channel.deliveries.check(on_delivery) == 1
    assert (await _row(svc)).delivery_status == "sent"
    svc.sms.states[row.provider_message_id] = 1  # on the phone
    assert await channel.deliveries.check(on_delivery) == 1
    assert (await _row(svc)).delivery_status == "delivered" and channel.deliveries.pending == []


async def test_melipayamak_asks_by_itself_and_records_a_failure(make_service: ServiceFactory) -> None:
    svc = await make_service(only=("meli",), meli={"delivery_poll_seconds": 0.05})
    channel = svc.sada.channels["meli"]
    assert isinstance(channel, MelipayamakChannel)
    svc.sms.states["5000"] = 16  # the first id the fake hands out: did not reach the operator
    row = await _meli_reply(svc)
    assert row.provider_message_id == "5000"

    async def failed() -> bool:
        return bool((await _row(svc)).delivery_status == "failed")

    await _until(failed)
    async with svc.store.transaction() as tx:
        events = await tx.tickets.events(row.ticket_id)
    assert events[-1].kind.value == "delivery_failed" and events[-1].data["delivery"] == "16"


async def test_delivery_polling_can_be_switched_off(make_service: ServiceFactory) -> None:
    svc = await make_service(only=("meli",), meli={"delivery_poll_seconds": 0})
    channel = svc.sada.channels["meli"]
    assert isinstance(channel, MelipayamakChannel)
    await _meli_reply(svc)
    assert channel.deliveries.pending == []


# --- the watch itself ----------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_watch_keeps_ids_through_trouble_and_gives_up_in_time() -> None:
    answers: dict[str, Any] = {
        "1": "x",
        "2": SendError("busy", retryable=True),
        "3": SendError("no", retryable=False),
    }

    async def lookup(message_id: str) -> str | None:
        answer = answers[message_id]
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    reports: list[DeliveryReport] = []
    store_up = False

    async def on_delivery(report: DeliveryReport) -> int:
        if not store_up:
            raise RuntimeError("store down")
        reports.append(report)
        return 1

    clock = _Clock()
    watch = DeliveryWatch(
        "sms", lookup=lookup, status_map={"x": DeliveryStatus.DELIVERED}, interval=3600, clock=clock
    )
    for message_id in ("1", "2", "3"):
        watch.track(message_id, on_delivery)
    with pytest.raises(RuntimeError):
        await watch.check(on_delivery)  # the store is down: "1" stays for the next round
    assert watch.pending == ["1", "2", "3"]
    store_up = True
    assert await watch.check(on_delivery) == 1
    assert [(r.provider_message_id, r.status) for r in reports] == [("1", DeliveryStatus.DELIVERED)]
    assert watch.pending == ["2"]  # delivered is final; a refused lookup is not asked again
    clock.now += timedelta(hours=37)
    await watch.check(on_delivery)
    assert watch.pending == []  # no final state within max_age: given up
    await watch.aclose()
