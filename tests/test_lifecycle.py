"""Status changes: allowed moves, required notes, atomic change + replies, merges."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.lifecycle import NOTE_REQUIRED, TRANSITIONS, LifecycleError
from bot.models import EventKind, TicketStatus
from nlp.letters import persian_digits
from storage.tables import OutboxRow
from tests.conftest import Rig, existing

S = TicketStatus
RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"


async def _new(rig: Rig, address: str = "tg:1", text: str = RUBBISH) -> str:
    return (await rig.say(rig.chat, address, text)).ticket_code


async def _outbox_count(rig: Rig) -> int:
    async with rig.store.transaction() as tx:
        return int(await tx.session.scalar(select(func.count(OutboxRow.id))) or 0)


def test_transition_table_covers_every_status_and_terminal_duplicate() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.DUPLICATE] == frozenset()
    assert S.CLOSED in TRANSITIONS[S.RESOLVED] and S.REOPENED in TRANSITIONS[S.CLOSED]
    assert {S.RESOLVED, S.REJECTED, S.REOPENED} == NOTE_REQUIRED


async def test_disallowed_move_and_missing_note_are_refused(rig: Rig) -> None:
    code = await _new(rig)
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, code)
        with pytest.raises(LifecycleError):
            await rig.lifecycle.change_status(tx, ticket, S.CLOSED, actor="op")
        for status in (S.RESOLVED, S.REJECTED):
            with pytest.raises(LifecycleError, match="note"):
                await rig.lifecycle.change_status(tx, ticket, status, actor="op", note="   ")
    assert (await rig.ticket(code)).status is S.REFERRED


async def test_failed_transaction_leaves_neither_change_nor_reply(rig: Rig) -> None:
    code = await _new(rig)
    before = await _outbox_count(rig)
    with pytest.raises(RuntimeError, match="boom"):
        async with rig.store.transaction() as tx:
            ticket = await existing(tx, code)
            await rig.lifecycle.change_status(tx, ticket, S.IN_PROGRESS, actor="staff", note="اکیپ اعزام شد")
            raise RuntimeError("boom")  # e.g. the database failed after the change was written
    ticket = await rig.ticket(code)
    assert ticket.status is S.REFERRED
    assert await _outbox_count(rig) == before
    async with rig.store.transaction() as tx:
        events = await tx.tickets.events(ticket.id)
    assert not [e for e in events if e.kind is EventKind.STATUS_CHANGED and e.data.get("to") == "in_progress"]
    await rig.sada.dispatcher.drain()
    assert len(rig.chat.sent) == 1  # only the "registered" reply from the start


async def test_committed_change_gives_exactly_one_reply_per_reporter(rig: Rig) -> None:
    code = await _new(rig, "tg:1")
    # Two more citizens report the same problem: they are linked to the open ticket as reporters.
    linked = await rig.say(rig.sms, "+989121111111", RUBBISH)
    linked2 = await rig.say(rig.chat, "tg:2", RUBBISH)
    assert linked.ticket_code == code and linked2.ticket_code == code
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, code)
        await rig.lifecycle.change_status(tx, ticket, S.IN_PROGRESS, actor="staff:waste")
    await rig.sada.dispatcher.drain()
    for channel, address in ((rig.chat, "tg:1"), (rig.sms, "+989121111111"), (rig.chat, "tg:2")):
        notices = [t for t in channel.texts(address) if "در دست اقدام" in t]
        assert len(notices) == 1, address
        assert persian_digits(code) in notices[0]


async def test_resolve_tells_note_and_asks_survey_of_every_reporter(rig: Rig) -> None:
    code = await _new(rig, "tg:1")
    await rig.say(rig.sms, "+989121111111", RUBBISH)
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, code)
        await rig.lifecycle.change_status(tx, ticket, S.RESOLVED, actor="staff", note="کوچه نظافت شد")
    await rig.sada.dispatcher.drain()
    assert "کوچه نظافت شد" in rig.chat.texts("tg:1")[-2]
    assert "۱" in rig.chat.texts("tg:1")[-1] and rig.chat.sent[-1].buttons
    assert rig.sms.texts("+989121111111")[-1].startswith("مشکل")
    assert rig.sms.sent[-1].buttons == ()


async def test_merge_moves_reporters_to_survivor(rig: Rig) -> None:
    first = await _new(rig, "tg:1")
    second = await _new(rig, "tg:2", "درخت بزرگ کوچه ما خشک شده و ممکنه بیفته روی ماشینا")
    async with rig.store.transaction() as tx:
        dup = await existing(tx, second)
        survivor = await existing(tx, first)
        merged = await rig.lifecycle.merge(tx, dup, survivor, actor="op")
        assert merged.status is S.DUPLICATE and merged.duplicate_of == survivor.id
        assert {i.address for i in await tx.tickets.reporters(survivor.id)} == {"tg:1", "tg:2"}
    await rig.sada.dispatcher.drain()
    assert persian_digits(first) in rig.chat.texts("tg:2")[-1]
    # Asking for the merged code shows the survivor.
    result = await rig.say(rig.chat, "tg:2", second)
    assert result.ticket_code == first
    async with rig.store.transaction() as tx:
        with pytest.raises(LifecycleError):
            await rig.lifecycle.merge(tx, survivor, survivor, actor="op")


async def test_reclassify_is_logged_as_correction_and_tells_new_department(rig: Rig) -> None:
    code = await _new(rig, "tg:1", "سلام آقا این کوچه ما پر خاک و نخاله ساختمونه همسایه ریخته")
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, code)
        updated = await rig.lifecycle.reclassify(
            tx, ticket, "street_cleaning", actor="op:1", reason="خاک کوچه"
        )
        assert updated.department == "urban_services" and not updated.needs_review
        assert (
            "سلام آقا این کوچه ما پر خاک و نخاله ساختمونه همسایه ریخته",
            "street_cleaning",
        ) in await tx.tickets.corrections()
        with pytest.raises(LifecycleError):
            await rig.lifecycle.reclassify(tx, updated, "no_such_category", actor="op:1", reason="x")
