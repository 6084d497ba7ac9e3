"""Every sentence Sada says to a citizen, in Persian, in one place.

Each template has a chat variant (Telegram, Bale, console) and an SMS variant written to fit one
UCS-2 segment (70 characters) with worst-case values; tests/test_replies.py counts them, and the
README lists the few whose content (an operator's note) can make them longer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.dates.jalali import jalali_date, jalali_datetime
from bot.models import Button, Medium, TicketStatus
from nlp.letters import persian_digits

STATUS_NAMES: dict[TicketStatus, str] = {
    TicketStatus.REGISTERED: "ثبت‌شده، در انتظار بررسی",
    TicketStatus.REFERRED: "ارجاع‌شده به واحد مسئول",
    TicketStatus.IN_PROGRESS: "در دست اقدام",
    TicketStatus.RESOLVED: "رفع‌شده",
    TicketStatus.CLOSED: "بسته‌شده",
    TicketStatus.REJECTED: "خارج از حیطهٔ شهرداری",
    TicketStatus.DUPLICATE: "ادغام‌شده با درخواست دیگر",
    TicketStatus.REOPENED: "بازگشایی‌شده",
}

URGENT_NOTICE = "⚠️ اگر خطر جانی یا آتش‌سوزی در کار است، همین حالا با آتش‌نشانی ۱۲۵ تماس بگیرید."


@dataclass(frozen=True, slots=True)
class Template:
    """A chat text and an SMS text for one situation."""

    chat: str
    sms: str


TEMPLATES: dict[str, Template] = {
    "welcome": Template(
        chat="سلام! اینجا «صدا»ست، سامانهٔ درخواست‌های شهروندی شهرداری.\n"
        "مشکل شهری خود را (زباله، چاله، چراغ خاموش، آبگرفتگی و …) همراه با نشانی بنویسید "
        "تا ثبت و به واحد مسئول ارجاع شود.\nبرای پیگیری، کد پیگیری ۱۰ رقمی را بفرستید.",
        sms="صدا: مشکل را با نشانی بفرستید. پیگیری: کد ۱۰ رقمی را بفرستید",
    ),
    "describe": Template(
        chat="لطفاً مشکل را با جزئیات و نشانی بنویسید تا ثبت شود.\nبرای پیگیری، کد پیگیری ۱۰ رقمی را بفرستید.",
        sms="لطفا مشکل و نشانی را بنویسید. پیگیری: کد ۱۰ رقمی را بفرستید",
    ),
    "created": Template(
        chat="درخواست شما ثبت شد.\nکد پیگیری: {code}\nواحد مسئول: {department}\nزمان ثبت: {when}\n"
        "هر تغییری را همین‌جا به شما خبر می‌دهیم.",
        sms="درخواست شما ثبت شد. کد پیگیری: {code}",
    ),
    # A phone given on the web form, confirmed with its one-time code: updates come by SMS now.
    "phone_confirmed": Template(
        chat="شمارهٔ شما تأیید شد. خبرهای درخواست {code} را به شما می‌دهیم.",
        sms="شماره تأیید شد. خبرهای درخواست {code} پیامک می‌شود",
    ),
    "created_review": Template(
        chat="درخواست شما ثبت شد.\nکد پیگیری: {code}\nزمان ثبت: {when}\n"
        "کارشناس ما آن را بررسی و به واحد مسئول ارجاع می‌دهد.",
        sms="درخواست شما ثبت شد و بررسی می‌شود. کد پیگیری: {code}",
    ),
    "created_urgent": Template(
        chat=URGENT_NOTICE + "\nدرخواست شما فوری ثبت شد.\nکد پیگیری: {code}\nواحد مسئول: {department}",
        sms="فوری: همین حالا با ۱۲۵ تماس بگیرید. کد پیگیری: {code}",
    ),
    "linked": Template(
        chat="این مشکل پیش‌تر گزارش شده و در حال پیگیری است.\nکد پیگیری: {code}\n"
        "گزارش شما به آن پیوست شد و از تغییراتش باخبر می‌شوید.",
        sms="این مشکل قبلا ثبت شده. کد پیگیری: {code}",
    ),
    "status": Template(
        chat="وضعیت درخواست {code}:\n{status}\nواحد مسئول: {department}\nآخرین به‌روزرسانی: {when}",
        sms="درخواست {code}: {status} ({date})",
    ),
    "status_none": Template(
        chat="درخواستی از شما ثبت نشده است. مشکل را با نشانی بنویسید تا ثبت شود.\n"
        "اگر درخواست را از راه دیگری (مثلاً تماس با ۱۳۷) ثبت کرده‌اید، کد پیگیری ۱۰ رقمی آن را بفرستید.",
        sms="درخواستی از شما ثبت نشده. مشکل را با نشانی بفرستید",
    ),
    "courtesy": Template(
        chat="خواهش می‌کنیم، وظیفهٔ ماست. هر وقت مشکلی در شهر دیدید، همین‌جا با نشانی بنویسید.",
        sms="خواهش می‌کنیم. مشکل شهری را با نشانی همین‌جا بفرستید",
    ),
    "status_list": Template(
        chat="درخواست‌های اخیر شما:\n{lines}\nبرای جزئیات، کد پیگیری را بفرستید.",
        sms="آخرین درخواست شما {latest}",
    ),
    "not_found": Template(
        chat="کد پیگیری «{code}» پیدا نشد. لطفاً کد ۱۰ رقمی را دوباره بررسی و ارسال کنید.",
        sms="کد {code} پیدا نشد. لطفا کد ۱۰ رقمی را بررسی کنید",
    ),
    "lookup_unavailable": Template(
        chat="پیگیری کد «{code}» موقتاً ممکن نیست. لطفاً چند دقیقهٔ دیگر دوباره بفرستید یا با ۱۳۷ تماس بگیرید.",
        sms="پیگیری کد فعلا ممکن نیست. کمی بعد بفرستید یا با ۱۳۷ تماس بگیرید",
    ),
    "now_referred": Template(
        chat="درخواست {code} به «{department}» ارجاع شد.",
        sms="درخواست {code} به واحد مسئول ارجاع شد",
    ),
    "now_in_progress": Template(
        chat="درخواست {code} در دست اقدام است.{note_line}",
        sms="درخواست {code} در دست اقدام است",
    ),
    "now_resolved": Template(
        chat="درخواست {code} رفع شد.\nتوضیح: {note}",
        sms="{code} رفع شد: {note}",
    ),
    "now_rejected": Template(
        chat="درخواست {code} در حیطهٔ شهرداری نیست.\nتوضیح: {note}",
        sms="{code} در حیطه شهرداری نیست: {note}",
    ),
    "now_reopened": Template(
        chat="درخواست {code} دوباره باز شد و بررسی می‌شود.\nتوضیح: {note}",
        sms="{code} دوباره باز شد: {note}",
    ),
    "now_closed": Template(
        chat="درخواست {code} بسته شد. از همراهی شما سپاسگزاریم.",
        sms="درخواست {code} بسته شد. سپاس از همراهی شما",
    ),
    "now_duplicate": Template(
        chat="درخواست {code} با درخواست {other} یکی شد. از این پس آن را با کد {other} پیگیری کنید.",
        sms="{code} ادغام شد. کد پیگیری جدید: {other}",
    ),
    "location_added": Template(
        chat="موقعیت مکانی به درخواست {code} افزوده شد. سپاس از همراهی شما.",
        sms="موقعیت به درخواست {code} افزوده شد",
    ),
    "file_added": Template(
        chat="فایل شما به درخواست {code} افزوده شد. سپاس از همراهی شما.\n"
        "اگر مشکل دیگری است، آن را در چند کلمه با نشانی بنویسید.",
        sms="فایل به درخواست {code} افزوده شد",
    ),
    "file_first": Template(
        chat="فایل شما رسید، اما درخواست بازی از شما ثبت نشده است.\n"
        "لطفاً مشکل را با نشانی بنویسید؛ عکس را هم می‌توانید همراه همان پیام بفرستید.",
        sms="لطفا مشکل و نشانی را بنویسید، بعد فایل را بفرستید",
    ),
    "location_first": Template(
        chat="موقعیت شما رسید، اما در ۲۴ ساعت گذشته درخواست بازی از شما ثبت نشده است.\n"
        "لطفاً اول مشکل را با نشانی بنویسید، بعد موقعیت را بفرستید.",
        sms="اول مشکل و نشانی را بنویسید، بعد موقعیت را بفرستید",
    ),
    "survey": Template(
        chat="آیا مشکل درخواست {code} واقعاً برطرف شده است؟\nبرای «بله» عدد ۱ و برای «خیر» عدد ۲ را "
        "بفرستید یا یکی از دکمه‌ها را بزنید.",
        sms="مشکل {code} رفع شد؟ بله: ۱ خیر: ۲",
    ),
    # A voice note with no text: a ticket for an operator to listen to (bot.intake.new_requests).
    "voice_received": Template(
        chat="پیام صوتی شما رسید و ثبت شد.\nکد پیگیری: {code}\nزمان ثبت: {when}\n"
        "کارشناس ما آن را می‌شنود و به واحد مسئول ارجاع می‌دهد.",
        sms="پیام صوتی شما ثبت شد و شنیده می‌شود. کد پیگیری: {code}",
    ),
}

SURVEY_BUTTONS = (Button("بله، رفع شد", "survey:fixed"), Button("خیر، رفع نشده", "survey:not_fixed"))
MENU_BUTTONS = (
    Button("ثبت درخواست", "menu:new"),
    Button("پیگیری", "menu:status"),
    Button("راهنما", "menu:help"),
)


def render(key: str, medium: Medium, **values: object) -> str:
    """Fill template `key` for `medium`; numbers and codes come out in Persian digits."""
    template = TEMPLATES[key]
    text = template.sms if medium is Medium.SMS else template.chat
    return text.format(**{k: persian_digits(str(v)) for k, v in values.items()})


def when(moment: datetime) -> str:
    """Jalali date and Tehran time for a reply."""
    return jalali_datetime(moment)


def date_only(moment: datetime) -> str:
    """Jalali date for a reply."""
    return jalali_date(moment)


# An operator's own words to the citizen (the panel's free reply), kept out of TEMPLATES: its length
# is the operator's, and `text` is given verbatim (render() would change the digits in it). The SMS
# variant is sent on one line; the panel counts its parts while the operator types.
FREE_REPLY = Template(chat="دربارهٔ درخواست {code}:\n{text}", sms="درخواست {code}: {text}")
