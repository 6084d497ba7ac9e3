"""channels/spool.py and Kavenegar polling: a polled message survives a store outage and a restart."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import InboundMessage, ReceiveResult
from channels.sms import SmsFieldNames, parse_sms
from channels.spool import Spool
from tests.channels.conftest import RUBBISH, ServiceFactory

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

    restarted = asyncio.create_task(channel.run(svc.sada.gateway.receive))  # type: ignore[attr-defined]
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
