"""channels/spool.py and Kavenegar polling: a polled message survives a store outage and a restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import InboundMessage, ReceiveResult
from channels.sms import SmsFieldNames, parse_sms
from channels.spool import Spool
from tests.channels.conftest import RUBBISH, Service, ServiceFactory

MOBILE = "09121234567"


def _polled(n: int) -> list[InboundMessage]:
    at = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    names = SmsFieldNames()
    return [
        parse_sms(
            {"from": MOBILE, "message": f"{RUBBISH} {i}", "messageid": str(i)}, names, channel="sms", now=at
        )
        for i in range(n)
    ]


def test_the_spool_keeps_messages_across_instances_and_forgets_the_committed(tmp_path: Path) -> None:
    path = tmp_path / "var" / "sms-polled.jsonl"
    first, second, third = _polled(3)
    Spool(path).append([first, second])
    Spool(path).append([third])
    assert Spool(path).load() == [first, second, third]  # another instance: as after a restart
    Spool(path).replace([third])
    assert Spool(path).load() == [third]
    Spool(path).replace([])
    assert not path.exists() and Spool(path).load() == []


def test_a_torn_last_line_is_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "sms-polled.jsonl"
    [message] = _polled(1)
    Spool(path).append([message])
    with path.open("a", encoding="utf-8") as f:
        f.write('{"channel": "sms", "addre')  # the process died mid-write
    with caplog.at_level(logging.WARNING, logger="channels.spool"):
        assert Spool(path).load() == [message]
    assert "line 2 unreadable" in caplog.text


async def test_polled_messages_survive_a_store_outage_and_a_restart(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    spool = tmp_path / "kavenegar-polled.jsonl"
    svc = await make_service(sms={"poll_interval_seconds": 1, "spool_path": str(spool)})
    channel = svc.sada.channels["sms"]
    svc.sms.inbox = [
        {"messageid": 91, "message": RUBBISH, "sender": MOBILE, "receptor": "10004346", "date": 1795336200}
    ]
    tried = asyncio.Event()

    async def store_down(_message: object) -> ReceiveResult:
        tried.set()
        raise ConnectionRefusedError("the database is unreachable")

    poller = asyncio.create_task(channel.run(store_down))  # type: ignore[attr-defined]
    await asyncio.wait_for(tried.wait(), 10)
    poller.cancel()  # the process dies during the outage
    with pytest.raises(asyncio.CancelledError):
        await poller
    assert svc.sms.inbox == [] and await svc.ticket_count() == 0  # Kavenegar has marked it read

    restarted = asyncio.create_task(channel.run(svc.sada.inbound))  # type: ignore[attr-defined]
    try:
        for _ in range(100):
            if await svc.ticket_count() == 1 and not spool.exists():
                break
            await asyncio.sleep(0.05)
    finally:
        restarted.cancel()
    await svc.drain()
    assert await svc.ticket_count() == 1 and not spool.exists()
    assert [to for _, to, _ in svc.sms.texts()] == [MOBILE]


def test_a_garbled_line_is_skipped_and_the_others_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "sms-polled.jsonl"
    first, second = _polled(2)
    Spool(path).append([first])
    with path.open("ab") as f:
        f.write(b'{"channel": "sms", "text": "\xff\xfe"}\n')  # not UTF-8: a bad sector, a stray write
    Spool(path).append([second])
    with caplog.at_level(logging.WARNING, logger="channels.spool"):
        assert Spool(path).load() == [first, second]
    assert "line 2 unreadable" in caplog.text


def _entry(n: int) -> dict[str, object]:
    """A Kavenegar `sms/receive` entry from sender number n."""
    return {
        "messageid": 500 + n,
        "message": RUBBISH,
        "sender": f"0912000000{n}",
        "receptor": "10004346",
        "date": 1795336200,
    }


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_spool_the_disk_refuses_does_not_stop_polling(
    make_service: ServiceFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the spool's folder should be")
    svc = await make_service(
        sms={"poll_interval_seconds": 1, "spool_path": str(tmp_path / "not-a-folder" / "polled.jsonl")}
    )
    channel = svc.sada.channels["sms"]
    svc.sms.inbox = [_entry(1), _entry(2)]
    poller = asyncio.create_task(channel.run(svc.sada.inbound))  # type: ignore[attr-defined]
    try:
        with caplog.at_level(logging.ERROR, logger="channels.kavenegar"):
            await _until(lambda: _replied(svc, 2))
            svc.sms.inbox = [_entry(3)]  # a later batch: the poller is still alive
            await _until(lambda: _replied(svc, 3))
    finally:
        poller.cancel()
    assert "spool not written" in caplog.text
    assert sorted(to for _, to, _ in svc.sms.texts()) == [f"0912000000{n}" for n in (1, 2, 3)]


async def test_while_a_batch_is_in_memory_only_nothing_more_is_fetched(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    """The spool cannot be written and the store is down: the fetched batch waits in memory, and
    the next one stays unread at Kavenegar until the first is stored."""
    (tmp_path / "not-a-folder").write_text("")
    svc = await make_service(
        sms={"poll_interval_seconds": 1, "spool_path": str(tmp_path / "not-a-folder" / "polled.jsonl")}
    )
    channel = svc.sada.channels["sms"]
    store_down, tries = True, 0

    async def inbound(message: InboundMessage) -> ReceiveResult:
        nonlocal tries
        if store_down:
            tries += 1
            raise ConnectionRefusedError("the database is unreachable")
        return await svc.sada.inbound(message)

    svc.sms.inbox = [_entry(1)]
    poller = asyncio.create_task(channel.run(inbound))  # type: ignore[attr-defined]
    try:
        await _until(lambda: _true(tries >= 1))
        svc.sms.inbox = [_entry(2)]
        await _until(lambda: _true(tries >= 3))  # two more passes with the store down
        assert svc.sms.inbox == [_entry(2)]  # not fetched: it would have been in memory only too
        store_down = False
        await _until(lambda: _replied(svc, 2))
    finally:
        poller.cancel()
    assert svc.sms.inbox == []
    assert sorted(to for _, to, _ in svc.sms.texts()) == ["09120000001", "09120000002"]


async def test_an_unreadable_spool_is_left_alone_and_polling_goes_on(
    make_service: ServiceFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = tmp_path / "polled.jsonl"
    spool.mkdir()  # cannot be read as a file (as with wrong permissions)
    (spool / "keep").write_text("an operator's to recover")
    svc = await make_service(sms={"poll_interval_seconds": 1, "spool_path": str(spool)})
    channel = svc.sada.channels["sms"]
    svc.sms.inbox = [_entry(4)]
    poller = asyncio.create_task(channel.run(svc.sada.inbound))  # type: ignore[attr-defined]
    try:
        with caplog.at_level(logging.ERROR, logger="channels.kavenegar"):
            await _until(lambda: _replied(svc, 1))
    finally:
        poller.cancel()
    assert "unreadable" in caplog.text
    assert (spool / "keep").read_text() == "an operator's to recover"


async def _replied(svc: Service, count: int) -> bool:
    """Whether `count` replies have been delivered (each stored message gets exactly one)."""
    await svc.drain()
    return len(svc.sms.texts()) >= count


async def _true(value: bool) -> bool:
    return value
