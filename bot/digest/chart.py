"""The digest's chart: new tickets per category, the day against the week's average, as a PNG.

Matplotlib 3.11 lays text out with libraqm (bidi and Arabic-script shaping), so Persian labels are
passed in logical order as they are. Pre-shaping them with arabic-reshaper + python-bidi, as older
versions needed, now reverses them a second time: hence the `matplotlib>=3.11` requirement.
"""

from __future__ import annotations

import io
from functools import cache

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only

import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bot.digest.figures import Digest  # noqa: E402
from bot.digest.wording import Names, day_title  # noqa: E402
from nlp.letters import persian_digits  # noqa: E402

# Fonts with Arabic-script glyphs, best first (DejaVu Sans ships with matplotlib's usual hosts).
FONTS = ("Vazirmatn", "Vazir", "Noto Sans Arabic", "DejaVu Sans")


@cache
def _font() -> str:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in FONTS if name in installed), "DejaVu Sans")


def rtl(text: str) -> str:
    """A label as drawn: Persian digits, logical order (matplotlib shapes it)."""
    return persian_digits(text)


def render_chart(digest: Digest, names: Names, *, top: int = 8) -> bytes:
    """A horizontal bar chart (PNG bytes) of the day's new tickets per category vs the 7-day average."""
    with plt.rc_context({"font.family": _font(), "font.size": 11}):
        fig, ax = plt.subplots(figsize=(8, 0.55 * max(len(digest.by_category[:top]), 3) + 1.6), dpi=110)
        try:
            _draw(ax, digest, names, top)
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png")
            return out.getvalue()
        finally:
            plt.close(fig)


def _draw(ax: Axes, digest: Digest, names: Names, top: int) -> None:
    groups = list(digest.by_category[:top])
    positions = range(len(groups))
    height = 0.38
    ax.barh(
        [p - height / 2 for p in positions],
        [g.day for g in groups],
        height,
        color="#1f6f8b",
        label=rtl("دیروز"),
    )
    ax.barh(
        [p + height / 2 for p in positions],
        [g.average for g in groups],
        height,
        color="#99c4d3",
        label=rtl("میانگین ۷ روز قبل"),
    )
    ax.set_yticks(list(positions), [rtl(names.category(g.key)) for g in groups])
    ax.invert_yaxis()
    # Persian readers start at the right: names on the right, bars growing leftwards.
    ax.yaxis.tick_right()
    ax.invert_xaxis()
    ax.tick_params(axis="x", labelsize=9)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: persian_digits(f"{v:g}".replace(".", "٫"))))
    title = f"درخواست‌های جدید به تفکیک دسته — {day_title(digest.day)} — {names.department(digest.department)}"
    ax.set_title(rtl(title), fontsize=12)
    if not groups:
        ax.text(0.5, 0.5, rtl("درخواستی ثبت نشده است"), ha="center", va="center", transform=ax.transAxes)
    ax.legend(loc="best", fontsize=10)
    ax.spines[["top", "left"]].set_visible(False)
