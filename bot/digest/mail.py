"""The digest as an e-mail: plain text and right-to-left HTML, with the chart inline."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from functools import cache
from typing import cast

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.dates.jalali import jalali_date
from bot.digest.figures import Digest
from bot.digest.text import render_text
from bot.digest.wording import Names, change, day_title, district_name, duration, example, number, percent
from nlp.letters import persian_digits
from storage.reports import DayAgainstWeek


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("bot.digest", "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _rows(by: str, groups: tuple[DayAgainstWeek, ...], names: Names) -> list[tuple[str, str, str, str]]:
    return [
        (names.group(by, g.key), number(g.day), number(g.average, 1), change(g.day, g.average).strip(" ()"))
        for g in groups
    ]


def render_html(digest: Digest, names: Names, *, chart_cid: str | None = None) -> str:
    """The digest as a self-contained HTML page (inline styles: mail clients drop style sheets)."""
    d = digest
    breakdowns = [("به تفکیک کانال", _rows("channel", d.by_channel, names))]
    breakdowns.append(("به تفکیک دسته", _rows("category", d.by_category, names)))
    if d.department is None:
        breakdowns.append(("به تفکیک واحد", _rows("department", d.by_department, names)))
    quality = [
        f"میانهٔ زمان رفع: دیروز {duration(d.median_hours_day)}؛ ۷ روز: {duration(d.median_hours_week)}",
        f"رضایت شهروندان: {percent(d.satisfaction.value)} از {number(d.satisfaction.whole)} پاسخ",
        f"بازگشایی: {percent(d.reopen.value)} ({number(d.reopen.part)} از {number(d.reopen.whole)} رفع‌شده)",
        f"خطای دسته‌بندی: {percent(d.misclassification.value)} ({number(d.misclassification.part)} اصلاح از"
        f" {number(d.misclassification.whole)} ارجاع خودکار)",
    ]
    quality += [
        f"جابه‌جایی {names.category(c.from_category)} ← {names.category(c.to_category)}: {number(c.count)}"
        for c in d.confusions
    ]
    return (
        _templates()
        .get_template("digest.html")
        .render(
            title=day_title(d.day),
            scope=names.department(d.department),
            headline=[
                ("درخواست‌های جدید", number(d.new), f"میانگین ۷ روز قبل: {number(d.new_week_average, 1)}"),
                ("رفع‌شده", number(d.resolved), f"میانگین ۷ روز قبل: {number(d.resolved_week_average, 1)}"),
                ("درخواست‌های باز", number(d.backlog), f"معوق: {number(d.overdue_total)}"),
            ],
            chart_cid=chart_cid,
            breakdowns=[(title, rows) for title, rows in breakdowns if rows],
            overdue_total=number(d.overdue_total),
            overdue=[
                (
                    persian_digits(late.ticket.tracking_code),
                    names.category(late.ticket.category),
                    district_name(late.ticket.district) if late.ticket.district else "—",
                    jalali_date(late.ticket.due_at),
                    number(late.working_days_late, 1 if late.working_days_late % 1 else 0),
                )
                for late in d.overdue
            ],
            quality=quality,
            hotspots=[
                (
                    spot.place,
                    f"{number(spot.day)} درخواست (میانگین {number(spot.average, 1)})",
                    [example(t) for t in spot.examples],
                )
                for spot in d.hotspots
            ],
        )
    )


def build_email(digest: Digest, names: Names, *, sender: str, to: str, chart: bytes | None) -> EmailMessage:
    """A multipart message: text/plain, then text/html with the chart as an inline image."""
    message = EmailMessage()
    message["Subject"] = f"گزارش روزانهٔ صدا — {day_title(digest.day)} — {names.department(digest.department)}"
    message["From"] = sender
    message["To"] = to
    message.set_content(render_text(digest, names, top=50))
    cid = make_msgid(domain="sada.local") if chart else None
    message.add_alternative(render_html(digest, names, chart_cid=cid[1:-1] if cid else None), subtype="html")
    if chart and cid:
        html_part = cast(EmailMessage, message.get_payload()[1])  # type: ignore[index]
        html_part.add_related(chart, maintype="image", subtype="png", cid=cid, filename="digest.png")
    return message
