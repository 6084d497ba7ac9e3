"""One front door: `sada chat`, `sada simulate` and the test rigs hand messages to `Sada.inbound`
(flood limit → group commit → gateway), the path every webhook takes, on both stores."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli.chat import chat
from bot.cli.simulate import simulate
from bot.intake.flood import FLOODED
from storage.abuse import AbuseEvent, AbuseRepository
from storage.store import Store
from tests.conftest import Rig, make_config

RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"


async def _abuse(store_url: str) -> list[AbuseEvent]:
    store = Store.from_url(store_url)
    try:
        async with store.read() as tx:
            return await AbuseRepository(tx.session).events()
    finally:
        await store.aclose()


async def test_the_rig_goes_through_the_flood_limit(rig: Rig) -> None:
    """The 21st message of one sender within a minute is dropped, as a webhook's would be."""
    results = [await rig.say(rig.chat, "tg:7", f"پیگیری {i}") for i in range(21)]
    assert [r.dropped for r in results] == [False] * 20 + [True]
    assert results[-1].intent == FLOODED
    async with rig.store.read() as tx:
        events = await AbuseRepository(tx.session).events(channel="tg", address="tg:7")
    assert [e.kind for e in events] == [FLOODED]


async def test_chat_goes_through_the_flood_limit(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sada chat` with `[flood] max_messages = 1`: the second line is dropped, unanswered, recorded."""
    config = make_config(store_url, tmp_path, flood={"max_messages": 1})
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{RUBBISH}\nسلام\n"))
    assert await chat(config, address="citizen-1", echo=True) == 0
    out = capsys.readouterr().out
    assert out.count("صدا › ") == 1  # the report is answered; the greeting over the limit is not
    events = await _abuse(store_url)
    assert [(e.channel, e.address, e.kind) for e in events] == [("console", "citizen-1", FLOODED)]


async def test_simulate_goes_through_the_flood_limit(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sada simulate` with `[flood] max_messages = 4`: the fifth message tg:1001 sends (its last
    survey answer) is dropped and recorded, not stored."""
    config = make_config(store_url, tmp_path, flood={"max_messages": 4})
    assert await simulate(config, store_url=store_url) == 0
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if line.startswith("telegram-sim  tg:1001")]
    assert [line.endswith("→ flood") for line in said] == [False] * 4 + [True]
    events = await _abuse(store_url)
    assert ("telegram-sim", "tg:1001", FLOODED) in [(e.channel, e.address, e.kind) for e in events]
