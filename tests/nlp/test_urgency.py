"""Urgency: immediate danger in Persian, Arabic letters and Finglish, with cheap negation."""

from __future__ import annotations

import pytest

from nlp.normalizer import Normalizer
from nlp.urgency import Danger, UrgencyDetector

D = UrgencyDetector()


@pytest.mark.parametrize(
    ("raw", "reasons"),
    [
        ("بوی گاز میاد تو راه پله ساختمون، فوری بیاید", (Danger.GAS,)),
        ("بوي گاز شديد از ساختمان همسايه", (Danger.GAS,)),  # Arabic yeh
        ("booye gaz miad too koche", (Danger.GAS,)),  # Finglish
        ("لوله گاز ترکیده", (Danger.GAS,)),
        ("انباری آتیش گرفته و هنوز خاموش نشده", (Danger.FIRE,)),
        ("atish gerefte khoone", (Danger.FIRE,)),
        ("دود غلیظ از زیرزمین بیرون میاد", (Danger.SMOKE,)),
        ("سیم برق افتاده وسط کوچه بچه ها بازی میکنن", (Danger.ELECTRIC,)),
        ("تیر برق جرقه میزنه", (Danger.ELECTRIC,)),
        ("کابل برق لخت رو زمینه", (Danger.ELECTRIC,)),
        ("دیوار خرابه داره میریزه", (Danger.COLLAPSE,)),
        ("ساختمون قدیمی خطر ریزش داره", (Danger.COLLAPSE,)),
        ("آتیش گرفته و دود غلیظ همه جا رو گرفته", (Danger.FIRE, Danger.SMOKE)),
        ("صدای انفجار از انبار اومد", (Danger.FIRE,)),
        ("بوی سوختگی از خونه همسایه میاد در رو باز نمیکنه", (Danger.SMOKE,)),
        ("کپسول گاز افتاده نشتی داره فس فس میکنه", (Danger.GAS,)),
        ("سیم های برق از تیر افتاده روی ماشین", (Danger.ELECTRIC,)),
        ("دکل برق کنار مدرسه با باد دیشب کج شده", (Danger.ELECTRIC,)),
        ("ديوار مدرسه بعد از زلزله ترك برداشته", (Danger.COLLAPSE,)),  # Arabic letters
        ("ترکای دیوار بیشتر میشه میترسیم شب خراب شه رو سرمون", (Danger.COLLAPSE,)),
        ("یه تیکه از سقف ریخت رو سرمون", (Danger.COLLAPSE,)),  # partitive «از»: the roof fell
        ("دیوار کنار مخزن زباله داره میریزه", (Danger.COLLAPSE,)),  # «کنار زباله» is where, not what
        ("درخت افتاده رو خونه همسایه سقفش ریخته", (Danger.COLLAPSE,)),
        ("از هفته پیش بوی گاز میاد", (Danger.GAS,)),  # «از ... پیش» is "since", not old news
        ("دیروز انبار آتیش گرفت هنوز داره میسوزه", (Danger.FIRE,)),
        ("پارسال انبار آتیش گرفت امسال دوباره آتیش گرفته", (Danger.FIRE,)),
        # Negated or not dangerous:
        ("بوی گاز نمیاد دیگه، مشکل حل شد", ()),
        ("آتیش نگرفته ولی سیم ها گرمه", ()),
        ("زنگ زدم آتش‌نشانی گفتن کار ما نیست", ()),
        ("تیر برق کوچه خاموشه", ()),
        ("ریزش برگ درختان پیاده رو رو کثیف کرده", ()),
        ("دود کارگاه", ()),
        ("دود سیاه از دودکش نانوایی میاد تو خونه ها", ()),  # pollution, not a fire
        ("کارتن خوابا زیر پل آتیش روشن کردن", ()),  # social harm, not a fire
        ("دلم آتیش گرفت وقتی دیدمشون", ()),  # an idiom
        ("بوی فضولاتشون غیرقابل تحمله", ()),  # «اتش» inside a word
        ("ماشین پارک کرده کوچه رو مسدود کرده", ()),  # «دود» inside «مسدود»
        ("خاک و آجر ریختن وسط کوچه", ()),  # dumped rubble, not a collapse
        ("نخاله ساختمانی ریخته وسط خیابون خیلی خطرناکه", ()),  # rubble, however dangerous
        ("آب از سقف میریزه", ()),  # a leak
        ("دیوار پارک ریخته، درستش کنید", ()),  # already fell, no sign of risk
        ("نرده‌های پل عابر خم شده", ()),
        ("چند سال پیش اینجا آتیش سوزی شد", ()),  # old news
        ("آتش‌نشانی اطلاعیه پخش کرده", ()),
        ("حصار سیمی پارک پاره شده", ()),
        ("ماشین زباله نشتی داره شیرابه میریزه", ()),
        ("زباله ها رو نبردن", ()),
    ],
)
def test_detect(normalizer: Normalizer, raw: str, reasons: tuple[Danger, ...]) -> None:
    assert D.detect(normalizer.normalize(raw), normalized=True).reasons == reasons  # as Router.decide


def test_urgent_property() -> None:
    assert D.detect("بوی گاز").urgent
    assert not D.detect("چاله").urgent
