"""The front door: one message in, one ticket and one reply out, whatever the provider does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.intake.intent import IntentKind
from bot.models import GeoPoint, InboundMessage, TicketStatus
from bot.tracking import is_valid
from channels.sms import SmsFieldNames, parse_sms
from nlp.letters import ascii_digits, persian_digits
from storage.tables import InboundRow, OutboxRow, TicketRow
from tests.conftest import Rig, existing

RUBBISH = "سلام سه روزه زباله های کوچه شهید رضایی جمع نشده و بوی بدی گرفته"
POTHOLE = "چاله بزرگ وسط خیابان ولیعصر نرسیده به میدان ونک ماشینا میفتن توش"


async def _counts(rig: Rig) -> tuple[int, int, int]:
    async with rig.store.transaction() as tx:
        s = tx.session
        tickets = await s.scalar(select(func.count(TicketRow.id)))
        outbox = await s.scalar(select(func.count(OutboxRow.id)))
        inbound = await s.scalar(select(func.count(InboundRow.id)))
    return int(tickets or 0), int(outbox or 0), int(inbound or 0)


def _code_in(text: str) -> str:
    digits = "".join(ch for ch in ascii_digits(text) if ch.isdigit())
    for i in range(len(digits) - 9):
        if is_valid(digits[i : i + 10]):
            return digits[i : i + 10]
    raise AssertionError(f"no tracking code in {text!r}")


async def test_new_request_gets_ticket_and_reply_with_code(rig: Rig) -> None:
    result = await rig.say(rig.chat, "tg:1", RUBBISH)
    assert result.intent == IntentKind.NEW_REQUEST and not result.duplicate
    assert result.ticket_code and is_valid(result.ticket_code)
    [reply] = rig.chat.texts("tg:1")
    assert persian_digits(result.ticket_code) in reply
    assert "سازمان مدیریت پسماند" in reply
    ticket = await rig.ticket(result.ticket_code)
    assert ticket.category == "waste_collection" and ticket.department == "waste"
    assert ticket.status is TicketStatus.REFERRED
    assert ticket.due_at is not None and ticket.due_at > ticket.created_at
    async with rig.store.transaction() as tx:
        kinds = [e.kind.value for e in await tx.tickets.events(ticket.id)]
    assert kinds == ["created", "classified", "status_changed"]


async def test_same_delivery_100_times_gives_one_ticket_and_one_reply(rig: Rig) -> None:
    results = [await rig.say(rig.sms, "+989121234567", POTHOLE, message_id="kn-777") for _ in range(100)]
    assert [r.duplicate for r in results] == [False] + [True] * 99
    assert {r.ticket_code for r in results} == {results[0].ticket_code}
    assert await _counts(rig) == (1, 1, 1)
    assert len(rig.sms.sent) == 1


async def test_concurrent_duplicate_deliveries_make_one_ticket(rig: Rig) -> None:
    results = await asyncio.gather(
        *(rig.chat.push(rig.sada.inbound, "tg:5", RUBBISH, message_id="tg-42") for _ in range(20))
    )
    await rig.sada.dispatcher.drain()
    assert sum(not r.duplicate for r in results) == 1
    assert await _counts(rig) == (1, 1, 1)


async def test_same_text_with_new_message_id_is_a_new_message(rig: Rig) -> None:
    await rig.say(rig.chat, "tg:1", "سلام", message_id="a")
    await rig.say(rig.chat, "tg:1", "سلام", message_id="b")
    assert len(rig.chat.texts("tg:1")) == 2


async def test_status_query_in_every_digit_script(rig: Rig) -> None:
    code = (await rig.say(rig.chat, "tg:1", RUBBISH)).ticket_code
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for text in (
        code,
        persian_digits(code),
        arabic,
        f"پیگیری {persian_digits(code)}",
        f"کد رهگیری: {code}",
        f"{code[:3]} {code[3:6]} {code[6:]}",
    ):
        result = await rig.say(rig.sms, "+989120000000", text)
        assert result.intent == IntentKind.STATUS_QUERY, text
        assert result.ticket_code == code, text
        assert persian_digits(code) in rig.sms.sent[-1].text
        assert "ارجاع" in rig.sms.sent[-1].text
    assert await _counts(rig) == (1, 7, 7)


async def test_mistyped_code_is_not_found_never_another_ticket(rig: Rig) -> None:
    codes = [(await rig.say(rig.chat, f"tg:{i}", f"{RUBBISH} پلاک {i}")).ticket_code for i in range(3)]
    for code in codes:
        swapped = code[:4] + code[5] + code[4] + code[6:]
        one_off = code[:-1] + str((int(code[-1]) + 1) % 10)
        for typo in (swapped, one_off):
            if typo == code:
                continue
            result = await rig.say(rig.sms, "+989120000001", f"پیگیری {typo}")
            assert result.intent == IntentKind.STATUS_QUERY
            assert result.ticket_code is None
            assert "پیدا نشد" in rig.sms.sent[-1].text
            assert not any(persian_digits(c) in rig.sms.sent[-1].text for c in codes)


async def test_status_without_code_lists_own_tickets(rig: Rig) -> None:
    none = await rig.say(rig.chat, "tg:9", "پیگیری")
    assert none.intent == IntentKind.STATUS_QUERY and "ثبت نشده" in rig.chat.texts("tg:9")[-1]
    code = (await rig.say(rig.chat, "tg:9", RUBBISH)).ticket_code
    await rig.say(rig.chat, "tg:9", "/status")
    assert persian_digits(code) in rig.chat.texts("tg:9")[-1]


async def test_noise_and_greetings_get_a_prompt_and_no_ticket(rig: Rig) -> None:
    for text in (
        "",
        "   ",
        "سلام",
        "سلام وقت بخیر",
        "سلام خسته نباشید",
        "🙏🙏",
        "?",
        "salam",
        "ok",
        "\x00\x07",
    ):
        result = await rig.say(rig.chat, "tg:3", text)
        assert result.intent == IntentKind.NOISE, repr(text)
    assert (await _counts(rig))[0] == 0
    assert all("مشکل" in t for t in rig.chat.texts("tg:3"))


async def test_start_and_help_answer_with_menu(rig: Rig) -> None:
    for text in ("/start", "/help", "راهنما", "/start@SadaBot"):
        result = await rig.say(rig.chat, "tg:4", text)
        assert result.intent == IntentKind.HELP, text
    assert rig.chat.sent[-1].buttons and "صدا" in rig.chat.sent[-1].text
    await rig.say(rig.sms, "+989120000002", "راهنما")
    assert rig.sms.sent[-1].buttons == ()  # SMS has no buttons


async def test_arabic_letters_are_understood(rig: Rig) -> None:
    result = await rig.say(rig.sms, "+989120000003", "زباله هاي كوچه ما رو سه روزه جمع نكردن")
    ticket = await rig.ticket(result.ticket_code)
    assert ticket.category == "waste_collection"


async def test_one_citizen_many_channels_each_identity_kept(rig: Rig) -> None:
    first = await rig.say(rig.chat, "tg:77", RUBBISH, contact_phone="+989121110000")
    second = await rig.say(rig.sms, "+989121110000", POTHOLE)
    assert first.ticket_code != second.ticket_code
    assert len(rig.chat.sent) == 1 and len(rig.sms.sent) == 1


VANAK = GeoPoint(latitude=35.7575, longitude=51.4098)


async def _history(rig: Rig, code: str) -> list[tuple[str, dict[str, object]]]:
    ticket = await rig.ticket(code)
    async with rig.store.transaction() as tx:
        return [(e.kind.value, dict(e.data)) for e in await tx.tickets.events(ticket.id)]


async def test_a_location_sent_after_a_report_becomes_its_coordinates(rig: Rig) -> None:
    """The chat keyboard's «send location» button, pressed after the report: the pin is kept."""
    report = await rig.say(rig.chat, "tg:7", POTHOLE)
    assert report.ticket_code is not None
    rig.clock.advance(timedelta(minutes=3))
    shared = await rig.say(rig.chat, "tg:7", "", location=VANAK)
    assert shared.intent == IntentKind.LOCATION and shared.ticket_code == report.ticket_code
    ticket = await rig.ticket(report.ticket_code)
    assert (ticket.latitude, ticket.longitude) == (VANAK.latitude, VANAK.longitude)
    assert (
        f"موقعیت مکانی به درخواست {persian_digits(report.ticket_code)} افزوده شد"
        in rig.chat.texts("tg:7")[-1]
    )
    assert (await _history(rig, report.ticket_code))[-1] == (
        "message_in",
        {"channel": "tg", "location": [VANAK.latitude, VANAK.longitude]},
    )
    assert await _counts(rig) == (1, 2, 2)  # one ticket; both messages stored and answered


async def test_a_second_pin_is_recorded_but_does_not_move_the_first(rig: Rig) -> None:
    report = await rig.say(rig.chat, "tg:7", POTHOLE)
    assert report.ticket_code is not None
    await rig.say(rig.chat, "tg:7", "", location=VANAK)
    await rig.say(rig.chat, "tg:7", "", location=GeoPoint(latitude=35.70, longitude=51.40))
    ticket = await rig.ticket(report.ticket_code)
    assert (ticket.latitude, ticket.longitude) == (VANAK.latitude, VANAK.longitude)
    pins = [data["location"] for kind, data in await _history(rig, report.ticket_code) if "location" in data]
    assert pins == [[VANAK.latitude, VANAK.longitude], [35.70, 51.40]]


async def test_a_location_without_a_recent_open_report_asks_for_the_problem_first(rig: Rig) -> None:
    alone = await rig.say(rig.chat, "tg:8", "", location=VANAK)
    assert alone.intent == IntentKind.LOCATION and alone.ticket_code is None
    assert "اول مشکل را با نشانی بنویسید" in rig.chat.texts("tg:8")[-1]
    assert (await _counts(rig))[0] == 0
    report = await rig.say(rig.chat, "tg:8", POTHOLE)
    assert report.ticket_code is not None
    rig.clock.advance(timedelta(hours=25))  # too old to be what the pin is about
    late = await rig.say(rig.chat, "tg:8", "", location=VANAK)
    assert late.ticket_code is None
    ticket = await rig.ticket(report.ticket_code)
    assert ticket.latitude is None and ticket.longitude is None


async def test_a_location_does_not_join_a_closed_report(rig: Rig) -> None:
    report = await rig.say(rig.chat, "tg:9", POTHOLE)
    assert report.ticket_code is not None
    ticket = await rig.ticket(report.ticket_code)
    async with rig.store.transaction() as tx:
        await tx.tickets.update(ticket.id, rig.clock.now(), status=TicketStatus.CLOSED.value)
    shared = await rig.say(rig.chat, "tg:9", "", location=VANAK)
    assert shared.ticket_code is None and "اول مشکل" in rig.chat.texts("tg:9")[-1]


async def test_a_location_joins_only_the_latest_report_never_an_older_one(rig: Rig) -> None:
    older = await rig.say(rig.chat, "tg:9", POTHOLE)
    latest = await rig.say(rig.chat, "tg:9", RUBBISH)
    assert older.ticket_code and latest.ticket_code and older.ticket_code != latest.ticket_code
    ticket = await rig.ticket(latest.ticket_code)
    async with rig.store.transaction() as tx:  # the latest was closed at once (out of scope, say)
        await tx.tickets.update(ticket.id, rig.clock.now(), status=TicketStatus.REJECTED.value)
    shared = await rig.say(rig.chat, "tg:9", "", location=VANAK)
    assert shared.ticket_code is None
    assert (await rig.ticket(older.ticket_code)).latitude is None


def _forward(text: str, at: datetime) -> InboundMessage:
    """An SMS as Melipayamak forwards it: no message id, so its id comes from its content."""
    fields = {"from": "09121234567", "to": "5000", "body": text}
    return parse_sms(fields, SmsFieldNames(text=("body",), message_id=("id",)), channel="sms", now=at)


async def test_an_sms_without_a_provider_id_is_one_message_per_window_of_its_content(rig: Rig) -> None:
    """The provider's retry is absorbed even across the edge of the content window; the citizen
    asking the same thing again later is answered again (it was swallowed for a whole day)."""
    edge = datetime(2026, 11, 22, 6, 29, 50, tzinfo=UTC)  # 10 s before a window starts
    first = await rig.sada.inbound(_forward("وضعیت", edge))
    retry = await rig.sada.inbound(_forward("وضعیت", edge + timedelta(seconds=30)))
    later = await rig.sada.inbound(_forward("وضعیت", edge + timedelta(minutes=25)))
    await rig.sada.dispatcher.drain()
    assert [first.duplicate, retry.duplicate, later.duplicate] == [False, True, False]
    assert len(rig.sms.texts("+989121234567")) == 2
    assert (await _counts(rig))[2] == 2  # two inbound rows: the retry is the first one


async def test_a_retry_across_the_window_edge_in_the_same_group_is_still_one_message(rig: Rig) -> None:
    edge = datetime(2026, 11, 22, 6, 29, 59, tzinfo=UTC)
    first, retry = await asyncio.gather(
        rig.sada.inbound(_forward(POTHOLE, edge)),
        rig.sada.inbound(_forward(POTHOLE, edge + timedelta(seconds=2))),
    )
    await rig.sada.dispatcher.drain()
    assert first.ticket_code == retry.ticket_code and [first.duplicate, retry.duplicate] == [False, True]
    assert await _counts(rig) == (1, 1, 1)


async def test_a_location_joins_the_ticket_a_repeat_report_joined_last(rig: Rig) -> None:
    """The latest report may be a repeat that joined someone else's older ticket: the pin goes there."""
    theirs = await rig.say(rig.chat, "tg:10", POTHOLE)
    mine = await rig.say(rig.chat, "tg:11", RUBBISH)
    joined = await rig.say(rig.chat, "tg:11", POTHOLE + " لطفا")
    assert joined.ticket_code == theirs.ticket_code != mine.ticket_code
    shared = await rig.say(rig.chat, "tg:11", "", location=VANAK)
    assert shared.ticket_code == theirs.ticket_code
    assert (await rig.ticket(mine.ticket_code or "")).latitude is None


async def _merge(rig: Rig, duplicate: str, survivor: str) -> None:
    async with rig.store.transaction() as tx:
        dup, into = await existing(tx, duplicate), await existing(tx, survivor)
        await rig.sada.lifecycle.merge(tx, dup, into, actor="operator:1")


async def test_a_location_follows_a_report_an_operator_merged(rig: Rig) -> None:
    survivor = await rig.say(rig.chat, "tg:20", POTHOLE)
    mine = await rig.say(rig.chat, "tg:21", "کوچه ما چاله داره ماشین نمیتونه رد بشه")
    assert survivor.ticket_code and mine.ticket_code and survivor.ticket_code != mine.ticket_code
    await _merge(rig, mine.ticket_code, survivor.ticket_code)
    shared = await rig.say(rig.chat, "tg:21", "", location=VANAK)
    assert shared.ticket_code == survivor.ticket_code
    assert (await rig.ticket(survivor.ticket_code)).latitude == VANAK.latitude


async def test_a_location_follows_the_merge_when_the_sender_already_reported_the_survivor(rig: Rig) -> None:
    """The sender is already a reporter of the survivor, so the merge adds no reporter row: their
    latest report is the merged ticket itself, and the pin goes where it went."""
    survivor = await rig.say(rig.chat, "tg:22", POTHOLE)
    later = await rig.say(rig.chat, "tg:22", "کوچه ما چاله داره ماشین نمیتونه رد بشه")
    assert survivor.ticket_code and later.ticket_code and survivor.ticket_code != later.ticket_code
    await _merge(rig, later.ticket_code, survivor.ticket_code)
    shared = await rig.say(rig.chat, "tg:22", "", location=VANAK)
    assert shared.ticket_code == survivor.ticket_code
    assert (await rig.ticket(later.ticket_code)).latitude is None


async def test_the_location_window_counts_from_the_senders_report_not_the_tickets_birth(rig: Rig) -> None:
    """A repeat joins a ticket someone opened 30 hours ago; the pin sent right after it is kept."""
    theirs = await rig.say(rig.chat, "tg:23", POTHOLE)
    rig.clock.advance(timedelta(hours=30))
    joined = await rig.say(rig.chat, "tg:24", POTHOLE + " لطفا")
    assert joined.ticket_code == theirs.ticket_code
    shared = await rig.say(rig.chat, "tg:24", "", location=VANAK)
    assert shared.ticket_code == theirs.ticket_code
    assert (await rig.ticket(theirs.ticket_code or "")).latitude == VANAK.latitude


async def _reporters(rig: Rig, code: str) -> int:
    ticket = await rig.ticket(code)
    async with rig.store.transaction() as tx:
        return len(await tx.tickets.reporters(ticket.id))


async def test_a_status_sentence_never_joins_another_citizens_ticket(rig: Rig) -> None:
    """The incident: citizen A's status question opened a `general` ticket; citizen B's, worded
    alike, joined it as a near-duplicate and B's reply named A's code. A status question is
    answered with the sender's own tickets and never reaches duplicate matching."""
    theirs = (await rig.say(rig.chat, "tg:30", RUBBISH)).ticket_code
    asked = await rig.say(rig.chat, "tg:30", "سلام وضعیت درخواستم چی شد؟")
    assert asked.intent == IntentKind.STATUS_QUERY and asked.ticket_code == theirs
    assert persian_digits(theirs or "") in rig.chat.texts("tg:30")[-1]
    assert (await _counts(rig))[0] == 1
    for text in (
        "درخواستم به کجا رسید؟",
        "وضعیت درخواستم چی شد؟",
        "خواستم بدونم درخواستم پیگیری شد یا نه",
        "از درخواست قبلیم خبری نشد؟",
    ):
        result = await rig.say(rig.chat, "tg:31", text)
        assert result.intent == IntentKind.STATUS_QUERY, text
        assert result.ticket_code is None, text
        reply = rig.chat.texts("tg:31")[-1]
        assert "ثبت نشده" in reply, text
        assert persian_digits(theirs or "") not in reply, text
    assert (await _counts(rig))[0] == 1
    assert await _reporters(rig, theirs or "") == 1


async def test_thanks_get_a_short_answer_and_no_ticket(rig: Rig) -> None:
    code = (await rig.say(rig.chat, "tg:32", POTHOLE)).ticket_code
    for text in ("ممنون از پیگیری شما", "دستتون درد نکنه", "خدا قوت", "سپاس از زحمات شهرداری", "خداحافظ"):
        result = await rig.say(rig.chat, "tg:32", text)
        assert result.intent == IntentKind.COURTESY and result.ticket_code is None, text
        assert "خواهش" in rig.chat.texts("tg:32")[-1], text
    assert (await _counts(rig))[0] == 1
    assert await _reporters(rig, code or "") == 1


PIT_FOLLOW_UP = "درخواستم برای چاله چی شد؟ هنوز چاله هست"


async def test_a_status_sentence_naming_the_problem_of_an_open_ticket_gets_its_status(rig: Rig) -> None:
    code = (await rig.say(rig.chat, "tg:33", POTHOLE)).ticket_code
    result = await rig.say(rig.chat, "tg:33", PIT_FOLLOW_UP)
    assert result.intent == IntentKind.STATUS_QUERY and result.ticket_code == code
    assert persian_digits(code or "") in rig.chat.texts("tg:33")[-1]
    assert (await _counts(rig))[0] == 1


async def test_a_status_sentence_naming_a_problem_without_an_open_ticket_of_it_is_a_request(rig: Rig) -> None:
    """No ticket at all, or only a ticket of another kind: the problem named is reported."""
    first = await rig.say(rig.chat, "tg:34", PIT_FOLLOW_UP)
    assert first.intent == IntentKind.NEW_REQUEST and first.ticket_code
    assert (await rig.ticket(first.ticket_code)).category == "road_damage"
    dogs = "چند بار شکایت کردیم ولی هیچ اقدامی نشده، سگ‌های ولگرد پارک بچه‌ها رو اذیت میکنن"
    second = await rig.say(rig.chat, "tg:34", dogs)
    assert second.intent == IntentKind.NEW_REQUEST and second.ticket_code not in (None, first.ticket_code)
    assert (await rig.ticket(second.ticket_code or "")).category == "stray_animals"
    # A closed ticket of that kind is no longer open: the problem named again is a new report.
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, first.ticket_code)
        await tx.tickets.update(ticket.id, rig.clock.now(), status=TicketStatus.CLOSED.value)
    third = await rig.say(rig.chat, "tg:34", "گزارشم درباره چاله کوچه به کجا رسید؟ هنوز درست نشده")
    assert third.intent == IntentKind.NEW_REQUEST and third.ticket_code != first.ticket_code


async def test_a_letter_that_mentions_earlier_calls_from_someone_with_nothing_open_is_a_request(
    rig: Rig,
) -> None:
    """With no open ticket there is nothing to report on: the letter is recorded even when the
    classifier cannot name its problem (it goes to the fallback category, flagged for a person)."""
    letter = (
        "با سلام بارها با ۱۳۷ تماس گرفتیم ولی هیچ اقدامی نشده، وضع کوچه پشت مدرسه "
        "افتضاحه و بچه‌ها هر روز از اون‌جا رد میشن، کسی هم جواب نمیده"
    )
    result = await rig.say(rig.chat, "tg:36", letter)
    assert result.intent == IntentKind.NEW_REQUEST and result.ticket_code
    assert (await _counts(rig))[0] == 1


async def test_a_status_sentence_naming_no_concrete_problem_is_a_status_query(rig: Rig) -> None:
    result = await rig.say(
        rig.chat, "tg:35", "درخواستم به کجا رسید؟ دو هفته پیش با ۱۳۷ تماس گرفتم و ثبت کردن"
    )
    assert result.intent == IntentKind.STATUS_QUERY and result.ticket_code is None
    assert "ثبت نشده" in rig.chat.texts("tg:35")[-1]
    assert (await _counts(rig))[0] == 0


async def test_status_sentences_in_one_group_never_join_each_other_or_a_report(rig: Rig) -> None:
    """Under load, messages of several citizens are handled in one group: status questions and
    thanks among them still never reach duplicate matching, whatever else the group opens."""
    senders = [f"tg:{40 + n}" for n in range(6)]
    mine = (await rig.say(rig.chat, senders[0], RUBBISH)).ticket_code
    texts = [
        "وضعیت درخواستم چی شد؟",
        "وضعیت درخواستم چی شد؟",
        "درخواستم به کجا رسید؟",
        "ممنون از پیگیری شما",
        RUBBISH,
        POTHOLE,
    ]
    results = await asyncio.gather(
        *(rig.chat.push(rig.sada.inbound, s, t) for s, t in zip(senders, texts, strict=True))
    )
    await rig.sada.dispatcher.drain()
    intents = [r.intent for r in results]
    assert intents[:4] == [IntentKind.STATUS_QUERY] * 3 + [IntentKind.COURTESY]
    assert results[0].ticket_code == mine
    assert [r.ticket_code for r in results[1:4]] == [None, None, None]
    for sender in senders[1:4]:
        assert persian_digits(mine or "") not in rig.chat.texts(sender)[-1]
    assert results[4].ticket_code == mine  # a real repeat of the report still joins it
    assert (await _counts(rig))[0] == 2
