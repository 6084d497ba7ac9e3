"""The digest as one Persian chat message, within Telegram's (and Bale's) 4096-character limit.

Lists shrink before anything is cut: first the example messages go, then the long tails of the
breakdowns; only a digest that is still too long is truncated, with a pointer to the panel.
"""

from __future__ import annotations

from bot.digest.figures import Digest
from bot.digest.wording import (
    SEPARATOR,
    Names,
    change,
    day_title,
    district_name,
    duration,
    example,
    number,
    percent,
)
from nlp.letters import persian_digits
from storage.reports import DayAgainstWeek

MAX_CHARS = 4096
MORE = "\n… ادامه در پنل صدا"


def _groups(title: str, by: str, groups: tuple[DayAgainstWeek, ...], names: Names, top: int) -> list[str]:
    if not groups:
        return []
    lines = [title]
    for g in groups[:top]:
        lines.append(
            f"• {names.group(by, g.key)}: {number(g.day)} (میانگین {number(g.average, 1)})"
            + change(g.day, g.average)
        )
    rest = groups[top:]
    if rest:
        lines.append(f"• سایر: {number(sum(g.day for g in rest))}")
    return lines


def render_text(digest: Digest, names: Names, *, top: int = 8, examples: bool = True) -> str:
    """The digest as plain Persian text (no markup), lists cut to `top` entries."""
    d = digest
    lines = [
        f"📊 گزارش روزانهٔ صدا — {day_title(d.day)}",
        f"حوزه: {names.department(d.department)}",
        "",
        f"🆕 درخواست‌های جدید: {number(d.new)} (میانگین ۷ روز قبل: {number(d.new_week_average, 1)})"
        + change(d.new, d.new_week_average),
        f"✅ رفع‌شده: {number(d.resolved)} (میانگین: {number(d.resolved_week_average, 1)})",
        f"📂 درخواست‌های باز: {number(d.backlog)}",
        "",
    ]
    lines += _groups("به تفکیک کانال:", "channel", d.by_channel, names, top)
    lines += _groups("به تفکیک دسته:", "category", d.by_category, names, top)
    if d.department is None:
        lines += _groups("به تفکیک واحد:", "department", d.by_department, names, top)
    lines.append("")
    if d.overdue_total:
        lines.append(f"⏰ معوق: {number(d.overdue_total)} درخواست — قدیمی‌ترین‌ها:")
        for late in d.overdue[:top]:
            t = late.ticket
            parts = [persian_digits(t.tracking_code), names.category(t.category)]
            if t.district:
                parts.append(district_name(t.district))
            days = number(late.working_days_late, 1 if late.working_days_late % 1 else 0)
            lines.append("• " + SEPARATOR.join([*parts, f"{days} روز کاری تأخیر"]))
    else:
        lines.append("⏰ هیچ درخواست معوقی نیست.")
    lines += [
        "",
        f"⏱ میانهٔ زمان رفع: دیروز {duration(d.median_hours_day)}؛ ۷ روز: {duration(d.median_hours_week)}",
        f"😊 رضایت (۷ روز): {percent(d.satisfaction.value)} از {number(d.satisfaction.whole)} پاسخ",
        f"🔁 بازگشایی (۷ روز): {percent(d.reopen.value)}"
        f" ({number(d.reopen.part)} از {number(d.reopen.whole)} رفع‌شده)",
        f"🧭 خطای دسته‌بندی (۷ روز): {percent(d.misclassification.value)}"
        f" ({number(d.misclassification.part)} اصلاح از {number(d.misclassification.whole)} ارجاع خودکار)",
    ]
    for c in d.confusions:
        lines.append(
            f"  ↩︎ {names.category(c.from_category)} ← {names.category(c.to_category)}: {number(c.count)}"
        )
    if d.hotspots:
        lines += ["", "🔥 نقاط داغ:"]
        for spot in d.hotspots:
            lines.append(f"• {spot.place}: {number(spot.day)} درخواست (میانگین {number(spot.average, 1)})")
            if examples:
                lines += [f"  «{example(text)}»" for text in spot.examples]
    return "\n".join(lines)


def fit_text(digest: Digest, names: Names, limit: int = MAX_CHARS) -> str:
    """The fullest rendering that fits in `limit` characters."""
    for top, examples in ((8, True), (8, False), (5, False), (3, False)):
        text = render_text(digest, names, top=top, examples=examples)
        if len(text) <= limit:
            return text
    return text[: limit - len(MORE)] + MORE
