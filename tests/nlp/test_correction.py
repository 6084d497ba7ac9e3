"""Learning from operators: a handful of corrections fixes a misrouted phrasing without harm.

«شغال» (jackal; common in the north and on city edges) does not occur in the shipped training
data, and the model routes «شغالا شبا میان تو کوچه ما» to waste collection, confidently. Eight
reclassifications by operators (what the store would hold) and a retrain must fix it, also for
phrasings the operators never corrected, while the held-out macro-F1 moves by no more than noise.
"""

from __future__ import annotations

from nlp.dataset import Example, load_split
from nlp.evaluation import evaluate
from nlp.model import Model, train
from nlp.policy import Router

from .conftest import DEPARTMENTS

MISROUTED = "شغالا شبا میان تو کوچه ما"
UNSEEN = ["دیشب دو تا شغال تو کوچه‌مون بودن", "shoghala shab too kooche mian"]

CORRECTIONS = [
    Example(text, "stray_animals", "sms", "colloquial")
    for text in (
        MISROUTED,
        "شغال ها سطل زباله رو پاره کردن ریختن تو کوچه",
        "چند تا شغال تو پارک محله دیدیم بچه ها میترسن",
        "شبا صدای زوزه شغال میاد از باغ کنار خونه",
        "یه شغال زخمی افتاده کنار جوی",
        "الو سلام ببینید شغالا اومدن تو حیاط مدرسه",
        "شغال مرده کنار بزرگراه افتاده بو گرفته",
        "shoghal haye ziadi shaba too mahale mian",
    )
]


def test_corrections_fix_a_misrouted_phrasing(model: Model) -> None:
    assert len(CORRECTIONS) <= 10
    before = Router(model).classify(MISROUTED)
    assert before.category != "stray_animals"  # the premise: the shipped model gets it wrong

    corrected = train(
        load_split("train"), DEPARTMENTS, extra_examples=CORRECTIONS, normalizer=model.normalizer
    )
    assert corrected.version != model.version
    assert corrected.info["extra_examples"] == len(CORRECTIONS)
    for text in [MISROUTED, *UNSEEN]:
        assert Router(corrected).classify(text).category == "stray_animals", text

    heldout = load_split("heldout")
    drop = evaluate(Router(model), heldout).macro_f1 - evaluate(Router(corrected), heldout).macro_f1
    assert drop <= 0.02
