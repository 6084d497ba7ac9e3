"""Tracking-code guessing: lookups that miss are limited per sender and for the whole city, the
first refusal of an episode is recorded as abuse, and a citizen asking after their own ticket is
always answered. Messages go in through the service's own door (flood limit → group commit →
gateway), on both stores."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.dates.clock import ManualClock
from bot.intake.code_lookups import (
    CITY_GUESSING,
    SENDER_GUESSING,
    CodeLookups,
    CodeLookupSettings,
    Trip,
    code_lookup_settings,
)
from bot.toml_reader import ConfigError, Table
from bot.tracking import damm_digit, is_valid
from nlp.letters import persian_digits
from storage.abuse import AbuseEvent, AbuseRepository
from tests.conftest import START, Rig

RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"
POTHOLE = "چاله بزرگ وسط خیابان ولیعصر نرسیده به میدان ونک ماشینا میفتن توش"

CITY_LIMIT = 30  # misses per 60 s across all senders (CodeLookupSettings defaults)
SENDER_LIMIT = 5  # misses per 10 minutes from one sender
FLOOD_LIMIT = 20  # messages per minute from one sender ([flood] defaults)


def unknown_code(n: int) -> str:
    """A well-formed code (valid check digit) that no ticket has: random codes never start 7000…"""
    body = f"7{n:08d}"
    return body + damm_digit(body)


def mistyped(code: str) -> str:
    """`code` with its last digit changed: the check digit no longer matches."""
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert not is_valid(typo)
    return typo


def refused(text: str) -> bool:
    """The 'lookup unavailable, try later or call 137' reply (chat or SMS). Not just «۱۳۷»: a
    tracking code may hold those digits (۶۳۰۵۰۱۱۳۷۶)."""
    return "با ۱۳۷ تماس بگیرید" in text and "ممکن نیست" in text and "پیدا نشد" not in text


def not_found(text: str) -> bool:
    return "پیدا نشد" in text


def status_of(code: str, text: str) -> bool:
    """A status reply for `code` (its status names the department it was referred to)."""
    return persian_digits(code) in text and "ارجاع" in text


async def guessing_events(rig: Rig) -> list[AbuseEvent]:
    async with rig.store.read() as tx:
        return [e for e in await AbuseRepository(tx.session).events() if e.kind != "flood"]


async def test_forty_chats_guessing_codes_hit_the_city_limit_and_owners_are_still_answered(rig: Rig) -> None:
    owned = (await rig.say(rig.chat, "tg:owner", RUBBISH)).ticket_code
    assert owned is not None
    guessers = [f"tg:guess{i}" for i in range(40)]
    # Forty chats at once, through the production door: they are handled in group commits.
    await asyncio.gather(
        *(rig.chat.push(rig.sada.inbound, g, persian_digits(unknown_code(i))) for i, g in enumerate(guessers))
    )
    await rig.sada.dispatcher.drain()
    answers = [rig.chat.texts(g) for g in guessers]
    assert all(len(a) == 1 for a in answers)
    assert sum(not_found(a[0]) for a in answers) == CITY_LIMIT
    assert sum(refused(a[0]) for a in answers) == 40 - CITY_LIMIT

    # The citizen whose ticket it is gets its status while lookups are closed to everyone else…
    await rig.say(rig.chat, "tg:owner", persian_digits(owned))
    assert status_of(owned, rig.chat.texts("tg:owner")[-1])
    # … and a stranger asking after that existing ticket is refused like a guess (nothing revealed).
    await rig.say(rig.chat, "tg:stranger", f"پیگیری {persian_digits(owned)}")
    assert refused(rig.chat.texts("tg:stranger")[-1])

    events = await guessing_events(rig)
    assert [(e.kind, e.channel, e.count, e.window_seconds) for e in events] == [
        ("code_guessing", "tg", CITY_LIMIT + 1, 60)
    ]
    assert events[0].address in guessers

    # A minute without guesses later, lookups work again: a typo is "not found", a relative is answered.
    rig.clock.advance(timedelta(seconds=61))
    await rig.say(rig.chat, "tg:late", persian_digits(unknown_code(99)))
    assert not_found(rig.chat.texts("tg:late")[-1])
    await rig.say(rig.chat, "tg:relative", persian_digits(owned))
    assert status_of(owned, rig.chat.texts("tg:relative")[-1])
    assert len(await guessing_events(rig)) == 1


async def test_one_sender_is_refused_after_five_misses_and_heard_again_after_ten_minutes(rig: Rig) -> None:
    sender, neighbour = "+989121110000", "+989351110000"
    owned = (await rig.say(rig.sms, sender, POTHOLE)).ticket_code
    assert owned is not None
    for i in range(SENDER_LIMIT):
        await rig.say(rig.sms, sender, persian_digits(unknown_code(i)))
        assert not_found(rig.sms.texts(sender)[-1]), i
    for i in (SENDER_LIMIT, SENDER_LIMIT + 1):  # the 6th miss, and the 7th
        await rig.say(rig.sms, sender, persian_digits(unknown_code(i)))
        assert refused(rig.sms.texts(sender)[-1]), i
    # Their own ticket is always answered; a code with a wrong check digit needs no lookup to answer.
    await rig.say(rig.sms, sender, f"پیگیری {persian_digits(owned)}")
    assert persian_digits(owned) in rig.sms.texts(sender)[-1] and "ارجاع" in rig.sms.texts(sender)[-1]
    await rig.say(rig.sms, sender, f"پیگیری {mistyped(owned)}")
    assert not_found(rig.sms.texts(sender)[-1])
    # Nobody else is affected.
    await rig.say(rig.sms, neighbour, persian_digits(unknown_code(50)))
    assert not_found(rig.sms.texts(neighbour)[-1])

    events = await guessing_events(rig)
    assert [(e.kind, e.channel, e.address, e.count, e.window_seconds) for e in events] == [
        ("code_guessing_sender", "sms", sender, SENDER_LIMIT + 1, 600)
    ]
    rig.clock.advance(timedelta(minutes=10, seconds=1))
    await rig.say(rig.sms, sender, persian_digits(unknown_code(60)))
    assert not_found(rig.sms.texts(sender)[-1])


async def test_one_sender_over_its_own_limit_does_not_use_up_the_city_budget(rig: Rig) -> None:
    """Otherwise two numbers at the flood limit (20 a minute) could close lookups for the city."""
    for i in range(FLOOD_LIMIT):  # as many as the flood limit lets through in a minute
        await rig.say(rig.chat, "tg:hammer", persian_digits(unknown_code(i)))
    answers = rig.chat.texts("tg:hammer")
    assert sum(map(not_found, answers)) == SENDER_LIMIT
    assert sum(map(refused, answers)) == FLOOD_LIMIT - SENDER_LIMIT
    others = [f"tg:other{i}" for i in range(CITY_LIMIT - SENDER_LIMIT)]
    for i, other in enumerate(others):
        await rig.say(rig.chat, other, persian_digits(unknown_code(100 + i)))
    assert all(not_found(rig.chat.texts(o)[-1]) for o in others)
    # The hammer's 5 misses and the others' 25 are the city's 30: the next guess is refused.
    await rig.say(rig.chat, "tg:next", persian_digits(unknown_code(200)))
    assert refused(rig.chat.texts("tg:next")[-1])
    kinds = [(e.kind, e.address) for e in await guessing_events(rig)]
    assert kinds == [("code_guessing_sender", "tg:hammer"), ("code_guessing", "tg:next")]


async def test_guesses_with_a_wrong_check_digit_count_too(rig: Rig) -> None:
    """They are answered "not found" (that needs no lookup and tells nothing the code itself does
    not), but they are guesses: they count toward the city's limit."""
    for i in range(CITY_LIMIT):
        await rig.say(rig.sms, f"+98912222{i:04d}", f"پیگیری {mistyped(unknown_code(i))}")
        assert not_found(rig.sms.texts(f"+98912222{i:04d}")[-1])
    await rig.say(rig.sms, "+989123330000", persian_digits(unknown_code(300)))
    assert refused(rig.sms.texts("+989123330000")[-1])
    assert [e.kind for e in await guessing_events(rig)] == ["code_guessing"]


async def test_a_citizen_is_answered_about_a_ticket_they_reported_on_another_channel(rig: Rig) -> None:
    """Their own citizen record: the chat that shared their phone number and that number's SMS."""
    owned = (await rig.say(rig.chat, "tg:77", RUBBISH, contact_phone="+989121110000")).ticket_code
    assert owned is not None
    for i in range(CITY_LIMIT):
        await rig.say(rig.chat, f"tg:guess{i}", persian_digits(unknown_code(i)))
    await rig.say(rig.sms, "+989124440000", persian_digits(owned))
    assert refused(rig.sms.texts("+989124440000")[-1])
    await rig.say(rig.sms, "+989121110000", persian_digits(owned))
    assert persian_digits(owned) in rig.sms.texts("+989121110000")[-1]
    assert not refused(rig.sms.texts("+989121110000")[-1])


def test_a_message_counts_once_however_often_it_is_processed() -> None:
    """A failed group commit is redone message by message, and a 503 is retried by the provider:
    the same message must not count twice, and the one that opened an episode records it again
    (its first abuse row was rolled back with it)."""
    clock = ManualClock(START)
    lookups = CodeLookups(CodeLookupSettings(max_misses=3, max_misses_per_sender=2), clock)
    for _ in range(3):
        lookups.missed(("tg", "a"), ("tg", "m1"))
    assert lookups.closed(("tg", "a")) is None
    lookups.missed(("tg", "a"), ("tg", "m2"))
    assert lookups.closed(("tg", "a")) == SENDER_GUESSING
    assert lookups.closed(("tg", "b")) is None  # the city has 2 of 3
    lookups.missed(("tg", "b"), ("tg", "m3"))
    assert lookups.closed(("tg", "c")) == CITY_GUESSING

    trip = Trip(CITY_GUESSING, 4, 60)
    assert lookups.refused(("tg", "c"), ("tg", "m4"), CITY_GUESSING) == trip
    assert lookups.refused(("tg", "d"), ("tg", "m5"), CITY_GUESSING) is None
    assert lookups.refused(("tg", "c"), ("tg", "m4"), CITY_GUESSING) == trip  # m4 redone
    # Refusals keep the episode open; after a quiet window a new one is recorded.
    clock.advance(timedelta(seconds=59))
    assert lookups.refused(("tg", "e"), ("tg", "m6"), CITY_GUESSING) is None
    clock.advance(timedelta(seconds=60))
    assert lookups.closed(("tg", "e")) is None
    assert lookups.refused(("tg", "e"), ("tg", "m7"), CITY_GUESSING) == trip


def test_idle_senders_are_forgotten_after_their_window() -> None:
    clock = ManualClock(START)
    lookups = CodeLookups(CodeLookupSettings(max_misses=10**6), clock)
    for i in range(10_000):
        lookups.missed(("sms", f"+98912{i:07d}"), ("sms", f"m{i}"))
    assert lookups.tracked == 10_000
    clock.advance(timedelta(seconds=599))
    lookups.missed(("sms", "+989120000000"), ("sms", "again"))
    assert lookups.closed(("sms", "+989129999999")) is None and lookups.tracked == 10_000
    clock.advance(timedelta(seconds=1))
    assert lookups.closed(("sms", "+989129999999")) is None and lookups.tracked == 1


def test_settings_are_read_from_their_table(tmp_path: Path) -> None:
    def table(data: dict[str, object]) -> Table:
        return Table(data, "code_lookups", base_dir=tmp_path, env={})

    assert code_lookup_settings(table({})) == CodeLookupSettings()
    assert code_lookup_settings(table({"max_misses": 100, "sender_window_seconds": 300})) == (
        CodeLookupSettings(max_misses=100, sender_window_seconds=300)
    )
    with pytest.raises(ConfigError, match="code_lookups.max_misses"):
        code_lookup_settings(table({"max_misses": 0}))
    with pytest.raises(ConfigError, match="code_lookups.max_mises"):
        code_lookup_settings(table({"max_mises": 10}))
