"""The keyword fallback classifier: one table lookup per word start gives what one regex search
per keyword gives (the reference below is the straightforward version)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.keywords import DEFAULT_KEYWORDS, KeywordClassifier
from nlp.letters import fold
from nlp.policy import Router

DEPARTMENTS = {c: f"dept_{c}" for c in DEFAULT_KEYWORDS} | {"general": "dept_general"}
PIECES = sorted({k for ks in DEFAULT_KEYWORDS.values() for k in ks}) + ["ها", "ی", "خا", "1", "_", "ي", "ك"]


def reference_hits(text: str) -> dict[str, int]:
    folded = fold(text).replace("\u200c", " ")
    return {
        c: sum(bool(re.search(r"(?<!\w)" + re.escape(fold(k)), folded)) for k in ks)
        for c, ks in DEFAULT_KEYWORDS.items()
    }


@given(
    st.lists(
        st.one_of(st.sampled_from(PIECES), st.sampled_from([" ", "\u200c", "،", ".", "\n", "-"])),
        max_size=25,
    ).map("".join)
)
@settings(max_examples=500, deadline=None)
def test_same_decision_as_one_search_per_keyword(text: str) -> None:
    classifier = Router(KeywordClassifier(DEPARTMENTS))
    hits = reference_hits(text)
    total = sum(hits.values())
    got = classifier.classify(text)
    if total == 0:
        assert got.category == "general" and got.needs_review
        return
    expected = sorted(((c, n / total) for c, n in hits.items() if n), key=lambda p: -p[1])[:3]
    assert got.top_k == tuple((c, round(p, 4)) for c, p in expected)


def test_keywords_match_only_at_a_word_start() -> None:
    classifier = Router(KeywordClassifier(DEPARTMENTS))
    assert classifier.classify("چراغ کوچه خاموش است").top_k == (("street_lighting", 1.0),)  # no «موش»
    assert classifier.classify("موش زیاد شده").category == "stray_animals"
