"""Intent on real phrasings: status questions written as sentences, thanks and farewells, and real
complaints that open with a greeting or thanks or use the words «پیگیری», «وضعیت», «ممنون».

Every phrase here was written for this table. Labels:
- "status": a status question about the citizen's earlier report; nothing else in it.
- "status+problem": a status question that also names a problem; the gateway decides (status when
  the citizen has an open ticket of that kind or the problem is not concrete, else a new request).
- "courtesy": thanks, a blessing, a farewell: a short answer, no ticket.
- "noise": a bare greeting or nothing: the prompt to describe the problem, no ticket.
- "new": a new problem: a ticket.
- "fixed" / "not_fixed": an answer to an open survey.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.intake.intent import IntentKind, detect
from bot.models import SurveyAnswer, TicketStatus
from storage.tables import TicketRow
from tests.conftest import Rig, existing

STATUS = "status"
STATUS_PROBLEM = "status+problem"
COURTESY = "courtesy"
NOISE = "noise"
NEW = "new"

DETECT_TABLE: list[tuple[str, str]] = [
    # Status questions written as sentences.
    ("وضعیت درخواستم چی شد؟", STATUS),
    ("درخواستم به کجا رسید؟", STATUS),
    ("خواستم بدونم شکایتم پیگیری شد یا نه", STATUS),
    ("از درخواست قبلیم خبری نشد؟", STATUS),
    ("گزارشی که دادم رسیدگی شد؟", STATUS),
    ("darkhastam chi shod", STATUS),
    ("الو ببخشید میخواستم ببینم پیگیری من به کجا رسید", STATUS),
    ("سلام، شکایتی که هفته پیش ثبت کردم چی شد؟", STATUS),
    ("ببخشید درخواست من هنوز بررسی نشده؟", STATUS),
    ("پس چی شد؟ هیچ خبری نشد", STATUS),
    ("سلام وقت بخیر، وضعیت شکایت من چیه؟", STATUS),
    ("میخواستم پیگیری کنم ببینم درخواستم به کجا رسیده", STATUS),
    ("چند روز پیش یه گزارش دادم، جوابی نیومد", STATUS),
    ("مشکلی که گزارش دادم هنوز حل نشده؟", STATUS),
    ("peygiri darkhastam be koja resid?", STATUS),
    ("khabari az shekayatam nashod?", STATUS),
    ("درخواستم چي شد؟ كسي پيگيري كرد؟", STATUS),
    ("لطفا بگید درخواستم در چه مرحله‌ایه", STATUS),
    ("آقا درخواست ما چی شد بالاخره؟", STATUS),
    ("کد پیگیریم رو گم کردم، درخواستم چی شد؟", STATUS),
    ("الو سلام خسته نباشید من چند روز پیش زنگ زدم برای پیگیری درخواستم خواستم ببینم چی شد", STATUS),
    ("نامه‌ای که به شهرداری دادم به کجا رسید؟", STATUS),
    ("ممنون میشم بگید شکایتم به کجا رسید", STATUS),
    ("درخواست‌هام در چه وضعیتیه؟", STATUS),
    ("پرونده‌ام الان دست کیه؟", STATUS),
    # A status question that also names the problem: the gateway decides (see the gateway rows).
    ("درخواستم برای چاله چی شد؟ هنوز چاله هست", STATUS_PROBLEM),
    ("گزارشم درباره زباله‌های کوچه به کجا رسید؟", STATUS_PROBLEM),
    ("چند بار شکایت کردیم ولی هیچ اقدامی نشده، سگ‌های ولگرد پارک بچه‌ها رو اذیت میکنن", STATUS_PROBLEM),
    # Thanks, blessings, farewells.
    ("ممنون از پیگیری شما", COURTESY),
    ("خیلی ممنون، مشکل حل شد", COURTESY),
    ("دستتون درد نکنه", COURTESY),
    ("خدا قوت", COURTESY),
    ("سپاس از زحمات شهرداری", COURTESY),
    ("مرسی، خداحافظ", COURTESY),
    ("خیلی ممنون بابت رسیدگی سریع‌تون", COURTESY),
    ("mamnoon az peygiritoon", COURTESY),
    ("با تشکر از همکاری شما", COURTESY),
    ("خداحافظ", COURTESY),
    ("سپاسگزارم، موفق باشید", COURTESY),
    ("khaste nabashid, merci", COURTESY),
    ("ممنونم که پیگیری کردید", COURTESY),
    ("خدا خیرتون بده", COURTESY),
    ("ممنون", COURTESY),
    ("دمتون گرم 🙏", COURTESY),
    ("سلام، خسته نباشید، واقعا ممنون از زحماتتون", COURTESY),
    # A bare greeting: the prompt to describe the problem.
    ("سلام", NOISE),
    ("سلام وقت بخیر", NOISE),
    # Real complaints that open with a greeting or thanks, or use the words.
    ("با سلام، پیگیری کنید چاله جلوی خونه ما رو", NEW),
    ("وضعیت آسفالت کوچه خیلی بده", NEW),
    ("سلام خسته نباشید، زباله‌های کوچه سه روزه جمع نشده", NEW),
    ("ممنون میشم به چراغ‌های خاموش پارک رسیدگی کنید", NEW),
    ("خدا قوت، جوی آب جلوی مغازه ما گرفته و آب راه افتاده تو خیابون", NEW),
    ("وضعیت جوی‌های محله بعد از بارون افتضاحه", NEW),
    ("لطفا پیگیری کنید، سگ‌های ولگرد تو پارک به بچه‌ها حمله میکنن", NEW),
    ("ممنون از زحماتتون ولی درخت جلوی خونه ما خشک شده و داره میفته", NEW),
    ("درود بر شما، یه دستفروش کل پیاده‌رو رو گرفته", NEW),
    ("salam, chale bozorg vasate kooche hast lotfan dorostesh konid", NEW),
    ("وضعیت ترافیک چهارراه ولیعصر هر روز بدتر میشه", NEW),
    ("تشکر از شهرداری، ولی سطل زباله کوچه ما شکسته", NEW),
    ("شکایت دارم از کارگاه نجاری که تا نصف شب سر و صدا میکنه", NEW),
    ("درخواست نصب سرعت‌گیر برای کوچه مدرسه دارم", NEW),
    ("خواستم بگم چراغ‌های کوچه دوازدهم خاموشه", NEW),
    ("پیگیری کنید لطفا، نخاله ساختمانی رو ریختن تو زمین خالی سر کوچه", NEW),
    ("ممنون از پیگیریتون، ولی هنوز زباله‌ها جمع نشده", NEW),
    ("الو ببخشید خانم ما تو کوچه‌مون یه چاله بزرگ هست ماشینا میفتن توش", NEW),
    ("چی شد که ماشین زباله دیگه نمیاد کوچه ما؟", NEW),
    ("وضعیت کوچه بده", NEW),
    ("گزارش میدم که چراغ‌های پارک لاله از دیشب خاموشه", NEW),
    ("پیشنهاد میکنم برای شکایت از رفتار مامورا هم یه گزینه بذارید، فعلا فقط میشه مشکل شهری ثبت کرد", NEW),
    ("الو ببخشید درخواستی که دیروز ثبت کردم رو میخوام لغو کنم", NEW),
    ("مرسی از رفتگرای محله، ولی سطل‌های سر کوچه از دیروز پره", NEW),
]


def _label(text: str, survey_open: bool = False) -> str:
    intent = detect(text, button=None, survey_open=survey_open, min_request_letters=6)
    if intent.kind == IntentKind.STATUS_QUERY:
        return STATUS_PROBLEM if intent.names_problem else STATUS
    if intent.kind == IntentKind.SURVEY_ANSWER:
        return "fixed" if intent.answer is SurveyAnswer.FIXED else "not_fixed"
    return {IntentKind.NEW_REQUEST: NEW, IntentKind.NOISE: NOISE}.get(intent.kind, str(intent.kind))


def test_the_table_is_big_enough_and_has_no_repeats() -> None:
    texts = [t for t, _ in DETECT_TABLE]
    assert len(texts) >= 45 and len(set(texts)) == len(texts)


def _ids(rows: list[tuple[str, str]]) -> list[str]:
    return [f"{n:02d}-{label}" for n, (_, label) in enumerate(rows)]


@pytest.mark.parametrize(("text", "expected"), DETECT_TABLE, ids=_ids(DETECT_TABLE))
def test_detect(text: str, expected: str) -> None:
    assert _label(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("خیلی ممنون، مشکل حل شد", "fixed"),
        ("بله ممنون، درست شد", "fixed"),
        ("ممنون ولی مشکل حل نشده", "not_fixed"),
        ("نه هنوز برطرف نشده", "not_fixed"),
        ("ممنون", COURTESY),
        ("درخواستم چی شد؟", STATUS),
    ],
)
def test_with_a_survey_open_thanks_around_an_answer_is_the_answer(text: str, expected: str) -> None:
    assert _label(text, survey_open=True) == expected


async def _tickets(rig: Rig) -> int:
    async with rig.store.transaction() as tx:
        return int(await tx.session.scalar(select(func.count(TicketRow.id))) or 0)


# Through the front door, from a citizen with no ticket: (text, intent, a ticket opened, reply word).
GATEWAY_TABLE: list[tuple[str, str, bool, str]] = [
    ("وضعیت درخواستم چی شد؟", "status_query", False, "ثبت نشده"),
    ("خواستم بدونم شکایتم پیگیری شد یا نه", "status_query", False, "ثبت نشده"),
    ("الو ببخشید میخواستم ببینم پیگیری من به کجا رسید", "status_query", False, "ثبت نشده"),
    ("ممنون از پیگیری شما", "courtesy", False, "خواهش"),
    ("دستتون درد نکنه", "courtesy", False, "خواهش"),
    ("خیلی ممنون، مشکل حل شد", "courtesy", False, "خواهش"),
    ("با سلام، پیگیری کنید چاله جلوی خونه ما رو", "new_request", True, "کد پیگیری"),
    ("وضعیت آسفالت کوچه خیلی بده", "new_request", True, "کد پیگیری"),
    ("ممنون از زحماتتون ولی درخت جلوی خونه ما خشک شده و داره میفته", "new_request", True, "کد پیگیری"),
]


@pytest.mark.parametrize(
    ("text", "intent", "opens", "word"),
    GATEWAY_TABLE,
    ids=[f"{n:02d}-{intent}" for n, (_, intent, _, _) in enumerate(GATEWAY_TABLE)],
)
async def test_through_the_gateway(rig: Rig, text: str, intent: str, opens: bool, word: str) -> None:
    result = await rig.say(rig.chat, "tg:500", text)
    assert result.intent == intent
    assert (await _tickets(rig)) == (1 if opens else 0)
    [reply] = rig.chat.texts("tg:500")
    assert word in reply


@pytest.mark.parametrize(
    ("text", "status"),
    [("خیلی ممنون، مشکل حل شد", TicketStatus.CLOSED), ("ممنون ولی مشکل حل نشده", TicketStatus.REOPENED)],
)
async def test_thanks_around_a_survey_answer_answers_the_survey(
    rig: Rig, text: str, status: TicketStatus
) -> None:
    code = (await rig.say(rig.chat, "tg:501", "زباله‌های کوچه شهید رضایی سه روزه جمع نشده")).ticket_code
    async with rig.store.transaction() as tx:
        ticket = await existing(tx, code)
        await rig.lifecycle.change_status(tx, ticket, TicketStatus.RESOLVED, actor="staff", note="جمع شد")
    await rig.sada.dispatcher.drain()
    result = await rig.say(rig.chat, "tg:501", text)
    assert result.intent == IntentKind.SURVEY_ANSWER and result.ticket_code == code
    assert (await rig.ticket(code or "")).status is status
    assert (await _tickets(rig)) == 1
