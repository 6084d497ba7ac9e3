"""Every Persian word the panel shows that is not in a template: roles, history lines, notices."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.digest.wording import channel_name
from bot.models import EventKind, Medium, TicketEvent
from bot.replies import STATUS_NAMES
from bot.taxonomy import Taxonomy
from nlp.letters import persian_digits

ROLE_NAMES = {
    "operator": "کارشناس پذیرش",
    "staff": "کارشناس واحد",
    "manager": "مدیر",
    "admin": "مدیر سامانه",
}

PRIORITY_NAMES = {"normal": "عادی", "urgent": "فوری"}

OUTBOX_STATUS_NAMES = {
    "pending": "در صف ارسال",
    "sending": "در حال ارسال",
    "sent": "ارسال شد",
    "delivered": "تحویل شد",
    "failed": "ناموفق",
}

# Notices shown after an action redirects back (`?done=<key>`).
NOTICES = {
    "reclassified": "دسته‌بندی اصلاح شد و به شهروند اطلاع داده شد.",
    "confirmed": "دسته‌بندی تأیید شد.",
    "reassigned": "درخواست به واحد دیگر ارجاع شد.",
    "status": "وضعیت تغییر کرد و پیام برای شهروند در صف ارسال است.",
    "merged": "درخواست با درخواست دیگر ادغام شد.",
    "noted": "یادداشت ثبت شد.",
    "canned_saved": "پاسخ آماده ذخیره شد.",
    "canned_removed": "پاسخ آماده حذف شد.",
    "user_added": "کاربر ساخته شد.",
    "user_saved": "تغییرات کاربر ذخیره شد.",
    "retrain_started": "آموزش دوباره آغاز شد. نتیجه تا یکی دو دقیقهٔ دیگر در جدول همین صفحه می‌آید.",
    "retrain_busy": "آموزش دیگری در جریان است. کمی بعد صفحه را دوباره باز کنید.",
    "retrain_unchanged": "اصلاح تازه‌ای نیست: مدل فعلی با همهٔ اصلاح‌های کارشناسان آموزش دیده است.",
    "retrain_unavailable": "این سامانه با دسته‌بند کلیدواژه‌ای کار می‌کند و مدلی برای آموزش دوباره ندارد.",
}

# The classifier page: how each retrain attempt started, ended and why.
RETRAIN_TRIGGERS = {"startup": "راه‌اندازی سرویس", "schedule": "زمان‌بندی", "panel": "درخواست از پنل"}
RETRAIN_OUTCOMES = {
    "running": "در حال آموزش",
    "accepted": "به کار گرفته شد",
    "refused": "رد شد",
    "unchanged": "بی‌تغییر",
    "failed": "ناموفق",
}
RETRAIN_REASONS = {
    "startup": "مدلی که سرویس با آن راه افتاد",
    "no_worse": "روی هر دو مجموعهٔ سنجش بدتر از مدل فعلی نبود",
    "heldout_worse": "روی دادهٔ کنارگذاشته بدتر از مدل فعلی بود",
    "dev_worse": "روی مجموعهٔ توسعه (پیام‌های واقعی‌نما) بدتر از مدل فعلی بود",
    "no_heldout": "دادهٔ کنارگذاشته‌ای برای سنجش نبود",
    "no_new": "اصلاح تازه‌ای برای آموزش نبود",
    "error": "خطا در آموزش یا سنجش",
    "cancelled": "سرویس در میانهٔ آموزش متوقف شد",
    "abandoned": "فرایند آموزش نیمه‌کاره ماند",
}

# Errors shown on a re-rendered form.
ERRORS = {
    "reason_required": "لطفاً دلیل اصلاح را بنویسید.",
    "unknown_category": "دستهٔ انتخاب‌شده معتبر نیست.",
    "unknown_department": "واحد انتخاب‌شده معتبر نیست.",
    "same_department": "درخواست هم‌اکنون در همین واحد است.",
    "bad_status": "این تغییر وضعیت برای این درخواست مجاز نیست.",
    "note_required": "برای این وضعیت، توضیحی برای شهروند لازم است (متن یا پاسخ آماده).",
    "bad_canned": "پاسخ آمادهٔ انتخاب‌شده با این وضعیت جور نیست.",
    "merge_unknown": "درخواستی با این کد پیگیری پیدا نشد.",
    "merge_invalid": "ادغام این دو درخواست ممکن نیست (درخواست مقصد باید باز باشد و با این یکی فرق کند).",
    "note_empty": "متن یادداشت خالی است.",
    "lifecycle": "این تغییر با وضعیت فعلی درخواست ممکن نیست.",
    "bad_date": "این تاریخ خوانده نشد: آن را به شکل ۱۴۰۵/۰۹/۰۱ (شمسی) یا ۲۰۲۶/۱۱/۲۲ (میلادی) بنویسید.",
    "date_order": "«تا تاریخ» پیش از «از تاریخ» است.",
    "unknown_choice": "این گزینه در فهرست نیست.",
    "canned_empty": "متن پاسخ آماده خالی است.",
    "user_invalid": "نام کاربری (حروف لاتین، رقم، نقطه، خط تیره)، نقش و واحد را درست وارد کنید.",
    "user_exists": "این نام کاربری قبلاً ثبت شده است.",
    "password_short": "گذرواژه کوتاه است.",
    "self_disable": "نمی‌توانید حساب خودتان را غیرفعال کنید.",
}

HTTP_ERRORS = {
    400: "درخواست نامعتبر است.",
    403: "اجازهٔ این کار را ندارید. اگر فرمی را فرستادید، صفحه را دوباره باز کنید و دوباره بفرستید.",
    404: "صفحه یا درخواستی با این نشانی پیدا نشد.",
    405: "این نشانی این نوع درخواست را نمی‌پذیرد.",
}


class ChannelSpec(Protocol):
    """What naming a channel needs of its configuration."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def medium(self) -> Medium: ...


def channel_names(specs: Iterable[ChannelSpec]) -> Callable[[str], str]:
    """The Persian name of a configured channel (the digest's table: bot/digest/wording.py)."""
    specs = list(specs)
    kinds = {spec.name: spec.kind for spec in specs}
    sms = {spec.name for spec in specs if spec.medium is Medium.SMS}
    return lambda name: channel_name(name, kinds.get(name), sms=name in sms)


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One line of a ticket's history: our wording, then a person's own words (a reason, a note) or ""."""

    text: str
    quoted: str = ""


def history_line(event: TicketEvent, taxonomy: Taxonomy, channels: Callable[[str], str] = str) -> HistoryLine:
    """One line of a ticket's history in Persian. A person's own words are kept apart, so the page can
    give them their own direction (they may well be Latin) and wrap them."""
    d: dict[str, Any] = event.data
    cat = taxonomy.categories
    deps = taxonomy.departments
    reason = str(d.get("reason", ""))

    def category(code: object) -> str:
        return cat[str(code)].name if str(code) in cat else str(code)

    def department(code: object) -> str:
        return deps.get(str(code), str(code))

    match event.kind:
        case EventKind.CREATED:
            return HistoryLine(f"ثبت از کانال {channels(str(d.get('channel', '')))}")
        case EventKind.CLASSIFIED:
            confidence = persian_digits(f"{round(float(d.get('confidence', 0)) * 100)}")
            return HistoryLine(f"دسته‌بندی خودکار: {category(d.get('category'))} (اطمینان {confidence}٪)")
        case EventKind.RECLASSIFIED:
            if d.get("from_category") == d.get("to_category"):
                if d.get("from_department") == d.get("to_department"):
                    return HistoryLine(f"تأیید دسته‌بندی: {category(d.get('to_category'))} —", reason)
                return HistoryLine(
                    f"ارجاع از «{department(d.get('from_department'))}» به "
                    f"«{department(d.get('to_department'))}» — دلیل:",
                    reason,
                )
            return HistoryLine(
                f"اصلاح دسته از «{category(d.get('from_category'))}» به «{category(d.get('to_category'))}»"
                f" و واحد «{department(d.get('to_department'))}» — دلیل:",
                reason,
            )
        case EventKind.STATUS_CHANGED:
            line = f"وضعیت: {status_name(d.get('from'))} ← {status_name(d.get('to'))}"
            if d.get("into"):
                line += f" (ادغام در {persian_digits(str(d['into']))})"
            note = str(d.get("note") or "")
            return HistoryLine(line + " —", note) if note else HistoryLine(line)
        case EventKind.MERGED:
            return HistoryLine(f"درخواست {persian_digits(str(d.get('merged', '')))} در این درخواست ادغام شد")
        case EventKind.REPORTER_ADDED:
            return HistoryLine("گزارش‌دهندهٔ تازه به درخواست پیوست")
        case EventKind.SURVEY_SENT:
            return HistoryLine("پرسش رضایت برای شهروند فرستاده شد")
        case EventKind.SURVEY_ANSWER:
            return HistoryLine("پاسخ شهروند: " + ("رفع شده" if d.get("answer") == "fixed" else "رفع نشده"))
        case EventKind.DELIVERY_FAILED:
            return HistoryLine("ارسال پیام به شهروند ناموفق بود")
        case EventKind.NOTE:
            return HistoryLine("یادداشت:", str(d.get("note", "")))
        case EventKind.MESSAGE_IN:
            return HistoryLine("موقعیت مکانی از شهروند" if d.get("location") else "پیام تازه از شهروند")
        case EventKind.MESSAGE_OUT:
            return HistoryLine("پیام به شهروند")
    return HistoryLine(str(event.kind))  # pragma: no cover - the match covers every kind


def status_name(value: object) -> str:
    """The Persian name of a status value."""
    for status, name in STATUS_NAMES.items():
        if status.value == value:
            return name
    return str(value)


def actor_name(actor: str, users: Mapping[str, str] | None = None) -> str:
    """Who did it, in Persian: a user (by display name when `users` maps usernames to names), the model,
    the system or a citizen."""
    kind, _, rest = actor.partition(":")
    match kind:
        case "user":
            return (users or {}).get(rest) or rest
        case "model":
            return "مدل دسته‌بندی"
        case "citizen":
            return "شهروند"
        case "system":
            return "سامانه"
    return actor
